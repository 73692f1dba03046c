import CSodium

extension X25519 {
    /// The public key of the X25519 secret key `secretKey` (libsodium `crypto_scalarmult_base`),
    /// or nil when `secretKey` has the wrong length or libsodium refuses it.
    public static func publicKey(secretKey: SecretBytes) -> [UInt8]? {
        Sodium.ensureReady()
        guard secretKey.count == keyLength else { return nil }
        var out = [UInt8](repeating: 0, count: keyLength)
        let status = secretKey.withPointer { sk in crypto_scalarmult_base(&out, sk) }
        return status == 0 ? out : nil
    }
}
