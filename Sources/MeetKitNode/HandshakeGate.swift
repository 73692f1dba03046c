/// Bounds the connections still in their handshake (Protocol/handshake.md §Limits): at most
/// `perAddress` from one address and `total` in all. A connection beyond either is closed at
/// once, before a byte is read; one that completes its handshake (an authenticated member or
/// joiner) no longer counts. With the 5 s handshake timeout, a flood of silent or slow
/// connections from one address holds at most `perAddress` slots for at most 5 s each, while
/// members from elsewhere are served.
actor HandshakeGate {
    static let perAddress = 16
    static let total = 256

    private var pending: [String: Int] = [:]
    private var holders: [Int: String] = [:]
    private var nextToken = 0

    /// A token for a new connection from `host`, or nil if it must be closed now.
    func enter(_ host: String) -> Int? {
        guard pending[host, default: 0] < Self.perAddress, holders.count < Self.total else { return nil }
        nextToken += 1
        pending[host, default: 0] += 1
        holders[nextToken] = host
        return nextToken
    }

    /// The connection of `token` finished its handshake or ended; calling again does nothing.
    func leave(_ token: Int) {
        guard let host = holders.removeValue(forKey: token) else { return }
        pending[host, default: 1] -= 1
        if pending[host] == 0 { pending[host] = nil }
    }
}
