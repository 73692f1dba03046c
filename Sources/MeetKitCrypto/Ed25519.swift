import CSodium

/// An Ed25519 public key: a member id.
public struct PublicKey: Hashable, Sendable, Comparable {
    public static let length = Int(crypto_sign_PUBLICKEYBYTES)
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws {
        guard bytes.count == Self.length else {
            throw CryptoError.invalidKeyLength(expected: Self.length, actual: bytes.count)
        }
        self.bytes = bytes
    }

    public static func < (lhs: PublicKey, rhs: PublicKey) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }

    /// True when `signature` is this key's Ed25519 signature of `message`.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        Sodium.ensureReady()
        guard signature.count == Signature.length else { return false }
        return message.withNonNullBytes { m, mlen in
            crypto_sign_verify_detached(signature, m, UInt64(mlen), bytes) == 0
        }
    }

    /// The X25519 public key of the same key pair, for sealed boxes and key agreement.
    /// Throws for low-order and other invalid points.
    public func curve25519() throws -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: Int(crypto_scalarmult_curve25519_BYTES))
        guard crypto_sign_ed25519_pk_to_curve25519(&out, bytes) == 0 else { throw CryptoError.weakPublicKey }
        return out
    }
}

public enum Signature {
    public static let length = Int(crypto_sign_BYTES)
}

/// An Ed25519 signing key: a member's device identity.
public final class SigningKey: Sendable {
    public static let seedLength = Int(crypto_sign_SEEDBYTES)

    /// The 32-byte seed; everything else is derived from it.
    public let seed: SecretBytes
    private let secretKey: SecretBytes
    public let publicKey: PublicKey

    public init(seed: SecretBytes) throws {
        Sodium.ensureReady()
        guard seed.count == Self.seedLength else {
            throw CryptoError.invalidKeyLength(expected: Self.seedLength, actual: seed.count)
        }
        var pk = [UInt8](repeating: 0, count: PublicKey.length)
        secretKey = SecretBytes(count: Int(crypto_sign_SECRETKEYBYTES)) { sk in
            seed.withPointer { s in _ = crypto_sign_seed_keypair(&pk, sk, s) }
        }
        self.seed = seed
        publicKey = try PublicKey(bytes: pk)
    }

    /// A new random identity.
    public static func generate() -> SigningKey {
        // A 32-byte seed always makes a valid key.
        try! SigningKey(seed: SecretBytes(randomCount: seedLength))
    }

    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: Signature.length)
        message.withNonNullBytes { m, mlen in
            secretKey.withPointer { sk in
                _ = crypto_sign_detached(&signature, nil, m, UInt64(mlen), sk)
            }
        }
        return signature
    }

    /// The X25519 secret key of the same key pair.
    public func curve25519SecretKey() -> SecretBytes {
        SecretBytes(count: Int(crypto_scalarmult_curve25519_BYTES)) { out in
            secretKey.withPointer { sk in _ = crypto_sign_ed25519_sk_to_curve25519(out, sk) }
        }
    }
}
