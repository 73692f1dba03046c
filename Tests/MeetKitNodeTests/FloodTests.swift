import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitTestSupport
import Testing

/// A flood of connections that never finish their handshake (Protocol/handshake.md §Limits).
@Suite(.serialized) struct FloodTests {
    @Test func aThousandSilentConnectionsFromOneAddressAreAllClosedWhileMembersAreServed() throws {
        try withCluster { cluster in
            let (ana, ben, anaNode) = try cluster.anaFoundsAndBenJoins()
            let before = try #require(Self.residentKiB(anaNode.process.pid))
            let start = ContinuousClock.now
            // From 127.0.0.2: another "device" than the members' 127.0.0.1.
            let flood = try (0..<1_000).map { _ in try LoopbackSocket(port: anaNode.port, from: 0x7F00_0002) }
            for socket in flood.prefix(10) { socket.send([0x42]) }  // a few say something, slowly

            // Beyond 16 from one address still in their handshake, the node closes at once:
            // those closed before the first 5 s handshake timeout can have fired.
            Thread.sleep(until: Date(timeIntervalSinceNow: (start + .seconds(4.5) - ContinuousClock.now).seconds))
            let closedEarly = flood.filter { $0.receive(timeout: .milliseconds(1)).closed }.count
            #expect(closedEarly >= 1_000 - 2 * 16, "only \(closedEarly) of 1000 were closed before any handshake timed out")

            // A member is served meanwhile: writes, syncs both ways.
            try ben.succeed(["share", "Said during the flood."])
            let synced = try ben.meetkit(["sync", "--peer", anaNode.address], timeout: .seconds(20))
            #expect(synced.status == 0, "\(synced)")
            #expect(ContinuousClock.now - start < .seconds(20))
            let during = try #require(Self.residentKiB(anaNode.process.pid))
            #expect(during - before < 32 * 1024, "the node grew by \(during - before) KiB during the flood")

            // Every flood connection is closed by the node: at once beyond the per-address
            // bound, the others when the 5 s handshake timeout ends them.
            let deadline = start + .seconds(12)
            var open = 0
            for socket in flood where !socket.receive(timeout: max(.milliseconds(1), deadline - ContinuousClock.now)).closed { open += 1 }
            #expect(open == 0, "\(open) of 1000 flood connections were still open after 12 s")
            #expect(try ana.shareTexts().contains("Said during the flood."))
            #expect(anaNode.process.isRunning)
        }
    }

