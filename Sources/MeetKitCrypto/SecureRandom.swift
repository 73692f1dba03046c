import CSodium

/// The operating system's CSPRNG through libsodium. Pure modules never call this:
/// the I/O shell draws random bytes and passes them in.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: count)
        if count > 0 { out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) } }
        return out
    }
}
