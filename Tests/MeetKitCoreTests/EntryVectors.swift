import MeetKitCore
import MeetKitCrypto

/// One case of Protocol/vectors/entries: an entry that must be accepted (`yay/`) or rejected
/// for a stated reason (`nay/`).
struct EntryVector {
    enum Outcome {
        /// The body (when present) opens with `contentKey` to `content`; nil content means no body.
        case accept(contentKey: SecretBytes, content: EntryContent?)
        case reject(EntryError)
    }

    /// The file name, without `.json`.
    let name: String
    let description: String
    let wire: [UInt8]
    let body: [UInt8]?
    /// The wire form of the author's previous entry in the feed, itself valid.
    let previous: [UInt8]?
    let group: GroupID
    let outcome: Outcome

    var directory: String {
        switch outcome {
        case .accept: "yay"
        case .reject: "nay"
        }
    }
}

// MARK: - The cases

/// Every vector, made from the fixed keys, clock and nonces of `Fixtures`: regenerating gives
/// the same bytes.
enum EntryVectors {
    static func all() throws -> [EntryVector] {
        var vectors: [EntryVector] = []

        // MARK: A founder and a member meet.
        var ash = FeedWriter(author: Fixtures.founder, group: nil)
        let genesis = try ash.append(.genesis(name: "Tuesday Hall Group"), lamport: 1)
        let group = genesis.group
        let ashProfile = try ash.append(.profile(pseudonym: "Ash"), lamport: 2)
        let meetingOpen = try ash.append(.meetingOpen(topic: "Step one: honesty"), lamport: 3)

        var bo = FeedWriter(author: Fixtures.member, group: group)
        let boProfile = try bo.append(.profile(pseudonym: "Bo"), lamport: 4)
        let boShareContent = EntryContent.share(Share(text: "Ninety days today. Thank you all ☕", meeting: meetingOpen.id))
        let boShare = try bo.append(boShareContent, lamport: 5)
        let fullCheckIn = EntryContent.checkIn(CheckIn(
            mood: 4, note: "A hard week, but I came.", milestoneDays: 90, wantsSupport: true, meeting: meetingOpen.id))
        let boCheckIn = try bo.append(fullCheckIn, lamport: 6)

        let meetingClose = try ash.append(.meetingClose(meeting: meetingOpen.id), lamport: 7)
        let ashNotes = try ash.append(.share(Share(text: "Next week: step two. Bring a friend.")), lamport: 8)
        let boMoodOnly = try bo.append(.checkIn(CheckIn(mood: 2)), lamport: 9)
        bo.epoch = 1
        bo.contentKey = Fixtures.nextEpochKey
        let boNextEpoch = try bo.append(.meetingOpen(topic: nil), lamport: 10)

        func accept(
            _ name: String, _ description: String, _ entry: Entry, previous: Entry?, content: EntryContent?,
            contentKey: SecretBytes = Fixtures.contentKey
        ) {
            vectors.append(EntryVector(
                name: name, description: description, wire: entry.wire, body: entry.body, previous: previous?.wire,
                group: group, outcome: .accept(contentKey: contentKey, content: content)))
        }

        accept("genesis", "A group genesis: sequence 1, no group, no previous, epoch 0; its id is the group id.",
               genesis, previous: nil, content: .genesis(name: "Tuesday Hall Group"))
        accept("profile", "The founder's pseudonym, the second entry of the founder's feed.",
               ashProfile, previous: genesis, content: .profile(pseudonym: "Ash"))
        accept("meeting-open", "The founder opens a meeting with a topic.",
               meetingOpen, previous: ashProfile, content: .meetingOpen(topic: "Step one: honesty"))
        accept("first-entry-of-a-member", "A member's first entry in the group: sequence 1, no previous, and a Lamport clock past everything the member has seen.",
               boProfile, previous: nil, content: .profile(pseudonym: "Bo"))
        accept("share-in-a-meeting", "A share said in the open meeting, with non-ASCII text.",
               boShare, previous: boProfile, content: boShareContent)
        accept("check-in-with-all-fields", "A check-in with mood, note, milestone, the support flag and the meeting.",
               boCheckIn, previous: boShare, content: fullCheckIn)
        accept("meeting-close", "The founder closes the meeting; the Lamport clock jumps past the member's entries.",
               meetingClose, previous: meetingOpen, content: .meetingClose(meeting: meetingOpen.id))
        vectors.append(EntryVector(
            name: "body-dropped",
            description: "A share whose body was dropped (expiry or redaction): the header and signature still verify; there is no content to open.",
            wire: ashNotes.wire, body: nil, previous: meetingClose.wire, group: group,
            outcome: .accept(contentKey: Fixtures.contentKey, content: nil)))
        accept("check-in-mood-only", "A check-in with only the mood.",
               boMoodOnly, previous: boCheckIn, content: .checkIn(CheckIn(mood: 2)))
        accept("epoch-increases", "A meeting without a topic in epoch 1, after an entry in epoch 0; the body is under epoch 1's content key.",
               boNextEpoch, previous: boMoodOnly, content: .meetingOpen(topic: nil), contentKey: Fixtures.nextEpochKey)

        let inviteContent = EntryContent.invite(Invite(id: Array(repeating: 0x1d, count: 32), expires: Fixtures.startTime + 604_800_000))
        let ashInvite = try ash.append(inviteContent, lamport: 20)
        accept("invite", "The founder records a one-time invite: the invite's id and its expiry.",
               ashInvite, previous: ashNotes, content: inviteContent)
        let addContent = EntryContent.memberAdd(MemberAdd(member: Fixtures.member.publicKey, invite: Array(repeating: 0x1d, count: 32)))
        let ashAdd = try ash.append(addContent, lamport: 21)
        accept("member-add", "The founder admits a member who presented the invite.",
               ashAdd, previous: ashInvite, content: addContent)

        // MARK: Rejected.

        func reject(
            _ name: String, _ description: String, wire: [UInt8], body: [UInt8]?, previous: Entry? = nil,
            group vectorGroup: GroupID? = nil, _ error: EntryError
        ) {
            vectors.append(EntryVector(
                name: name, description: description, wire: wire, body: body, previous: previous?.wire,
                group: vectorGroup ?? group, outcome: .reject(error)))
        }

        /// `entry`'s header changed by `change`, signed again by `key` so the signature is not what fails.
        func resigned(_ entry: Entry, by key: SigningKey, _ change: (inout RawHeader) -> Void) -> [UInt8] {
            var raw = RawHeader(entry)
            change(&raw)
            return raw.wire(signedBy: key)
        }
        let founder = Fixtures.founder
        let member = Fixtures.member

        // Length.
        reject("wrong-length-truncated", "The wire form lacks its last byte.",
               wire: Array(ashProfile.wire.dropLast()), body: ashProfile.body, .wrongLength(actual: 225))
        reject("wrong-length-trailing-byte", "The wire form has one byte after the signature.",
               wire: ashProfile.wire + [0], body: ashProfile.body, .wrongLength(actual: 227))
        reject("wrong-length-no-signature", "The header alone, without its signature.",
               wire: ashProfile.headerBytes, body: ashProfile.body, .wrongLength(actual: 162))

        // Header rules (each header signed again by its author).
        reject("unsupported-version", "Format version 2.",
               wire: resigned(ashProfile, by: founder) { $0.version = 2 }, body: ashProfile.body, .unsupportedVersion(2))
        reject("unsupported-version-zero", "Format version 0.",
               wire: resigned(ashProfile, by: founder) { $0.version = 0 }, body: ashProfile.body, .unsupportedVersion(0))
        reject("unknown-kind-unassigned", "Kind 14, the first not defined in format version 1.",
               wire: resigned(ashProfile, by: founder) { $0.kind = 14 }, body: ashProfile.body, .unknownKind(14))
        reject("unknown-kind-zero", "Kind 0.",
               wire: resigned(ashProfile, by: founder) { $0.kind = 0 }, body: ashProfile.body, .unknownKind(0))
        reject("sequence-zero", "Sequence number 0.",
               wire: resigned(boProfile, by: member) { $0.sequence = 0 }, body: boProfile.body, .sequenceZero)
        reject("previous-on-first-entry", "Sequence 1 naming a previous entry.",
               wire: resigned(boProfile, by: member) { $0.previous = genesis.id.bytes }, body: boProfile.body,
               .previousOnFirstEntry)
        reject("missing-previous", "Sequence 2 with an all-zero previous entry id.",
               wire: resigned(ashProfile, by: founder) { $0.previous = RawHeader.zero32 }, body: ashProfile.body,
               .missingPrevious)
        reject("body-hash-without-body", "Body length 0 with a body hash.",
               wire: resigned(boShare, by: member) { $0.bodyLength = 0 }, body: nil, .bodyHashWithoutBody)
        reject("body-without-body-hash", "A body length with an all-zero body hash.",
               wire: resigned(boShare, by: member) { $0.bodyHash = RawHeader.zero32 }, body: nil, .bodyWithoutBodyHash)
        reject("body-too-large", "Body length 65537, one byte over the limit.",
               wire: resigned(boShare, by: member) { $0.bodyLength = 65_537 }, body: nil, .bodyTooLarge(65_537))
        reject("genesis-not-first", "A genesis at sequence 2.",
               wire: resigned(genesis, by: founder) {
                   $0.sequence = 2
                   $0.previous = ashProfile.id.bytes
               }, body: genesis.body, .genesisNotFirst)
        reject("genesis-with-group", "A genesis naming a group.",
               wire: resigned(genesis, by: founder) { $0.group = group.bytes }, body: genesis.body, .genesisWithGroup)
        reject("genesis-epoch", "A genesis in epoch 1.",
               wire: resigned(genesis, by: founder) { $0.epoch = 1 }, body: genesis.body, .genesisEpoch)
        reject("missing-group", "A profile with an all-zero group id.",
               wire: resigned(ashProfile, by: founder) { $0.group = RawHeader.zero32 }, body: ashProfile.body, .missingGroup)
        reject("body-required", "A profile without a body: body length 0 and no body hash.",
               wire: resigned(ashProfile, by: founder) {
                   $0.bodyLength = 0
                   $0.bodyHash = RawHeader.zero32
               }, body: nil, .bodyRequired)

        // Signature.
        reject("bad-signature-flipped-bit", "The share with the lowest bit of the signature's first byte inverted.",
               wire: flippingBit(162 * 8, of: boShare.wire), body: boShare.body, .badSignature)
        reject("bad-signature-other-key", "The member's share signed by the founder's key.",
               wire: resigned(boShare, by: founder) { _ in }, body: boShare.body, .badSignature)
        reject("bad-signature-without-domain-tag", "The share signed over its header alone, without the domain tag \"meetkit-entry-v1\".",
               wire: boShare.headerBytes + member.sign(boShare.headerBytes), body: boShare.body, .badSignature)
        var laterClock = RawHeader(boShare)
        laterClock.lamport += 1
        reject("bad-signature-header-changed", "The share's Lamport clock raised by one after signing.",
               wire: laterClock.bytes + boShare.signature, body: boShare.body, .badSignature)

        // Body.
        let donor = try makeEntry(
            .share(Share(text: "Thirty days today. Thanks, everyone!", meeting: meetingOpen.id)),
            by: founder, group: group, after: meetingOpen.head, lamport: 5)
        precondition(donor.body?.count == boShare.body?.count, "the donor body must be as long as the share's")
        reject("body-hash-mismatch-swapped-body", "The share with the body of another share of the same length.",
               wire: boShare.wire, body: donor.body, .bodyHashMismatch)
        reject("body-hash-mismatch-flipped-bit", "The share with one bit of its body's ciphertext inverted.",
               wire: boShare.wire, body: boShare.body.map { flippingBit(40 * 8, of: $0) }, .bodyHashMismatch)
        reject("body-length-mismatch", "The share with one byte appended to its body.",
               wire: boShare.wire, body: boShare.body.map { $0 + [0] }, .bodyLengthMismatch)
        reject("body-length-mismatch-other-entry", "The share with the body of the check-in, which is longer.",
               wire: boShare.wire, body: boCheckIn.body, .bodyLengthMismatch)

        // Links: every entry is valid alone; it does not fit after `previous` in `group`.
        var ashElsewhere = FeedWriter(author: founder, group: nil)
        let otherGenesis = try ashElsewhere.append(.genesis(name: "Thursday Clinic Group"), lamport: 1)
        let otherProfile = try ashElsewhere.append(.profile(pseudonym: "Ash"), lamport: 2)
        reject("wrong-group", "The founder's profile in another group, checked as part of this group.",
               wire: otherProfile.wire, body: otherProfile.body, previous: otherGenesis, .wrongGroup)
        reject("sequence-gap-skipped", "Entry 4 of the founder's feed when the feed's head is entry 2.",
               wire: meetingClose.wire, body: meetingClose.body, previous: ashProfile, .sequenceGap(expected: 3, actual: 4))
        reject("sequence-gap-repeated", "Entry 2 of the founder's feed again, after itself.",
               wire: ashProfile.wire, body: ashProfile.body, previous: ashProfile, .sequenceGap(expected: 3, actual: 2))
        let fork = try makeEntry(
            .meetingOpen(topic: "Step two"), by: founder, group: group, after: genesis.head.replacingSequence(2), lamport: 3)
        reject("broken-chain", "A third entry whose previous is the genesis instead of the founder's profile.",
               wire: fork.wire, body: fork.body, previous: ashProfile, .brokenChain)
        let sameClock = try makeEntry(.meetingOpen(topic: "Step two"), by: founder, group: group, after: ashProfile.head, lamport: 2)
        reject("lamport-not-increasing", "A third entry with the same Lamport clock as the second.",
               wire: sameClock.wire, body: sameClock.body, previous: ashProfile, .lamportNotIncreasing)
        let earlierClock = try makeEntry(.meetingOpen(topic: "Step two"), by: founder, group: group, after: ashProfile.head, lamport: 1)
        reject("lamport-decreasing", "A third entry with a Lamport clock lower than the second's.",
               wire: earlierClock.wire, body: earlierClock.body, previous: ashProfile, .lamportNotIncreasing)
        let backInTime = try makeEntry(
            .checkIn(CheckIn(mood: 3)), by: member, group: group, after: boNextEpoch.head, lamport: 11, epoch: 0)
        reject("epoch-decreased", "An entry in epoch 0 after the member's entry in epoch 1.",
               wire: backInTime.wire, body: backInTime.body, previous: boNextEpoch, .epochDecreased)

        return vectors
    }
}