    /// Silent and slow connections from many addresses, opened steadily so that the node's
    /// bound on handshakes in progress stays full, and a member's oversize frames, while Ben
    /// writes and syncs with Ana's node and Cy receives Ben's shares through it.
    @Test func aSteadyFloodFromManyAddressesNeverKeepsMembersOut() throws {
        let size = Figures.sized(ci: 1_000, long: 10_000)
        let addresses = 100
        let perSecond = 100.0
        let oversizeFrames = Figures.sized(ci: 50, long: 500)
        let deadline: Duration = HostilePeerTests.handshakeTimeout + HostilePeerTests.slack
        try withCluster { cluster in
            let (ana, ben, anaNode) = try cluster.anaFoundsAndBenJoins()
            let cy = cluster.member("Cy")
            try cy.initialize()
            try cy.succeed(["group", "join", try ana.invite(), "--peer", anaNode.address])
            // Cal, a member, is the one sending oversize frames; his node never runs.
            let cal = cluster.member("Cal")
            let calIdentity = try HostilePeerTests.createNode(home: cal.home, name: "Cal", passphrase: cluster.passphrase)
            try cal.succeed(["group", "join", try ana.invite(), "--peer", anaNode.address])
            let networkKey = try #require(InviteCode(text: try ana.invite())).networkKey
            let anaID = try #require(Hex.decode(try ana.status().member).flatMap { try? PublicKey(bytes: $0) })
            let port = anaNode.port
            let before = try #require(Self.residentKiB(anaNode.process.pid))

            let findings = Findings()
            let floodDone = Flag()
            let others = DispatchGroup()
            // Ben writes and syncs, and Cy syncs, for as long as the flood lasts.
            DispatchQueue.global().async(group: others) {
                var round = 0
                while !floodDone.isSet || round < 2 {
                    round += 1
                    do {
                        let started = ContinuousClock.now
                        let share = try ben.meetkit(["share", "Ben, round \(round)."])
                        let sent = try ben.meetkit(["sync", "--peer", anaNode.address], timeout: .seconds(20))
                        let received = try cy.meetkit(["sync", "--peer", anaNode.address], timeout: .seconds(20))
                        findings.check(share.status == 0 && sent.status == 0 && received.status == 0, "round \(round): \(sent) \(received)")
                        findings.record("member round", ContinuousClock.now - started)
                        findings.count("member rounds")
                    } catch {
                        return findings.check(false, "members: \(error)")
                    }
                }
            }
            DispatchQueue.global().async(group: others) {
                for _ in 0..<oversizeFrames {
                    do {
                        try HostilePeerTests.oversize(port: port, networkKey: networkKey, identity: calIdentity, server: anaID, findings)
                        findings.count("oversize frames closed")
                    } catch {
                        return findings.check(false, "oversize: \(error)")
                    }
                }
            }

            // The flood, driven from here: open on schedule, keep the slow ones dribbling, and
            // note when the node closes each.
            struct Open {
                let socket: LoopbackSocket
                let opened: ContinuousClock.Instant
                let slow: Bool
                var lastByte: ContinuousClock.Instant
            }
            var open: [Open] = []
            var longest = Duration.zero
            var late = 0
            var answered = 0
            var peak = before
            let start = ContinuousClock.now
            var made = 0
            while made < size || !open.isEmpty {
                let now = ContinuousClock.now
                while made < size, start + .seconds(Double(made) / perSecond) <= now {
                    let source = 0x7F00_0002 + UInt32(made % addresses)
                    let socket = try LoopbackSocket(port: port, from: source)
                    open.append(Open(socket: socket, opened: now, slow: made % 2 == 1, lastByte: now))
                    made += 1
                }
                open.removeAll { connection in
                    switch connection.socket.state() {
                    case .closed:
                        longest = max(longest, now - connection.opened)
                        if now - connection.opened > deadline { late += 1 }
                        return true
                    case .sentBytes:
                        answered += 1
                        return true
                    case .open:
                        if now - connection.opened > deadline + .seconds(10) {
                            late += 1
                            return true
                        }
                        return false
                    }
                }
                for index in open.indices where open[index].slow && now - open[index].lastByte > .seconds(1) {
                    open[index].socket.send([0x42])
                    open[index].lastByte = now
                }
                peak = max(peak, Self.residentKiB(anaNode.process.pid) ?? 0)
                Thread.sleep(forTimeInterval: 0.02)
            }
            floodDone.set()
            #expect(others.wait(timeout: .now() + 90) == .success, "the members or the oversize frames did not finish")
            for problem in findings.problems { Issue.record(Comment(rawValue: problem)) }

            #expect(late == 0, "\(late) of \(size) flood connections were open for over \(deadline)")
            #expect(answered == 0, "the node sent bytes on \(answered) flood connections")
            #expect(findings.counts["oversize frames closed"] == oversizeFrames)
            let rounds = findings.counts["member rounds", default: 0]
            #expect(rounds >= 2)
            let growth = peak - before
            #expect(growth < 32 * 1024, "the node grew by \(growth) KiB during the flood")
            let texts = try cy.shareTexts()
            #expect((1...rounds).allSatisfy { texts.contains("Ben, round \($0).") }, "Cy is missing some of Ben's shares: \(texts)")
            #expect(anaNode.process.isRunning)

            Figures.record("flood", "connections, silent and slow (from \(addresses) addresses, \(Int(perSecond))/s)", size)
            Figures.record("flood", "connections open past \(deadline.seconds) s", late)
            Figures.record("flood", "longest a flood connection stayed open", String(format: "%.1f s", longest.seconds))
            Figures.record("flood", "oversize frames from a member, closed within 2 s", "\(findings.counts["oversize frames closed", default: 0]) of \(oversizeFrames)")
            Figures.record("flood", "member rounds (share, 2 syncs) served during the flood", "\(rounds), slowest \(String(format: "%.2f s", findings.longest("member round").seconds))")
            Figures.record("flood", "node memory growth, peak", String(format: "%.1f MiB", Double(growth) / 1024))
        }
    }

    /// VmRSS of process `pid`, in KiB.
    static func residentKiB(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }
}
