import CSodium

/// Secret key material that is wiped from memory when the last reference goes.
///
/// The bytes live in a private heap buffer, never in a copyable array, so that the only copy
/// is the one zeroed by `deinit`. Read them through `withBytes`.
public final class SecretBytes: @unchecked Sendable {
    // Immutable after init, so sharing across threads is safe.
    private let storage: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    public let count: Int

    private init(count: Int) {
        Sodium.ensureReady()
        self.count = count
        capacity = max(count, 1)
        storage = .allocate(capacity: capacity)
        storage.initialize(repeating: 0, count: capacity)
    }

    /// Takes ownership of `bytes` and zeroes the caller's array.
    public convenience init(consuming bytes: inout [UInt8]) {
        self.init(count: bytes.count)
        bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            storage.update(from: base.assumingMemoryBound(to: UInt8.self), count: raw.count)
            sodium_memzero(base, raw.count)
        }
        bytes = []
    }

    /// A fresh random secret of `count` bytes.
    public convenience init(randomCount count: Int) {
        self.init(count: count)
        if count > 0 { randombytes_buf(storage, count) }
    }

    /// A new secret whose bytes `fill` writes; zeroed again if `fill` throws.
    convenience init(count: Int, fill: (UnsafeMutablePointer<UInt8>) throws -> Void) rethrows {
        self.init(count: count)
        try fill(storage)
    }

    deinit {
        sodium_memzero(storage, capacity)
        storage.deallocate()
    }

    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage, count: count))
    }

    /// Pointer form for libsodium calls inside this module.
    func withPointer<R>(_ body: (UnsafePointer<UInt8>) throws -> R) rethrows -> R {
        try body(storage)
    }

    /// Zeroes `bytes` in place and empties it: for plain arrays that briefly held a secret.
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { sodium_memzero(base, raw.count) }
        }
        bytes = []
    }

    /// Whether both hold the same bytes, compared in constant time.
    public func isEqual(to other: SecretBytes) -> Bool {
        count == other.count && withPointer { a in other.withPointer { b in sodium_memcmp(a, b, count) == 0 } }
    }

    /// A copy as a plain array, only to hand to an encoder that seals it at once.
    public func exposedCopy() -> [UInt8] {
        withBytes { Array($0) }
    }
}
