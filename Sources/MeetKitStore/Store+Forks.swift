import Foundation
import GRDB
import MeetKitCore
import MeetKitCrypto

/// Forks (Protocol/sync.md §Forks): two valid entries by one author at one place in their feed
/// prove that the author's key signed two histories. The proof is kept, sealed like every row,
/// and the feed is quarantined: nothing more of it is accepted, and it is announced as complete
/// so that no peer sends it again.
extension Store {
    public struct Fork: Sendable {
        public let author: PublicKey
        public let sequence: UInt64
        /// The two entries, in id order; both signed by `author`, at `sequence`.
        public let entries: (Entry, Entry)

        /// A fork, if `a` and `b` are two different entries of one feed at one sequence.
        init?(_ a: Entry, _ b: Entry) {
            guard a.id != b.id, a.header.author == b.header.author, a.header.sequence == b.header.sequence, a.group == b.group
            else { return nil }
            author = a.header.author
            sequence = a.header.sequence
            entries = a.id < b.id ? (a, b) : (b, a)
        }
    }

    /// The quarantined feeds of `group`, by author.
    public func forks(in group: GroupID) -> [Fork] {
        (logs[group]?.forks.values).map { Array($0) }?.sorted { $0.author < $1.author } ?? []
    }

    /// Keeps `fork` as its feed's proof, in place of a later fork of the same feed (the caller
    /// keeps the earlier of two).
    func insertFork(_ fork: Fork, in group: GroupID, _ db: Database) throws {
        let feed = atRest.feedTag(group: group, author: fork.author)
        try db.execute(
            sql: "INSERT INTO forks (feed, sealed) VALUES (?, ?) ON CONFLICT (feed) DO UPDATE SET sealed = excluded.sealed",
            arguments: [Data(feed), Data(atRest.seal(fork.entries.0.wire + fork.entries.1.wire, context: Array("fork".utf8) + feed))])
    }
}
