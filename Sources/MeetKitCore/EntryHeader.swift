import MeetKitCrypto

/// The signed part of an entry (Protocol/entries.md §Header): fixed size, big-endian,
/// every field at a fixed offset, so there is exactly one encoding of each header.
public struct EntryHeader: Hashable, Sendable {
    public static let formatVersion: UInt8 = 1
    public static let encodedLength = 162
    /// Bodies larger than this are refused (64 KiB of ciphertext, nonce and tag).
    public static let maximumBodyLength: UInt32 = 65_536
    /// Offset of the body hash: the bytes before it are the body's associated data.
    static let bodyHashOffset = 130

    public var kind: EntryKind
    /// nil only for a group genesis entry, whose id becomes the group id.
    public var group: GroupID?
    public var author: PublicKey
    public var sequence: UInt64
    /// nil exactly when `sequence` is 1.
    public var previous: EntryID?
    public var lamport: UInt64
    /// The author's wall clock, milliseconds since 1970-01-01 UTC. Informational only.
    public var timestamp: Int64
    public var epoch: UInt32
    public var bodyLength: UInt32
    /// nil exactly when `bodyLength` is 0.
    public var bodyHash: [UInt8]?

    public init(
        kind: EntryKind, group: GroupID?, author: PublicKey, sequence: UInt64, previous: EntryID?,
        lamport: UInt64, timestamp: Int64, epoch: UInt32, bodyLength: UInt32, bodyHash: [UInt8]?
    ) {
        self.kind = kind
        self.group = group
        self.author = author
        self.sequence = sequence
        self.previous = previous
        self.lamport = lamport
        self.timestamp = timestamp
        self.epoch = epoch
        self.bodyLength = bodyLength
        self.bodyHash = bodyHash
    }

    private static let zero32 = [UInt8](repeating: 0, count: 32)

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.encodedLength)
        w.write(Self.formatVersion)
        w.write(kind.rawValue)
        w.write(group?.bytes ?? Self.zero32)
        w.write(author.bytes)
        w.write(sequence)
        w.write(previous?.bytes ?? Self.zero32)
        w.write(lamport)
        w.write(timestamp)
        w.write(epoch)
        w.write(bodyLength)
        w.write(bodyHash ?? Self.zero32)
        return w.bytes
    }

    /// Decodes and checks the rules that need nothing but the header itself.
    public init(decoding bytes: [UInt8]) throws(EntryError) {
        guard bytes.count == Self.encodedLength else { throw .wrongLength(actual: bytes.count) }
        var r = ByteReader(bytes)
        // The reads below cannot fail: the length was checked above.
        let version = r.readUInt8()!
        guard version == Self.formatVersion else { throw .unsupportedVersion(version) }
        let rawKind = r.readUInt8()!
        guard let kind = EntryKind(rawValue: rawKind) else { throw .unknownKind(rawKind) }
        let group = r.readBytes(32)!
        let author = r.readBytes(32)!
        let sequence = r.readUInt64()!
        let previous = r.readBytes(32)!
        let lamport = r.readUInt64()!
        let timestamp = r.readInt64()!
        let epoch = r.readUInt32()!
        let bodyLength = r.readUInt32()!
        let bodyHash = r.readBytes(32)!

        guard sequence > 0 else { throw .sequenceZero }
        if sequence == 1 {
            guard previous == Self.zero32 else { throw .previousOnFirstEntry }
        } else {
            guard previous != Self.zero32 else { throw .missingPrevious }
        }
        if bodyLength == 0 {
            guard bodyHash == Self.zero32 else { throw .bodyHashWithoutBody }
        } else {
            guard bodyHash != Self.zero32 else { throw .bodyWithoutBodyHash }
            guard bodyLength <= Self.maximumBodyLength else { throw .bodyTooLarge(bodyLength) }
        }
        if kind == .genesis {
            guard sequence == 1 else { throw .genesisNotFirst }
            guard group == Self.zero32 else { throw .genesisWithGroup }
            guard epoch == 0 else { throw .genesisEpoch }
        } else {
            guard group != Self.zero32 else { throw .missingGroup }
        }
        guard kind.requiresBody == false || bodyLength > 0 else { throw .bodyRequired }

        self.kind = kind
        self.group = kind == .genesis ? nil : GroupID(bytes: group)
        // A 32-byte array always makes a PublicKey; whether it is a valid point is checked with the signature.
        self.author = try! PublicKey(bytes: author)
        self.sequence = sequence
        self.previous = sequence == 1 ? nil : EntryID(bytes: previous)
        self.lamport = lamport
        self.timestamp = timestamp
        self.epoch = epoch
        self.bodyLength = bodyLength
        self.bodyHash = bodyLength == 0 ? nil : bodyHash
    }
}

extension EntryKind {
    /// Every kind defined so far carries its content in an encrypted body.
    var requiresBody: Bool { true }
}
