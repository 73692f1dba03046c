/// Why a handshake failed: one case per check of Protocol/handshake.md. After any of them the
/// state machine is finished and the shell closes the connection without sending anything more.
public enum HandshakeError: Error, Equatable, Sendable {
    /// The network key or the ephemeral seed given to `init` has the wrong length.
    case invalidParameters
    /// A message of the wrong size (the shell must read exactly `expectedInputLength` bytes).
    case wrongLength(expected: Int, actual: Int)
    /// A hello whose HMAC does not verify under our network key: a stranger, another group or
    /// another epoch (§Client hello, §Server hello). The server sends nothing back.
    case badHello
    /// A low-order (weak) public key: an X25519 result of all zeros, or a long-term key that
    /// has no X25519 form (§Security considerations).
    case weakKey
    /// Message 3 does not open under the expected key, or the client's signature does not
    /// verify: a client that does not know our long-term key, or a replay (§Client authenticate).
    case badAuth
    /// The client proved its identity but the shell's `authorize` refused it: not an admitted
    /// member. No accept is sent (§Server accept).
    case unauthorized
    /// Message 4 does not open, or the server's signature does not verify: not the server we
    /// meant to reach (§Server accept).
    case badAccept
    /// Input after the handshake finished or failed, or before the client started.
    case unexpectedMessage
}
