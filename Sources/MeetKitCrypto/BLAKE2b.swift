import CSodium

/// BLAKE2b (libsodium `crypto_generichash`), unkeyed or keyed.
public enum BLAKE2b {
    public static let minimumKeyLength = Int(crypto_generichash_KEYBYTES_MIN)

    /// Hash of `message`, `outputLength` bytes (16…64).
    public static func hash(_ message: [UInt8], outputLength: Int = 32) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: outputLength)
        message.withNonNullBytes { m, mlen in
            _ = crypto_generichash(&out, outputLength, m, UInt64(mlen), nil, 0)
        }
        return out
    }

    /// Keyed hash (a MAC / PRF) of `message` under `key` (16…64 bytes).
    public static func hash(_ message: [UInt8], key: SecretBytes, outputLength: Int = 32) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: outputLength)
        message.withNonNullBytes { m, mlen in
            key.withPointer { k in
                _ = crypto_generichash(&out, outputLength, m, UInt64(mlen), k, key.count)
            }
        }
        return out
    }

    /// A secret derived from `key` for one purpose, named by `context`.
    public static func deriveSecret(from key: SecretBytes, context: String, outputLength: Int = 32) -> SecretBytes {
        var derived = hash(Array(context.utf8), key: key, outputLength: outputLength)
        return SecretBytes(consuming: &derived)
    }
}
