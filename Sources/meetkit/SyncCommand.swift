import ArgumentParser
import Foundation
import MeetKitCore
import MeetKitNode
import MeetKitStore

struct SyncCommand: AsyncParsableCommand, NodeAction {
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

    func run() async throws { try await runOnOwnNode() }

    func perform(on node: Node) async throws -> String {
        guard let address = PeerAddress(peer) else { throw CLIError("--peer must be HOST:PORT.") }
        var group: GroupID?
        if let name = selection.group { group = try await node.withStore { try $0.resolveGroup(name) } }
        let report = try await Network.session(with: address, node: node, group: group) { id in
            try await node.waitUntilSynced(id)
        }
        let name = await node.withStore { store in
            store.groups.lazy.map { store.state(of: $0.id) }.first { $0.isMember(report.peer) }?
                .displayName(of: report.peer) ?? report.peer.fingerprint
        }
        if output.json {
            return try Output.jsonText(SyncResult(peer: report.peer.hex, address: address.description, sent: report.sent, received: report.received))
        }
        return "Synced with \(Output.safe(name)) (\(report.peer.fingerprint)) at \(address): sent \(report.sent) entries, received \(report.received)."
    }

    struct SyncResult: Encodable {
        let peer: String
        let address: String
        let sent: Int
        let received: Int
    }
}

struct PeersCommand: AsyncParsableCommand, NodeAction {
    static let configuration = CommandConfiguration(
        commandName: "peers",
        abstract: "List the members the running node has seen: connected, or found on the network.",
        discussion: """
            Members are seen through a connection or through their private DNS-SD advert.
            A member who left stays listed, as not connected, with when it was last seen.
            """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var output: JSONFlag

    func run() async throws {
        throw CLIError("No node is running in \(node.directory.path); start one with 'meetkit run'.")
    }

    func perform(on node: Node) async throws -> String {
        let peers = await node.peers()
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
