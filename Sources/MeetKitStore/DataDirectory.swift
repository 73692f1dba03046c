import Foundation

/// Where a node keeps its files: the sealed keystore, the log database and a lock file.
public struct DataDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = (path as NSString).standardizingPath
    }

    /// `explicit` (from `--home`), else `$MEETKIT_HOME`, else `~/.meetkit`.
    public static func resolve(explicit: String?, environment: [String: String]) -> DataDirectory {
        if let explicit, !explicit.isEmpty { return DataDirectory(path: explicit) }
        if let home = environment["MEETKIT_HOME"], !home.isEmpty { return DataDirectory(path: home) }
        let user = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return DataDirectory(path: (user as NSString).appendingPathComponent(".meetkit"))
    }

    public var keystore: String { file("keystore") }
    public var database: String { file("log.sqlite") }
    var lock: String { file("lock") }

    /// Whether another process holds the directory's lock now (a node running or starting, or
    /// another command); false when nothing does, or there is no lock file yet.
    public var isInUse: Bool { DirectoryLock.isHeld(path: lock) }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}
