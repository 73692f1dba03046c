import MeetKitCrypto

/// What an entry says, once its body is decrypted (Protocol/entries.md §Content).
public enum EntryContent: Hashable, Sendable {
    case genesis(name: String)
    case profile(pseudonym: String)
    case meetingOpen(topic: String?)
    case meetingClose(meeting: EntryID)
    case share(Share)
    case checkIn(CheckIn)
    /// A one-time invitation: the hash of the secret in the invite code.
    case invite(Invite)
    /// A new member admitted with an invite (or by the founder directly).
    case memberAdd(MemberAdd)
    /// A new epoch: members removed, and fresh keys sealed to everyone who remains.
    case rekey(Rekey)
    /// A member made an admin.
    case roleGrant(member: PublicKey)
    /// The author drops the body of one of their own entries, everywhere.
    case redaction(entry: EntryID)
    /// How long shares are kept, in milliseconds after they were written; 0 keeps them.
    case retention(milliseconds: Int64)
    /// A check-in only the named members (and its author) can read.
    case privateCheckIn(PrivateCheckIn)

    public var kind: EntryKind {
        switch self {
        case .genesis: .genesis
        case .profile: .profile
        case .meetingOpen: .meetingOpen
        case .meetingClose: .meetingClose
        case .share: .share
        case .checkIn: .checkIn
        case .invite: .invite
        case .memberAdd: .memberAdd
        case .rekey: .rekey
        case .roleGrant: .roleGrant
        case .redaction: .redaction
        case .retention: .retention
        case .privateCheckIn: .privateCheckIn
        }
    }
}

/// What a member tells the group.
public struct Share: Hashable, Sendable {
    public var text: String
    /// The meeting it was said in, if any.
    public var meeting: EntryID?
    /// When every node drops its text: milliseconds since 1970.
    public var expires: Int64?

    public init(text: String, meeting: EntryID? = nil, expires: Int64? = nil) {
        self.text = text
        self.meeting = meeting
        self.expires = expires
    }
}

/// How a member is doing: attendance and accountability.
public struct CheckIn: Hashable, Sendable {
    public static let moods: ClosedRange<UInt8> = 1...5

    /// 1 (struggling) … 5 (doing well).
    public var mood: UInt8
    public var note: String?
    /// A milestone such as days sober.
    public var milestoneDays: UInt32?
    /// "I would like support": other members may reach out.
    public var wantsSupport: Bool
    public var meeting: EntryID?

    public init(mood: UInt8, note: String? = nil, milestoneDays: UInt32? = nil, wantsSupport: Bool = false, meeting: EntryID? = nil) {
        self.mood = mood
        self.note = note
        self.milestoneDays = milestoneDays
        self.wantsSupport = wantsSupport
        self.meeting = meeting
    }
}

/// A one-time invitation into the group (Protocol/membership.md §Invites).
public struct Invite: Hashable, Sendable {
    /// The invite key's public key (`InviteCode.id(ofSecret:)`): names the invite without revealing the secret.
    public var id: [UInt8]
    /// Milliseconds since 1970; the invite cannot be used after it.
    public var expires: Int64

    public init(id: [UInt8], expires: Int64) {
        self.id = id
        self.expires = expires
    }
}

/// A member admitted to the group with an admin's invite (Protocol/membership.md §Admission).
public struct MemberAdd: Hashable, Sendable {
    public var member: PublicKey
    /// The invite it used: the invite's public key (`Invite.id`).
    public var invite: [UInt8]?
    /// The invite key's signature over the group and the new member (`InviteCode.proof`): only
    /// someone holding the invite's secret can write it, so no member can admit a puppet with
    /// an invite id read from the log.
    public var proof: [UInt8]?

    public init(member: PublicKey, invite: [UInt8]?, proof: [UInt8]? = nil) {
        self.member = member
        self.invite = invite
        self.proof = proof
    }
}

/// A new epoch (Protocol/epochs.md): the members it removes, and its keys sealed to each
/// member who remains (`EpochKeys`, sealed with `crypto_box_seal`).
public struct Rekey: Hashable, Sendable {
    public struct Sealed: Hashable, Sendable {
        public var recipient: PublicKey
        public var box: [UInt8]

        public init(recipient: PublicKey, box: [UInt8]) {
            self.recipient = recipient
            self.box = box
        }
    }

