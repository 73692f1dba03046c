import Foundation
import MeetKitTestSupport
import Testing

/// What one run of a command printed, and how it ended.
struct CLIResult: CustomStringConvertible {
    let arguments: [String]
    let status: Int32
    let stdout: String
    let stderr: String

    var stderrLines: [Substring] { stderr.split(separator: "\n") }

    var description: String {
        "meetkit \(arguments.joined(separator: " ")) → \(status)\nstdout: \(stdout.prefix(2000))\nstderr: \(stderr.prefix(2000))"
    }
}

/// One test's node: a fresh data directory and passphrase, the built `meetkit` run as a child
/// process, and everything it printed kept so the test can check that no secret ever appeared.
final class CLISession: @unchecked Sendable {
    let root: URL
    let home: String
    let passphrase = "pass-\(UUID().uuidString)-phrase"
    let meetkitPath: String

    private let lock = NSLock()
    private var printed: [String] = []
    private var secrets: [String] = []

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("meetkit-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        home = root.appendingPathComponent("home").path
        meetkitPath = try BuiltProducts.executable("meetkit").path
        secrets = [passphrase]
    }

    deinit {
        try? FileManager.default.removeItem(at: root)
    }

    var keystore: String { home + "/keystore" }
    var database: String { home + "/log.sqlite" }

    /// A string that must never be printed either (a wrong passphrase, say).
    func addSecret(_ secret: String) {
        lock.withLock { secrets.append(secret) }
    }

    /// The child's environment: only what it needs, and HOME inside the test's directory so
    /// that nothing can fall back to a real ~/.meetkit.
    func environment(_ overrides: [String: String?] = [:]) -> [String: String] {
        var environment = [
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": root.path,
            "MEETKIT_HOME": home,
            "MEETKIT_PASSPHRASE": passphrase,
            "TZ": "UTC",
        ]
        for (key, value) in overrides { environment[key] = value }
        return environment
    }

    /// Runs `meetkit ARGS`.
    @discardableResult
    func meetkit(_ arguments: [String], env overrides: [String: String?] = [:]) throws -> CLIResult {
        try run(meetkitPath, arguments, env: overrides, label: arguments)
    }

    /// Runs any program with the session's environment (for `unshare`).
    func run(
        _ program: String, _ arguments: [String], env overrides: [String: String?] = [:], label: [String]? = nil
    ) throws -> CLIResult {
        var result = try Run.program(program, arguments, environment: environment(overrides), in: root)
        result = CLIResult(arguments: label ?? [program] + arguments, status: result.status, stdout: result.stdout, stderr: result.stderr)
        lock.withLock { printed.append(result.stdout + "\n" + result.stderr) }
        return result
    }

    /// Runs `meetkit ARGS` and expects success.
    @discardableResult
    func succeed(
        _ arguments: [String], env overrides: [String: String?] = [:], sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> CLIResult {
        let result = try meetkit(arguments, env: overrides)
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.isEmpty, "\(result)", sourceLocation: sourceLocation)
        return result
    }

    /// `init` and `group create`: a node with one group.
    func setUpGroup(name: String = "Circle") throws {
        try succeed(["init", "--name", "Ana", "--kdf", "interactive"])
        try succeed(["group", "create", name])
    }

    func snapshot() -> DataSnapshot { DataSnapshot(home: home) }

    /// The entry count `status --json` reports.
    func entryCount(sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let result = try succeed(["status", "--json"], sourceLocation: sourceLocation)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        return try #require(object["entries"] as? Int)
    }

    /// Expects a clear refusal: non-zero exit, exactly one stderr line "meetkit: …", and the
    /// data directory as it was.
    func expectRefused(
        _ result: CLIResult, unchanged before: DataSnapshot, mentioning words: [String] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(result.status != 0, "\(result)", sourceLocation: sourceLocation)
        #expect(result.stderrLines.count == 1, "\(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("meetkit: "), "\(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasSuffix("\n"), "\(result)", sourceLocation: sourceLocation)
        for word in words {
            #expect(result.stderr.localizedCaseInsensitiveContains(word), "expected '\(word)' in: \(result)", sourceLocation: sourceLocation)
        }
        #expect(snapshot() == before, "the data directory changed: \(result)", sourceLocation: sourceLocation)
    }

    /// Nothing any command printed contains the passphrase or another secret.
    func expectNoSecretsPrinted(sourceLocation: SourceLocation = #_sourceLocation) {
        let (printed, secrets) = lock.withLock { (self.printed, self.secrets) }
        #expect(!printed.isEmpty, sourceLocation: sourceLocation)
        for secret in secrets {
            #expect(!printed.contains { $0.contains(secret) }, "a secret was printed", sourceLocation: sourceLocation)
        }
    }
}

/// Runs `body` with a fresh session and, however it ends, checks that no secret was printed.
func withSession(sourceLocation: SourceLocation = #_sourceLocation, _ body: (CLISession) throws -> Void) throws {
    let session = try CLISession()
    defer { session.expectNoSecretsPrinted(sourceLocation: sourceLocation) }
    try body(session)
}

/// The bytes of a node's keystore and log. The lock file is ignored, and a missing WAL counts
/// the same as an empty one.
struct DataSnapshot: Equatable {
    var files: [String: Data] = [:]

    init(home: String) {
        for name in ["keystore", "log.sqlite", "log.sqlite-wal"] {
            guard let data = FileManager.default.contents(atPath: home + "/" + name) else { continue }
            if name.hasSuffix("-wal") && data.isEmpty { continue }
            files[name] = data
        }
    }
}

enum Bytes {
    static func fileSize(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
    }

    /// Overwrites `count` bytes of the file at `offset` with a fixed pattern.
    static func overwrite(_ path: String, at offset: Int, count: Int) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: Data((0..<count).map { UInt8(truncatingIfNeeded: 0x5A ^ $0) }))
    }

    static func truncate(_ path: String, to size: Int) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        try handle.truncate(atOffset: UInt64(size))
    }
}

