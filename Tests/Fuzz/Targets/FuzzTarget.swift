/// MeetKit's parsers as libFuzzer targets (Tests/Fuzz/README.md). Each harness takes any bytes
/// and must never trap: a trap is a defect to fix in the source, with the input saved under
/// `Tests/Fuzz/crashes/<target>/`. Harnesses also trap on a broken invariant (say, a message
/// that decodes but does not re-encode to the same bytes), so that the fuzzer reports it.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Box-stream decoding (Protocol/framing.md).
    case frame
    /// The handshake messages, to a server and to a client (Protocol/handshake.md).
    case handshake
    /// Sync messages, framed and fed to a session (Protocol/sync.md).
    case wire
    /// Entry decoding, verification, link checks and content (Protocol/entries.md).
    case entry
    /// Bundle files, sealed and as plaintext (Protocol/bundles.md).
    case bundle
    /// The advert's TXT record and token, and the other base64url texts (Protocol/discovery.md).
    case advert
    /// The membership fold over entries signed with real keys (Protocol/membership.md, epochs.md).
    case membership

    /// Runs one input. Never traps; says whether the code under test refused it.
    public func run(_ input: [UInt8]) -> FuzzOutcome {
        switch self {
        case .frame: FrameTarget.run(input)
        case .handshake: HandshakeTarget.run(input)
        case .wire: WireTarget.run(input)
        case .entry: EntryTarget.run(input)
        case .bundle: BundleTarget.run(input)
        case .advert: AdvertTarget.run(input)
        case .membership: MembershipTarget.run(input)
        }
    }

    /// Small valid inputs made with the real encoders: the seed corpus (`meetkit-fuzz seeds`).
    public func seeds() -> [(name: String, bytes: [UInt8])] {
        switch self {
        case .frame: FrameTarget.seeds()
        case .handshake: HandshakeTarget.seeds()
        case .wire: WireTarget.seeds()
        case .entry: EntryTarget.seeds()
        case .bundle: BundleTarget.seeds()
        case .advert: AdvertTarget.seeds()
        case .membership: MembershipTarget.seeds()
        }
    }
}

/// What a harness made of one input.
public enum FuzzOutcome: Sendable, CustomStringConvertible {
    case accepted
    /// The code under test refused the input with this error. Kept as the error, not its
    /// description: describing every refusal would slow the fuzzer down several times.
    case refused(any Error)

    public var isAccepted: Bool {
        if case .accepted = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .accepted: "accepted"
        case .refused(let error): "refused: \(error)"
        }
    }

    static func refused(_ reason: String) -> FuzzOutcome { .refused(Refusal(reason: reason)) }
}

/// A refusal the code under test signals with nil rather than an error.
struct Refusal: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}
