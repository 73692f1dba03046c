import MeetKitCrypto

/// The id of an entry: BLAKE2b-256 of its header and signature (Protocol/entries.md §Entry id).
public struct EntryID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let length = 32
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.length else { return nil }
        self.bytes = bytes
    }

    public init?(hex: String) {
        guard let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }
    /// The first 8 hex digits: enough to name an entry to a person.
    public var short: String { String(hex.prefix(8)) }

    public static func < (lhs: EntryID, rhs: EntryID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}

/// The id of a group: the id of its genesis entry.
public struct GroupID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(_ genesis: EntryID) { bytes = genesis.bytes }

    public init?(bytes: [UInt8]) {
        guard bytes.count == EntryID.length else { return nil }
        self.bytes = bytes
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }
    public var short: String { String(hex.prefix(8)) }

    public static func < (lhs: GroupID, rhs: GroupID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}

extension PublicKey {
    /// The member id as text: 64 hex digits.
    public var hex: String { Hex.encode(bytes) }

    /// A short code two people can compare face to face: 16 hex digits in groups of four,
    /// from BLAKE2b over a domain tag and the key (Protocol/entries.md §Fingerprints).
    public var fingerprint: String {
        let digest = BLAKE2b.hash(Array("meetkit-fingerprint-v1".utf8) + bytes, outputLength: 16)
        let hex = Hex.encode(digest.prefix(8))
        return stride(from: 0, to: hex.count, by: 4).map { i -> String in
            let start = hex.index(hex.startIndex, offsetBy: i)
            return String(hex[start..<hex.index(start, offsetBy: 4)])
        }.joined(separator: "-")
    }
}
