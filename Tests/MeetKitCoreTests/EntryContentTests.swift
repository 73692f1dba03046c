import MeetKitCore
import MeetKitCrypto
import Testing

@Suite("Entry content")
struct EntryContentTests {
    static let meeting = EntryID(bytes: [UInt8](repeating: 0x33, count: 32))!

    /// A field: tag, length (u16 big-endian), value.
    func field(_ tag: UInt8, _ value: [UInt8]) -> [UInt8] {
        [tag] + bigEndianBytes(UInt16(value.count)) + value
    }

    func field(_ tag: UInt8, _ text: String) -> [UInt8] { field(tag, Array(text.utf8)) }

    func decode(_ kind: EntryKind, _ bytes: [UInt8]) throws(ContentError) -> EntryContent {
        try EntryContent(kind: kind, decoding: bytes)
    }

    // MARK: Round trips

    @Test(arguments: EntryTests.contents)
    func roundTrip(_ content: EntryContent) throws {
        let bytes = try content.encoded()
        #expect(try decode(content.kind, bytes) == content)
    }

    @Test func encodingIsTheDocumentedOne() throws {
        #expect(try EntryContent.share(Share(text: "hi")).encoded() == [1, 0, 2, 0x68, 0x69])
        #expect(try EntryContent.meetingOpen(topic: nil).encoded() == [])
        #expect(try EntryContent.share(Share(text: "hi", meeting: Self.meeting)).encoded() == field(1, "hi") + field(2, Self.meeting.bytes))
        let checkIn = CheckIn(mood: 4, note: "ok", milestoneDays: 0x0102_0304, wantsSupport: true, meeting: Self.meeting)
        #expect(try EntryContent.checkIn(checkIn).encoded()
            == field(1, [4]) + field(2, "ok") + field(3, [1, 2, 3, 4]) + field(4, [1]) + field(5, Self.meeting.bytes))
        #expect(try EntryContent.checkIn(CheckIn(mood: 3, wantsSupport: false)).encoded() == field(1, [3]))
    }

    @Test func textAtTheLimitIsAccepted() throws {
        let cases: [(EntryContent, Int)] = [
            (.genesis(name: String(repeating: "g", count: EntryContent.Limit.groupName)), EntryContent.Limit.groupName),
            (.profile(pseudonym: String(repeating: "p", count: EntryContent.Limit.pseudonym)), EntryContent.Limit.pseudonym),
            (.meetingOpen(topic: String(repeating: "t", count: EntryContent.Limit.topic)), EntryContent.Limit.topic),
            (.share(Share(text: String(repeating: "s", count: EntryContent.Limit.shareText))), EntryContent.Limit.shareText),
            (.checkIn(CheckIn(mood: 3, note: String(repeating: "n", count: EntryContent.Limit.note))), EntryContent.Limit.note),
        ]
        for (content, _) in cases {
            #expect(try decode(content.kind, content.encoded()) == content)
        }
        // Limits count UTF-8 bytes: 16 000 bytes of three-byte characters, less one character.
        let wide = String(repeating: "☕", count: EntryContent.Limit.shareText / 3)
        #expect(try decode(.share, EntryContent.share(Share(text: wide)).encoded()) == .share(Share(text: wide)))
    }

    @Test func largestShareFitsInABody() throws {
        let share = EntryContent.share(Share(text: String(repeating: "s", count: EntryContent.Limit.shareText), meeting: Self.meeting))
        let entry = try makeEntry(share)
        #expect(entry.header.bodyLength <= EntryHeader.maximumBodyLength)
        #expect(try Entry(wire: entry.wire, body: entry.body).openContent(contentKey: Fixtures.contentKey) == share)
    }

    // MARK: Canonical decoding rejects

    @Test func truncatedFields() {
        let full = field(1, "hello")
        for length in 1..<full.count {
            #expect(throws: ContentError.truncated, "\(length) bytes") { try decode(.share, Array(full.prefix(length))) }
        }
        // A length running past the end.
        #expect(throws: ContentError.truncated) { try decode(.share, [1, 0xff, 0xff, 0x68]) }
    }

    @Test func fieldsOutOfOrder() {
        #expect(throws: ContentError.fieldsOutOfOrder) {
            try decode(.share, field(2, Self.meeting.bytes) + field(1, "hello"))
        }
        #expect(throws: ContentError.fieldsOutOfOrder) {
            try decode(.checkIn, field(1, [3]) + field(4, [1]) + field(2, "note"))
        }
        // Tag 0 is never valid: tags start at 1.
        #expect(throws: ContentError.fieldsOutOfOrder) { try decode(.meetingOpen, field(0, "x")) }
    }

    @Test func duplicateTags() {
        #expect(throws: ContentError.fieldsOutOfOrder) { try decode(.share, field(1, "a") + field(1, "b")) }
        #expect(throws: ContentError.fieldsOutOfOrder) { try decode(.checkIn, field(1, [3]) + field(1, [3])) }
    }

    @Test func unknownTags() {
        #expect(throws: ContentError.unknownField(4)) { try decode(.share, field(1, "hello") + field(4, [0])) }
        #expect(throws: ContentError.invalidValue("expiry")) { try decode(.share, field(1, "hello") + field(3, [0])) }
        #expect(throws: ContentError.unknownField(2)) { try decode(.profile, field(1, "Ash") + field(2, "x")) }
        #expect(throws: ContentError.unknownField(6)) { try decode(.checkIn, field(1, [3]) + field(6, [])) }
        #expect(throws: ContentError.unknownField(2)) { try decode(.meetingOpen, field(2, "x")) }
        #expect(throws: ContentError.unknownField(255)) { try decode(.genesis, field(1, "G") + field(255, [])) }
    }

    @Test func missingRequiredFields() {
        #expect(throws: ContentError.missingField("group name")) { try decode(.genesis, []) }
        #expect(throws: ContentError.missingField("pseudonym")) { try decode(.profile, []) }
        #expect(throws: ContentError.missingField("meeting")) { try decode(.meetingClose, []) }
        #expect(throws: ContentError.missingField("share text")) { try decode(.share, field(2, Self.meeting.bytes)) }
        #expect(throws: ContentError.missingField("mood")) { try decode(.checkIn, field(2, "note")) }
    }

    @Test func emptyText() {
        #expect(throws: ContentError.emptyText("share text")) { try decode(.share, field(1, [])) }
        #expect(throws: ContentError.emptyText("topic")) { try decode(.meetingOpen, field(1, [])) }
        #expect(throws: ContentError.emptyText("note")) { try decode(.checkIn, field(1, [3]) + field(2, [])) }
        #expect(throws: ContentError.emptyText("pseudonym")) { try EntryContent.profile(pseudonym: "").encoded() }
        #expect(throws: ContentError.emptyText("note")) { try EntryContent.checkIn(CheckIn(mood: 3, note: "")).encoded() }
    }

    @Test func tooLongText() {
        let limits: [(EntryKind, String, Int, (Int) -> [UInt8])] = [
            (.genesis, "group name", EntryContent.Limit.groupName, { field(1, [UInt8](repeating: 0x61, count: $0)) }),
            (.profile, "pseudonym", EntryContent.Limit.pseudonym, { field(1, [UInt8](repeating: 0x61, count: $0)) }),
            (.meetingOpen, "topic", EntryContent.Limit.topic, { field(1, [UInt8](repeating: 0x61, count: $0)) }),
            (.share, "share text", EntryContent.Limit.shareText, { field(1, [UInt8](repeating: 0x61, count: $0)) }),
            (.checkIn, "note", EntryContent.Limit.note, { field(1, [3]) + field(2, [UInt8](repeating: 0x61, count: $0)) }),
        ]
        for (kind, name, limit, make) in limits {
            #expect(throws: Never.self, "\(name)") { try decode(kind, make(limit)) }
            #expect(throws: ContentError.tooLong(name, maximum: limit)) { try decode(kind, make(limit + 1)) }
        }
        #expect(throws: ContentError.tooLong("pseudonym", maximum: 64)) {
            try EntryContent.profile(pseudonym: String(repeating: "é", count: 33)).encoded()
        }
    }

    @Test(arguments: [
        [0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0x61, 0xe2, 0x98], [0xf4, 0x90, 0x80, 0x80], [0x80],
    ] as [[UInt8]])
    func invalidUTF8(_ bytes: [UInt8]) {
        #expect(throws: ContentError.invalidText("share text")) { try decode(.share, field(1, bytes)) }
        #expect(throws: ContentError.invalidText("pseudonym")) { try decode(.profile, field(1, bytes)) }
    }

    @Test(arguments: [0, 6, 255] as [UInt8])
    func moodOutOfRange(_ mood: UInt8) {
        #expect(throws: ContentError.invalidValue("mood")) { try decode(.checkIn, field(1, [mood])) }
        #expect(throws: ContentError.invalidValue("mood")) { try EntryContent.checkIn(CheckIn(mood: mood)).encoded() }
    }

    @Test func moodOfTheWrongLength() {
        #expect(throws: ContentError.invalidValue("mood")) { try decode(.checkIn, field(1, [])) }
        #expect(throws: ContentError.invalidValue("mood")) { try decode(.checkIn, field(1, [0, 3])) }
    }

    @Test(arguments: [[0], [2], [255], [1, 1], []] as [[UInt8]])
    func supportFlagOtherThanOne(_ value: [UInt8]) {
        #expect(throws: ContentError.invalidValue("support flag")) { try decode(.checkIn, field(1, [3]) + field(4, value)) }
    }

    @Test func fixedLengthFields() {
        #expect(throws: ContentError.invalidValue("milestone")) { try decode(.checkIn, field(1, [3]) + field(3, [0, 0, 1])) }
        #expect(throws: ContentError.invalidValue("meeting")) { try decode(.meetingClose, field(1, [UInt8](repeating: 1, count: 31))) }
        #expect(throws: ContentError.invalidValue("meeting")) { try decode(.share, field(1, "a") + field(2, [UInt8](repeating: 1, count: 33))) }
        #expect(throws: ContentError.invalidValue("meeting")) { try decode(.checkIn, field(1, [3]) + field(5, [])) }
    }

    @Test func contentOfAnotherKindIsRefused() throws {
        // A share's plaintext read as a check-in: tag 1 is not a one-byte mood.
        let share = try EntryContent.share(Share(text: "hello")).encoded()
        #expect(throws: ContentError.invalidValue("mood")) { try decode(.checkIn, share) }
        #expect(throws: ContentError.missingField("meeting")) { try decode(.meetingClose, []) }
    }

    @Test func malformedContentInsideAValidEntryThrowsOnOpen() throws {
        // An author who signs a body with bad content: the entry verifies, opening it throws.
        let base = try makeEntry(.share(Share(text: "placeholder")))
        var raw = RawHeader(base)
        let plaintext = field(1, [0xff])
        let nonce = [UInt8](repeating: 7, count: 24)
        raw.bodyLength = UInt32(24 + plaintext.count + 16)
        let associatedData = Array("meetkit-body-v1".utf8) + Array(raw.bytes.prefix(130))
        let body = nonce + AEAD.seal(plaintext, associatedData: associatedData, nonce: nonce, key: Fixtures.contentKey)
        raw.bodyHash = BLAKE2b.hash(body)
        let entry = try Entry(wire: raw.wire(signedBy: Fixtures.founder), body: body)
        #expect(throws: ContentError.invalidText("share text")) { try entry.openContent(contentKey: Fixtures.contentKey) }
    }
}
