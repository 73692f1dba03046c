import MeetKitCore
import MeetKitCrypto
import Testing

@Suite("Entries")
struct EntryTests {
    static let meeting = EntryID(bytes: [UInt8](repeating: 0x33, count: 32))!

    /// One content of every kind, with optional fields both present and absent.
    static let contents: [EntryContent] = [
        .genesis(name: "Tuesday Hall Group"),
        .profile(pseudonym: "Ash"),
        .meetingOpen(topic: "Step one"),
        .meetingOpen(topic: nil),
        .meetingClose(meeting: meeting),
        .share(Share(text: "Ninety days. Thank you all ☕")),
        .share(Share(text: "Said in the meeting", meeting: meeting)),
        .checkIn(CheckIn(mood: 1)),
        .checkIn(CheckIn(mood: 5, note: "Better", milestoneDays: 0, wantsSupport: true, meeting: meeting)),
        .checkIn(CheckIn(mood: 3, milestoneDays: .max)),
        .invite(Invite(id: Array(repeating: 7, count: 32), expires: 1_800_000_000_000)),
        .memberAdd(MemberAdd(member: Fixtures.member.publicKey, invite: Array(repeating: 7, count: 32))),
        .memberAdd(MemberAdd(member: Fixtures.member.publicKey, invite: nil)),
        .memberAdd(MemberAdd(member: Fixtures.member.publicKey, invite: Array(repeating: 7, count: 32), proof: Array(repeating: 5, count: 64))),
        .rekey(Rekey(epoch: 1, removed: [Rekey.Removal(member: Fixtures.member.publicKey, lastSequence: 12)], keys: [
            Rekey.Sealed(recipient: Fixtures.founder.publicKey, box: Array(repeating: 9, count: Rekey.boxLength)),
            Rekey.Sealed(recipient: Fixtures.founder.publicKey, box: Array(repeating: 8, count: Rekey.boxLength)),
        ])),
        .rekey(Rekey(epoch: 7, removed: [], keys: [
            Rekey.Sealed(recipient: Fixtures.member.publicKey, box: Array(repeating: 9, count: Rekey.boxLength)),
        ])),
        .roleGrant(member: Fixtures.member.publicKey),
        .share(Share(text: "Gone in a week", meeting: meeting, expires: 1_800_000_000_000)),
        .redaction(entry: meeting),
        .retention(milliseconds: 30 * 86_400_000),
        .retention(milliseconds: 0),
        .privateCheckIn(PrivateCheckIn(
            readers: [Rekey.Sealed(recipient: Fixtures.member.publicKey, box: Array(repeating: 5, count: PrivateCheckIn.boxLength))],
            ciphertext: Array(repeating: 6, count: 64), meeting: meeting)),
    ]

    @Test func everyKindIsCovered() {
        #expect(Set(Self.contents.map(\.kind)) == Set(EntryKind.allCases))
    }

    @Test(arguments: contents)
    func createThenDecode(_ content: EntryContent) throws {
        let group: GroupID? = content.kind == .genesis ? nil : Fixtures.group
        let entry = try makeEntry(content, group: group, lamport: 3, epoch: 0)
        #expect(entry.wire.count == Entry.wireLength)
        #expect(Entry.wireLength == 226)
        #expect(entry.header.kind == content.kind)
        #expect(entry.header.author == Fixtures.founder.publicKey)
        #expect(entry.header.bodyLength == UInt32(try #require(entry.body).count))

        let decoded = try Entry(wire: entry.wire, body: entry.body)
        #expect(decoded == entry)
        #expect(decoded.id == entry.id)
        #expect(decoded.id.bytes == BLAKE2b.hash(entry.headerBytes + entry.signature))
        #expect(try decoded.openContent(contentKey: Fixtures.contentKey) == content)
        #expect(try Entry(storedWire: entry.wire, body: entry.body) == entry)
    }

