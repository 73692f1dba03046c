import MeetKitCore
import MeetKitCrypto

/// What a node publishes over DNS-SD (Protocol/discovery.md): a TXT record with the protocol
/// version and an opaque token. Only holders of the group's network key can open the token,
/// and it names nothing but the advertising member's key; a fresh nonce makes every
/// publication unlinkable to the last.
public enum Advert {
    public static let serviceType = "_meetkit._tcp"
    public static let version = "1"
    /// 24-byte nonce ‖ XChaCha20-Poly1305(member key) with its 16-byte tag.
    public static let tokenLength = AEAD.nonceLength + PublicKey.length + AEAD.tagLength
    static let associatedData = Array("meetkit-advert-v1".utf8)

    /// The advert of `member` for the group whose network key is `networkKey`, sealed under
    /// `nonce` (24 random bytes: never reuse one).
    public static func token(for member: PublicKey, networkKey: SecretBytes, nonce: [UInt8]) -> [UInt8] {
        precondition(nonce.count == AEAD.nonceLength, "an advert nonce is \(AEAD.nonceLength) bytes")
        let sealed = AEAD.seal(member.bytes, associatedData: associatedData, nonce: nonce, key: key(networkKey))
        return nonce + sealed
    }

    /// The member who published `token`, if it was sealed under `networkKey`.
    public static func open(_ token: [UInt8], networkKey: SecretBytes) -> PublicKey? {
        guard token.count == tokenLength else { return nil }
        let nonce = Array(token.prefix(AEAD.nonceLength))
        guard let bytes = AEAD.open(Array(token.dropFirst(AEAD.nonceLength)), associatedData: associatedData, nonce: nonce, key: key(networkKey))
        else { return nil }
        return try? PublicKey(bytes: bytes)
    }

    /// The TXT record: exactly `v=1` and `t=TOKEN` (base64url, no padding), as DNS-SD
    /// character-strings (a length byte, then the text).
    public static func txtRecord(token: [UInt8]) -> [UInt8] {
        ["v=" + version, "t=" + Base64URL.encode(token)].flatMap { item in [UInt8(item.utf8.count)] + Array(item.utf8) }
    }

    /// The token in a TXT record, if the record is a version-1 advert; anything else in it
    /// (another version, other keys, a damaged record) means it is not one of ours.
    public static func token(inTXT record: [UInt8]) -> [UInt8]? {
        var fields: [String: String] = [:]
        var rest = record[...]
        while let length = rest.first {
            rest = rest.dropFirst()
            guard rest.count >= Int(length) else { return nil }
            let text = String(decoding: rest.prefix(Int(length)), as: UTF8.self)
            rest = rest.dropFirst(Int(length))
            guard let equals = text.firstIndex(of: "=") else { return nil }
            fields[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        guard fields.count == 2, fields["v"] == version, let text = fields["t"], let token = Base64URL.decode(text),
            token.count == tokenLength
        else { return nil }
        return token
    }

    /// The key that seals adverts, derived from the network key for this one purpose.
    private static func key(_ networkKey: SecretBytes) -> SecretBytes {
        BLAKE2b.deriveSecret(from: networkKey, context: "meetkit-advert-key-v1")
    }
}
