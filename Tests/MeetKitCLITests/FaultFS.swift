#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GRDB
import MeetKitTestSupport
import Testing

/// Tests/Faults/faultfs.c built for one test: an LD_PRELOAD shim that models what a disk keeps
/// through a power cut, and injects I/O errors (its header comment states the model).
struct FaultFS {
    static let source = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Faults/faultfs.c")

    /// The first C compiler found: `cc`, `gcc`, or the `clang` that comes with the Swift toolchain.
    static let compiler: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        for name in ["cc", "gcc", "clang"] {
            for directory in directories where FileManager.default.isExecutableFile(atPath: directory + "/" + name) {
                return directory + "/" + name
            }
        }
        return nil
    }()

    static let isSupported = compiler != nil

    /// The built shim.
    let library: String

    /// Compiles the shim into `directory` (made if missing).
    init(compilingInto directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let compiler = try #require(Self.compiler, "no C compiler")
        library = directory.appendingPathComponent("faultfs.so").path
        let result = try Run.program(
            compiler, ["-shared", "-fPIC", "-O2", "-U_FORTIFY_SOURCE", "-o", library, Self.source.path, "-ldl", "-lpthread"],
            environment: ProcessInfo.processInfo.environment)
        guard result.status == 0 else { throw Failure(detail: "compiling faultfs.c failed: \(result.stderr)") }
    }

    /// The environment that runs a program under the shim. `root` is the modelled directory;
    /// see faultfs.c for the other settings.
    func environment(
        root: String, out: String? = nil, cut: String? = nil, seed: UInt64 = 1, fail: String? = nil, stats: String? = nil
    ) -> [String: String?] {
        [
            "LD_PRELOAD": library, "FAULTFS_ROOT": root, "FAULTFS_OUT": out, "FAULTFS_CUT": cut,
            "FAULTFS_SEED": String(seed), "FAULTFS_FAIL": fail, "FAULTFS_STATS": stats,
        ]
    }

    /// The counters a run left in its stats file: watched syncs and writes, and how it ended
    /// ("sync", "write", "exit" or "none").
    static func stats(_ path: String) -> (syncs: Int, writes: Int, cut: String)? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard fields.count == 6, let syncs = Int(fields[1]), let writes = Int(fields[3]) else { return nil }
        return (syncs, writes, String(fields[5]))
    }

    struct Failure: Error, CustomStringConvertible {
        let detail: String
        var description: String { detail }
    }
}

/// Running programs with their output in files (never pipes, which a chatty child can fill),
/// removed afterwards: the fault tests run thousands of commands.
enum Run {
    static func program(
        _ path: String, _ arguments: [String], environment: [String: String], in directory: URL? = nil
    ) throws -> CLIResult {
        let files = directory ?? FileManager.default.temporaryDirectory
        let id = UUID().uuidString
        let outURL = files.appendingPathComponent("out-\(id)")
        let errURL = files.appendingPathComponent("err-\(id)")
        guard FileManager.default.createFile(atPath: outURL.path, contents: nil),
              FileManager.default.createFile(atPath: errURL.path, contents: nil)
        else { throw CocoaError(.fileWriteUnknown) }
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        return CLIResult(
            arguments: [(path as NSString).lastPathComponent] + arguments,
            status: process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }
}

extension CLISession {
    /// Runs `meetkit ARGS` on the data directory `home`, through `run` so the output is not kept.
    func meetkit(_ arguments: [String], home: String, env overrides: [String: String?] = [:]) throws -> CLIResult {
        var merged = overrides
        merged["MEETKIT_HOME"] = home
        var result = try Run.program(meetkitPath, arguments, environment: environment(merged), in: root)
        result = CLIResult(arguments: arguments, status: result.status, stdout: result.stdout, stderr: result.stderr)
        #expect(!result.stdout.contains(passphrase) && !result.stderr.contains(passphrase), "the passphrase was printed")
        return result
    }

    /// Runs `meetkit-devtool append-loop HOME COUNT`; returns the result and the ids it
    /// acknowledged (complete "ok N ID" lines: printed after the append returned).
    func appendLoop(
        home: String, count: Int, env overrides: [String: String?] = [:]
    ) throws -> (result: CLIResult, acknowledged: [String]) {
        let devtool = try BuiltProducts.executable("meetkit-devtool").path
        let result = try Run.program(devtool, ["append-loop", home, String(count)], environment: environment(overrides), in: root)
        var lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()  // empty, or a line the cut left without its newline: not acknowledged
        let ids = lines.compactMap { line -> String? in
            let fields = line.split(separator: " ")
            return fields.count == 3 && fields[0] == "ok" ? String(fields[2]) : nil
        }
        return (result, ids)
    }

    /// The ids `log --json` lists for the node at `home`; throws when it fails.
    func logIDs(home: String) throws -> Set<String> {
        let result = try meetkit(["log", "--json"], home: home)
        guard result.status == 0,
              let items = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]
        else { throw FaultFS.Failure(detail: "log --json failed: \(result)") }
        return Set(items.compactMap { $0["id"] as? String })
    }
}

/// SQLite's own integrity check of the log at `path` (after meetkit has opened it once).
func sqliteIntegrity(_ path: String) -> [String] {
    do {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
    } catch {
        return ["\(error)"]
    }
}
