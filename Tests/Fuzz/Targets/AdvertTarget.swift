import MeetKitCore
import MeetKitCrypto
import MeetKitProtocol

/// The advert and the other base64url texts. The first byte picks the mode (& 3):
///
/// - 0: the rest is a TXT record; its token, if any, is opened with the fixed network key.
/// - 1: the rest is a token, opened; one of the right length must survive a TXT record.
/// - 2: the rest is the token's plaintext, sealed by the harness so that `open` reads it.
/// - 3: the rest is text for the base64url parsers: `Base64URL.decode`, `InviteCode(text:)`
///   and `VersionVector(text:)`.
///
/// Refused: there is no token, it does not open, or no parser takes the text.
enum AdvertTarget {
    private static let key = BLAKE2b.deriveSecret(from: Fixed.networkKey, context: "meetkit-advert-key-v1")
    private static let associatedData = Array("meetkit-advert-v1".utf8)

    static func run(_ input: [UInt8]) -> FuzzOutcome {
        var script = FuzzInput(input)
        let flags = script.byte()
        let rest = script.rest()
        switch flags & 3 {
        case 0:
            guard let token = Advert.token(inTXT: rest) else { return .refused("not an advert") }
            return open(token)
        case 1:
            if rest.count == Advert.tokenLength {
                precondition(Advert.token(inTXT: Advert.txtRecord(token: rest)) == rest, "a token does not survive its TXT record")
            }
            return open(rest)
        case 2:
            return open(Fixed.nonce + AEAD.seal(rest, associatedData: associatedData, nonce: Fixed.nonce, key: key))
        default:
            let text = String(decoding: rest, as: UTF8.self)
            let decoded = Base64URL.decode(text)
            if let decoded { precondition(Base64URL.encode(decoded) == text, "base64url that does not re-encode") }
            let parsed = [decoded != nil, InviteCode(text: text) != nil, VersionVector(text: text) != nil]
            return parsed.contains(true) ? .accepted : .refused("no parser takes it")
        }
    }

    static func seeds() -> [(name: String, bytes: [UInt8])] {
        let token = Advert.token(for: Fixed.author.publicKey, networkKey: Fixed.networkKey, nonce: Fixed.nonce)
        var secret = [UInt8](repeating: 0x0c, count: InviteCode.secretLength)
        let invite = InviteCode(
            group: Fixed.genesis.group, networkKey: Fixed.networkKey, secret: SecretBytes(consuming: &secret),
            inviter: Fixed.author.publicKey)
        return [
            ("txt", [0] + Advert.txtRecord(token: token)),
            ("txt-other-version", [0] + [3] + Array("v=2".utf8) + Array(Advert.txtRecord(token: token).dropFirst(4))),
            ("txt-empty", [0]),
            ("token", [1] + token),
            ("token-other-key", [1] + Advert.token(for: Fixed.author.publicKey, networkKey: Fixed.boxKey, nonce: Fixed.nonce)),
            ("plaintext", [2] + Fixed.author.publicKey.bytes),
            ("plaintext-short", [2, 1, 2, 3]),
            ("base64url", [3] + Array(Base64URL.encode([1, 2, 3, 4, 5]).utf8)),
            ("invite-code", [3] + Array(invite.text.utf8)),
            ("version-vector", [3] + Array(VersionVector([Fixed.author.publicKey: 3]).text.utf8)),
        ]
    }

    private static func open(_ token: [UInt8]) -> FuzzOutcome {
        Advert.open(token, networkKey: Fixed.networkKey) == nil ? .refused("the token does not open") : .accepted
    }
}
