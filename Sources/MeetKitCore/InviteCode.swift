import MeetKitCrypto

/// What a new member needs to join (Protocol/membership.md §Invite code): the group's
/// network key (to complete the handshake), a one-time secret (to be admitted) and the
/// inviter's member id (so the handshake knows whom it is talking to).
///
/// Text form: `mk1.` followed by base64url (no padding) of
/// version (1) ‖ group id (32) ‖ network key (32) ‖ secret (16) ‖ inviter (32).
public struct InviteCode: Sendable {
    public static let version: UInt8 = 1
    public static let secretLength = 16
    static let prefix = "mk1."

    public let group: GroupID
    public let networkKey: SecretBytes
    public let secret: SecretBytes
    public let inviter: PublicKey

    public init(group: GroupID, networkKey: SecretBytes, secret: SecretBytes, inviter: PublicKey) {
        self.group = group
        self.networkKey = networkKey
        self.secret = secret
        self.inviter = inviter
    }

    /// The id recorded in the group's invite entry: the invite key's public key.
    public var id: [UInt8] { Self.id(ofSecret: secret) }

    public static func id(ofSecret secret: SecretBytes) -> [UInt8] {
        signingKey(ofSecret: secret).publicKey.bytes
    }

    /// The invite's own Ed25519 key, from the secret (Protocol/membership.md §Invites): whoever
    /// holds the secret can prove it by signing a member-add, without revealing it.
    static func signingKey(ofSecret secret: SecretBytes) -> SigningKey {
        // A 32-byte seed always makes a key.
        try! SigningKey(seed: BLAKE2b.deriveSecret(from: secret, context: "meetkit-invite-key-v1"))
    }

    static let proofTag = Array("meetkit-invite-proof-v1".utf8)

    /// The proof a member-add carries: the invite key's signature over a domain tag, the
    /// group and the member admitted. It admits that member to that group and no one else.
    public static func proof(secret: SecretBytes, group: GroupID, member: PublicKey) -> [UInt8] {
        signingKey(ofSecret: secret).sign(proofTag + group.bytes + member.bytes)
    }

    /// Whether `proof` shows that the holder of invite `id`'s secret admitted `member` to `group`.
    public static func isValidProof(_ proof: [UInt8], invite id: [UInt8], group: GroupID, member: PublicKey) -> Bool {
        guard let key = try? PublicKey(bytes: id) else { return false }
        return key.isValidSignature(proof, for: proofTag + group.bytes + member.bytes)
    }

    public var text: String {
        var bytes = [Self.version] + group.bytes + networkKey.exposedCopy() + secret.exposedCopy() + inviter.bytes
        defer { SecretBytes.wipe(&bytes) }
        return Self.prefix + Base64URL.encode(bytes)
    }

    /// Parses the text form; nil when it is not an invite code of this version.
    public init?(text: String) {
        let trimmed = text.trimmingWhitespace
        guard trimmed.hasPrefix(Self.prefix), var bytes = Base64URL.decode(String(trimmed.dropFirst(Self.prefix.count))),
              bytes.count == 1 + 32 + 32 + Self.secretLength + 32, bytes[0] == Self.version,
              let group = GroupID(bytes: Array(bytes[1..<33])),
              let inviter = try? PublicKey(bytes: Array(bytes[81...]))
        else { return nil }
        var network = Array(bytes[33..<65])
        var secret = Array(bytes[65..<81])
        SecretBytes.wipe(&bytes)
        self.init(group: group, networkKey: SecretBytes(consuming: &network), secret: SecretBytes(consuming: &secret), inviter: inviter)
    }
}

extension String {
    var trimmingWhitespace: Substring {
        let scalars = unicodeScalars
        let start = scalars.firstIndex { !$0.properties.isWhitespace } ?? scalars.endIndex
        let end = scalars.lastIndex { !$0.properties.isWhitespace }.map { scalars.index(after: $0) } ?? start
        return self[start..<end]
    }
}

/// Base64 with the URL-safe alphabet and no padding (RFC 4648 §5).
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var i = 0
        while i < bytes.count {
            let chunk = bytes[i..<min(i + 3, bytes.count)]
            var value = 0
            for (k, b) in chunk.enumerated() { value |= Int(b) << (16 - 8 * k) }
            for k in 0...chunk.count { out.append(alphabet[(value >> (18 - 6 * k)) & 63]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var values: [Int] = []
        for c in text.utf8 {
            guard let v = alphabet.firstIndex(of: c) else { return nil }
            values.append(v)
        }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < values.count {
            let chunk = values[i..<min(i + 4, values.count)]
            var value = 0
            for (k, v) in chunk.enumerated() { value |= v << (18 - 6 * k) }
            for k in 0..<(chunk.count - 1) { out.append(UInt8((value >> (16 - 8 * k)) & 0xff)) }
            i += 4
        }
        // Canonical: re-encoding must give the same text (no stray low bits).
        return encode(out) == text ? out : nil
    }
}
