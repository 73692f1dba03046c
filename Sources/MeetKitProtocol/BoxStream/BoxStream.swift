import MeetKitCrypto

/// Box-stream framing (Protocol/framing.md): after the handshake, each direction is a sequence
/// of packets, each a 34-byte encrypted header followed by an encrypted body of at most 4096
/// bytes, ended by an encrypted all-zero header (the goodbye). `BoxStream.Encryptor` writes one
/// direction and `BoxStream.Decryptor` reads the other; both are pure and `~Copyable`, so a
/// running nonce cannot be duplicated and reused.
public enum BoxStream {
    /// The largest body of one packet (§Packets).
    public static let maxBodyLength = 4096
    /// An encrypted header: tag (16) ‖ encrypted(body length u16 BE (2) ‖ body tag (16)).
    public static let headerLength = SecretBox.tagLength + headerPlaintextLength
    /// The largest packet on the wire.
    public static let maxPacketLength = headerLength + maxBodyLength

    /// A header's plaintext: body length (2 bytes) ‖ body tag (16 bytes).
    static let headerPlaintextLength = 2 + SecretBox.tagLength
    /// The goodbye header's plaintext (§Goodbye).
    static let goodbyePlaintext = [UInt8](repeating: 0, count: headerPlaintextLength)

    /// Adds one to `nonce`, read as a 24-byte big-endian number, wrapping at 2^192 (§Nonces).
    static func increment(_ nonce: inout [UInt8]) {
        var index = nonce.count - 1
        while index >= 0 {
            nonce[index] &+= 1
            if nonce[index] != 0 { return }
            index -= 1
        }
    }

    static func checkParameters(key: SecretBytes, nonce: [UInt8]) {
        precondition(
            key.count == SecretBox.keyLength && nonce.count == SecretBox.nonceLength,
            "box-stream key or nonce of the wrong length")
    }
}
