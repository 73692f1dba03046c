import CSodium

/// libsodium is initialised once, thread-safely, before any primitive is used.
enum Sodium {
    static let ready: Bool = sodium_init() >= 0

    @inline(__always)
    static func ensureReady() {
        precondition(ready, "libsodium failed to initialise")
    }
}

extension Array where Element == UInt8 {
    /// Calls `body` with a pointer that is valid even for an empty array
    /// (libsodium's `nonnull` parameters reject the nil base address of an empty buffer).
    @inline(__always)
    func withNonNullBytes<R>(_ body: (UnsafePointer<UInt8>, Int) throws -> R) rethrows -> R {
        if isEmpty {
            var zero: UInt8 = 0
            return try body(&zero, 0)
        }
        return try withUnsafeBufferPointer { try body($0.baseAddress!, $0.count) }
    }
}
