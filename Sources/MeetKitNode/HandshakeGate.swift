/// Bounds the connections still in their handshake (Protocol/handshake.md §Limits): at most
/// `perAddress` from one address and `total` in all. A connection beyond `perAddress` is closed
/// at once, before a byte is read. When `total` are in progress, the oldest is closed to make
/// room: a member's handshake takes milliseconds, so a flood would have to open `total`
/// connections within those milliseconds to push it out, while refusing new connections
/// instead would let a steady flood from many addresses keep every member out. A connection
/// that completes its handshake (an authenticated member or joiner) no longer counts.
actor HandshakeGate {
    static let perAddress = 16
    static let total = 256

    private var pending: [String: Int] = [:]
    /// By token; tokens only grow, so the smallest is the oldest connection.
    private var holders: [Int: (host: String, close: @Sendable () -> Void)] = [:]
    private var nextToken = 0

    /// A token for a new connection from `host`, or nil if it must be closed now. `close`
    /// ends the connection, should it be the oldest when the gate is full.
    func enter(_ host: String, close: @escaping @Sendable () -> Void) -> Int? {
        guard pending[host, default: 0] < Self.perAddress else { return nil }
        if holders.count >= Self.total, let oldest = holders.keys.min(), let evicted = holders[oldest] {
            leave(oldest)
            evicted.close()
        }
        nextToken += 1
        pending[host, default: 0] += 1
        holders[nextToken] = (host, close)
        return nextToken
    }

    /// Whether a failed handshake from `host` is logged, and how many from it went unlogged
    /// since the last that was: one a minute per address, so that a flood cannot fill the log.
    func shouldLogFailure(from host: String, now: ContinuousClock.Instant = .now) -> (log: Bool, unlogged: Int) {
        if let last = logged[host], now - last.at < .seconds(60) {
            logged[host]?.unlogged += 1
            return (false, 0)
        }
        if logged.count >= 4_096 { logged = logged.filter { now - $0.value.at < .seconds(60) } }
        let unlogged = logged[host]?.unlogged ?? 0
        logged[host] = (now, 0)
        return (true, unlogged)
    }

    private var logged: [String: (at: ContinuousClock.Instant, unlogged: Int)] = [:]

    /// The connection of `token` finished its handshake or ended; calling again does nothing.
    func leave(_ token: Int) {
        guard let host = holders.removeValue(forKey: token)?.host else { return }
        pending[host, default: 1] -= 1
        if pending[host] == 0 { pending[host] = nil }
    }
}
