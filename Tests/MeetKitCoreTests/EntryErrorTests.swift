import MeetKitCore
import MeetKitCrypto
import Testing

/// Every rejection reason is reachable, each by an entry that breaks exactly one rule. The
/// cases are the rejected entry vectors (built in `EntryVectors`), checked here in memory.
@Suite("Entry errors")
struct EntryErrorTests {
    /// One value of every case. `ordinal` fails to compile when a case is added, so this list
    /// (and with it the vectors) cannot silently fall behind.
    static let everyError: [EntryError] = [
        .wrongLength(actual: 0), .unsupportedVersion(2), .unknownKind(7), .sequenceZero, .previousOnFirstEntry,
        .missingPrevious, .bodyHashWithoutBody, .bodyWithoutBodyHash, .bodyTooLarge(65_537), .genesisNotFirst,
        .genesisWithGroup, .genesisEpoch, .missingGroup, .badSignature, .bodyLengthMismatch, .bodyHashMismatch,
        .wrongGroup, .brokenChain, .sequenceGap(expected: 2, actual: 3), .lamportNotIncreasing, .epochDecreased,
        .bodyRequired,
    ]

    static func ordinal(_ error: EntryError) -> Int {
        switch error {
        case .wrongLength: 0
        case .unsupportedVersion: 1
        case .unknownKind: 2
        case .sequenceZero: 3
        case .previousOnFirstEntry: 4
        case .missingPrevious: 5
        case .bodyHashWithoutBody: 6
        case .bodyWithoutBodyHash: 7
        case .bodyTooLarge: 8
        case .genesisNotFirst: 9
        case .genesisWithGroup: 10
        case .genesisEpoch: 11
        case .missingGroup: 12
        case .badSignature: 13
        case .bodyLengthMismatch: 14
        case .bodyHashMismatch: 15
        case .wrongGroup: 16
        case .brokenChain: 17
        case .sequenceGap: 18
        case .lamportNotIncreasing: 19
        case .epochDecreased: 20
        case .bodyRequired: 21
        }
    }

    @Test func everyCaseIsListedOnceWithADistinctCode() {
        #expect(Set(Self.everyError.map(Self.ordinal)) == Set(0..<22))
        #expect(Set(Self.everyError.map(\.code)).count == Self.everyError.count)
        for error in Self.everyError {
            #expect(!error.explanation.isEmpty)
            #expect(error.code.allSatisfy { $0.isLowercase || $0 == "-" }, "\(error.code)")
        }
    }

    @Test func everyCaseIsReachable() throws {
        let rejected = try EntryVectors.all().compactMap { vector -> EntryError? in
            if case .reject(let error) = vector.outcome { error } else { nil }
        }
        let reached = Set(rejected.map(Self.ordinal))
        let missing = Self.everyError.filter { !reached.contains(Self.ordinal($0)) }
        #expect(missing.isEmpty, "unreached: \(missing.map(\.code))")
    }

    /// Each hand-made bad header is refused for its reason before, and without, the signature check.
    @Test func headerRulesNeedNoSignature() throws {
        for vector in try EntryVectors.all() {
            guard case .reject(let expected) = vector.outcome, vector.wire.count == Entry.wireLength else { continue }
            let header = Array(vector.wire.prefix(EntryHeader.encodedLength))
            let ordinal = Self.ordinal(expected)
            if (1...12).contains(ordinal) || ordinal == 21 {
                #expect(throws: expected, "\(vector.name)") { try EntryHeader(decoding: header) }
            } else {
                #expect(throws: Never.self, "\(vector.name)") { try EntryHeader(decoding: header) }
            }
        }
    }

    @Test func headerOfWrongLength() {
        #expect(throws: EntryError.wrongLength(actual: 161)) { try EntryHeader(decoding: [UInt8](repeating: 1, count: 161)) }
        #expect(throws: EntryError.wrongLength(actual: 0)) { try EntryHeader(decoding: []) }
        #expect(throws: EntryError.wrongLength(actual: 0)) { try Entry(wire: [], body: nil) }
    }

    @Test func bodyOfTheMaximumLengthIsAllowedInTheHeader() throws {
        let entry = try makeEntry(.profile(pseudonym: "Ash"))
        var raw = RawHeader(entry)
        raw.bodyLength = EntryHeader.maximumBodyLength
        let wire = raw.wire(signedBy: Fixtures.founder)
        #expect(throws: Never.self) { try Entry(wire: wire, body: nil) }
        // With the body given, its length is what fails.
        #expect(throws: EntryError.bodyLengthMismatch) { try Entry(wire: wire, body: entry.body) }
    }

    @Test func everyKindNumberOutsideTheDefinedOnesIsUnknown() throws {
        let entry = try makeEntry(.profile(pseudonym: "Ash"))
        for kind in UInt8.min...UInt8.max where EntryKind(rawValue: kind) == nil {
            var raw = RawHeader(entry)
            raw.kind = kind
            let wire = raw.wire(signedBy: Fixtures.founder)
            #expect(throws: EntryError.unknownKind(kind)) { try Entry(wire: wire, body: entry.body) }
        }
        #expect(EntryKind.allCases.map(\.rawValue) == Array(1...13))
    }

    @Test func checksRunInTheDocumentedOrder() throws {
        let entry = try makeEntry(.profile(pseudonym: "Ash"))
        // Version before kind, kind before sequence, and all header rules before the signature.
        var raw = RawHeader(entry)
        raw.version = 9
        raw.kind = 99
        raw.sequence = 0
        #expect(throws: EntryError.unsupportedVersion(9)) { try Entry(wire: raw.bytes + entry.signature, body: nil) }
        raw.version = 1
        #expect(throws: EntryError.unknownKind(99)) { try Entry(wire: raw.bytes + entry.signature, body: nil) }
        raw.kind = 2
        #expect(throws: EntryError.sequenceZero) { try Entry(wire: raw.bytes + entry.signature, body: nil) }
        // The signature before the body.
        #expect(throws: EntryError.badSignature) {
            try Entry(wire: flippingBit(200 * 8, of: entry.wire), body: [1, 2, 3])
        }
    }
}
