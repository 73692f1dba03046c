import CSodium

/// Anonymous public-key encryption to one recipient (libsodium `crypto_box_seal`).
public enum SealedBox {
    public static var overhead: Int { Int(crypto_box_sealbytes()) }

    /// `message` sealed to the X25519 public key `recipient`. Draws an ephemeral key internally.
    public static func seal(_ message: [UInt8], to recipient: [UInt8]) throws -> [UInt8] {
        Sodium.ensureReady()
        guard recipient.count == Int(crypto_box_PUBLICKEYBYTES) else {
            throw CryptoError.invalidKeyLength(expected: Int(crypto_box_PUBLICKEYBYTES), actual: recipient.count)
        }
        var out = [UInt8](repeating: 0, count: message.count + overhead)
        let status = message.withNonNullBytes { m, mlen in
            crypto_box_seal(&out, m, UInt64(mlen), recipient)
        }
        guard status == 0 else { throw CryptoError.sealFailed }
        return out
    }

    /// The message, or nil when it was not sealed to this key pair or was altered.
    public static func open(_ sealed: [UInt8], publicKey: [UInt8], secretKey: SecretBytes) -> [UInt8]? {
        Sodium.ensureReady()
        guard sealed.count >= overhead, publicKey.count == Int(crypto_box_PUBLICKEYBYTES) else { return nil }
        var out = [UInt8](repeating: 0, count: sealed.count - overhead + 1)
        let status = secretKey.withPointer { sk in
            crypto_box_seal_open(&out, sealed, UInt64(sealed.count), publicKey, sk)
        }
        guard status == 0 else { return nil }
        out.removeLast()
        return out
    }
}
