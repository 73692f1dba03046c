/// Why a box-stream was refused (Protocol/framing.md §Reading). After any of these the
/// decryptor accepts nothing more: the shell closes the connection.
public enum BoxStreamError: Error, Equatable, Sendable {
    /// A header that does not open: tampered, reordered, replayed or dropped packets, or the
    /// wrong key.
    case badHeader
    /// An authentic header announcing a body longer than 4096 bytes; nothing of it is buffered.
    case bodyTooLong(Int)
    /// A body that does not match the tag in its header.
    case badBody
    /// Bytes after the goodbye.
    case dataAfterGoodbye
    /// Input after an earlier error.
    case closed
    /// The transport ended before the goodbye: the stream may have been cut short.
    case truncated
}
