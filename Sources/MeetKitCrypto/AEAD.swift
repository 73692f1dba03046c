import CSodium

/// XChaCha20-Poly1305 (IETF) authenticated encryption with associated data.
public enum AEAD {
    public static let keyLength = Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    public static let nonceLength = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    public static let tagLength = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)

    /// `plaintext` encrypted and authenticated together with `associatedData`;
    /// the result is the ciphertext followed by the 16-byte tag.
    public static func seal(_ plaintext: [UInt8], associatedData: [UInt8], nonce: [UInt8], key: SecretBytes) -> [UInt8] {
        Sodium.ensureReady()
        precondition(nonce.count == nonceLength && key.count == keyLength, "AEAD nonce or key of the wrong length")
        var out = [UInt8](repeating: 0, count: plaintext.count + tagLength)
        var outLength: UInt64 = 0
        plaintext.withNonNullBytes { m, mlen in
            associatedData.withNonNullBytes { ad, adlen in
                key.withPointer { k in
                    _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                        &out, &outLength, m, UInt64(mlen), ad, UInt64(adlen), nil, nonce, k)
                }
            }
        }
        return out
    }

    /// The plaintext, or nil when the ciphertext, tag, associated data, nonce or key do not match.
    public static func open(_ ciphertext: [UInt8], associatedData: [UInt8], nonce: [UInt8], key: SecretBytes) -> [UInt8]? {
        Sodium.ensureReady()
        guard ciphertext.count >= tagLength, nonce.count == nonceLength, key.count == keyLength else { return nil }
        var out = [UInt8](repeating: 0, count: ciphertext.count - tagLength)
        var outLength: UInt64 = 0
        let status = out.withUnsafeMutableBufferPointer { o -> Int32 in
            var scratch: UInt8 = 0
            let outPointer = o.baseAddress ?? withUnsafeMutablePointer(to: &scratch) { $0 }
            return associatedData.withNonNullBytes { ad, adlen in
                key.withPointer { k in
                    crypto_aead_xchacha20poly1305_ietf_decrypt(
                        outPointer, &outLength, nil, ciphertext, UInt64(ciphertext.count), ad, UInt64(adlen), nonce, k)
                }
            }
        }
        return status == 0 ? out : nil
    }
}