    /// A member removed, and the last entry of their feed the re-key's author accepted: every
    /// node refuses anything later in that feed (Protocol/epochs.md §The cut).
    public struct Removal: Hashable, Sendable {
        public var member: PublicKey
        public var lastSequence: UInt64

        public init(member: PublicKey, lastSequence: UInt64) {
            self.member = member
            self.lastSequence = lastSequence
        }
    }

    public var epoch: UInt32
    public var removed: [Removal]
    public var keys: [Sealed]

    public init(epoch: UInt32, removed: [Removal], keys: [Sealed]) {
        self.epoch = epoch
        self.removed = removed
        self.keys = keys
    }

    /// Each sealed box holds `EpochKeys.length` bytes.
    public static let boxLength = EpochKeys.length + 48
}

/// A check-in for some members only (Protocol/entries.md §Private check-ins): the check-in's
/// content encrypted under a key of its own, sealed to each reader (the author among them).
/// Every member sees who it is for, and in which meeting; only the readers see the rest.
public struct PrivateCheckIn: Hashable, Sendable {
    public var readers: [Rekey.Sealed]
    /// nonce (24) ‖ XChaCha20-Poly1305(message key, nonce, AD, check-in content), where AD
    /// (`associatedData(group:author:sequence:)`) binds it to its author and its place in their
    /// feed: a reader cannot post it again as their own.
    public var ciphertext: [UInt8]
    public var meeting: EntryID?

    /// Each reader's box holds the 32-byte message key.
    public static let boxLength = 32 + 48

    /// "meetkit-private-v2" ‖ group id ‖ author ‖ sequence (u64).
    public static func associatedData(group: GroupID, author: PublicKey, sequence: UInt64) -> [UInt8] {
        var w = ByteWriter()
        w.write(Array("meetkit-private-v2".utf8))
        w.write(group.bytes)
        w.write(author.bytes)
        w.write(sequence)
        return w.bytes
    }

    public init(readers: [Rekey.Sealed], ciphertext: [UInt8], meeting: EntryID?) {
        self.readers = readers
        self.ciphertext = ciphertext
        self.meeting = meeting
    }

    /// The check-in of the entry `header` heads, decrypted with `messageKey` (opened from a
    /// reader's box); nil when it was not written by that entry's author at that place.
    public func open(messageKey: SecretBytes, header: EntryHeader) -> CheckIn? {
        guard ciphertext.count > AEAD.nonceLength, let group = header.group,
            let plain = AEAD.open(
                Array(ciphertext.dropFirst(AEAD.nonceLength)),
                associatedData: Self.associatedData(group: group, author: header.author, sequence: header.sequence),
                nonce: Array(ciphertext.prefix(AEAD.nonceLength)), key: messageKey),
            case .checkIn(let checkIn)? = try? EntryContent(kind: .checkIn, decoding: plain)
        else { return nil }
        return checkIn
    }
}

/// One epoch's keys as sealed to a member: group id ‖ epoch (u32) ‖ content key ‖ network key.
public struct EpochKeys: Sendable {
    public static let length = 32 + 4 + 32 + 32

    public let group: GroupID
    public let epoch: UInt32
    public let contentKey: SecretBytes
    public let networkKey: SecretBytes

    public init(group: GroupID, epoch: UInt32, contentKey: SecretBytes, networkKey: SecretBytes) {
        self.group = group
        self.epoch = epoch
        self.contentKey = contentKey
        self.networkKey = networkKey
    }

    /// The plaintext to seal; wipe it after use.
    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.write(group.bytes)
        w.write(epoch)
        w.write(contentKey.exposedCopy())
        w.write(networkKey.exposedCopy())
        return w.bytes
    }

    public init?(decoding bytes: [UInt8]) {
        guard bytes.count == Self.length else { return nil }
        var r = ByteReader(bytes)
        guard let group = r.readBytes(32).flatMap(GroupID.init(bytes:)), let epoch = r.readUInt32(),
            var content = r.readBytes(32), var network = r.readBytes(32)
        else { return nil }
        self.init(group: group, epoch: epoch, contentKey: SecretBytes(consuming: &content), networkKey: SecretBytes(consuming: &network))
    }
}

/// Why a body's content was refused. Every field is bounded; see Protocol/entries.md §Content.
public enum ContentError: Error, Hashable, Sendable {
    case truncated
    case unknownField(UInt8)
    case fieldsOutOfOrder
    case missingField(String)
    case invalidText(String)
    case emptyText(String)
    case tooLong(String, maximum: Int)
    case invalidValue(String)

