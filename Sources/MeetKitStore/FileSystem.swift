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

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError(.io, "Cannot read \(path).")
        }
        return [UInt8](data)
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
