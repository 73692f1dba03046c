import MeetKitCore
import MeetKitCrypto

// MARK: - Keys, clocks and nonces

/// Fixed inputs, so that every entry a test makes is the same on every run (the vectors in
/// Protocol/vectors/entries are generated from them).
enum Fixtures {
    static let founder = signingKey(0x01)
    static let member = signingKey(0x02)
    static let outsider = signingKey(0x03)
    /// The content key of epoch 0 in every test group.
    static let contentKey = secret(repeating: 0x4b, count: 32)
    /// The content key of epoch 1.
    static let nextEpochKey = secret(repeating: 0x4c, count: 32)
    /// A group id for entries whose group has no genesis in the test.
    static let group = GroupID(bytes: [UInt8](repeating: 0x47, count: 32))!
    static let otherGroup = GroupID(bytes: [UInt8](repeating: 0x48, count: 32))!
    /// 2026-01-01 10:00:00 UTC in milliseconds.
    static let startTime: Int64 = 1_767_261_600_000

    static func signingKey(_ fill: UInt8) -> SigningKey {
        try! SigningKey(seed: secret(repeating: fill, count: SigningKey.seedLength))
    }

    /// One minute per Lamport tick, so timestamps read naturally in the vectors.
    static func time(_ lamport: UInt64) -> Int64 { startTime + Int64(lamport) * 60_000 }

    /// A nonce derived from everything an entry says, so two test entries share a nonce only
    /// when they are the same entry. (Real nodes draw nonces at random.)
    static func nonce(
        author: PublicKey, group: GroupID?, sequence: UInt64, lamport: UInt64, epoch: UInt32, content: EntryContent
    ) throws -> [UInt8] {
        let label = "meetkit-test-nonce:\(author.hex):\(group?.hex ?? "genesis"):\(sequence):\(lamport):\(epoch):"
        return BLAKE2b.hash(Array(label.utf8) + (try content.encoded()), outputLength: 24)
    }
}

func secret(repeating fill: UInt8, count: Int) -> SecretBytes {
    var bytes = [UInt8](repeating: fill, count: count)
    return SecretBytes(consuming: &bytes)
}

/// `bytes` with bit `bit` (0 = least significant bit of byte 0) inverted.
func flippingBit(_ bit: Int, of bytes: [UInt8]) -> [UInt8] {
    var copy = bytes
    copy[bit / 8] ^= 1 << UInt8(bit % 8)
    return copy
}

// MARK: - Authoring

/// Signs one entry with the fixed clock and nonces of `Fixtures`.
func makeEntry(
    _ content: EntryContent, by author: SigningKey = Fixtures.founder, group: GroupID? = Fixtures.group,
    after head: FeedHead? = nil, lamport: UInt64 = 1, epoch: UInt32 = 0, contentKey: SecretBytes = Fixtures.contentKey
) throws -> Entry {
    let sequence = (head?.sequence ?? 0) + 1
    return try Entry.create(
        content: content, group: group, after: head, lamport: lamport, timestamp: Fixtures.time(lamport),
        epoch: epoch, author: author, contentKey: contentKey,
        nonce: Fixtures.nonce(
            author: author.publicKey, group: group, sequence: sequence, lamport: lamport, epoch: epoch, content: content))
}

/// One author's feed in one group, appended to in order.
struct FeedWriter {
    let author: SigningKey
    private(set) var group: GroupID?
    private(set) var head: FeedHead?
    var epoch: UInt32 = 0
    var contentKey: SecretBytes = Fixtures.contentKey

    /// `group` nil starts a new group: the first entry must then be a genesis.
    init(author: SigningKey, group: GroupID?) {
        self.author = author
        self.group = group
    }

    mutating func append(_ content: EntryContent, lamport: UInt64) throws -> Entry {
        let entry = try makeEntry(
            content, by: author, group: group, after: head, lamport: lamport, epoch: epoch, contentKey: contentKey)
        head = entry.head
        group = entry.group
        return entry
    }
}

// MARK: - Hand-made headers

/// A header as raw fields, decoded by offset independently of `EntryHeader`, so tests can
/// write headers that break the rules and sign them as a real author would.
struct RawHeader {
    var version: UInt8
    var kind: UInt8
    var group: [UInt8]
    var author: [UInt8]
    var sequence: UInt64
    var previous: [UInt8]
    var lamport: UInt64
    var timestamp: Int64
    var epoch: UInt32
    var bodyLength: UInt32
    var bodyHash: [UInt8]

    static let zero32 = [UInt8](repeating: 0, count: 32)
    static let signatureTag = Array("meetkit-entry-v1".utf8)

    init(_ bytes: [UInt8]) {
        precondition(bytes.count == 162)
        version = bytes[0]
        kind = bytes[1]
        group = Array(bytes[2..<34])
        author = Array(bytes[34..<66])
        sequence = bigEndian(bytes[66..<74])
        previous = Array(bytes[74..<106])
        lamport = bigEndian(bytes[106..<114])
        timestamp = Int64(bitPattern: bigEndian(bytes[114..<122]))
        epoch = bigEndian(bytes[122..<126])
        bodyLength = bigEndian(bytes[126..<130])
        bodyHash = Array(bytes[130..<162])
    }

    init(_ entry: Entry) { self.init(entry.headerBytes) }

    var bytes: [UInt8] {
        [version, kind] + group + author + bigEndianBytes(sequence) + previous + bigEndianBytes(lamport)
            + bigEndianBytes(UInt64(bitPattern: timestamp)) + bigEndianBytes(epoch) + bigEndianBytes(bodyLength) + bodyHash
    }

    /// Header and signature, signed by `key` over the entry domain tag and the header.
    func wire(signedBy key: SigningKey) -> [UInt8] {
        bytes + key.sign(Self.signatureTag + bytes)
    }
}

func bigEndian<T: FixedWidthInteger>(_ bytes: ArraySlice<UInt8>) -> T {
    bytes.reduce(T.zero) { $0 << 8 | T($1) }
}

func bigEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    (0..<MemoryLayout<T>.size).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
}

// MARK: - Checking

/// The checks of Protocol/vectors/entries/README.md, in order: decode and verify the entry with
/// its body, then check that it may follow `previous` (or start its feed) in `group`.
/// `previous` is itself valid; a test that doubts it decodes it first.
func check(wire: [UInt8], body: [UInt8]?, previous: [UInt8]?, group: GroupID) -> Result<Entry, EntryError> {
    do throws(EntryError) {
        let entry = try Entry(wire: wire, body: body)
        let head = try previous.map { (wire) throws(EntryError) in try Entry(wire: wire, body: nil).head }
        try entry.validateLink(after: head, in: group)
        return .success(entry)
    } catch {
        return .failure(error)
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}

extension GroupState {
    /// The state folded from `items` alone: a redaction's target is looked up among them.
    init(items: [LogItem]) {
        self.init(items: items) { id in items.first { $0.entry.id == id }?.entry.header }
    }
}