extension FeedHead {
    /// The same head claiming another sequence number: to make entries whose previous is wrong.
    func replacingSequence(_ sequence: UInt64) -> FeedHead {
        FeedHead(sequence: sequence, id: id, lamport: lamport, epoch: epoch)
    }
}

// MARK: - JSON

/// A JSON value that keeps its keys in the order written, so the files read top to bottom
/// (description first) and regenerate byte for byte.
indirect enum OrderedJSON {
    case string(String)
    case number(Int)
    case bool(Bool)
    case null
    case object([(String, OrderedJSON)])

    func rendered(indent: Int = 0) -> String {
        switch self {
        case .string(let s): return Self.quoted(s)
        case .number(let n): return String(n)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .object(let members):
            if members.isEmpty { return "{}" }
            let inner = String(repeating: " ", count: indent + 2)
            let lines = members.map { "\(inner)\(Self.quoted($0.0)): \($0.1.rendered(indent: indent + 2))" }
            return "{\n" + lines.joined(separator: ",\n") + "\n" + String(repeating: " ", count: indent) + "}"
        }
    }

    private static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension EntryVector {
    /// The file's text, as described in Protocol/vectors/entries/README.md.
    var json: String {
        var members: [(String, OrderedJSON)] = [
            ("description", .string(description)),
            ("entry", .string(Hex.encode(wire))),
            ("body", body.map { .string(Hex.encode($0)) } ?? .null),
            ("previous", previous.map { .string(Hex.encode($0)) } ?? .null),
            ("group", .string(group.hex)),
        ]
        switch outcome {
        case .accept(let contentKey, let content):
            members.append(("contentKey", .string(Hex.encode(contentKey.exposedCopy()))))
            members.append(("content", content.map(\.vectorJSON) ?? .null))
        case .reject(let error):
            members.append(("reason", .string(error.code)))
        }
        return OrderedJSON.object(members).rendered() + "\n"
    }
}

extension EntryContent {
    /// The content as the vectors state it: `kind` (the kind's name) and the fields, absent optionals as null.
    var vectorJSON: OrderedJSON {
        func id(_ id: EntryID?) -> OrderedJSON { id.map { .string($0.hex) } ?? .null }
        func text(_ text: String?) -> OrderedJSON { text.map { .string($0) } ?? .null }
        let fields: [(String, OrderedJSON)]
        switch self {
        case .genesis(let name): fields = [("name", .string(name))]
        case .profile(let pseudonym): fields = [("pseudonym", .string(pseudonym))]
        case .meetingOpen(let topic): fields = [("topic", text(topic))]
        case .meetingClose(let meeting): fields = [("meeting", id(meeting))]
        case .share(let share):
            // "expires" only when set, so that the published share vectors (which have none) stand.
            fields = [("text", .string(share.text)), ("meeting", id(share.meeting))]
                + (share.expires.map { [("expires", OrderedJSON.number(Int($0)))] } ?? [])
        case .invite(let invite): fields = [("invite", .string(Hex.encode(invite.id))), ("expires", .number(Int(invite.expires)))]
        case .memberAdd(let add):
            fields = [("member", .string(add.member.hex)), ("invite", add.invite.map { .string(Hex.encode($0)) } ?? .null)]
        case .rekey(let rekey):
            fields = [
                ("epoch", .number(Int(rekey.epoch))), ("removed", .string(rekey.removed.map { "\($0.member.hex):\($0.lastSequence)" }.joined(separator: " "))),
                ("recipients", .string(rekey.keys.map(\.recipient.hex).joined(separator: " "))),
            ]
        case .roleGrant(let member): fields = [("member", .string(member.hex))]
        case .redaction(let entry): fields = [("entry", id(entry))]
        case .retention(let milliseconds): fields = [("milliseconds", .number(Int(milliseconds)))]
        case .privateCheckIn(let p):
            fields = [("readers", .string(p.readers.map(\.recipient.hex).joined(separator: " "))), ("meeting", id(p.meeting))]
        case .checkIn(let c):
            fields = [
                ("mood", .number(Int(c.mood))), ("note", text(c.note)),
                ("milestoneDays", c.milestoneDays.map { .number(Int($0)) } ?? .null),
                ("wantsSupport", .bool(c.wantsSupport)), ("meeting", id(c.meeting)),
            ]
        }
        return .object([("kind", .string(kind.description))] + fields)
    }
}
