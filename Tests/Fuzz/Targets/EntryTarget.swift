import MeetKitCore
import MeetKitCrypto

/// Entries. Random bytes never carry a valid signature, so the first byte picks how far the
/// harness helps (flags & 3):
///
/// - 0: wire form (226 bytes) ‖ body, as they are;
/// - 1: a header (162 bytes) from the input, signed by `Fixed.author`, ‖ body;
/// - 2: a kind (u8) ‖ body plaintext, for `EntryContent(kind:decoding:)` alone; content that
///   decodes must re-encode to the same bytes (Protocol/entries.md: one encoding);
/// - 3: a header (162 bytes) ‖ body plaintext: the harness encrypts the body under
///   `Fixed.contentKey`, fills in its length and hash and signs, as `Entry.create` would, so
///   every header field and every content byte is the fuzzer's.
///
/// In modes 0, 1 and 3 the flags are followed by what the checks after verification use
/// (`Checks`), and in modes 0 and 1 the body is absent unless flags & 4. An entry that
/// verifies is checked against its feed (`validateLink`), opened, folded into a group's state
/// after a retention set by its admin, and asked whether its body is dropped at a given time.
///
/// Refused: the entry or its content threw, or the kind is unknown.
enum EntryTarget {
    private static let signatureTag = Array("meetkit-entry-v1".utf8)
    private static let bodyTag = Array("meetkit-body-v1".utf8)
    private static let authorRange = 34..<66
    private static let bodyLengthRange = 126..<130
    private static let bodyHashOffset = 130

    static func run(_ input: [UInt8]) -> FuzzOutcome {
        var script = FuzzInput(input)
        let flags = script.byte()
        let wire: [UInt8]
        let body: [UInt8]?
        let checks = flags & 3 == 2 ? Checks() : Checks(&script)
        switch flags & 3 {
        case 0:
            wire = script.bytes(Entry.wireLength)
            body = flags & 4 == 0 ? nil : script.rest()
        case 1:
            var header = script.padded(EntryHeader.encodedLength)
            header.replaceSubrange(authorRange, with: Fixed.author.publicKey.bytes)
            wire = header + Fixed.author.sign(signatureTag + header)
            body = flags & 4 == 0 ? nil : script.rest()
        case 2:
            guard let kind = EntryKind(rawValue: script.byte()) else { return .refused("unknown kind") }
            let plaintext = script.rest()
            do {
                let content = try EntryContent(kind: kind, decoding: plaintext)
                let encoded = try content.encoded()
                precondition(encoded == plaintext, "\(content) does not re-encode to its bytes")
            } catch {
                return .refused(error)
            }
            return .accepted
        default:
            (wire, body) = authored(header: script.padded(EntryHeader.encodedLength), plaintext: script.rest())
        }
        do {
            let entry = try Entry(wire: wire, body: body)
            let stored = try Entry(storedWire: wire, body: body)
            precondition(stored == entry, "a stored entry reads back differently")
            let content = try entry.openContent(contentKey: Fixed.contentKey)
            check(LogItem(entry: entry, content: content), checks)
        } catch {
            return .refused(error)
        }
        return .accepted
    }

    static func seeds() -> [(name: String, bytes: [UInt8])] {
        let group = Fixed.genesis.group
        let contents: [(name: String, content: EntryContent)] = [
            ("profile", .profile(pseudonym: "sam")),
            ("meeting-open", .meetingOpen(topic: "tuesday")),
            ("meeting-open-without-topic", .meetingOpen(topic: nil)),
            ("meeting-close", .meetingClose(meeting: Fixed.id(0x21))),
            ("share", .share(Share(text: "one day at a time", meeting: Fixed.id(0x22), expires: 1_800_000_000_000))),
            ("check-in", .checkIn(CheckIn(mood: 3, note: "ok", milestoneDays: 30, wantsSupport: true, meeting: Fixed.id(0x23)))),
            ("invite", .invite(Invite(id: [UInt8](repeating: 0x24, count: 32), expires: 1_800_000_000_000))),
            ("member-add", .memberAdd(MemberAdd(member: Fixed.client.publicKey, invite: [UInt8](repeating: 0x24, count: 32)))),
            ("re-key", .rekey(Rekey(
                epoch: 1, removed: [Rekey.Removal(member: Fixed.client.publicKey, lastSequence: 3)],
                keys: [Rekey.Sealed(recipient: Fixed.author.publicKey, box: [UInt8](repeating: 0x25, count: Rekey.boxLength))]))),
            ("role-grant", .roleGrant(member: Fixed.client.publicKey)),
            ("redaction", .redaction(entry: Fixed.id(0x26))),
            ("retention", .retention(milliseconds: 86_400_000)),
            ("private-check-in", .privateCheckIn(PrivateCheckIn(
                readers: [Rekey.Sealed(recipient: Fixed.author.publicKey, box: [UInt8](repeating: 0x27, count: PrivateCheckIn.boxLength))],
                ciphertext: [UInt8](repeating: 0x28, count: 64), meeting: nil))),
        ]
        var seeds: [(name: String, bytes: [UInt8])] = []
        var head = Fixed.genesis.head
        seeds.append(("raw-genesis", [4] + Checks.seed + Fixed.genesis.wire + (Fixed.genesis.body ?? [])))
        seeds.append(("content-genesis", [2, EntryKind.genesis.rawValue] + encoded(.genesis(name: "Fuzz"))))
        for (name, content) in contents {
            let entry = Fixed.authored(content, group: group, after: head, lamport: head.lamport + 1)
            head = entry.head
            seeds.append(("raw-\(name)", [4] + Checks.seed + entry.wire + (entry.body ?? [])))
            seeds.append(("content-\(name)", [2, content.kind.rawValue] + encoded(content)))
            // Mode 3 rebuilds the same body from the plaintext.
            seeds.append(("authored-\(name)", [3] + Checks.seed + entry.headerBytes + encoded(content)))
        }
        seeds.append(("signed-header-only", [1] + Checks.seed + Fixed.genesis.headerBytes))
        seeds.append(("raw-without-body", [0] + Checks.seed + Fixed.genesis.wire))
        return seeds
    }

