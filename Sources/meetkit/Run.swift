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
                await Control.answer(line) { request in await Self.perform(request, on: running) }
            }, logger: logger)
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        try? FileManager.default.removeItem(atPath: node.controlSocket)
    }

    /// Carries out a request that came over the control socket: on the engine, over the
    /// node's own store (on the node's actor, so that what it writes is pushed to peers).
    static func perform(_ request: Request, on node: Node) async -> Result<Response, EngineError> {
        guard case .commandLine(let argv) = request else {
            return await node.withStore { store in Result { () throws(EngineError) in try Engine(store: store).perform(request) } }
        }
        return .success(await execute(argv, on: node))
    }

    /// Carries out a command line not yet carried as a typed request.
    static func execute(_ argv: [String], on node: Node) async -> Response {
        do {
            let command = try MeetKitCommand.parseAsRoot(argv)
            switch command {
            case is Init, is Run:
                return .printed(status: 1, stdout: "", stderr: "meetkit: A node is already running in this data directory.\n")
            case let action as NodeAction:
                return .printed(status: 0, stdout: try await action.perform(on: node) + "\n", stderr: "")
            case let command as EngineCommand:
                // Sent as a command line all the same (by a script, say): its typed request.
                let request = try command.request()
                switch await perform(request, on: node) {
                case .success(let response): return .printed(status: 0, stdout: try command.render(response) + "\n", stderr: "")
                case .failure(let error): throw error
                }
            default:
                break
            }
        } catch {
            let (message, status) = MeetKitCommand.describe(error)
            return .printed(status: status, stdout: "", stderr: message)
        }
        return await node.withStore { store in
            let (printed, failure) = CommandContext.shared.capturing(store: store) {
                var command = try MeetKitCommand.parseAsRoot(argv)
                try command.run()
            }
            guard let failure else { return .printed(status: 0, stdout: printed, stderr: "") }
            let (message, status) = MeetKitCommand.describe(failure)
            return .printed(status: status, stdout: printed, stderr: message)
        }
    }
}

/// A command that needs a node (to reach peers): run on the node `meetkit run` keeps, or on
/// one made for the occasion from the store.
protocol NodeAction: NodeCommand {
    func perform(on node: Node) async throws -> String
}

extension NodeAction {
    func runOnOwnNode() async throws {
        let running = Node(store: try node.openStore(), logger: .meetkit(level: .error))
        Output.line(try await perform(on: running))
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
