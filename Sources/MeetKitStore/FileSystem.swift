#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The few POSIX calls the store needs for durable files.
enum FileSystem {
    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func isWritableDirectory(_ path: String) -> Bool {
        access(path, W_OK | X_OK) == 0
    }

    static func size(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int(info.st_size)
    }

    /// Whether the file system holding `path` has (nearly) no room left: less than 1 MiB that
    /// this process may use.
    static func isFull(_ path: String) -> Bool {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return false }
        let blocks = geteuid() == 0 ? info.f_bfree : info.f_bavail
        return UInt64(blocks) * UInt64(info.f_frsize) < 1 << 20
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError(.io, "Cannot read \(path).")
        }
        return [UInt8](data)
    }

    /// Creates the directory `path` (mode 0700) and any missing parent, each durably: a new
    /// directory's entry is on disk only once its parent has been synced.
    static func createDirectory(_ path: String) throws {
        var missing: [String] = []
        var level = (path as NSString).standardizingPath
        while !exists(level) && level != "/" && !level.isEmpty {
            missing.append(level)
            level = (level as NSString).deletingLastPathComponent
        }
        for directory in missing.reversed() {
            guard mkdir(directory, 0o700) == 0 || errno == EEXIST else { throw ioError("create", directory) }
            let parent = (directory as NSString).deletingLastPathComponent
            try syncDirectory(parent.isEmpty ? "." : parent)
        }
    }

    /// Writes `bytes` to `path` so that after a crash either the old or the new file is there,
    /// complete: write a temporary file, fsync it, rename it over, fsync the directory.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ioError("create", temporary) }
        var written = 0
        let ok = bytes.withUnsafeBytes { raw -> Bool in
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 { if errno == EINTR { continue }; return false }
                written += n
            }
            return fsync(fd) == 0
        }
        let savedErrno = errno
        close(fd)
        guard ok else {
            unlink(temporary)
            errno = savedErrno
            throw ioError("write", temporary)
        }
        guard rename(temporary, path) == 0 else {
            let error = ioError("rename", temporary)
            unlink(temporary)
            throw error
        }
        try syncDirectory(directory)
    }

    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ioError("sync", path) }
    }

    static func ioError(_ verb: String, _ path: String) -> StoreError {
        let reason = String(cString: strerror(errno))
        switch errno {
        case EROFS, EACCES, EPERM:
            return StoreError(.readOnly, "Cannot \(verb) \(path): \(reason); the data directory must be writable.")
        case ENOSPC, EDQUOT:
            return StoreError(.diskFull, "Cannot \(verb) \(path): the disk is full.")
        default:
            return StoreError(.io, "Cannot \(verb) \(path): \(reason).")
        }
    }
}
