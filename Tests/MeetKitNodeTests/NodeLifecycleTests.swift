import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitTestSupport
import Testing

/// `meetkit run` as a long-running process: what `peers` shows, and how it stops.
@Suite(.serialized) struct NodeLifecycleTests {
    /// Two members joined, each running a node, Ben's dialling Ana's.
    private static func connectedPair(_ cluster: Cluster) throws -> (ana: RunningNode, ben: RunningNode) {
        let (_, ben, anaNode) = try cluster.anaFoundsAndBenJoins()
        let benNode = try ben.run(peers: [anaNode.port])
        return (anaNode, benNode)
    }

    /// `peers --json`, through the running node, until it lists `member` (or 15 s pass).
    private static func peers(of node: RunningNode, listing member: String) throws -> [[String: Any]] {
        var peers: [[String: Any]] = []
        _ = try eventually(timeout: .seconds(15)) {
            peers = try node.member.succeed(["peers", "--json"]).array()
            return peers.contains { $0["member"] as? String == member }
        }
        return peers
    }

    @Test func peersListsAConnectedMemberWithItsFingerprint() throws {
        try withCluster { cluster in
            let (anaNode, benNode) = try Self.connectedPair(cluster)
            let ana = try anaNode.member.status()
            let ben = try benNode.member.status()

            let atAna = try Self.peers(of: anaNode, listing: ben.member)
            let benAtAna = try #require(atAna.first { $0["member"] as? String == ben.member }, "\(atAna)")
            #expect(benAtAna["fingerprint"] as? String == ben.fingerprint)
            #expect(benAtAna["name"] as? String == "Ben")
            #expect((benAtAna["address"] as? String)?.contains("127.0.0.1") == true, "\(benAtAna)")

            let atBen = try Self.peers(of: benNode, listing: ana.member)
            let anaAtBen = try #require(atBen.first { $0["member"] as? String == ana.member }, "\(atBen)")
            #expect(anaAtBen["fingerprint"] as? String == ana.fingerprint)
            #expect(anaAtBen["name"] as? String == "Ana")
            #expect(anaAtBen["address"] as? String == anaNode.address)

            // The text form names the peer by fingerprint too.
            let text = try anaNode.member.succeed(["peers"]).stdout
            #expect(text.contains(ben.fingerprint), "\(text)")

            // Someone holding the network key (from an unused invite) but never admitted
            // completes the handshake and stays connected, silent: no member, so not listed.
            let invite = try #require(InviteCode(text: try anaNode.member.invite()))
            let anaID = try #require(Hex.decode(ana.member).flatMap { try? PublicKey(bytes: $0) })
            let outsider = SigningKey.generate()
            let socket = try LoopbackSocket(port: anaNode.port)
            _ = try socket.handshake(networkKey: invite.networkKey, identity: outsider, serverKey: anaID)
            var listed: [[String: Any]] = []
            let outsiderListed = try eventually(timeout: .seconds(1)) {
                listed = try anaNode.member.succeed(["peers", "--json"]).array()
                return listed.contains { $0["member"] as? String == outsider.publicKey.hex }
            }
            #expect(!outsiderListed, "a non-member is listed: \(listed)")
            #expect(listed.contains { $0["member"] as? String == ben.member }, "\(listed)")
            socket.close()

            // Once Ben's node stops, Ana's lists him as not connected.
            #expect(benNode.process.stop(), "meetkit run ignored SIGTERM")
            let gone = try eventually(timeout: .seconds(10)) {
                try anaNode.member.succeed(["peers", "--json"]).array().contains {
                    $0["member"] as? String == ben.member && $0["connected"] as? Bool == false
                }
            }
            #expect(gone, "Ana's node still lists Ben as connected after his node stopped")
            let farewell = try anaNode.member.succeed(["peers"]).stdout
            #expect(farewell.contains("not connected, last seen"), "\(farewell)")
        }
    }