    /// Mode 3's entry: `header` with `Fixed.author`, the body sealed over `plaintext` and
    /// its length and hash, signed.
    private static func authored(header template: [UInt8], plaintext: [UInt8]) -> ([UInt8], [UInt8]) {
        var header = template
        header.replaceSubrange(authorRange, with: Fixed.author.publicKey.bytes)
        let length = UInt32(AEAD.nonceLength + plaintext.count + AEAD.tagLength)
        header.replaceSubrange(bodyLengthRange, with: (0..<4).map { UInt8(truncatingIfNeeded: length >> (24 - 8 * $0)) })
        let associatedData = bodyTag + header[..<bodyHashOffset]
        let body = Fixed.nonce + AEAD.seal(plaintext, associatedData: associatedData, nonce: Fixed.nonce, key: Fixed.contentKey)
        header.replaceSubrange(bodyHashOffset..., with: BLAKE2b.hash(body))
        return (header + Fixed.author.sign(signatureTag + header), body)
    }

    /// What the checks after verification use: the previous entry's lamport and epoch, the
    /// group's retention (ms, made non-negative) and the time.
    private struct Checks {
        /// No previous entry's lamport or epoch, a day's retention, and 2030.
        static let seed = bigEndian(UInt64(0)) + bigEndian(UInt32(0)) + bigEndian(UInt64(86_400_000)) + bigEndian(UInt64(1_900_000_000_000))

        var lamport: UInt64 = 0
        var epoch: UInt32 = 0
        var retention: Int64 = 0
        var now: Int64 = 0

        init() {}

        init(_ script: inout FuzzInput) {
            lamport = script.integer()
            epoch = script.integer()
            retention = Int64(bitPattern: script.integer()) & .max
            now = Int64(bitPattern: script.integer())
        }
    }

    /// What the node does with an entry that verified; errors here are answers, not refusals.
    private static func check(_ item: LogItem, _ checks: Checks) {
        let entry = item.entry
        try? entry.validateLink(after: nil, in: entry.group)
        if let previous = entry.header.previous {
            let head = FeedHead(sequence: entry.header.sequence - 1, id: previous, lamport: checks.lamport, epoch: checks.epoch)
            try? entry.validateLink(after: head, in: entry.group)
        }
        let retention = Fixed.authored(
            .retention(milliseconds: checks.retention), group: Fixed.genesis.group, after: Fixed.genesis.head, lamport: 2)
        let items = [
            LogItem(entry: Fixed.genesis, content: .genesis(name: "Fuzz")),
            LogItem(entry: retention, content: .retention(milliseconds: checks.retention)),
            item,
        ]
        let state = GroupState(items: items) { id in items.first { $0.entry.id == id }?.entry.header }
        _ = state.refusal(of: entry, after: Fixed.genesis.head)
        _ = state.dropReason(of: item, now: checks.now)
        _ = state.needsRekey
        _ = state.openMeeting
    }

    private static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian, Array.init)
    }

    private static func encoded(_ content: EntryContent) -> [UInt8] {
        do {
            return try content.encoded()
        } catch {
            preconditionFailure("a seed's content did not encode: \(error)")
        }
    }
}
