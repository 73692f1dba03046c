import Foundation

/// Polls `condition` every `interval` until it holds or `timeout` passes; true if it held.
public func eventually(
    timeout: Duration, interval: Duration = .milliseconds(200), _ condition: () throws -> Bool
) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try condition() { return true }
        guard ContinuousClock.now < deadline else { return false }
        let (seconds, attoseconds) = interval.components
        Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
    }
}