    public var explanation: String {
        switch self {
        case .truncated: "the content ends in the middle of a field"
        case .unknownField(let tag): "the content has an unknown field \(tag)"
        case .fieldsOutOfOrder: "the content's fields are out of order or repeated"
        case .missingField(let name): "the content lacks its \(name)"
        case .invalidText(let name): "the \(name) is not valid UTF-8"
        case .emptyText(let name): "the \(name) is empty"
        case .tooLong(let name, let max): "the \(name) is longer than \(max) bytes"
        case .invalidValue(let name): "the \(name) has an invalid value"
        }
    }
}

// MARK: - Limits

extension EntryContent {
    /// Byte limits of the text fields (UTF-8).
    public enum Limit {
        public static let groupName = 128
        public static let pseudonym = 64
        public static let topic = 256
        public static let shareText = 16_000
        public static let note = 4_000
    }
}

// MARK: - Canonical encoding

extension EntryContent {
    /// Fields as (tag, value), tags strictly ascending; absent optionals are omitted.
    public func encoded() throws(ContentError) -> [UInt8] {
        var fields = FieldWriter()
        switch self {
        case .genesis(let name):
            try fields.text(1, name, "group name", max: Limit.groupName)
        case .profile(let pseudonym):
            try fields.text(1, pseudonym, "pseudonym", max: Limit.pseudonym)
        case .meetingOpen(let topic):
            if let topic { try fields.text(1, topic, "topic", max: Limit.topic) }
        case .meetingClose(let meeting):
            try fields.raw(1, meeting.bytes)
        case .share(let share):
            try fields.text(1, share.text, "share text", max: Limit.shareText)
            if let meeting = share.meeting { try fields.raw(2, meeting.bytes) }
            if let expires = share.expires { try fields.int64(3, expires) }
        case .checkIn(let c):
            guard CheckIn.moods.contains(c.mood) else { throw .invalidValue("mood") }
            try fields.raw(1, [c.mood])
            if let note = c.note { try fields.text(2, note, "note", max: Limit.note) }
            if let days = c.milestoneDays {
                var w = ByteWriter()
                w.write(days)
                try fields.raw(3, w.bytes)
            }
            if c.wantsSupport { try fields.raw(4, [1]) }
            if let meeting = c.meeting { try fields.raw(5, meeting.bytes) }
        case .invite(let invite):
            guard invite.id.count == 32 else { throw .invalidValue("invite id") }
            try fields.raw(1, invite.id)
            try fields.int64(2, invite.expires)
        case .memberAdd(let add):
            try fields.raw(1, add.member.bytes)
            if let invite = add.invite {
                guard invite.count == 32 else { throw .invalidValue("invite id") }
                try fields.raw(2, invite)
            }
            if let proof = add.proof {
                guard proof.count == Signature.length else { throw .invalidValue("invite proof") }
                try fields.raw(3, proof)
            }
        case .rekey(let rekey):
            guard !rekey.keys.isEmpty, rekey.keys.allSatisfy({ $0.box.count == Rekey.boxLength }) else {
                throw .invalidValue("sealed keys")
            }
            var w = ByteWriter()
            w.write(rekey.epoch)
            try fields.raw(1, w.bytes)
            if !rekey.removed.isEmpty {
                var removed = ByteWriter()
                for removal in rekey.removed {
                    removed.write(removal.member.bytes)
                    removed.write(removal.lastSequence)
                }
                try fields.raw(2, removed.bytes, "removed members")
            }
            try fields.raw(3, rekey.keys.flatMap { $0.recipient.bytes + $0.box }, "sealed keys")
        case .roleGrant(let member):
            try fields.raw(1, member.bytes)
        case .redaction(let entry):
            try fields.raw(1, entry.bytes)
        case .retention(let milliseconds):
            guard milliseconds >= 0 else { throw .invalidValue("retention") }
            try fields.int64(1, milliseconds)
        case .privateCheckIn(let p):
            guard !p.readers.isEmpty, p.readers.allSatisfy({ $0.box.count == PrivateCheckIn.boxLength }) else {
                throw .invalidValue("readers")
            }
            guard p.ciphertext.count > AEAD.nonceLength + AEAD.tagLength else { throw .invalidValue("ciphertext") }
            try fields.raw(1, p.readers.flatMap { $0.recipient.bytes + $0.box }, "readers")
            try fields.raw(2, p.ciphertext, "ciphertext")
            if let meeting = p.meeting { try fields.raw(3, meeting.bytes) }
        }
        return fields.writer.bytes
    }

