import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitStore
import MeetKitTestSupport
import Testing

/// The group's retention and what dropping bodies leaves behind (Protocol/retention.md).
@Suite struct RetentionStoreTests {
    @Test func onlyAnAdminSetsRetentionAndExpiredBodiesGoWhileHeadersVerify() throws {
        let g = try EpochTests.Group(["Ana", "Ben", "Cy"])
        let share = try g[1].append(.share(Share(text: "An old share.")), to: g.group, at: Date(timeIntervalSinceNow: -7_200))
        try g.syncAll([0, 1])
        #expect(Fixture.storeError { try g[1].setRetention(3_600_000, in: g.group, at: Date()) }?.code == .notPermitted)

        try g[0].setRetention(3_600_000, in: g.group, at: Date())  // an hour: the share is two hours old
        #expect(g[0].log(of: g.group).first { $0.entry.id == share.id }?.entry.body == nil)
        try g.syncAll([0, 1])
        try g[1].dropExpiredBodies(at: Date())
        for i in [0, 1] {
            let kept = try #require(g[i].log(of: g.group).first { $0.entry.id == share.id })
            #expect(kept.entry.body == nil && kept.content == nil)
            #expect(throws: Never.self) { try g[i].verify() }
        }
        #expect(g.digest(0) == g.digest(1))

        // Cy, who never had the body, receives the header alone and keeps it so.
        try g.sync(0, to: 2)
        #expect(g[2].log(of: g.group).first { $0.entry.id == share.id }?.entry.body == nil)
        #expect(g.digest(2) == g.digest(0))
    }

    @Test func onlyTheAuthorRedactsAndANewerShareOutlivesTheRetention() throws {
        let g = try EpochTests.Group(["Ana", "Ben"])
        let bens = try g[1].append(.share(Share(text: "Mine.")), to: g.group, at: Date())
        try g.syncAll()
        #expect(Fixture.storeError { try g[0].redact(bens.id, in: g.group, at: Date()) }?.code == .notPermitted)
        // A redaction by someone else, written around the check, takes no effect anywhere.
        let forged = try HostileMember(g[0], in: g.group).entry(.redaction(entry: bens.id))
        try HostileMember(g[0], in: g.group).plant([forged])
        try g.syncAll()
        #expect(g.state(1).ineffective[forged.id] != nil)
        try g[1].dropExpiredBodies(at: Date())
        #expect(g[1].log(of: g.group).first { $0.entry.id == bens.id }?.content != nil)

        try g[1].redact(bens.id, in: g.group, at: Date())
        try g.syncAll()
        try g[0].dropExpiredBodies(at: Date())
        #expect(g[0].log(of: g.group).first { $0.entry.id == bens.id }?.entry.body == nil)
        #expect(g.state(0).redacted == [bens.id])
    }
}
