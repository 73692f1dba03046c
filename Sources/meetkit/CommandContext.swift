import Foundation
import MeetKitStore

/// Where commands print and which store they use. Normally: standard output, and a store
/// they open themselves. When a running node executes a command line handed over its
/// control socket: a buffer returned to the caller, and the node's own (already open) store.
final class CommandContext: @unchecked Sendable {
    static let shared = CommandContext()

    // Guarded by `lock`. A node runs one handed-over command at a time (on its actor).
    private let lock = NSLock()
    private var capturedStore: Store?
    private var buffer: String?

    var store: Store? { lock.withLock { capturedStore } }

    func write(_ text: String) {
        let captured = lock.withLock { () -> Bool in
            guard buffer != nil else { return false }
            buffer?.append(text)
            return true
        }
        if !captured { FileHandle.standardOutput.write(Data(text.utf8)) }
    }

    /// Runs `body` against `store`, returning what it printed, and why it failed if it did
    /// (a command may print before it fails: `doctor` prints its checks, then fails).
    func capturing(store: Store, _ body: () throws -> Void) -> (printed: String, failure: Error?) {
        lock.withLock {
            capturedStore = store
            buffer = ""
        }
        defer {
            lock.withLock {
                capturedStore = nil
                buffer = nil
            }
        }
        var failure: Error?
        do { try body() } catch { failure = error }
        return (lock.withLock { buffer ?? "" }, failure)
    }
}
