#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MeetKitTestSupport
import Testing

/// A full disk and failing I/O: the command that meets them fails with one clear sentence and
/// acknowledges nothing, and the store is not damaged: once the fault is gone it verifies
/// (SQLite's integrity check included), holds every acknowledged entry and takes appends again.
@Suite(.serialized) struct DiskFaultTests {
    static let filler = String(repeating: "One day at a time. ", count: 100)
    static let injectionRounds = Figures.sized(ci: 1, long: 5)

    // MARK: - Disk full

    @Test(.enabled(if: Tmpfs.isSupported, "needs root, to mount a small tmpfs"))
    func aFullDiskRefusesAppendsClearlyAndDamagesNothing() throws {
        try withSession { session in
            try session.setUpGroup()
            let disk = try Tmpfs(size: 4 << 20, at: session.root.appendingPathComponent("small").path)
            defer { disk.unmount() }
            let home = disk.path + "/home"
            try FileManager.default.copyItem(atPath: session.home, toPath: home)
            var acknowledged = try session.logIDs(home: home)
            try disk.fill(leaving: 96 << 10)

            var refusals: [CLIResult] = []
            var attempts = 0
            while refusals.count < 3 && attempts < 400 {
                attempts += 1
                let result = try session.meetkit(["share", "--json", Self.filler], home: home)
                if result.status == 0 {
                    // Acknowledged: a later refusal must not take it back.
                    acknowledged.insert(try Self.id(result))
                } else {
                    refusals.append(result)
                }
            }
            try #require(refusals.count == 3, "the disk never filled up")
            for refusal in refusals { Self.expectClearRefusal(refusal, mentioning: "full") }

            try disk.freeSpace()
            Self.expectUndamaged(session, home: home, holding: acknowledged)
            let again = try session.meetkit(["share", "--json", "Back again."], home: home)
            #expect(again.status == 0, "\(again)")

            Figures.record("disk", "disk full: refused appends", refusals.count)
            Figures.record("disk", "disk full: acknowledged entries before it, all kept", acknowledged.count)
        }
    }

