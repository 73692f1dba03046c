/// What `BoxStream.Decryptor.feed` yields, in the order the packets arrived (Protocol/framing.md).
public enum BoxStreamEvent: Equatable, Sendable {
    /// The body of one packet: 1 to 4096 bytes. Box-stream carries bytes, not message
    /// boundaries: a message sealed whole may arrive as several of these.
    case message([UInt8])
    /// The peer's goodbye: it will send nothing more and the stream ended cleanly.
    case goodbye
}
