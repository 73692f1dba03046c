import MeetKitCrypto

/// The Secret Handshake v1 (Scuttlebutt's SHS) with the group's network key as its app key:
/// Protocol/handshake.md. Two pure state machines, `SecretHandshake.Client` and
/// `SecretHandshake.Server`: the shell reads exactly `expectedInputLength` bytes, hands them to
/// `receive`, and writes whatever comes back. They never do I/O, never read a clock and never
/// draw random bytes: the shell passes in 32 fresh random bytes for the ephemeral key.
public enum SecretHandshake {
    /// Length of the network key (the SHS app key): an HMAC-SHA-512-256 key.
    public static let networkKeyLength = HMACSHA512256.keyLength
    /// Length of the random bytes each side's ephemeral key pair is derived from.
    public static let ephemeralSeedLength = SigningKey.seedLength

    /// Message 1, client hello, and message 2, server hello (§Client hello, §Server hello).
    public static let helloLength = 64
    /// Message 3, client authenticate (§Client authenticate).
    public static let authenticateLength = 112
    /// Message 4, server accept (§Server accept).
    public static let acceptLength = 80
}