    /// The same through a running node: `meetkit share` is carried out by `meetkit run`, which
    /// reports the full disk back over its control socket and keeps running.
    @Test(.enabled(if: Tmpfs.isSupported, "needs root, to mount a small tmpfs"))
    func aRunningNodeReportsAFullDiskClearly() throws {
        try withSession { session in
            try session.setUpGroup()
            let disk = try Tmpfs(size: 4 << 20, at: session.root.appendingPathComponent("small").path)
            defer { disk.unmount() }
            let home = disk.path + "/home"
            try FileManager.default.copyItem(atPath: session.home, toPath: home)
            var acknowledged = try session.logIDs(home: home)

            let node = try BackgroundNode(session: session, home: home)
            defer { node.stop() }
            try disk.fill(leaving: 256 << 10)
            var refusal: CLIResult?
            var attempts = 0
            while refusal == nil && attempts < 400 {
                attempts += 1
                let result = try session.meetkit(["share", "--json", Self.filler], home: home)
                if result.status == 0 { acknowledged.insert(try Self.id(result)) } else { refusal = result }
            }
            Self.expectClearRefusal(try #require(refusal, "the disk never filled up"), mentioning: "full")
            #expect(node.isRunning, "the node stopped when the disk filled up: \(node.log)")

            try disk.freeSpace()
            let again = try session.meetkit(["share", "--json", "Back again."], home: home)
            #expect(again.status == 0, "\(again)")
            if again.status == 0 { acknowledged.insert(try Self.id(again)) }
            #expect(node.stop(), "meetkit run ignored SIGTERM")
            Self.expectUndamaged(session, home: home, holding: acknowledged)
            Figures.record("disk", "disk full under a running node: refused clearly", 1)
        }
    }

    // MARK: - I/O errors

    /// Each write and each sync of `meetkit share`, in turn, fails with EIO (or ENOSPC).
    @Test(.enabled(if: FaultFS.isSupported, "needs a C compiler (cc, gcc or clang) to build Tests/Faults/faultfs.c"))
    func ioErrorsRefuseAppendsClearlyAndDamageNothing() throws {
        try withSession { session in
            try session.setUpGroup()
            let shim = try FaultFS(compilingInto: session.root.appendingPathComponent("faults"))
            let stats = session.root.appendingPathComponent("faults/stats").path
            let home = session.home
            var acknowledged = try session.logIDs(home: home)

            let calibration = try session.meetkit(
                ["share", "--json", Self.filler], home: home, env: shim.environment(root: home, stats: stats))
            try #require(calibration.status == 0, "\(calibration)")
            acknowledged.insert(try Self.id(calibration))
            let counted = try #require(FaultFS.stats(stats))
            try #require(counted.writes > 0 && counted.syncs > 0, "the shim saw no write or sync: \(counted)")

            var faults = (1...counted.writes).map { "write:\($0):EIO" } + (1...counted.syncs).map { "sync:\($0):EIO" }
            faults += ["write:1+:EIO", "sync:1+:EIO", "write:\(counted.writes):ENOSPC", "write:1+:ENOSPC"]
            var injections = 0
            var refused = 0
            var damaged = 0
            var unclear = 0
            for _ in 1...Self.injectionRounds {
                for fault in faults.shuffled() {
                    injections += 1
                    let result = try session.meetkit(
                        ["share", "--json", Self.filler], home: home, env: shim.environment(root: home, fail: fault))
                    if result.status == 0 {
                        // SQLite did without that write: then the entry must be durable.
                        acknowledged.insert(try Self.id(result))
                    } else {
                        refused += 1
                        // An injected ENOSPC on a disk with room may read as an I/O error: "disk" either way.
                        if !Self.expectClearRefusal(result, mentioning: "disk") {
                            unclear += 1
                        }
                    }
                    if !Self.expectUndamaged(session, home: home, holding: acknowledged, fault: fault) { damaged += 1 }
                    let next = try session.meetkit(["share", "--json", "After \(fault)."], home: home)
                    #expect(next.status == 0, "after \(fault): \(next)")
                    if next.status == 0 { acknowledged.insert(try Self.id(next)) }
                }
            }

            Figures.record("disk", "I/O error injections (each write and sync of an append)", injections)
            Figures.record("disk", "I/O errors: refused appends", refused)
            Figures.record("disk", "I/O errors: unclear messages", unclear)
            Figures.record("disk", "damaged stores", damaged)
        }
    }

    // MARK: - Checks

    static func id(_ result: CLIResult) throws -> String {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result)")
        return try #require(object["id"] as? String, "\(result)")
    }