    /// Decodes a body's plaintext, accepting only the one canonical encoding.
    public init(kind: EntryKind, decoding bytes: [UInt8]) throws(ContentError) {
        var fields = try FieldReader(bytes)
        switch kind {
        case .genesis:
            self = .genesis(name: try fields.requiredText(1, "group name", max: Limit.groupName))
        case .profile:
            self = .profile(pseudonym: try fields.requiredText(1, "pseudonym", max: Limit.pseudonym))
        case .meetingOpen:
            self = .meetingOpen(topic: try fields.text(1, "topic", max: Limit.topic))
        case .meetingClose:
            guard let meeting = try fields.entryID(1, "meeting") else { throw .missingField("meeting") }
            self = .meetingClose(meeting: meeting)
        case .share:
            let text = try fields.requiredText(1, "share text", max: Limit.shareText)
            let meeting = try fields.entryID(2, "meeting")
            self = .share(Share(text: text, meeting: meeting, expires: try fields.int64(3, "expiry")))
        case .checkIn:
            guard let mood = try fields.raw(1, "mood", length: 1)?.first else { throw .missingField("mood") }
            guard CheckIn.moods.contains(mood) else { throw .invalidValue("mood") }
            let note = try fields.text(2, "note", max: Limit.note)
            let days = try fields.raw(3, "milestone", length: 4).map { bytes in
                bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            }
            let support = try fields.raw(4, "support flag", length: 1)
            guard support == nil || support == [1] else { throw .invalidValue("support flag") }
            let meeting = try fields.entryID(5, "meeting")
            self = .checkIn(CheckIn(mood: mood, note: note, milestoneDays: days, wantsSupport: support != nil, meeting: meeting))
        case .invite:
            guard let id = try fields.raw(1, "invite id", length: 32) else { throw .missingField("invite id") }
            guard let expires = try fields.int64(2, "expiry") else { throw .missingField("expiry") }
            self = .invite(Invite(id: id, expires: expires))
        case .memberAdd:
            guard let key = try fields.raw(1, "member", length: 32), let member = try? PublicKey(bytes: key) else {
                throw .missingField("member")
            }
            let invite = try fields.raw(2, "invite id", length: 32)
            self = .memberAdd(MemberAdd(member: member, invite: invite, proof: try fields.raw(3, "invite proof", length: Signature.length)))
        case .rekey:
            guard let epoch = try fields.raw(1, "epoch", length: 4) else { throw .missingField("epoch") }
            var removed: [Rekey.Removal] = []
            if let bytes = try fields.raw(2, "removed members") {
                for item in try Self.chunks(bytes, size: 32 + 8, "removed members") {
                    var r = ByteReader(Array(item.dropFirst(32)))
                    removed.append(Rekey.Removal(member: try Self.key(Array(item.prefix(32)), "removed members"), lastSequence: r.readUInt64() ?? 0))
                }
            }
            guard let sealed = try fields.raw(3, "sealed keys") else { throw .missingField("sealed keys") }
            var keys: [Rekey.Sealed] = []
            for item in try Self.chunks(sealed, size: 32 + Rekey.boxLength, "sealed keys") {
                keys.append(Rekey.Sealed(recipient: try Self.key(Array(item.prefix(32)), "sealed keys"), box: Array(item.dropFirst(32))))
            }
            var r = ByteReader(epoch)
            self = .rekey(Rekey(epoch: r.readUInt32() ?? 0, removed: removed, keys: keys))
        case .roleGrant:
            guard let key = try fields.raw(1, "member", length: 32), let member = try? PublicKey(bytes: key) else {
                throw .missingField("member")
            }
            self = .roleGrant(member: member)
        case .redaction:
            guard let entry = try fields.entryID(1, "entry") else { throw .missingField("entry") }
            self = .redaction(entry: entry)
        case .retention:
            guard let milliseconds = try fields.int64(1, "retention") else { throw .missingField("retention") }
            guard milliseconds >= 0 else { throw .invalidValue("retention") }
            self = .retention(milliseconds: milliseconds)
        case .privateCheckIn:
            guard let sealed = try fields.raw(1, "readers") else { throw .missingField("readers") }
            var readers: [Rekey.Sealed] = []
            for item in try Self.chunks(sealed, size: 32 + PrivateCheckIn.boxLength, "readers") {
                readers.append(Rekey.Sealed(recipient: try Self.key(Array(item.prefix(32)), "readers"), box: Array(item.dropFirst(32))))
            }
            guard let ciphertext = try fields.raw(2, "ciphertext") else { throw .missingField("ciphertext") }
            guard ciphertext.count > AEAD.nonceLength + AEAD.tagLength else { throw .invalidValue("ciphertext") }
            self = .privateCheckIn(PrivateCheckIn(readers: readers, ciphertext: ciphertext, meeting: try fields.entryID(3, "meeting")))
        }
        try fields.finish()
    }
}

