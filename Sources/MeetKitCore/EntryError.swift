/// Why an entry was rejected: one case per rule of Protocol/entries.md §Validation.
/// `code` is the stable name used in the rejected-entry vectors (`Protocol/vectors/entries/nay`).
public enum EntryError: Error, Hashable, Sendable {
    case wrongLength(actual: Int)
    case unsupportedVersion(UInt8)
    case unknownKind(UInt8)
    case sequenceZero
    case previousOnFirstEntry
    case missingPrevious
    case bodyHashWithoutBody
    case bodyWithoutBodyHash
    case bodyTooLarge(UInt32)
    case genesisNotFirst
    case genesisWithGroup
    case genesisEpoch
    case missingGroup
    case badSignature
    case bodyLengthMismatch
    case bodyHashMismatch
    case wrongGroup
    case brokenChain
    case sequenceGap(expected: UInt64, actual: UInt64)
    case lamportNotIncreasing
    case epochDecreased
    case bodyRequired

    public var code: String {
        switch self {
        case .wrongLength: "wrong-length"
        case .unsupportedVersion: "unsupported-version"
        case .unknownKind: "unknown-kind"
        case .sequenceZero: "sequence-zero"
        case .previousOnFirstEntry: "previous-on-first-entry"
        case .missingPrevious: "missing-previous"
        case .bodyHashWithoutBody: "body-hash-without-body"
        case .bodyWithoutBodyHash: "body-without-body-hash"
        case .bodyTooLarge: "body-too-large"
        case .genesisNotFirst: "genesis-not-first"
        case .genesisWithGroup: "genesis-with-group"
        case .genesisEpoch: "genesis-epoch"
        case .missingGroup: "missing-group"
        case .badSignature: "bad-signature"
        case .bodyLengthMismatch: "body-length-mismatch"
        case .bodyHashMismatch: "body-hash-mismatch"
        case .wrongGroup: "wrong-group"
        case .brokenChain: "broken-chain"
        case .sequenceGap: "sequence-gap"
        case .lamportNotIncreasing: "lamport-not-increasing"
        case .epochDecreased: "epoch-decreased"
        case .bodyRequired: "body-required"
        }
    }

    /// One sentence for a person.
    public var explanation: String {
        switch self {
        case .wrongLength(let n): "the entry is \(n) bytes long, not \(Entry.wireLength)"
        case .unsupportedVersion(let v): "the entry uses format version \(v), which this MeetKit does not know"
        case .unknownKind(let k): "the entry has kind \(k), which this MeetKit does not know"
        case .sequenceZero: "the entry's sequence number is 0"
        case .previousOnFirstEntry: "the first entry of a feed names a previous entry"
        case .missingPrevious: "the entry does not name the previous entry of its feed"
        case .bodyHashWithoutBody: "the entry has a body hash but a body length of 0"
        case .bodyWithoutBodyHash: "the entry has a body length but no body hash"
        case .bodyTooLarge(let n): "the entry's body of \(n) bytes exceeds the limit of \(EntryHeader.maximumBodyLength)"
        case .genesisNotFirst: "a group genesis entry is not the first entry of its feed"
        case .genesisWithGroup: "a group genesis entry names a group"
        case .genesisEpoch: "a group genesis entry is not in epoch 0"
        case .missingGroup: "the entry names no group"
        case .badSignature: "the entry's signature does not verify"
        case .bodyLengthMismatch: "the entry's body is not the length its header states"
        case .bodyHashMismatch: "the entry's body does not match its header's body hash"
        case .wrongGroup: "the entry belongs to another group"
        case .brokenChain: "the entry does not follow the previous entry of its feed"
        case .sequenceGap(let e, let a): "the entry has sequence number \(a) where \(e) was expected"
        case .lamportNotIncreasing: "the entry's Lamport clock does not increase along its feed"
        case .epochDecreased: "the entry's epoch is lower than the previous entry's"
        case .bodyRequired: "an entry of this kind must carry a body"
        }
    }
}
