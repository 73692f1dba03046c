import MeetKitCrypto

/// Where an entry stands in the log's display order: (Lamport, author, sequence), the same on
/// every node, so that converged nodes list the same entries in the same order
/// (Protocol/entries.md §Log order).
public struct LogPosition: Hashable, Sendable, Comparable {
    public let lamport: UInt64
    public let author: PublicKey
    public let sequence: UInt64

    public static func < (a: LogPosition, b: LogPosition) -> Bool {
        if a.lamport != b.lamport { return a.lamport < b.lamport }
        if a.author != b.author { return a.author < b.author }
        return a.sequence < b.sequence
    }
}

extension Entry {
    public var position: LogPosition {
        LogPosition(lamport: header.lamport, author: header.author, sequence: header.sequence)
    }
}

/// The log digest: BLAKE2b-256 over a domain tag and the entry ids in log order. Two nodes
/// holding the same entries of a group print the same digest (Protocol/entries.md §Log digest).
public enum LogDigest {
    static let tag = Array("meetkit-log-digest-v1".utf8)

    public static func digest(ofOrderedIDs ids: [EntryID]) -> [UInt8] {
        var message = tag
        message.reserveCapacity(tag.count + ids.count * EntryID.length)
        for id in ids { message.append(contentsOf: id.bytes) }
        return BLAKE2b.hash(message)
    }

    /// One digest for several groups: BLAKE2b-256 over a domain tag and their digests, in the
    /// order given (group-id order in `meetkit status`).
    public static func combined(_ digests: [[UInt8]]) -> [UInt8] {
        BLAKE2b.hash(Array("meetkit-log-digests-v1".utf8) + digests.joined())
    }
}
