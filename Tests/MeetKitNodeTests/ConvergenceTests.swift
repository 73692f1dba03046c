import Foundation
import MeetKitTestSupport
import Testing

/// Members' nodes as separate `meetkit` processes on loopback reach the same log.
@Suite(.serialized) struct ConvergenceTests {
    /// A founds, B joins through A's running node, both write (some while the other is
    /// offline), and `meetkit sync` both ways leaves them with the same log.
    @Test func twoMembersConverge() throws {
        try withCluster { cluster in
            let ana = cluster.member("Ana")
            let ben = cluster.member("Ben")
            try ana.initialize()
            try ana.succeed(["group", "create", "Circle"])
            try ben.initialize()
            try ana.succeed(["share", "Before Ben came."])
            let code = try ana.invite()

            var anaNode = try ana.run()
            let joined = try ben.succeed(["group", "join", code, "--peer", anaNode.address])
            #expect(joined.stdout.contains("Joined Circle"), "\(joined)")

            // Ben offline: Ana writes through her running node, Ben on his own store.
            try ana.succeed(["share", "Ana, while Ben is away."])
            try ana.succeed(["checkin", "--mood", "4", "--note", "steady"])
            try ben.succeed(["share", "Ben, offline."])
            try ben.succeed(["meeting", "start", "--topic", "Ben's corner"])
            try ben.succeed(["share", "Ben, in his meeting."])
            try ben.succeed(["meeting", "end"])

            // Ben dials Ana's node.
            let first = try ben.succeed(["sync", "--peer", anaNode.address])
            #expect(first.stdout.contains("sent 4 entries, received 2."), "\(first)")
            #expect(try ana.status().digest == (try ben.status().digest))

            // Then the other way round: Ana offline, Ben's node up, Ana dials Ben.
            #expect(anaNode.process.stop(), "meetkit run ignored SIGTERM")
            #expect(anaNode.process.status == 0, "\(anaNode.process.result())")
            let benNode = try ben.run()
            try ana.succeed(["share", "Ana, offline now."])
            try ana.succeed(["share", "Ana, again."])
            try ben.succeed(["checkin", "--mood", "2", "--note", "rough week", "--support"])
            let second = try ana.succeed(["sync", "--peer", benNode.address])
            #expect(second.stdout.contains("sent 2 entries, received 1."), "\(second)")

            // Both nodes up (not connected to each other): Ben's `sync` is handed to his own
            // running node (which holds his store's lock), and it dials Ana's.
            anaNode = try ana.run()
            try ben.succeed(["share", "Ben, through his node."])
            let third = try ben.succeed(["sync", "--peer", anaNode.address])
            #expect(third.stdout.contains("sent 1 entries, received 0."), "\(third)")
            #expect(benNode.process.stop(), "meetkit run ignored SIGTERM")
            #expect(anaNode.process.stop(), "meetkit run ignored SIGTERM")
            #expect(benNode.process.status == 0 && anaNode.process.status == 0)

            let a = try ana.status()
            let b = try ben.status()
            #expect(a.digest == b.digest)
            #expect(a.entries == b.entries)
            // Genesis, Ana's profile, a share, the invite, Ben's admission and profile, then
            // 2 + 4 + 2 + 1 + 1 written above.
            #expect(a.entries == 16)
            let anaIDs = try ana.logIDs()
            let benIDs = try ben.logIDs()
            #expect(anaIDs == benIDs)
            #expect(Set(anaIDs).count == anaIDs.count, "duplicate ids in the log")
            #expect(anaIDs.count == a.entries)
            let texts = try ben.shareTexts()
            for text in ["Before Ben came.", "Ana, while Ben is away.", "Ben, in his meeting.", "Ana, again."] {
                #expect(texts.contains(text), "\(texts)")
            }
            try ana.succeed(["verify"])
            try ben.succeed(["verify"])
        }
    }

    /// Five members, each a `meetkit run` process with its own data directory and its own
    /// entries written offline, connected in a chain (E → D → C → B → A): all reach the same
    /// digest, and a share written at one end is pushed live to every node.
    @Test func fiveNodesInAChainConverge() throws {
        try withCluster { cluster in
            let names = ["Ana", "Ben", "Cat", "Dev", "Eli"]
            let members = names.map(cluster.member)
            for member in members { try member.initialize() }
            let founder = members[0]
            try founder.succeed(["group", "create", "Circle"])
            let codes = try (1..<members.count).map { _ in try founder.invite() }

            // Everyone joins through the founder's node, one after the other: an earlier
            // member does not know of the later ones until the chain tells it (a node serves
            // only members it knows of, so the later ones are refused until then and redial).
            let hub = try founder.run()
            for (member, code) in zip(members.dropFirst(), codes) {
                try member.succeed(["group", "join", code, "--peer", hub.address])
            }
            #expect(hub.process.stop(), "meetkit run ignored SIGTERM")
            let base = try founder.status().entries

            // Different starting logs.
            for (index, member) in members.enumerated() {
                for n in 0...index {
                    try member.succeed(["share", "\(member.name) alone, \(n)."])
                }
            }
            let digests = try Set(members.map { try $0.status().digest })
            #expect(digests.count == members.count, "the logs should differ before connecting")

            // The chain: each node dials the one before it.
            var nodes: [RunningNode] = []
            for member in members {
                nodes.append(try member.run(peers: nodes.last.map { [$0.port] } ?? []))
            }

            // The founder's log (the whole roster) plus 1 + 2 + 3 + 4 + 5 shares: none lost,
            // none doubled.
            let expected = base + 15
            var last: [Member.Status] = []
            let converged = try eventually(timeout: .seconds(30), interval: .milliseconds(300)) {
                last = try members.map { try $0.status() }
                return Set(last.map(\.digest)).count == 1 && last.allSatisfy { $0.entries == last[0].entries }
            }
            #expect(converged, "not converged within 30 s: \(last.map { "\($0.entries) \($0.digest.prefix(8))" })")
            #expect(last.first?.entries == expected, "\(last.map(\.entries))")

            // Live push along the whole chain, both ways.
            try members[4].succeed(["share", "Eli, live."])
            try members[0].succeed(["share", "Ana, live."])
            let pushed = try eventually(timeout: .seconds(30), interval: .milliseconds(300)) {
                last = try members.map { try $0.status() }
                return Set(last.map(\.digest)).count == 1 && last.allSatisfy { $0.entries == expected + 2 }
            }
            #expect(pushed, "the live shares did not reach everyone: \(last.map { "\($0.entries) \($0.digest.prefix(8))" })")
            for member in [members[0], members[2], members[4]] {
                let texts = try member.shareTexts()
                #expect(texts.contains("Eli, live.") && texts.contains("Ana, live."), "\(member.name): \(texts)")
                let ids = try member.logIDs()
                #expect(Set(ids).count == ids.count, "duplicate ids at \(member.name)")
            }

            for node in nodes.reversed() {
                #expect(node.process.stop(), "\(node.member.name)'s node ignored SIGTERM")
                #expect(node.process.status == 0, "\(node.process.result())")
            }
            for member in members { try member.succeed(["verify"]) }
        }
    }
}
