import MeetKitCore
import MeetKitCrypto
import Testing

@Suite("Feed links")
struct ValidateLinkTests {
    let first: Entry
    let second: Entry

    init() throws {
        first = try makeEntry(.profile(pseudonym: "Ash"), lamport: 4, epoch: 1)
        second = try makeEntry(.share(Share(text: "hello")), after: first.head, lamport: 5, epoch: 1)
    }

    @Test func aFeedInOrderLinks() throws {
        try first.validateLink(after: nil, in: Fixtures.group)
        try second.validateLink(after: first.head, in: Fixtures.group)
    }

    @Test func genesisStartsItsOwnGroup() throws {
        let genesis = try makeEntry(.genesis(name: "G"), group: nil)
        try genesis.validateLink(after: nil, in: genesis.group)
        #expect(throws: EntryError.wrongGroup) { try genesis.validateLink(after: nil, in: Fixtures.group) }
    }

    @Test func lamportMayJumpAndEpochMayRise() throws {
        let later = try makeEntry(.share(Share(text: "after a re-key")), after: first.head, lamport: 1_000, epoch: 2)
        try later.validateLink(after: first.head, in: Fixtures.group)
    }

    @Test func wrongGroup() {
        #expect(throws: EntryError.wrongGroup) { try second.validateLink(after: first.head, in: Fixtures.otherGroup) }
        #expect(throws: EntryError.wrongGroup) { try first.validateLink(after: nil, in: Fixtures.otherGroup) }
    }

    @Test func sequenceGap() throws {
        #expect(throws: EntryError.sequenceGap(expected: 1, actual: 2)) { try second.validateLink(after: nil, in: Fixtures.group) }
        // Entry 2 again after itself, and entry 2 where 4 is due.
        #expect(throws: EntryError.sequenceGap(expected: 3, actual: 2)) {
            try second.validateLink(after: second.head, in: Fixtures.group)
        }
        let third = try makeEntry(.share(Share(text: "3")), after: second.head, lamport: 6, epoch: 1)
        #expect(throws: EntryError.sequenceGap(expected: 4, actual: 2)) {
            try second.validateLink(after: third.head, in: Fixtures.group)
        }
        #expect(throws: EntryError.sequenceGap(expected: 2, actual: 3)) {
            try third.validateLink(after: first.head, in: Fixtures.group)
        }
    }

    @Test func brokenChain() throws {
        // A second entry 2 (a fork) does not link to the first's successor.
        let fork = try makeEntry(.share(Share(text: "fork")), after: first.head, lamport: 6, epoch: 1)
        let afterFork = try makeEntry(.share(Share(text: "3")), after: fork.head, lamport: 7, epoch: 1)
        #expect(throws: EntryError.brokenChain) { try afterFork.validateLink(after: second.head, in: Fixtures.group) }
        try afterFork.validateLink(after: fork.head, in: Fixtures.group)
    }

    @Test func lamportNotIncreasing() throws {
        let same = try makeEntry(.share(Share(text: "same clock")), after: first.head, lamport: 4, epoch: 1)
        #expect(throws: EntryError.lamportNotIncreasing) { try same.validateLink(after: first.head, in: Fixtures.group) }
        let lower = try makeEntry(.share(Share(text: "earlier clock")), after: first.head, lamport: 3, epoch: 1)
        #expect(throws: EntryError.lamportNotIncreasing) { try lower.validateLink(after: first.head, in: Fixtures.group) }
    }

    @Test func epochDecreased() throws {
        let back = try makeEntry(.share(Share(text: "old epoch")), after: first.head, lamport: 5, epoch: 0)
        #expect(throws: EntryError.epochDecreased) { try back.validateLink(after: first.head, in: Fixtures.group) }
    }

    @Test func checksRunInOrder() throws {
        // Group, then sequence, then chain, then Lamport, then epoch.
        let head = FeedHead(sequence: 1, id: EntryID(bytes: [UInt8](repeating: 9, count: 32))!, lamport: 100, epoch: 9)
        #expect(throws: EntryError.wrongGroup) { try second.validateLink(after: head, in: Fixtures.otherGroup) }
        #expect(throws: EntryError.brokenChain) { try second.validateLink(after: head, in: Fixtures.group) }
        let chained = FeedHead(sequence: 1, id: first.id, lamport: 100, epoch: 9)
        #expect(throws: EntryError.lamportNotIncreasing) { try second.validateLink(after: chained, in: Fixtures.group) }
        let earlierClock = FeedHead(sequence: 1, id: first.id, lamport: 1, epoch: 9)
        #expect(throws: EntryError.epochDecreased) { try second.validateLink(after: earlierClock, in: Fixtures.group) }
    }
}
