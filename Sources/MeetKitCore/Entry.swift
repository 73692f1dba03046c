import MeetKitCrypto

/// The position of an author's latest entry in one group: all that validating the next entry needs.
public struct FeedHead: Hashable, Sendable {
    public let sequence: UInt64
    public let id: EntryID
    public let lamport: UInt64
    public let epoch: UInt32

    public init(sequence: UInt64, id: EntryID, lamport: UInt64, epoch: UInt32) {
        self.sequence = sequence
        self.id = id
        self.lamport = lamport
        self.epoch = epoch
    }
}

/// A signed entry and, when held, its encrypted body (Protocol/entries.md).
///
/// An `Entry` value is always well-formed and correctly signed: the only ways to get one are
/// `init(wire:body:)`, which verifies, and `create`, which signs.
public struct Entry: Hashable, Sendable {
    public static let wireLength = EntryHeader.encodedLength + Signature.length
    static let signatureTag = Array("meetkit-entry-v1".utf8)
    static let bodyTag = Array("meetkit-body-v1".utf8)

    public let header: EntryHeader
    public let headerBytes: [UInt8]
    public let signature: [UInt8]
    public let id: EntryID
    /// Nonce followed by ciphertext; nil once dropped (expiry, redaction) or never received.
    public let body: [UInt8]?

    /// Header and signature: what a feed keeps forever.
    public var wire: [UInt8] { headerBytes + signature }

    public var head: FeedHead {
        FeedHead(sequence: header.sequence, id: id, lamport: header.lamport, epoch: header.epoch)
    }

    /// The group this entry belongs to: for a genesis entry, the group it founds.
    public var group: GroupID { header.group ?? GroupID(id) }

    /// Decodes and verifies everything that needs no other entry: the header rules, the
    /// signature, and (when a body is given) the body's length and hash.
    public init(wire: [UInt8], body: [UInt8]?) throws(EntryError) {
        guard wire.count == Self.wireLength else { throw .wrongLength(actual: wire.count) }
        let headerBytes = Array(wire[0..<EntryHeader.encodedLength])
        let header = try EntryHeader(decoding: headerBytes)
        let signature = Array(wire[EntryHeader.encodedLength...])
        guard header.author.isValidSignature(signature, for: Self.signatureTag + headerBytes) else {
            throw .badSignature
        }
        if let body {
            guard body.count == Int(header.bodyLength) else { throw .bodyLengthMismatch }
            guard BLAKE2b.hash(body) == header.bodyHash else { throw .bodyHashMismatch }
        }
        self.init(header: header, headerBytes: headerBytes, signature: signature, body: body)
    }

    /// Rebuilds an entry that this node verified before sealing it at rest, where an AEAD
    /// already guards it: decodes the header (its rules are checked) but does not re-verify
    /// the signature or body hash, which costs ~40 µs an entry. `meetkit verify` re-checks all.
    public init(storedWire wire: [UInt8], body: [UInt8]?) throws(EntryError) {
        guard wire.count == Self.wireLength else { throw .wrongLength(actual: wire.count) }
        let headerBytes = Array(wire[0..<EntryHeader.encodedLength])
        let header = try EntryHeader(decoding: headerBytes)
        self.init(header: header, headerBytes: headerBytes, signature: Array(wire[EntryHeader.encodedLength...]), body: body)
    }

    private init(header: EntryHeader, headerBytes: [UInt8], signature: [UInt8], body: [UInt8]?) {
        self.header = header
        self.headerBytes = headerBytes
        self.signature = signature
        self.id = EntryID(bytes: BLAKE2b.hash(headerBytes + signature))!
        self.body = body
    }

    /// The same entry without its body; the header still verifies.
    public func droppingBody() -> Entry {
        Entry(header: header, headerBytes: headerBytes, signature: signature, body: nil)
    }

    /// Checks that this entry may follow `head` in its author's feed of `group`.
    public func validateLink(after head: FeedHead?, in group: GroupID) throws(EntryError) {
        guard self.group == group else { throw .wrongGroup }
        guard let head else {
            guard header.sequence == 1 else { throw .sequenceGap(expected: 1, actual: header.sequence) }
            return
        }
        guard header.sequence == head.sequence + 1 else {
            throw .sequenceGap(expected: head.sequence + 1, actual: header.sequence)
        }
        guard header.previous == head.id else { throw .brokenChain }
        guard header.lamport > head.lamport else { throw .lamportNotIncreasing }
        guard header.epoch >= head.epoch else { throw .epochDecreased }
    }

    // MARK: Authoring

    /// Signs a new entry carrying `content`, encrypted under `contentKey` with `nonce`.
    /// `group` is nil for a genesis entry; `head` is the author's latest entry in the group.
    public static func create(
        content: EntryContent, group: GroupID?, after head: FeedHead?, lamport: UInt64, timestamp: Int64,
        epoch: UInt32, author: SigningKey, contentKey: SecretBytes, nonce: [UInt8]
    ) throws(ContentError) -> Entry {
        let header = EntryHeader(
            kind: content.kind, group: group, author: author.publicKey, sequence: (head?.sequence ?? 0) + 1,
            previous: head?.id, lamport: lamport, timestamp: timestamp, epoch: epoch, bodyLength: 0, bodyHash: nil)
        return sign(header, plaintext: try content.encoded(), author: author, contentKey: contentKey, nonce: nonce)
    }

    /// Seals `plaintext` under `contentKey` as the body of the entry `header` heads (filling in
    /// its body length and hash) and signs it with `author`: any header at all, as `author`'s
    /// key allows. `create` writes honest entries with it; tests write hostile ones.
    public static func sign(
        _ header: EntryHeader, plaintext: [UInt8], author: SigningKey, contentKey: SecretBytes, nonce: [UInt8]
    ) -> Entry {
        var header = header
        header.bodyLength = UInt32(AEAD.nonceLength + plaintext.count + AEAD.tagLength)
        let associatedData = bodyTag + header.encoded()[0..<EntryHeader.bodyHashOffset]
        let body = nonce + AEAD.seal(plaintext, associatedData: associatedData, nonce: nonce, key: contentKey)
        header.bodyHash = BLAKE2b.hash(body)
        let headerBytes = header.encoded()
        let signature = author.sign(signatureTag + headerBytes)
        return Entry(header: header, headerBytes: headerBytes, signature: signature, body: body)
    }

    // MARK: Reading

    /// The decrypted content, or nil when the body is absent or `contentKey` cannot open it.
    /// Throws when the body opens but its content is malformed.
    public func openContent(contentKey: SecretBytes) throws(ContentError) -> EntryContent? {
        guard let body, body.count >= AEAD.nonceLength else { return nil }
        let nonce = Array(body[0..<AEAD.nonceLength])
        let associatedData = Self.bodyTag + headerBytes[0..<EntryHeader.bodyHashOffset]
        guard let plaintext = AEAD.open(
            Array(body[AEAD.nonceLength...]), associatedData: associatedData, nonce: nonce, key: contentKey)
        else { return nil }
        return try EntryContent(kind: header.kind, decoding: plaintext)
    }
}
