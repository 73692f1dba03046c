import CSodium

/// SHA-256 (libsodium `crypto_hash_sha256`), the hash the Secret Handshake derives its box
/// keys and session keys with (Protocol/handshake.md §Session keys).
public enum SHA256 {
    public static let length = Int(crypto_hash_sha256_bytes())

    /// The hash of `message`.
    public static func hash(_ message: [UInt8]) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: length)
        message.withNonNullBytes { m, mlen in _ = crypto_hash_sha256(&out, m, UInt64(mlen)) }
        return out
    }

    /// The hash of `secrets` concatenated in order and then `suffix`, kept secret: the secrets
    /// are fed to the hash one by one and never copied into a plain array.
    public static func hash(_ secrets: [SecretBytes], then suffix: [UInt8] = []) -> SecretBytes {
        Sodium.ensureReady()
        var state = crypto_hash_sha256_state()
        defer { sodium_memzero(&state, MemoryLayout<crypto_hash_sha256_state>.size) }
        _ = crypto_hash_sha256_init(&state)
        for secret in secrets where secret.count > 0 {
            secret.withPointer { s in _ = crypto_hash_sha256_update(&state, s, UInt64(secret.count)) }
        }
        if !suffix.isEmpty {
            suffix.withNonNullBytes { m, mlen in _ = crypto_hash_sha256_update(&state, m, UInt64(mlen)) }
        }
        return SecretBytes(count: length) { out in _ = crypto_hash_sha256_final(&state, out) }
    }
}