    /// The wire form and body rebuilt from Protocol/entries.md with the crypto primitives alone.
    @Test func wireAndBodyFollowTheSpecification() throws {
        let content = EntryContent.share(Share(text: "Ninety days", meeting: Self.meeting))
        let entry = try makeEntry(content, after: FeedHead(sequence: 2, id: Self.meeting, lamport: 3, epoch: 0), lamport: 4)
        let header = entry.headerBytes
        let body = try #require(entry.body)

        #expect(Fixtures.founder.publicKey.isValidSignature(entry.signature, for: Array("meetkit-entry-v1".utf8) + header))
        #expect(!Fixtures.founder.publicKey.isValidSignature(entry.signature, for: header))
        #expect(entry.id.bytes == BLAKE2b.hash(header + entry.signature))
        #expect(Array(header[130..<162]) == BLAKE2b.hash(body))
        #expect(RawHeader(header).bodyLength == UInt32(body.count))

        let nonce = Array(body.prefix(24))
        let associatedData = Array("meetkit-body-v1".utf8) + Array(header.prefix(130))
        let plaintext = AEAD.open(Array(body.dropFirst(24)), associatedData: associatedData, nonce: nonce, key: Fixtures.contentKey)
        #expect(plaintext == (try content.encoded()))
    }

    @Test func groupOfAGenesisIsItsOwnID() throws {
        let genesis = try makeEntry(.genesis(name: "G"), group: nil)
        #expect(genesis.header.group == nil)
        #expect(genesis.group == GroupID(genesis.id))
        let profile = try makeEntry(.profile(pseudonym: "Ash"), group: genesis.group, after: genesis.head, lamport: 2)
        #expect(profile.group == genesis.group)
        #expect(profile.header.previous == genesis.id)
    }

    @Test func droppingTheBody() throws {
        let entry = try makeEntry(.share(Share(text: "to expire")))
        let dropped = entry.droppingBody()
        #expect(dropped.body == nil)
        #expect(dropped.id == entry.id)
        #expect(dropped.wire == entry.wire)
        #expect(try Entry(wire: entry.wire, body: nil) == dropped)
        #expect(try dropped.openContent(contentKey: Fixtures.contentKey) == nil)
    }

    @Test func wrongContentKeyOpensNothing() throws {
        let entry = try makeEntry(.share(Share(text: "only for the group")))
        #expect(try entry.openContent(contentKey: Fixtures.nextEpochKey) == nil)
        #expect(try entry.openContent(contentKey: secret(repeating: 0x4b, count: 31)) == nil)
    }

    @Test func sameInputsSameEntry() throws {
        let a = try makeEntry(.profile(pseudonym: "Ash"))
        let b = try makeEntry(.profile(pseudonym: "Ash"))
        #expect(a == b)
        #expect(a.id != (try makeEntry(.profile(pseudonym: "Ash"), lamport: 2)).id)
    }

    @Test func createRefusesInvalidContent() {
        #expect(throws: ContentError.emptyText("pseudonym")) { try makeEntry(.profile(pseudonym: "")) }
        #expect(throws: ContentError.invalidValue("mood")) { try makeEntry(.checkIn(CheckIn(mood: 0))) }
    }

    // MARK: Every bit matters

    /// Flipping any single bit of the wire form is refused. The version byte fails as an
    /// unsupported version; a genesis's zero fields fail their genesis rule; the kind byte and
    /// some integer bits can fail a header rule first; everything else fails the signature.
    @Test(arguments: [false, true])
    func everyWireBitFlipIsRejected(genesis: Bool) throws {
        let entry = genesis
            ? try makeEntry(.genesis(name: "Tuesday Hall Group"), group: nil)
            : try makeEntry(.share(Share(text: "Ninety days", meeting: Self.meeting)),
                            after: FeedHead(sequence: 6, id: Self.meeting, lamport: 8, epoch: 1), lamport: 9, epoch: 1)
        for bit in 0..<Entry.wireLength * 8 {
            let byte = bit / 8
            let flipped = flippingBit(bit, of: entry.wire)
            do {
                _ = try Entry(wire: flipped, body: entry.body)
                Issue.record("bit \(bit) accepted")
            } catch {
                switch byte {
                case 0:
                    #expect(error == .unsupportedVersion(flipped[0]), "bit \(bit)")
                case 2..<34 where genesis:
                    #expect(error == .genesisWithGroup, "bit \(bit)")
                case 74..<106 where genesis:
                    #expect(error == .previousOnFirstEntry, "bit \(bit)")
                case 122..<126 where genesis:
                    #expect(error == .genesisEpoch, "bit \(bit)")
                case 1, 66..<74, 126..<130:
                    // Kind, sequence and body length: a header rule may catch the change first.
                    #expect(error == .badSignature || headerRuleError(error), "bit \(bit): \(error)")
                default:
                    #expect(error == .badSignature, "bit \(bit): \(error)")
                }
            }
        }
    }

