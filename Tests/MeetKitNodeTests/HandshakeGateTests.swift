import Foundation
@testable import MeetKitNode
import Testing

/// The bounds on connections still in their handshake (Protocol/handshake.md §Limits).
@Suite struct HandshakeGateTests {
    @Test func aFullGateClosesItsOldestConnectionToAdmitANewOne() async {
        let gate = HandshakeGate()
        let closed = Closed()
        var tokens: [Int] = []
        for n in 0..<HandshakeGate.total {
            tokens.append(await gate.enter("10.0.\(n / 200).\(n % 200)", close: { closed.add(n) }) ?? -1)
        }
        #expect(!tokens.contains(-1))
        #expect(closed.all.isEmpty)

        // One left, so the first newcomer fits; the second pushes out the oldest.
        await gate.leave(tokens[1])
        #expect(await gate.enter("10.9.9.1", close: {}) != nil)
        #expect(closed.all.isEmpty)
        #expect(await gate.enter("10.9.9.2", close: {}) != nil)
        #expect(closed.all == [0])
        // Leaving after being closed changes nothing; the next oldest (1 had left) goes next.
        await gate.leave(tokens[0])
        #expect(await gate.enter("10.9.9.3", close: {}) != nil)
        #expect(closed.all == [0, 2])
    }

    @Test func oneAddressHoldsAtMostSixteenAndIsRefusedBeyond() async {
        let gate = HandshakeGate()
        var tokens: [Int] = []
        for _ in 0..<HandshakeGate.perAddress { tokens += [await gate.enter("10.0.0.1", close: {})].compactMap { $0 } }
        #expect(tokens.count == HandshakeGate.perAddress)
        #expect(await gate.enter("10.0.0.1", close: {}) == nil)
        #expect(await gate.enter("10.0.0.2", close: {}) != nil)
        await gate.leave(tokens[0])
        #expect(await gate.enter("10.0.0.1", close: {}) != nil)
    }

    @Test func failuresAreLoggedOnceAMinutePerAddressWithACountOfTheRest() async {
        let gate = HandshakeGate()
        let start = ContinuousClock.now
        #expect(await gate.shouldLogFailure(from: "10.0.0.1", now: start) == (true, 0))
        for second in 1...5 { #expect(await gate.shouldLogFailure(from: "10.0.0.1", now: start + .seconds(second)) == (false, 0)) }
        #expect(await gate.shouldLogFailure(from: "10.0.0.2", now: start + .seconds(5)) == (true, 0))
        #expect(await gate.shouldLogFailure(from: "10.0.0.1", now: start + .seconds(61)) == (true, 5))
    }
}

/// Which connections the gate closed, in order.
private final class Closed: @unchecked Sendable {
    private let lock = NSLock()
    private var closed: [Int] = []
    var all: [Int] { lock.withLock { closed } }
    func add(_ n: Int) { lock.withLock { closed.append(n) } }
}
