import MeetKitCrypto

/// What a completed handshake yields (Protocol/handshake.md §Session keys): the peer's
/// authenticated long-term key and one key and starting nonce for each direction of box-stream.
///
/// Make exactly one `BoxStream.Encryptor` and one `BoxStream.Decryptor` from it: a second
/// encryptor would reuse nonces under the same key.
public struct HandshakeResult: Sendable {
    /// The peer's long-term Ed25519 key (member id), proven by its signature.
    public let remote: PublicKey
    /// Key for what we send.
    public let encryptKey: SecretBytes
    /// Key for what we receive.
    public let decryptKey: SecretBytes
    /// Starting nonce for what we send: the first 24 bytes of the peer's hello HMAC.
    public let encryptNonce: [UInt8]
    /// Starting nonce for what we receive: the first 24 bytes of our own hello HMAC.
    public let decryptNonce: [UInt8]
}
