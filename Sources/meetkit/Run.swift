import ArgumentParser
import Foundation
import Logging
import MeetKit
import MeetKitNode
import MeetKitStore
import ServiceLifecycle

struct Run: AsyncParsableCommand, NodeCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run this member's node: sync with members, and carry out other commands.",
        discussion: """
            Listens for members on --listen, publishes a private DNS-SD advert (through
            avahi-daemon) that only members can read, and dials the members it finds that
            way and every --peer (retrying with backoff). Pushes new entries to connected
            members at once, and serves a control socket in the data directory through which
            other meetkit commands reach it. Without Avahi it says so once, keeps to the
            --peer addresses, and tries DNS-SD again every few seconds. Stops cleanly on
            SIGINT or SIGTERM. Logs go to stderr.
            """)

    @OptionGroup var node: NodeOptions

    @Option(name: .long, help: "Address to listen on for members (HOST:PORT; port 0 picks a free one).")
    var listen = "0.0.0.0:7420"

    @Option(name: .long, help: "A member's node to stay connected to (HOST:PORT); repeatable.")
    var peer: [String] = []

    @Flag(name: .long, help: "Do not advertise or look for members over DNS-SD; use only --peer addresses.")
    var noDiscovery = false

    func validate() throws {
        guard PeerAddress(listen) != nil else { throw ValidationError("--listen must be HOST:PORT.") }
        for address in peer where PeerAddress(address) == nil { throw ValidationError("--peer \(address) is not HOST:PORT.") }
    }

    func run() async throws {
        let logger = Logger.meetkit(level: .info)
        let store = try node.openStore()
        let running = Node(store: store, logger: logger)
        let service = NodeService(
            node: running,
            configuration: .init(
                listen: PeerAddress(listen), peers: peer.compactMap(PeerAddress.init), controlSocket: node.controlSocket,
                discovery: !noDiscovery),
            control: { line in
                await Control.answer(line) { request in await Engine.perform(request, on: running) }
            }, logger: logger)
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        try? FileManager.default.removeItem(atPath: node.controlSocket)
    }
}

extension Logger {
    /// Logs on stderr. Never given message contents or secrets: only fingerprints,
    /// addresses, counts and reasons.
    static func meetkit(level: Logger.Level) -> Logger {
        var logger = Logger(label: "meetkit") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        return logger
    }
}
