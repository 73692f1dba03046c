import MeetKitCore
import MeetKitCrypto

/// How rows are sealed in the database (Protocol/storage.md §Database): every row that says
/// anything is XChaCha20-Poly1305 under a key derived from the store key, bound by its
/// associated data to the table and row it belongs in, so rows cannot be swapped or moved.
struct AtRest {
    private let sealKey: SecretBytes
    private let tagKey: SecretBytes

    init(storeKey: SecretBytes) {
        sealKey = BLAKE2b.deriveSecret(from: storeKey, context: "meetkit-store-seal-v1")
        tagKey = BLAKE2b.deriveSecret(from: storeKey, context: "meetkit-store-tag-v1")
    }

    /// nonce ‖ ciphertext ‖ tag.
    func seal(_ plaintext: [UInt8], context: [UInt8]) -> [UInt8] {
        let nonce = SecureRandom.bytes(AEAD.nonceLength)
        return nonce + AEAD.seal(plaintext, associatedData: context, nonce: nonce, key: sealKey)
    }

    func open(_ sealed: [UInt8], context: [UInt8]) -> [UInt8]? {
        guard sealed.count >= AEAD.nonceLength + AEAD.tagLength else { return nil }
        return AEAD.open(
            Array(sealed[AEAD.nonceLength...]), associatedData: context,
            nonce: Array(sealed[0..<AEAD.nonceLength]), key: sealKey)
    }

    /// A keyed tag naming an author's feed in a group without revealing either.
    func feedTag(group: GroupID, author: PublicKey) -> [UInt8] {
        BLAKE2b.hash(Array("feed".utf8) + group.bytes + author.bytes, key: tagKey)
    }

    /// A keyed tag naming a group without revealing its id.
    func groupTag(_ group: GroupID) -> [UInt8] {
        BLAKE2b.hash(Array("group".utf8) + group.bytes, key: tagKey)
    }

    static func entryContext(feed: [UInt8], sequence: UInt64) -> [UInt8] {
        var w = ByteWriter()
        w.write(Array("entry".utf8))
        w.write(feed)
        w.write(sequence)
        return w.bytes
    }

    /// A body is sealed apart from its header (it can be dropped alone), bound to the same row.
    static func bodyContext(entry context: [UInt8]) -> [UInt8] {
        Array("body".utf8) + context
    }
}

/// A group's keys, epoch by epoch (Protocol/epochs.md §Keys): each set with the re-key it came
/// from (none for epoch 0's, drawn by the founder). Two admins who re-key at once give one epoch
/// two key sets: both are kept for reading; the group state says which one members write with.
struct GroupKeys {
    struct Epoch {
        let number: UInt32
        /// The re-key entry that sealed these keys; nil for epoch 0.
        let source: EntryID?
        let contentKey: SecretBytes
        let networkKey: SecretBytes
    }

    static let epochLength = 4 + 32 + 32 + 32

    let group: GroupID
    private(set) var epochs: [Epoch]

    /// The newest epoch held.
    var newestEpoch: UInt32 { epochs.map(\.number).max() ?? 0 }

    /// The key set of epoch `number` that re-key `source` sealed.
    func set(of number: UInt32, source: EntryID?) -> Epoch? {
        epochs.first { $0.number == number && $0.source == source }
    }

    /// Every key set of epoch `number`.
    func sets(of number: UInt32) -> [Epoch] { epochs.filter { $0.number == number } }

    func holds(source: EntryID) -> Bool { epochs.contains { $0.source == source } }

    /// Adds a key set; returns false if it was already held.
    @discardableResult
    mutating func add(_ epoch: Epoch) -> Bool {
        guard !epochs.contains(where: { $0.number == epoch.number && $0.source == epoch.source }) else { return false }
        epochs.append(epoch)
        return true
    }

    /// group id (32) ‖ count (u32) ‖ count × (epoch u32 ‖ source 32, zero for none ‖ content key 32 ‖ network key 32).
    func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.write(group.bytes)
        w.write(UInt32(epochs.count))
        for keys in epochs {
            w.write(keys.number)
            w.write(keys.source?.bytes ?? [UInt8](repeating: 0, count: 32))
            w.write(keys.contentKey.exposedCopy())
            w.write(keys.networkKey.exposedCopy())
        }
        return w.bytes
    }

    init(group: GroupID, epochs: [Epoch]) {
        self.group = group
        self.epochs = epochs
    }

    init?(decoding bytes: [UInt8]) {
        var r = ByteReader(bytes)
        guard let id = r.readBytes(32).flatMap(GroupID.init(bytes:)), let count = r.readUInt32(),
              r.remaining.isMultiple(of: Self.epochLength), UInt64(count) * UInt64(Self.epochLength) == UInt64(r.remaining)
        else { return nil }
        var epochs: [Epoch] = []
        for _ in 0..<count {
            guard let number = r.readUInt32(), let source = r.readBytes(32), var content = r.readBytes(32), var network = r.readBytes(32)
            else { return nil }
            epochs.append(Epoch(
                number: number, source: source.allSatisfy { $0 == 0 } ? nil : EntryID(bytes: source),
                contentKey: SecretBytes(consuming: &content), networkKey: SecretBytes(consuming: &network)))
        }
        group = id
        self.epochs = epochs
    }
}
