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
}

/// The secrets of one group: its id and the keys of each epoch this member holds.
/// A group's keys, epoch by epoch (Protocol/epochs.md). Two admins who re-key at once give
/// one epoch two key sets; both are kept, and the first held is the one used to write.
struct GroupKeys {
    struct Epoch {
        let number: UInt32
        let contentKey: SecretBytes
        let networkKey: SecretBytes
    }

    let group: GroupID
    private(set) var epochs: [Epoch]

    var currentEpoch: UInt32 { epochs.map(\.number).max() ?? 0 }

    /// The key set new entries are written with.
    var current: Epoch? { epochs.first { $0.number == currentEpoch } }

    /// Every key set of epoch `number`.
    func sets(of number: UInt32) -> [Epoch] { epochs.filter { $0.number == number } }

    /// Adds a key set; returns false if it was already held.
    @discardableResult
    mutating func add(_ epoch: Epoch) -> Bool {
        guard !epochs.contains(where: { $0.number == epoch.number && $0.networkKey.isEqual(to: epoch.networkKey) }) else { return false }
        epochs.append(epoch)
        return true
    }

    /// count (u32) ‖ count × (epoch u32 ‖ content key ‖ network key), after the group id.
    func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.write(group.bytes)
        w.write(UInt32(epochs.count))
        for keys in epochs {
            w.write(keys.number)
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
              Int(count) * 68 == r.remaining else { return nil }
        var epochs: [Epoch] = []
        for _ in 0..<count {
            guard let number = r.readUInt32(), var content = r.readBytes(32), var network = r.readBytes(32) else { return nil }
            epochs.append(Epoch(number: number, contentKey: SecretBytes(consuming: &content), networkKey: SecretBytes(consuming: &network)))
        }
        group = id
        self.epochs = epochs
    }
}
