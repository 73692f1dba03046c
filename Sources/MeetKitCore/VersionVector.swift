import MeetKitCrypto

/// For each author, the highest sequence number held in one group: what a node tells a peer
/// so that each sends exactly what the other lacks (Protocol/sync.md §Version vectors).
public struct VersionVector: Hashable, Sendable {
    /// More authors than this in one vector is refused: no real group is that large.
    public static let maximumAuthors = 4_096

    public private(set) var heads: [PublicKey: UInt64]

    public init(_ heads: [PublicKey: UInt64] = [:]) {
        self.heads = heads
    }

    public subscript(author: PublicKey) -> UInt64 {
        heads[author] ?? 0
    }

    /// Raises `author`'s entry to `sequence` if that is higher.
    public mutating func advance(_ author: PublicKey, to sequence: UInt64) {
        if sequence > self[author] { heads[author] = sequence }
    }

    /// count (u32) ‖ count × (author 32 ‖ sequence u64), authors in ascending byte order.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 4 + heads.count * 40)
        w.write(UInt32(heads.count))
        for (author, sequence) in heads.sorted(by: { $0.key < $1.key }) {
            w.write(author.bytes)
            w.write(sequence)
        }
        return w.bytes
    }

    /// Decodes the canonical form: authors strictly ascending, sequences ≥ 1.
    public init?(reading r: inout ByteReader) {
        guard let count = r.readUInt32(), count <= Self.maximumAuthors, r.remaining >= Int(count) * 40 else { return nil }
        var heads: [PublicKey: UInt64] = [:]
        var previous: PublicKey?
        for _ in 0..<count {
            guard let key = r.readBytes(32).flatMap({ try? PublicKey(bytes: $0) }), let sequence = r.readUInt64(),
                  sequence > 0, previous.map({ $0 < key }) ?? true
            else { return nil }
            heads[key] = sequence
            previous = key
        }
        self.heads = heads
    }

    /// The text form `meetkit status --vector` prints and `export --since` reads:
    /// "mkv1." followed by the encoded vector in base64url.
    public var text: String { "mkv1." + Base64URL.encode(encoded()) }

    public init?(text: String) {
        let trimmed = text.filter { !$0.isWhitespace }
        guard trimmed.hasPrefix("mkv1."), let bytes = Base64URL.decode(String(trimmed.dropFirst(5))) else { return nil }
        var r = ByteReader(bytes)
        guard let vector = VersionVector(reading: &r), r.isAtEnd else { return nil }
        self = vector
    }
}
