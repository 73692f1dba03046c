#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// An exclusive advisory lock on a data directory, so that two `meetkit` processes never
/// write one store at the same time. A second process waits for the first, up to `timeout`.
final class DirectoryLock {
    private let fd: Int32

    init(path: String, timeout: Duration = .seconds(10)) throws {
        // Read-only is enough for flock, and works on a read-only file system too.
        var fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 && errno == ENOENT { fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { throw FileSystem.ioError("open", path) }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, clock.now < deadline else {
                close(fd)
                let directory = (path as NSString).deletingLastPathComponent
                throw StoreError(.busy, "Another meetkit process is using \(directory); try again when it has finished.")
            }
            usleep(20_000)
        }
        self.fd = fd
    }

    /// Whether another process holds the lock at `path` now. Takes and drops it at once when
    /// it is free.
    static func isHeld(path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return errno == EWOULDBLOCK }
        flock(fd, LOCK_UN)
        return false
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
