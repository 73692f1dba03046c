/// What `SecretHandshake.Client` and `SecretHandshake.Server` share, so that one shell can drive
/// either side (Protocol/handshake.md §State machines): read `expectedInputLength` bytes, pass
/// them to `receive`, write what it returns, stop when `result` is set or `receive` throws.
public protocol HandshakeStateMachine: Sendable {
    var expectedInputLength: Int { get }
    var result: HandshakeResult? { get }
    mutating func receive(_ bytes: [UInt8]) throws(HandshakeError) -> [UInt8]?
}

extension SecretHandshake.Client: HandshakeStateMachine {}
extension SecretHandshake.Server: HandshakeStateMachine {}
