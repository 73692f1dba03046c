import CSodium

/// XSalsa20-Poly1305 authenticated encryption under a shared key (libsodium `crypto_secretbox`),
/// the box of the Secret Handshake and of box-stream (Protocol/handshake.md, Protocol/framing.md).
/// A key and nonce pair must never encrypt two different messages.
public enum SecretBox {
    public static let keyLength = Int(crypto_secretbox_keybytes())
    public static let nonceLength = Int(crypto_secretbox_noncebytes())
    public static let tagLength = Int(crypto_secretbox_macbytes())

    /// `plaintext` encrypted and authenticated: the 16-byte tag followed by the ciphertext
    /// (`crypto_secretbox_easy`).
    public static func seal(_ plaintext: [UInt8], nonce: [UInt8], key: SecretBytes) -> [UInt8] {
        Sodium.ensureReady()
        precondition(nonce.count == nonceLength && key.count == keyLength, "secretbox nonce or key of the wrong length")
        var out = [UInt8](repeating: 0, count: plaintext.count + tagLength)
        plaintext.withNonNullBytes { m, mlen in
            key.withPointer { k in _ = crypto_secretbox_easy(&out, m, UInt64(mlen), nonce, k) }
        }
        return out
    }

    /// The plaintext of a `seal` output, or nil when the box, nonce or key do not match.
    public static func open(_ box: [UInt8], nonce: [UInt8], key: SecretBytes) -> [UInt8]? {
        Sodium.ensureReady()
        guard box.count >= tagLength, nonce.count == nonceLength, key.count == keyLength else { return nil }
        var out = [UInt8](repeating: 0, count: box.count - tagLength)
        let status = out.withUnsafeMutableBufferPointer { o -> Int32 in
            var scratch: UInt8 = 0
            return withUnsafeMutablePointer(to: &scratch) { scratchPointer in
                key.withPointer { k in
                    crypto_secretbox_open_easy(o.baseAddress ?? scratchPointer, box, UInt64(box.count), nonce, k)
                }
            }
        }
        return status == 0 ? out : nil
    }

    /// `plaintext` encrypted, with its tag returned apart (`crypto_secretbox_detached`).
    public static func sealDetached(_ plaintext: [UInt8], nonce: [UInt8], key: SecretBytes) -> (ciphertext: [UInt8], tag: [UInt8]) {
        Sodium.ensureReady()
        precondition(nonce.count == nonceLength && key.count == keyLength, "secretbox nonce or key of the wrong length")
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
        var tag = [UInt8](repeating: 0, count: tagLength)
        ciphertext.withUnsafeMutableBufferPointer { c in
            var scratch: UInt8 = 0
            withUnsafeMutablePointer(to: &scratch) { scratchPointer in
                plaintext.withNonNullBytes { m, mlen in
                    key.withPointer { k in
                        _ = crypto_secretbox_detached(c.baseAddress ?? scratchPointer, &tag, m, UInt64(mlen), nonce, k)
                    }
                }
            }
        }
        return (ciphertext, tag)
    }

    /// The plaintext of a `sealDetached` output, or nil when anything does not match.
    public static func openDetached(_ ciphertext: [UInt8], tag: [UInt8], nonce: [UInt8], key: SecretBytes) -> [UInt8]? {
        Sodium.ensureReady()
        guard tag.count == tagLength, nonce.count == nonceLength, key.count == keyLength else { return nil }
        var out = [UInt8](repeating: 0, count: ciphertext.count)
        let status = out.withUnsafeMutableBufferPointer { o -> Int32 in
            var scratch: UInt8 = 0
            return withUnsafeMutablePointer(to: &scratch) { scratchPointer in
                ciphertext.withNonNullBytes { c, clen in
                    key.withPointer { k in
                        crypto_secretbox_open_detached(o.baseAddress ?? scratchPointer, c, tag, UInt64(clen), nonce, k)
                    }
                }
            }
        }
        return status == 0 ? out : nil
    }
}