extension EntryContent {
    /// `bytes` cut into items of `size` bytes: at least one, none left over.
    fileprivate static func chunks(_ bytes: [UInt8], size: Int, _ name: String) throws(ContentError) -> [[UInt8]] {
        guard !bytes.isEmpty, bytes.count % size == 0 else { throw .invalidValue(name) }
        return stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<$0 + size]) }
    }

    fileprivate static func key(_ bytes: [UInt8], _ name: String) throws(ContentError) -> PublicKey {
        guard let key = try? PublicKey(bytes: bytes) else { throw .invalidValue(name) }
        return key
    }
}

/// Writes fields as tag (1 byte), length (2 bytes, big-endian), value.
private struct FieldWriter {
    var writer = ByteWriter()

    /// A value longer than a 2-byte length can say is refused, never cut short or trapped on.
    mutating func raw(_ tag: UInt8, _ value: [UInt8], _ name: String = "field") throws(ContentError) {
        guard let length = UInt16(exactly: value.count) else { throw .tooLong(name, maximum: Int(UInt16.max)) }
        writer.write(tag)
        writer.write(length)
        writer.write(value)
    }

    mutating func int64(_ tag: UInt8, _ value: Int64) throws(ContentError) {
        var w = ByteWriter()
        w.write(value)
        try raw(tag, w.bytes)
    }

    mutating func text(_ tag: UInt8, _ value: String, _ name: String, max: Int) throws(ContentError) {
        let bytes = Array(value.utf8)
        guard !bytes.isEmpty else { throw .emptyText(name) }
        guard bytes.count <= max else { throw .tooLong(name, maximum: max) }
        try raw(tag, bytes)
    }
}

/// Reads fields in order; each accessor consumes its field if it is next.
private struct FieldReader {
    private var fields: [(tag: UInt8, value: [UInt8])] = []
    private var index = 0

    init(_ bytes: [UInt8]) throws(ContentError) {
        var r = ByteReader(bytes)
        var lastTag: UInt8 = 0
        while !r.isAtEnd {
            guard let tag = r.readUInt8(), let length = r.readUInt16(), let value = r.readBytes(Int(length)) else {
                throw .truncated
            }
            guard tag > lastTag else { throw .fieldsOutOfOrder }
            lastTag = tag
            fields.append((tag, value))
        }
    }

    mutating func raw(_ tag: UInt8, _ name: String, length: Int? = nil) throws(ContentError) -> [UInt8]? {
        guard index < fields.count, fields[index].tag == tag else { return nil }
        let value = fields[index].value
        index += 1
        if let length, value.count != length { throw .invalidValue(name) }
        return value
    }

    mutating func text(_ tag: UInt8, _ name: String, max: Int) throws(ContentError) -> String? {
        guard let bytes = try raw(tag, name) else { return nil }
        guard !bytes.isEmpty else { throw .emptyText(name) }
        guard bytes.count <= max else { throw .tooLong(name, maximum: max) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalidText(name) }
        return text
    }

    mutating func requiredText(_ tag: UInt8, _ name: String, max: Int) throws(ContentError) -> String {
        guard let text = try text(tag, name, max: max) else { throw .missingField(name) }
        return text
    }

    mutating func int64(_ tag: UInt8, _ name: String) throws(ContentError) -> Int64? {
        try raw(tag, name, length: 8).map { bytes in
            var r = ByteReader(bytes)
            return r.readInt64() ?? 0
        }
    }

    mutating func entryID(_ tag: UInt8, _ name: String) throws(ContentError) -> EntryID? {
        try raw(tag, name, length: EntryID.length).flatMap { EntryID(bytes: $0) }
    }

    func finish() throws(ContentError) {
        guard index == fields.count else { throw .unknownField(fields[index].tag) }
    }
}
