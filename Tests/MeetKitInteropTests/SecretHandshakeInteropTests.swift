import Foundation
import MeetKitCore
import MeetKitProtocol
import Testing

/// MeetKit's real node against an independent Secret Handshake v1 + box-stream implementation
/// (PyPI `secret-handshake` with PyNaCl, driven by Tests/Interop/shs_peer.py), over TCP on
/// 127.0.0.1, in both directions (Protocol/handshake.md, Protocol/framing.md). The two share no
/// code: a handshake that completes and messages that cross show both read the protocol alike.
/// Tests/Interop/setup.sh installs the Python side; without it these tests fail, saying so.
@Suite struct SecretHandshakeInteropTests {
    /// `have` with an empty version vector, spelled out as the wire has it:
    /// length 5 (u32) ‖ tag 1 ‖ author count 0 (u32).
    static let emptyHave: [UInt8] = [0, 0, 0, 5, 1, 0, 0, 0, 0]

    /// A valid Ed25519 public key that belongs to no one here (RFC 8032, test 1).
    static let strangerKey = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"

    static func randomHex(_ count: Int) -> String { Hex.encode((0..<count).map { _ in UInt8.random(in: 0...255) }) }

    /// The messages in what the Python peer received, decoded by MeetKit's own framer.
    static func decode(_ received: [PeerEvent]) throws -> [WireMessage] {
        var framer = MessageFramer()
        return try received.flatMap { event in try framer.feed(try #require(event.hex.flatMap(Hex.decode))) }
    }

    @Test func theHaveThePythonPeerSendsIsTheNodesOwnEncoding() {
        #expect(MessageFramer.frame(.have(VersionVector())) == Self.emptyHave)
    }

    // MARK: Python client → meetkit run

    /// A stranger who holds the network key and the member's key completes the handshake; its
    /// `have` crosses the box-stream, and the node's `refused` (it is no member) comes back,
    /// followed by the box-stream goodbye.
    @Test func pythonClientCompletesTheHandshakeWithARunningNode() async throws {
        let rig = try await InteropRig.make()
        defer { rig.tearDown() }
        let (ana, invite) = try await rig.founder("Ana")
        #expect(invite.inviter == ana.member)
        let (node, port) = try await rig.startNode(home: ana.home)

        let peer = try rig.pythonPeer(
            ["client", "--port", "\(port)"],
            keys: ["network_key": invite.networkKey, "server_key": ana.member, "send": Hex.encode(Self.emptyHave)])
        #expect(try await peer.finish() == 0, "\(peer.child)")

        #expect(peer.handshake?.ok == true, "\(peer.child)")
        #expect(peer.events.contains { $0.event == "sent" && $0.hex == Hex.encode(Self.emptyHave) }, "\(peer.child)")
        let decoded = try Self.decode(peer.messages)
        #expect(decoded == [.refused(reason: "the peer is not a member of the group")], "\(peer.child)")
        #expect(peer.messages.first?.name == "refused")
        #expect(peer.messages.first?.reason == "the peer is not a member of the group")
        #expect(peer.events.last { $0.event != "done" }?.event == "goodbye", "\(peer.child)")
        #expect(!peer.events.contains { $0.event == "error" || $0.event == "incomplete" }, "\(peer.child)")

        let log = node.stderr
        #expect(log.contains("peer connected"), "\(node)")
        #expect(log.contains("the peer is not a member of the group"), "\(node)")
        try await rig.stopNode(node)
    }

    enum Mismatch: String, CaseIterable, Sendable {
        /// A network key other than the group's: the node does not answer the hello at all.
        case networkKey
        /// The right network key, but a server key that is not the node's: the node cannot
        /// open the client's authentication and hangs up.
        case serverKey
    }

    /// With a wrong key the handshake fails: the Python client gets no reply, the connection
    /// closes, no message crosses; the node logs the refusal and still serves the next peer.
    @Test(arguments: Mismatch.allCases)
    func pythonClientWithAWrongKeyGetsNoSession(_ mismatch: Mismatch) async throws {
        let rig = try await InteropRig.make()
        defer { rig.tearDown() }
        let (ana, invite) = try await rig.founder("Ana")
        let (node, port) = try await rig.startNode(home: ana.home)

        let keys = switch mismatch {
        case .networkKey: ["network_key": Self.randomHex(32), "server_key": ana.member]
        case .serverKey: ["network_key": invite.networkKey, "server_key": Self.strangerKey]
        }
        let wrong = try rig.pythonPeer(
            ["client", "--port", "\(port)"], keys: keys.merging(["send": Hex.encode(Self.emptyHave)]) { $1 })
        #expect(try await wrong.finish() == 4, "\(wrong.child)")
        #expect(wrong.handshake?.ok == false, "\(wrong.child)")
        #expect(wrong.handshake?.error?.contains("IncompleteReadError") == true, "the node answered: \(wrong.child)")
        #expect(wrong.messages.isEmpty)
        #expect(
            await node.line(on: .stderr, within: .seconds(10)) { $0.contains("connection refused") && $0.contains("handshake failed") }
                != nil, "\(node)")
        #expect(!node.stderr.contains("peer connected"), "\(node)")

        let right = try rig.pythonPeer(
            ["client", "--port", "\(port)"],
            keys: ["network_key": invite.networkKey, "server_key": ana.member, "send": Hex.encode(Self.emptyHave)])
        #expect(try await right.finish() == 0, "\(right.child)")
        #expect(right.handshake?.ok == true, "\(right.child)")
        try await rig.stopNode(node)
    }

    // MARK: meetkit sync → Python server

    /// The node dials only members, so the Python server takes a real member's identity (Ben's
    /// seed, from his store). `meetkit sync` completes the handshake with it, its `have` crosses
    /// the box-stream, and the Python server's `refused` ends the sync with that reason.
    @Test func nodeDialsAPythonServerHoldingAMembersIdentity() async throws {
        let rig = try await InteropRig.make()
        defer { rig.tearDown() }
        let (ana, ben, invite) = try await Self.twoMembers(rig)
        let seed = try await Self.seed(of: ben, rig)

        let server = try rig.pythonPeer(
            ["server", "--port", "0", "--reply-after", "1", "--goodbye-after-send"],
            keys: [
                "network_key": invite.networkKey, "seed": seed,
                "send": Hex.encode(MessageFramer.frame(.refused(reason: "interop"))),
            ])
        let port = try await server.listeningPort()
        let sync = try await rig.meetkit(["sync", "--peer", "127.0.0.1:\(port)", "--home", ana.home])
        #expect(sync.status != 0 && sync.status != nil, "\(sync)")
        #expect(sync.stderr.contains("interop"), "\(sync)")
        #expect(try await server.finish() == 0, "\(server.child)")

        #expect(server.handshake?.ok == true, "\(server.child)")
        #expect(server.handshake?.remote == ana.member, "the client proved another key: \(server.child)")
        let received = server.messages
        #expect(received.first?.name == "have", "\(server.child)")
        guard case .have(let vector)? = try Self.decode(received).first else {
            Issue.record("no have arrived: \(server.child)")
            return
        }
        #expect(vector.heads.count == 2, "Ana's vector names both feeds: \(server.child)")
        let haveHex = try #require(received.first?.hex)
        #expect(haveHex.contains(ana.member) && haveHex.contains(ben.member), "\(server.child)")
        #expect(server.events.contains { $0.event == "sent" }, "\(server.child)")
        // The server says goodbye right after its refusal (as the node does). `meetkit sync`
        // then exits with the failure as soon as its session has ended, sometimes before its
        // own goodbye is written: either ending is a clean close here.
        let ending = server.events.last { $0.event != "done" }?.event
        #expect(ending == "goodbye" || ending == "eof", "\(server.child)")
        #expect(!server.events.contains { $0.event == "error" || $0.event == "incomplete" }, "\(server.child)")
    }

    /// A Python server with another network key refuses the node's hello: the handshake
    /// fails, nothing crosses, and `meetkit sync` says no member answered.
    @Test func nodeAndAPythonServerWithAnotherNetworkKeyNeverShakeHands() async throws {
        let rig = try await InteropRig.make()
        defer { rig.tearDown() }
        let (ana, ben, _) = try await Self.twoMembers(rig)
        let seed = try await Self.seed(of: ben, rig)

        let server = try rig.pythonPeer(
            ["server", "--port", "0", "--reply-after", "1"],
            keys: [
                "network_key": Self.randomHex(32), "seed": seed,
                "send": Hex.encode(MessageFramer.frame(.refused(reason: "interop"))),
            ])
        let port = try await server.listeningPort()
        let sync = try await rig.meetkit(["sync", "--peer", "127.0.0.1:\(port)", "--home", ana.home])
        #expect(sync.status != 0 && sync.status != nil, "\(sync)")
        #expect(sync.stderr.contains("No member of your groups answered"), "\(sync)")
        #expect(!sync.stderr.contains("interop"), "\(sync)")
        #expect(try await server.finish() == 4, "\(server.child)")
        #expect(server.handshake?.ok == false, "\(server.child)")
        #expect(server.handshake?.error?.contains("challenge is not valid") == true, "\(server.child)")
        #expect(server.messages.isEmpty)
    }

    // MARK: Helpers

    /// Ana founds a group; Ben joins it through Ana's running node, which then stops.
    static func twoMembers(_ rig: InteropRig) async throws -> (InteropRig.Member, InteropRig.Member, Invite) {
        let (ana, invite) = try await rig.founder("Ana")
        let ben = try await rig.member("Ben")
        let (node, port) = try await rig.startNode(home: ana.home)
        try await rig.succeed(["group", "join", invite.code, "--peer", "127.0.0.1:\(port)", "--home", ben.home])
        try await rig.stopNode(node)
        return (ana, ben, invite)
    }

    /// A member's Ed25519 seed, from `meetkit-devtool identity-seed` (a test-only tool).
    static func seed(of member: InteropRig.Member, _ rig: InteropRig) async throws -> String {
        let tool = try rig.start(rig.devtoolPath, ["identity-seed", member.home])
        try #require(try await tool.finish(within: .seconds(60)) == 0, "\(tool)")
        let seed = tool.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(seed.count == 64 && Hex.decode(seed) != nil, "not a hex seed: \(tool)")
        return seed
    }
}
