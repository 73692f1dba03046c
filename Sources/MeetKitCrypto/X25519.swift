import CSodium

/// X25519 key agreement (libsodium `crypto_scalarmult`).
public enum X25519 {
    public static let keyLength = Int(crypto_scalarmult_curve25519_BYTES)

    /// The shared secret of `secretKey` and `publicKey`, or nil for a low-order public key
    /// (libsodium rejects an all-zero result).
    public static func sharedSecret(secretKey: SecretBytes, publicKey: [UInt8]) -> SecretBytes? {
        Sodium.ensureReady()
        guard publicKey.count == keyLength, secretKey.count == keyLength else { return nil }
        var status: Int32 = -1
        let shared = SecretBytes(count: keyLength) { out in
            secretKey.withPointer { sk in status = crypto_scalarmult(out, sk, publicKey) }
        }
        return status == 0 ? shared : nil
    }
}
