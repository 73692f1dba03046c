import Foundation
import MeetKitTestSupport
import MeetKitCore
import MeetKitCrypto
import MeetKitStore
import Testing

/// A fresh data directory under the system temporary directory, removed when the test ends.
final class TemporaryHome {
    let root: URL
    let directory: DataDirectory

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("meetkit-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        directory = DataDirectory(path: root.appendingPathComponent("home").path)
    }

    deinit {
        try? FileManager.default.removeItem(at: root)
    }

    var path: String { directory.path }

    func file(_ name: String) -> String { (directory.path as NSString).appendingPathComponent(name) }
}

enum Fixture {
    static let passphraseText = "correct horse battery staple"
    static let cost = Argon2id.Cost.interactive

    static func passphrase(_ text: String = passphraseText) -> SecretBytes {
        var bytes = Array(text.utf8)
        return SecretBytes(consuming: &bytes)
    }

    static func create(_ home: TemporaryHome, pseudonym: String = "Ana") throws -> Store {
        try Store.create(at: home.directory, passphrase: passphrase(), pseudonym: pseudonym, cost: cost)
    }

    static func open(_ home: TemporaryHome, passphrase text: String = passphraseText) throws -> Store {
        try Store.open(at: home.directory, passphrase: passphrase(text))
    }

    /// A store with one group and `shares` shares in it; returns the group.
    @discardableResult
    static func populate(_ home: TemporaryHome, shares: Int = 5, text: String = "share") throws -> GroupID {
        let store = try create(home)
        let group = try store.createGroup(name: "Circle", at: Date())
        for n in 0..<shares {
            try store.append(.share(Share(text: "\(text) \(n + 1)")), to: group, at: Date())
        }
        return group
    }

    /// Runs `body` and returns the `StoreError` it throws; records an issue when it throws
    /// something else or nothing.
    static func storeError(
        _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation
    ) -> StoreError? {
        do {
            try body()
            Issue.record("expected a StoreError, but nothing was thrown", sourceLocation: sourceLocation)
        } catch let error as StoreError {
            #expect(!error.message.isEmpty, sourceLocation: sourceLocation)
            #expect(!error.message.contains("\n"), "one sentence, one line", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("expected a StoreError, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }
}

// MARK: - Files

/// The bytes of the files that hold a node's state. The lock file is ignored, and a missing
/// WAL counts the same as an empty one (SQLite creates and removes it as it pleases).
struct FileSnapshot: Equatable {
    var files: [String: Data] = [:]

    init(_ home: TemporaryHome) {
        for name in ["keystore", "log.sqlite", "log.sqlite-wal"] {
            guard let data = FileManager.default.contents(atPath: home.file(name)) else { continue }
            if name.hasSuffix("-wal") && data.isEmpty { continue }
            files[name] = data
        }
    }
}

enum Bytes {
    /// Whether `needle` occurs anywhere in `haystack`.
    static func contains(_ haystack: Data, _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        return haystack.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let first = needle[0]
            var i = 0
            let last = bytes.count - needle.count
            while i <= last {
                if bytes[i] == first && needle.indices.allSatisfy({ bytes[i + $0] == needle[$0] }) { return true }
                i += 1
            }
            return false
        }
    }

    /// Overwrites `count` bytes of the file at `offset` with a fixed pattern.
    static func overwrite(_ path: String, at offset: Int, count: Int) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: Data((0..<count).map { UInt8(truncatingIfNeeded: 0xA5 ^ $0) }))
    }

    static func fileSize(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
    }

    static func truncate(_ path: String, to size: Int) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        try handle.truncate(atOffset: UInt64(size))
    }
}

