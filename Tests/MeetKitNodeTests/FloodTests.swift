import Foundation
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

            // Beyond 16 from one address still in their handshake, the node closes at once.
            Thread.sleep(until: Date(timeIntervalSinceNow: (start + .seconds(3) - ContinuousClock.now).seconds))
            let closedEarly = flood.filter { $0.receive(timeout: .milliseconds(1)).closed }.count
            #expect(closedEarly >= 1_000 - 2 * 16, "only \(closedEarly) of 1000 were closed within 3 s")

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

    /// VmRSS of process `pid`, in KiB.
    static func residentKiB(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }
}
