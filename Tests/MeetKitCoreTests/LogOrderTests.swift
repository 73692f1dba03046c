import MeetKitCore
import MeetKitCrypto
import Testing

@Suite("Log order and digest")
struct LogOrderTests {
    /// Two authors, whichever of them sorts first by key.
    let low: SigningKey
    let high: SigningKey

    init() {
        let (a, b) = (Fixtures.founder, Fixtures.member)
        (low, high) = a.publicKey < b.publicKey ? (a, b) : (b, a)
    }

    func entry(_ author: SigningKey, sequence: UInt64, lamport: UInt64) throws -> Entry {
        let head = sequence == 1
            ? nil : FeedHead(sequence: sequence - 1, id: EntryID(bytes: [UInt8](repeating: 1, count: 32))!, lamport: 0, epoch: 0)
        return try makeEntry(.share(Share(text: "\(sequence)")), by: author, after: head, lamport: lamport)
    }

    @Test func lamportFirstThenAuthorThenSequence() throws {
        let a = try entry(high, sequence: 9, lamport: 4).position
        let b = try entry(low, sequence: 1, lamport: 5).position
        let c = try entry(low, sequence: 2, lamport: 5).position
        let d = try entry(high, sequence: 1, lamport: 5).position
        let e = try entry(low, sequence: 1, lamport: 6).position
        #expect(a < b)  // a lower clock wins over author and sequence
        #expect(b < c)  // same clock and author: sequence
        #expect(c < d)  // same clock: the lower author key, whatever the sequence
        #expect(d < e)
        #expect([e, d, c, b, a].sorted() == [a, b, c, d, e])
        #expect(!(b < b))
        #expect(b == (try entry(low, sequence: 1, lamport: 5).position))
    }

    @Test func digestIsIndependentOfArrivalOrder() throws {
        let entries = [
            try entry(low, sequence: 1, lamport: 1), try entry(high, sequence: 1, lamport: 1),
            try entry(low, sequence: 2, lamport: 2), try entry(high, sequence: 2, lamport: 4),
            try entry(low, sequence: 3, lamport: 4),
        ]
        func digest(_ arrived: [Entry]) -> [UInt8] {
            LogDigest.digest(ofOrderedIDs: arrived.sorted { $0.position < $1.position }.map(\.id))
        }
        let expected = digest(entries)
        for arrival in permutations(of: entries) {
            #expect(digest(arrival) == expected)
        }
        // Different holdings give different digests.
        #expect(digest(Array(entries.dropLast())) != expected)
        // The order is part of the digest.
        #expect(LogDigest.digest(ofOrderedIDs: entries.map(\.id).reversed()) != LogDigest.digest(ofOrderedIDs: entries.map(\.id)))
    }

    @Test func digestIsTheDocumentedHash() throws {
        let ids = [try entry(low, sequence: 1, lamport: 1).id, try entry(high, sequence: 1, lamport: 1).id]
        let tag = Array("meetkit-log-digest-v1".utf8)
        #expect(LogDigest.digest(ofOrderedIDs: ids) == BLAKE2b.hash(tag + ids[0].bytes + ids[1].bytes))
        #expect(LogDigest.digest(ofOrderedIDs: []) == BLAKE2b.hash(tag))
        #expect(Hex.encode(LogDigest.digest(ofOrderedIDs: [])) == "1f2b5e2ddff60ca3a532a41715f3e1748aa80abab1f2defe449e25a65bbed5f0")
    }

    @Test func combinedDigest() {
        let a = [UInt8](repeating: 1, count: 32)
        let b = [UInt8](repeating: 2, count: 32)
        #expect(LogDigest.combined([a, b]) == BLAKE2b.hash(Array("meetkit-log-digests-v1".utf8) + a + b))
        #expect(LogDigest.combined([a, b]) != LogDigest.combined([b, a]))
    }

    private func permutations<T>(of items: [T]) -> [[T]] {
        guard let first = items.first else { return [[]] }
        return permutations(of: Array(items.dropFirst())).flatMap { rest in
            (0...rest.count).map { i in
                var p = rest
                p.insert(first, at: i)
                return p
            }
        }
    }
}
