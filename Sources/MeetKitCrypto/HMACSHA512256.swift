import CSodium

/// HMAC-SHA-512-256 (libsodium `crypto_auth`): a 32-byte authenticator of a message under a
/// 32-byte secret key. The Secret Handshake uses it to prove knowledge of the network key
/// (Protocol/handshake.md §Client hello).
public enum HMACSHA512256 {
    public static let keyLength = Int(crypto_auth_keybytes())
    public static let tagLength = Int(crypto_auth_bytes())

    /// The authenticator of `message` under `key`.
    public static func authenticate(_ message: [UInt8], key: SecretBytes) -> [UInt8] {
        Sodium.ensureReady()
        precondition(key.count == keyLength, "HMAC key of the wrong length")
        var tag = [UInt8](repeating: 0, count: tagLength)
        message.withNonNullBytes { m, mlen in
            key.withPointer { k in _ = crypto_auth(&tag, m, UInt64(mlen), k) }
        }
        return tag
    }

    /// True when `tag` is the authenticator of `message` under `key` (compared in constant time).
    public static func isValid(_ tag: [UInt8], for message: [UInt8], key: SecretBytes) -> Bool {
        Sodium.ensureReady()
        guard tag.count == tagLength, key.count == keyLength else { return false }
        return message.withNonNullBytes { m, mlen in
            key.withPointer { k in crypto_auth_verify(tag, m, UInt64(mlen), k) == 0 }
        }
    }
}
