import Foundation
import MeetKitTestSupport
import Testing

// MARK: - Processes

/// What one `meetkit` command printed, and how it ended.
struct CommandResult: CustomStringConvertible {
    let arguments: [String]
    let status: Int32
    let stdout: String
    let stderr: String

    var description: String {
        "meetkit \(arguments.joined(separator: " ")) → \(status)\nstdout: \(stdout.prefix(2000))\nstderr: \(stderr.prefix(2000))"
    }

    /// stdout parsed as a JSON object (`status --json`).
    func object(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try #require(
            try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], "\(self)",
            sourceLocation: sourceLocation)
    }

    /// stdout parsed as a JSON array of objects (`log --json`, `peers --json`).
    func array(sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        try #require(
            try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [[String: Any]], "\(self)",
            sourceLocation: sourceLocation)
    }
}

/// A child process whose output goes to files in the cluster's directory (never pipes, which
/// could fill and stall it). Stopping it always ends with the process reaped.
final class ChildProcess: @unchecked Sendable {
    let arguments: [String]
    let stdoutPath: String
    let stderrPath: String
    private let process: Process

    init(
        executable: String, arguments: [String], environment: [String: String], stdoutPath: String, stderrPath: String,
        input: String? = nil
    ) throws {
        self.arguments = arguments
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
        guard FileManager.default.createFile(atPath: stdoutPath, contents: nil),
              FileManager.default.createFile(atPath: stderrPath, contents: nil)
        else { throw CocoaError(.fileWriteUnknown) }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        defer {
            try? out.close()
            try? err.close()
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let pipe = input.map { _ in Pipe() }
        process.standardInput = pipe ?? FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
        if let pipe, let input {
            pipe.fileHandleForWriting.write(Data(input.utf8))
            try pipe.fileHandleForWriting.close()
        }
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Exit status, or 128 + signal when a signal ended it.
    var status: Int32 {
        process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    }

    /// Waits up to `timeout` for the process to end; true if it has.
    @discardableResult
    func wait(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { return false }
            usleep(5_000)
        }
        // Let Foundation reap it and record the termination status.
        process.waitUntilExit()
        return true
    }

    func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// SIGTERM, then SIGKILL if it has not ended within `grace`; returns whether it ended on
    /// SIGTERM alone.
    @discardableResult
    func stop(grace: Duration = .seconds(10)) -> Bool {
        guard process.isRunning else {
            process.waitUntilExit()
            return true
        }
        signal(SIGTERM)
        if wait(timeout: grace) { return true }
        signal(SIGKILL)
        wait(timeout: .seconds(10))
        return false
    }

    func result() -> CommandResult {
        CommandResult(arguments: arguments, status: status, stdout: stdout, stderr: stderr)
    }
}

// MARK: - The cluster

/// One test's world: a temporary directory holding every member's data directory and every
/// log, and every process started in it. `withCluster` stops them all (SIGTERM, then SIGKILL)
/// and removes the directory, however the test ends.
final class Cluster: @unchecked Sendable {
    let root: URL
    let passphrase = "pass-\(UUID().uuidString.prefix(8))-phrase"
    let meetkitPath: String

    private let lock = NSLock()
    private var children: [ChildProcess] = []
    private var counter = 0

    init() throws {
        // Short: a member's control socket path must fit in sockaddr_un (108 bytes).
        root = URL(fileURLWithPath: "/tmp").appendingPathComponent("mkn-\(UUID().uuidString.prefix(12))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        meetkitPath = try BuiltProducts.executable("meetkit").path
    }

    /// Stops every process still running and removes the directory.
    func tearDown() {
        let all = lock.withLock { children }
        for child in all where child.isRunning { child.signal(SIGTERM) }
        for child in all { child.stop(grace: .seconds(5)) }
        try? FileManager.default.removeItem(at: root)
    }

    func member(_ name: String) -> Member {
        Member(cluster: self, name: name, home: root.appendingPathComponent(name).path)
    }

    /// Ana founds "Circle" and runs her node; Ben sets up his own and joins through it.
    func anaFoundsAndBenJoins() throws -> (ana: Member, ben: Member, anaNode: RunningNode) {
        let ana = member("Ana")
        let ben = member("Ben")
        try ana.initialize()
        try ana.succeed(["group", "create", "Circle"])
        try ben.initialize()
        let code = try ana.invite()
        let anaNode = try ana.run()
        try ben.succeed(["group", "join", code, "--peer", anaNode.address])
        return (ana, ben, anaNode)
    }

    func environment(home: String) -> [String: String] {
        [
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": root.path,
            "MEETKIT_HOME": home,
            "MEETKIT_PASSPHRASE": passphrase,
            "TZ": "UTC",
        ]
    }

    /// Starts `meetkit ARGS` in the background for `home`.
    func start(_ arguments: [String], home: String, label: String, input: String? = nil) throws -> ChildProcess {
        let n = lock.withLock {
            counter += 1
            return counter
        }
        let base = root.appendingPathComponent("\(label)-\(n)").path
        let child = try ChildProcess(
            executable: meetkitPath, arguments: arguments, environment: environment(home: home),
            stdoutPath: base + ".out", stderrPath: base + ".err", input: input)
        lock.withLock { children.append(child) }
        return child
    }
}

/// Runs `body` with a fresh cluster, then stops its processes and removes its files.
func withCluster(_ body: (Cluster) throws -> Void) throws {
    let cluster = try Cluster()
    defer { cluster.tearDown() }
    try body(cluster)
}

// MARK: - Members

/// One member's data directory, driven through the built `meetkit`.
struct Member: Sendable {
    let cluster: Cluster
    let name: String
    let home: String