    /// Non-zero exit, nothing on stdout (no acknowledgement), one line "meetkit: …" on stderr
    /// that mentions `word` and holds no stack trace or SQLite jargon.
    @discardableResult
    static func expectClearRefusal(
        _ result: CLIResult, mentioning word: String, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Bool {
        let clear = result.status != 0 && result.stdout.isEmpty && result.stderrLines.count == 1
            && result.stderr.hasPrefix("meetkit: ") && result.stderr.localizedCaseInsensitiveContains(word)
            && !["SQLITE", "Fatal error", "0x", "Backtrace", "DatabaseError"].contains { result.stderr.contains($0) }
        #expect(clear, "expected a one-line refusal mentioning '\(word)': \(result)", sourceLocation: sourceLocation)
        return clear
    }

    /// The node at `home` opens, verifies, passes SQLite's integrity check and holds `ids`.
    @discardableResult
    static func expectUndamaged(
        _ session: CLISession, home: String, holding ids: Set<String>, fault: String = "",
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Bool {
        do {
            let verify = try session.meetkit(["verify", "--json"], home: home)
            let integrity = sqliteIntegrity(home + "/log.sqlite")
            let stored = try session.logIDs(home: home)
            let missing = ids.subtracting(stored)
            #expect(verify.status == 0, "\(fault): \(verify)", sourceLocation: sourceLocation)
            #expect(integrity == ["ok"], "\(fault): \(integrity)", sourceLocation: sourceLocation)
            #expect(missing.isEmpty, "\(fault): \(missing.count) acknowledged entries are gone", sourceLocation: sourceLocation)
            return verify.status == 0 && integrity == ["ok"] && missing.isEmpty
        } catch {
            Issue.record("\(fault): \(error)", sourceLocation: sourceLocation)
            return false
        }
    }
}

// MARK: - A small disk

/// A tmpfs of a fixed size mounted on a new directory; `unmount` (or the end of the object)
/// unmounts it and removes the directory.
final class Tmpfs {
    let path: String
    private var mounted = true

    /// Whether tmpfs can be mounted here: as root, where mount(2) is allowed.
    static let isSupported: Bool = {
        guard getuid() == 0 else { return false }
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("meetkit-tmpfs-probe-\(UUID().uuidString)").path
        guard let disk = try? Tmpfs(size: 1 << 20, at: probe) else { return false }
        disk.unmount()
        return true
    }()

    init(size: Int, at path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let status = "size=\(size),mode=0700".withCString { mount("tmpfs", path, "tmpfs", 0, $0) }
        guard status == 0 else {
            let reason = String(cString: strerror(errno))
            rmdir(path)
            throw FaultFS.Failure(detail: "mount tmpfs on \(path): \(reason)")
        }
        self.path = path
    }

    deinit { unmount() }

    func unmount() {
        guard mounted else { return }
        mounted = false
        if umount2(path, 0) != 0 { umount2(path, Int32(MNT_DETACH)) }
        rmdir(path)
    }

    private var fillerPath: String { path + "/filler" }

    /// Fills the disk with a file, leaving about `bytes` free.
    func fill(leaving bytes: Int) throws {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { throw FaultFS.Failure(detail: "statvfs \(path)") }
        let free = Int(info.f_bavail) * Int(info.f_frsize)
        try Data(count: max(0, free - bytes)).write(to: URL(fileURLWithPath: fillerPath))
    }

    func freeSpace() throws {
        try FileManager.default.removeItem(atPath: fillerPath)
    }
}

// MARK: - A running node

/// `meetkit run` in the background for the node at `home`; `stop` ends it (SIGTERM, then
/// SIGKILL), as does the end of the object.
final class BackgroundNode {
    private let process = Process()
    private let logURL: URL
    /// "127.0.0.1:PORT", where it listens.
    private(set) var address = ""

    init(session: CLISession, home: String) throws {
        logURL = session.root.appendingPathComponent("node-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: logURL.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        let output = try FileHandle(forWritingTo: logURL)
        defer { try? output.close() }
        process.executableURL = URL(fileURLWithPath: session.meetkitPath)
        process.arguments = ["run", "--listen", "127.0.0.1:0", "--no-discovery"]
        process.environment = session.environment(["MEETKIT_HOME": home])
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let up = eventually(timeout: .seconds(20), interval: .milliseconds(20)) {
            guard process.isRunning else { return true }
            guard FileManager.default.fileExists(atPath: home + "/control.sock"), let port = Self.port(in: self.log) else { return false }
            address = "127.0.0.1:\(port)"
            return true
        }
        guard up, process.isRunning else {
            stop()
            throw FaultFS.Failure(detail: "meetkit run did not come up: \(self.log)")
        }
    }

    deinit { stop() }

    /// The port of the `listening address=127.0.0.1:PORT` log line.
    static func port(in log: String) -> Int? {
        for line in log.split(separator: "\n") where line.contains("listening") {
            guard let range = line.range(of: "address=127.0.0.1:") else { continue }
            if let port = Int(line[range.upperBound...].prefix { $0.isNumber }), port > 0 { return port }
        }
        return nil
    }

    var isRunning: Bool { process.isRunning }
    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Ends the node; true if SIGTERM alone did.
    @discardableResult
    func stop() -> Bool {
        guard process.isRunning else { return true }
        kill(process.processIdentifier, SIGTERM)
        if eventually(timeout: .seconds(10), interval: .milliseconds(20), { !process.isRunning }) {
            process.waitUntilExit()
            return true
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return false
    }
}
