import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitStore
import Testing

/// Two valid entries at one place in a feed (Protocol/sync.md §Forks): the proof is kept, the
/// feed is cut just before the fork on every node that sees both or the proof, and nothing
/// after the cut is fetched again.
@Suite struct ForkTests {
    /// A second entry signed with `store`'s key at the place of `entry` in its feed.
    static func twin(of entry: Entry, in store: Store) throws -> Entry {
        let previous = store.log(of: entry.group).map(\.entry)
            .first { $0.header.author == entry.header.author && $0.header.sequence == entry.header.sequence - 1 }
        return try Entry.create(
            content: .share(Share(text: "the other history")), group: entry.group, after: previous?.head,
            lamport: entry.header.lamport, timestamp: entry.header.timestamp, epoch: entry.header.epoch,
            author: store.identity, contentKey: SecretBytes(randomCount: 32), nonce: SecureRandom.bytes(24))
    }

    @Test func aForkedFeedIsQuarantinedAndNeverFetchedAgainWhileOtherFeedsSync() throws {
        let g = try EpochTests.Group(["Ana", "Ben", "Cy"])
        let first = try g[1].append(.share(Share(text: "one")), to: g.group, at: Date())
        try g.sync(1, to: 0)
        let twin = try Self.twin(of: first, in: g[1])

        // Not an error: the peer that sent it may not know of the fork.
        #expect(try g[0].ingest([twin], into: g.group).isEmpty)
        let fork = try #require(g[0].forks(in: g.group).first)
        #expect(fork.author == g[1].memberID && fork.sequence == first.header.sequence)
        #expect(Set([fork.entries.0.id, fork.entries.1.id]) == [first.id, twin.id])
        // Neither branch is kept: Ana holds Ben's feed up to just before the fork.
        #expect(g[0].versionVector(of: g.group)[g[1].memberID] == first.header.sequence - 1)
        #expect(!g[0].log(of: g.group).contains { $0.entry.id == first.id || $0.entry.id == twin.id })

        // Ben's feed goes on at Ben's; Ana takes none of it. Once Ben's node has the proof (a
        // session sends it), it cuts its own feed too, and offers Ana nothing more of it.
        try g[1].append(.share(Share(text: "two")), to: g.group, at: Date())
        let before = g[0].entryCount
        try g.sync(1, to: 0)
        #expect(g[0].entryCount == before)
        try g[1].acceptForkProof(fork.entries.0, fork.entries.1, in: g.group)
        #expect(g[1].entries(of: g.group, missingFrom: g[0].versionVector(of: g.group)).isEmpty)
        #expect(Fixture.storeError { try g[1].append(.share(Share(text: "three")), to: g.group, at: Date()) }?.code == .notPermitted)

        // Cy, given both histories, quarantines the feed too; other feeds still sync.
        try g[2].ingest([first, twin], into: g.group)
        #expect(g[2].forks(in: g.group).map(\.author) == [g[1].memberID])
        try g[2].append(.share(Share(text: "Cy carries on.")), to: g.group, at: Date())
        try g.sync(2, to: 0)
        #expect(g[0].log(of: g.group).contains { $0.content == .share(Share(text: "Cy carries on.")) })
    }

    @Test func theProofIsKeptSealedAndSurvivesReopening() throws {
        let anaHome = try TemporaryHome()
        let benHome = try TemporaryHome()
        var ana: Store? = try Fixture.create(anaHome, pseudonym: "Ana")
        let ben = try Fixture.create(benHome, pseudonym: "Ben")
        let group = try ana!.createGroup(name: "Circle", at: Date())
        let code = try ana!.createInvite(to: group, lifetime: 60, at: Date())
        _ = try ben.acceptAdmission(sealedKeys: try ana!.admit(ben.memberID, to: group, secret: code.secret, at: Date()).sealedKeys, into: group)
        try ben.ingest(ana!.entries(of: group, missingFrom: ben.versionVector(of: group)), into: group)
        let first = try ben.append(.share(Share(text: "one")), to: group, at: Date())
        try ana!.ingest([first, try Self.twin(of: first, in: ben)], into: group)
        let digest = ana!.summary(of: group).digest
        ana = nil  // releases the lock

        let reopened = try Fixture.open(anaHome)
        #expect(reopened.forks(in: group).map(\.author) == [ben.memberID])
        #expect(reopened.summary(of: group).digest == digest)
        #expect(throws: Never.self) { try reopened.verify() }
        // Sealed like every row: Ben's key is nowhere in the files.
        for name in try FileManager.default.contentsOfDirectory(atPath: anaHome.path) {
            let data = FileManager.default.contents(atPath: anaHome.file(name)) ?? Data()
            #expect(data.range(of: Data(ben.memberID.bytes)) == nil, "\(name)")
        }
    }
}
