import ArgumentParser
import MeetKit
import MeetKitNode

struct SyncCommand: EngineCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Sync once with a member's node, then exit.",
        discussion: "Exits 0 only when both sides hold everything the other had.")

    @OptionGroup var node: NodeOptions
    @OptionGroup var selection: GroupOption
    @OptionGroup var output: JSONFlag

    @Option(name: .long, help: "The member's node (HOST:PORT).")
    var peer: String

    func validate() throws {
        guard PeerAddress(peer) != nil else { throw ValidationError("--peer must be HOST:PORT.") }
    }

    func request() throws -> Request { .sync(peer: peer, group: selection.group) }

    func render(_ response: Response) throws -> String {
        let synced = try expect(response, \.synced)
        if output.json { return try Output.jsonText(synced) }
        return "Synced with \(Output.safe(synced.name)) (\(synced.fingerprint)) at \(synced.address): sent \(synced.sent) entries, received \(synced.received)."
    }
}

struct PeersCommand: EngineCommand {
    static let configuration = CommandConfiguration(
        commandName: "peers",
        abstract: "List the members the running node has seen: connected, or found on the network.",
        discussion: """
            Members are seen through a connection or through their private DNS-SD advert.
            A member who left stays listed, as not connected, with when it was last seen.
            """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var output: JSONFlag

    func request() throws -> Request { .peers }

    func render(_ response: Response) throws -> String {
        let peers = try expect(response, \.peers)
        if output.json { return try Output.jsonText(peers) }
        if peers.isEmpty { return "No members seen yet." }
        return peers.map { peer in
            let state = if let since = peer.since {
                "connected since \(Output.clockTime(since)), sent \(peer.entriesSent), received \(peer.entriesReceived)"
            } else {
                "not connected\(peer.advertised ? " (advertising)" : ""), last seen \(Output.clockTime(peer.lastSeen))"
            }
            return "\(Output.safe(peer.name)) (\(peer.fingerprint)) at \(peer.address): \(state)"
        }.joined(separator: "\n")
    }
}