    /// SIGTERM ends `meetkit run` with status 0, while it has a live session either way, and
    /// removes the control socket; commands then open the store themselves again.
    /// A reply far larger than the socket's buffer (`log --json` of 3,000 entries, ~1.3 MB)
    /// arrives whole through the control socket, every time.
    @Test func aLargeReplyThroughTheControlSocketArrivesWhole() throws {
        try withCluster { cluster in
            let ana = cluster.member("Ana")
            try ana.initialize()
            try ana.succeed(["group", "create", "Circle"])
            try ResumeTests.appendShares(3_000, home: ana.home, passphrase: cluster.passphrase)
            let node = try ana.run()
            for attempt in 1...5 {
                let log = try ana.meetkit(["log", "--json"], timeout: .seconds(30))
                #expect(log.status == 0 && (try? log.array().count) ?? 0 > 3_000, "attempt \(attempt): \(log.status) \(log.stderr)")
            }
            #expect(node.process.isRunning)
        }
    }

    @Test func sigtermStopsTheNodeCleanly() throws {
        try withCluster { cluster in
            let (anaNode, benNode) = try Self.connectedPair(cluster)
            let ben = try benNode.member.status()
            _ = try Self.peers(of: anaNode, listing: ben.member)

            // The dialling side first, then the accepting side (whose peer is then gone), then
            // an accepting side with a live session.
            for node in [benNode, anaNode] {
                node.process.signal(SIGTERM)
                #expect(node.process.wait(timeout: .seconds(10)), "\(node.member.name)'s node ignored SIGTERM")
                node.process.stop(grace: .seconds(1))
                #expect(node.process.status == 0, "\(node.process.result())")
                #expect(!FileManager.default.fileExists(atPath: node.member.controlSocket), "control.sock left behind")
            }
            let anaAgain = try anaNode.member.run()
            let benAgain = try benNode.member.run(peers: [anaAgain.port])
            _ = try Self.peers(of: anaAgain, listing: ben.member)
            anaAgain.process.signal(SIGTERM)
            #expect(anaAgain.process.wait(timeout: .seconds(10)), "Ana's node ignored SIGTERM with a member connected")
            anaAgain.process.stop(grace: .seconds(1))
            #expect(anaAgain.process.status == 0, "\(anaAgain.process.result())")
            #expect(!FileManager.default.fileExists(atPath: anaNode.member.controlSocket), "control.sock left behind")
            #expect(benAgain.process.stop(), "Ben's node ignored SIGTERM while redialling")
            #expect(benAgain.process.status == 0, "\(benAgain.process.result())")

            // No node runs: commands work on the store directly (no lock held, no stale socket).
            for member in [anaNode.member, benNode.member] {
                let started = ContinuousClock.now
                try member.succeed(["share", "After the node stopped."])
                #expect(ContinuousClock.now - started < .seconds(5), "waited for a lock")
                try member.succeed(["verify"])
                let peers = try member.meetkit(["peers"])
                #expect(peers.status != 0 && peers.stderr.contains("No node is running"), "\(peers)")
            }
        }
    }

    /// `group join -` reads the secret invite code from stdin, so it never shows in the
    /// process list; a node joined that way is a member like any other.
    @Test func joinReadsTheCodeFromStdin() throws {
        try withCluster { cluster in
            let ana = cluster.member("Ana")
            let ben = cluster.member("Ben")
            try ana.initialize()
            try ana.succeed(["group", "create", "Circle"])
            try ben.initialize()
            let code = try ana.invite()
            let anaNode = try ana.run()
            let joined = try ben.meetkit(["group", "join", "-", "--peer", anaNode.address], input: code + "\n")
            #expect(joined.status == 0, "\(joined)")
            #expect(joined.stdout.contains("Joined Circle"))
            let members = try ana.succeed(["group", "members", "--json"]).stdout
            #expect(members.contains(try ben.status().member))
            let refused = try ben.meetkit(["group", "join", "-", "--peer", anaNode.address], input: "not a code\n")
            #expect(refused.status != 0)
        }
    }
}