    var controlSocket: String { home + "/control.sock" }

    /// Runs `meetkit ARGS` to completion (killed after `timeout`).
    @discardableResult
    func meetkit(_ arguments: [String], input: String? = nil, timeout: Duration = .seconds(60)) throws -> CommandResult {
        let child = try cluster.start(arguments, home: home, label: name, input: input)
        guard child.wait(timeout: timeout) else {
            child.stop(grace: .seconds(1))
            var result = child.result()
            result = CommandResult(
                arguments: result.arguments, status: result.status, stdout: result.stdout,
                stderr: result.stderr + "\n(killed: it did not finish within \(timeout))")
            return result
        }
        return child.result()
    }

    /// Runs `meetkit ARGS` and expects exit status 0.
    @discardableResult
    func succeed(_ arguments: [String], timeout: Duration = .seconds(60), sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
        let result = try meetkit(arguments, timeout: timeout)
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        return result
    }

    /// Runs `meetkit ARGS` in the background.
    func background(_ arguments: [String]) throws -> ChildProcess {
        try cluster.start(arguments, home: home, label: name)
    }

    func initialize() throws {
        try succeed(["init", "--name", name, "--kdf", "interactive"])
    }

    /// `group invite`: the code on its last line.
    func invite() throws -> String {
        let result = try succeed(["group", "invite"])
        return try #require(result.stdout.split(separator: "\n").last.map(String.init), "\(result)")
    }

    func status(sourceLocation: SourceLocation = #_sourceLocation) throws -> Status {
        let object = try succeed(["status", "--json"], sourceLocation: sourceLocation).object(sourceLocation: sourceLocation)
        return Status(
            member: object["member"] as? String ?? "", fingerprint: object["fingerprint"] as? String ?? "",
            digest: object["digest"] as? String ?? "", entries: object["entries"] as? Int ?? -1)
    }

    /// The ids `log --json` lists, in log order.
    func logIDs(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        try succeed(["log", "--json"], sourceLocation: sourceLocation).array(sourceLocation: sourceLocation)
            .compactMap { $0["id"] as? String }
    }

    /// `log --json`'s share texts.
    func shareTexts(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        try succeed(["log", "--json"], sourceLocation: sourceLocation).array(sourceLocation: sourceLocation)
            .filter { $0["kind"] as? String == "share" }.compactMap { $0["text"] as? String }
    }

    /// Starts `meetkit run` on a free loopback port; returns once it listens and serves its
    /// control socket.
    func run(peers: [Int] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> RunningNode {
        var arguments = ["run", "--listen", "127.0.0.1:0", "--no-discovery"]
        for port in peers { arguments += ["--peer", "127.0.0.1:\(port)"] }
        let child = try background(arguments)
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let port = RunningNode.port(in: child.stderr), FileManager.default.fileExists(atPath: controlSocket) {
                return RunningNode(member: self, process: child, port: port)
            }
            if !child.isRunning { break }
            usleep(10_000)
        }
        child.stop(grace: .seconds(2))
        Issue.record("meetkit run did not come up: \(child.result())", sourceLocation: sourceLocation)
        throw NodeDidNotStart()
    }

    struct Status {
        let member: String
        let fingerprint: String
        let digest: String
        let entries: Int
    }
}

struct NodeDidNotStart: Error {}

/// A `meetkit run` process and the loopback port it listens on.
struct RunningNode: Sendable {
    let member: Member
    let process: ChildProcess
    let port: Int

    /// The port of the `listening address=127.0.0.1:PORT` log line.
    static func port(in log: String) -> Int? {
        for line in log.split(separator: "\n") where line.contains("listening") {
            guard let range = line.range(of: "address=127.0.0.1:") else { continue }
            let digits = line[range.upperBound...].prefix { $0.isNumber }
            if let port = Int(digits), port > 0 { return port }
        }
        return nil
    }

    var address: String { "127.0.0.1:\(port)" }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