    private func headerRuleError(_ error: EntryError) -> Bool {
        switch error {
        case .unknownKind, .sequenceZero, .previousOnFirstEntry, .missingPrevious, .bodyHashWithoutBody,
             .bodyTooLarge, .genesisNotFirst, .genesisWithGroup, .genesisEpoch, .missingGroup:
            true
        default:
            false
        }
    }

    @Test func everyBodyBitFlipIsRejected() throws {
        let entry = try makeEntry(.checkIn(CheckIn(mood: 4, note: "ok", milestoneDays: 30, wantsSupport: true)))
        let body = try #require(entry.body)
        for bit in 0..<body.count * 8 {
            #expect(throws: EntryError.bodyHashMismatch, "bit \(bit)") {
                try Entry(wire: entry.wire, body: flippingBit(bit, of: body))
            }
        }
        #expect(throws: EntryError.bodyLengthMismatch) { try Entry(wire: entry.wire, body: body + [0]) }
        #expect(throws: EntryError.bodyLengthMismatch) { try Entry(wire: entry.wire, body: Array(body.dropLast())) }
        #expect(throws: EntryError.bodyLengthMismatch) { try Entry(wire: entry.wire, body: []) }
    }

    @Test func storedWireSkipsOnlyTheSignatureAndBodyChecks() throws {
        let entry = try makeEntry(.profile(pseudonym: "Ash"))
        // For rows the store sealed itself: header rules still apply.
        #expect(throws: Never.self) { try Entry(storedWire: flippingBit(200 * 8, of: entry.wire), body: entry.body) }
        #expect(throws: EntryError.unsupportedVersion(3)) { try Entry(storedWire: flippingBit(1, of: entry.wire), body: nil) }
        #expect(throws: EntryError.wrongLength(actual: 225)) { try Entry(storedWire: Array(entry.wire.dropLast()), body: nil) }
    }

    // MARK: Bodies are bound to their header

    @Test func bodyOfAnotherEntryFailsItsHash() throws {
        let a = try makeEntry(.share(Share(text: "first share")), lamport: 1)
        let b = try makeEntry(.share(Share(text: "other share")), after: a.head, lamport: 2)
        #expect(a.body?.count == b.body?.count)
        #expect(throws: EntryError.bodyHashMismatch) { try Entry(wire: b.wire, body: a.body) }
    }

    /// A header that commits to another entry's body (its hash and length) still verifies,
    /// but the body does not open: the AEAD's associated data is the header it was sealed for.
    @Test(arguments: HeaderChange.allCases)
    func bodyMovedUnderAnotherHeaderDoesNotOpen(_ change: HeaderChange) throws {
        let original = try makeEntry(
            .share(Share(text: "what is said here stays here")),
            after: FeedHead(sequence: 4, id: Self.meeting, lamport: 6, epoch: 2), lamport: 7, epoch: 2)
        #expect(try original.openContent(contentKey: Fixtures.contentKey) != nil)

        var raw = RawHeader(original)
        change.apply(to: &raw)
        let signer = change == .author ? Fixtures.member : Fixtures.founder
        let moved = try Entry(wire: raw.wire(signedBy: signer), body: original.body)
        #expect(moved.body == original.body)
        #expect(try moved.openContent(contentKey: Fixtures.contentKey) == nil)
    }

    enum HeaderChange: CaseIterable, Sendable {
        case kind, group, author, sequence, previous, lamport, timestamp, epoch

        func apply(to raw: inout RawHeader) {
            switch self {
            case .kind: raw.kind = EntryKind.meetingOpen.rawValue
            case .group: raw.group = Fixtures.otherGroup.bytes
            case .author: raw.author = Fixtures.member.publicKey.bytes
            case .sequence: raw.sequence += 1
            case .previous: raw.previous = [UInt8](repeating: 0x34, count: 32)
            case .lamport: raw.lamport += 1
            case .timestamp: raw.timestamp += 1
            case .epoch: raw.epoch += 1
            }
        }
    }

    @Test func unchangedHeaderStillOpens() throws {
        // The control for the test above: re-signing an identical header changes nothing.
        let original = try makeEntry(.share(Share(text: "what is said here stays here")))
        let again = try Entry(wire: RawHeader(original).wire(signedBy: Fixtures.founder), body: original.body)
        #expect(try again.openContent(contentKey: Fixtures.contentKey) == .share(Share(text: "what is said here stays here")))
    }
}
