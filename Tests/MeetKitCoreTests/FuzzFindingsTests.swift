import MeetKitCore
import MeetKitCrypto
import Testing

/// Defects the fuzzer's harnesses found (Tests/Fuzz), each replayed here on its own.
@Suite("Fuzz findings")
struct FuzzFindingsTests {
    /// crashes/entry/share-timestamp-overflow: a member signs a share with a timestamp near
    /// Int64.max; once an admin sets any retention, timestamp + retention overflowed and
    /// trapped in `dropReason`, on every node that swept for expired bodies or listed the log.
    @Test func shareTimestampedAtTheEndOfTimeNeverExpires() throws {
        var ash = FeedWriter(author: Fixtures.founder, group: nil)
        let genesis = try ash.append(.genesis(name: "Tuesday Hall Group"), lamport: 1)
        let retention = try ash.append(.retention(milliseconds: 86_400_000), lamport: 2)
        let share = try Entry.create(
            content: .share(Share(text: "hi")), group: genesis.group, after: nil, lamport: 3, timestamp: .max,
            epoch: 0, author: Fixtures.member, contentKey: Fixtures.contentKey,
            nonce: [UInt8](repeating: 0x5a, count: AEAD.nonceLength))
        let item = LogItem(entry: share, content: .share(Share(text: "hi")))
        let state = GroupState(items: [
            LogItem(entry: genesis, content: .genesis(name: "Tuesday Hall Group")),
            LogItem(entry: retention, content: .retention(milliseconds: 86_400_000)),
            item,
        ])
        #expect(state.retention == 86_400_000)
        #expect(state.dropReason(of: item, now: Fixtures.startTime) == nil)
        #expect(state.dropReason(of: item, now: .max) == nil)
    }
}
