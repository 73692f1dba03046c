import Foundation
import MeetKitTestSupport
import MeetKitCore
import Testing

/// One test's sandbox: a temporary directory for the members' data, the built `meetkit` and
/// `meetkit-devtool`, the independent Python peer (Tests/Interop/shs_peer.py in the venv that
/// Tests/Interop/setup.sh makes), and every child process the test starts. `tearDown()` stops
/// and reaps all of them and removes the directory.
final class InteropRig: @unchecked Sendable {
    let root: URL
    let passphrase = "interop-\(UUID().uuidString)"
    let meetkitPath: String
    let devtoolPath: String
    let pythonPath: String
    let peerScript: String

    private let lock = NSLock()
    private var children: [Child] = []

    /// The repository: three levels above this file (Tests/MeetKitInteropTests/InteropRig.swift).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A sandbox whose Python side is known to work; throws a clear error (the test fails, it
    /// is never skipped) when the venv is missing or broken.
    static func make() async throws -> InteropRig {
        let rig = try InteropRig()
        do {
            let check = try rig.start(rig.pythonPath, ["-c", "import nacl.signing, secret_handshake.network"])
            guard try await check.finish(within: .seconds(30)) == 0 else {
                throw InteropSetupMissing(detail: "its python cannot import secret_handshake and nacl: \(check.stderr)")
            }
        } catch {
            rig.tearDown()
            throw error
        }
        return rig
    }

    private init() throws {
        let venvPython = Self.repository.appendingPathComponent(".venv-interop/bin/python3").path
        guard FileManager.default.isExecutableFile(atPath: venvPython) else {
            throw InteropSetupMissing(detail: "\(venvPython) does not exist")
        }
        pythonPath = venvPython
        peerScript = Self.repository.appendingPathComponent("Tests/Interop/shs_peer.py").path
        meetkitPath = try BuiltProducts.executable("meetkit").path
        devtoolPath = try BuiltProducts.executable("meetkit-devtool").path
        root = FileManager.default.temporaryDirectory.appendingPathComponent("meetkit-interop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    /// Stops every child still running (SIGTERM, then SIGKILL), reaps them, removes the files.
    func tearDown() {
        for child in lock.withLock({ children }) { child.stop() }
        try? FileManager.default.removeItem(at: root)
    }

    /// Only what the children need; HOME inside the sandbox so nothing reaches a real ~/.meetkit.
    var environment: [String: String] {
        [
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": root.path,
            "MEETKIT_PASSPHRASE": passphrase,
            "TZ": "UTC",
        ]
    }

    /// Starts `program`; its output goes to files in the sandbox, `input` to its stdin.
    func start(_ program: String, _ arguments: [String], input: Data? = nil) throws -> Child {
        let child = try Child(program, arguments, environment: environment, input: input, directory: root)
        lock.withLock { children.append(child) }
        return child
    }

    // MARK: meetkit

    /// Runs `meetkit ARGS` to its end (at most 60 s).
    func meetkit(_ arguments: [String]) async throws -> Child {
        let child = try start(meetkitPath, arguments)
        _ = try await child.finish(within: .seconds(60))
        return child
    }

    /// Runs `meetkit ARGS` and requires it to succeed.
    @discardableResult
    func succeed(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> Child {
        let child = try await meetkit(arguments)
        try #require(child.status == 0, "meetkit \(arguments.joined(separator: " ")): \(child)", sourceLocation: sourceLocation)
        return child
    }

    /// A member's data directory inside the sandbox, and their member id.
    struct Member {
        let home: String
        let member: String
    }

    /// `init` then `status --json`: a new member.
    func member(_ name: String) async throws -> Member {
        let home = root.appendingPathComponent(name.lowercased()).path
        try await succeed(["init", "--name", name, "--kdf", "interactive", "--home", home])
        let status = try await succeed(["status", "--json", "--home", home])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        return Member(home: home, member: try #require(report["member"] as? String))
    }

    /// A new member who founds a group, and an invite code to it.
    func founder(_ name: String) async throws -> (Member, Invite) {
        let founder = try await member(name)
        try await succeed(["group", "create", "Circle", "--home", founder.home])
        let printed = try await succeed(["group", "invite", "--home", founder.home])
        let code = try #require(printed.stdout.split(separator: "\n").last.map(String.init))
        return (founder, try #require(Invite(code: code), "not an invite code: \(code)"))
    }

    /// `meetkit run` listening on a free loopback port; returns once it says where.
    func startNode(home: String) async throws -> (node: Child, port: Int) {
        let node = try start(meetkitPath, ["run", "--listen", "127.0.0.1:0", "--home", home])
        let line = try #require(
            await node.line(on: .stderr, within: .seconds(30)) { $0.contains("listening") && $0.contains("address=") },
            "meetkit run never said where it listens: \(node)")
        let port = try #require(line.split(separator: " ").first { $0.hasPrefix("address=127.0.0.1:") }
            .flatMap { Int($0.dropFirst("address=127.0.0.1:".count)) }, "no port in: \(line)")
        return (node, port)
    }

    /// Asks a running node to stop (SIGTERM) and requires a clean exit.
    func stopNode(_ node: Child) async throws {
        kill(node.processIdentifier, SIGTERM)
        try #require(try await node.finish(within: .seconds(30)) == 0, "meetkit run did not stop cleanly: \(node)")
    }

    // MARK: The Python peer

    /// Starts Tests/Interop/shs_peer.py with `arguments`; `keys` (hex) go in as JSON on stdin.
    func pythonPeer(_ arguments: [String], keys: [String: String]) throws -> PythonPeer {
        let input = try JSONSerialization.data(withJSONObject: keys)
        return PythonPeer(child: try start(pythonPath, [peerScript] + arguments + ["--stdin-json", "--timeout", "20"], input: input))
    }
}

/// The Python side is not installed: the tests fail with this, saying how to fix it.
struct InteropSetupMissing: Error, CustomStringConvertible {
    let detail: String
    var description: String {
        "The Python interop environment is not usable (\(detail)). Run 'bash Tests/Interop/setup.sh' "
            + "(it needs python3 with venv and access to PyPI); .ci/run does this before 'swift test'."
    }
}

/// An invite code's public parts, read the way the format says (InviteCode.swift):
/// `mk1.` ‖ base64url(version 1 ‖ group 32 ‖ network key 32 ‖ secret 16 ‖ inviter 32).
struct Invite {
    let code: String
    let networkKey: String
    let inviter: String

    init?(code: String) {
        guard code.hasPrefix("mk1."), let bytes = Base64URL.decode(String(code.dropFirst(4))), bytes.count == 113,
              bytes[0] == 1
        else { return nil }
        self.code = code
        networkKey = Hex.encode(bytes[33..<65])
        inviter = Hex.encode(bytes[81...])
    }
}

/// One line the Python peer printed (Tests/Interop/shs_peer.py lists them).
struct PeerEvent: Decodable, CustomStringConvertible {
    let event: String
    let ok: Bool?
    let error: String?
    let remote: String?
    let port: Int?
    let hex: String?
    let name: String?
    let reason: String?

    var description: String {
        [event, ok.map { "ok=\($0)" }, name, reason, error, hex].compactMap { $0 }.joined(separator: " ")
    }
}

/// The Python peer running in a child process.
struct PythonPeer {
    let child: Child

    /// Every complete JSON line printed so far.
    var events: [PeerEvent] {
        child.stdout.split(separator: "\n").compactMap { try? JSONDecoder().decode(PeerEvent.self, from: Data($0.utf8)) }
    }

    var handshake: PeerEvent? { events.first { $0.event == "handshake" } }
    var messages: [PeerEvent] { events.filter { $0.event == "message" } }

    /// The port a server peer listens on, once it says.
    func listeningPort() async throws -> Int {
        let line = try #require(
            await child.line(on: .stdout, within: .seconds(30)) { $0.contains("\"listening\"") },
            "the Python peer never listened: \(child)")
        return try #require(try JSONDecoder().decode(PeerEvent.self, from: Data(line.utf8)).port)
    }

    /// Waits for the peer to exit (it gives up by itself after 20 s) and returns its status.
    func finish() async throws -> Int32 {
        try #require(try await child.finish(within: .seconds(40)), "the Python peer did not exit: \(child)")
    }
}

/// A child process whose stdout and stderr go to files (read at any time, never a full pipe).
final class Child: @unchecked Sendable, CustomStringConvertible {
    enum Stream { case stdout, stderr }

    private let process = Process()
    private let outPath: String
    private let errPath: String
    private let label: String

    init(_ program: String, _ arguments: [String], environment: [String: String], input: Data?, directory: URL) throws {
        let id = UUID().uuidString
        outPath = directory.appendingPathComponent("out-\(id)").path
        errPath = directory.appendingPathComponent("err-\(id)").path
        label = ([URL(fileURLWithPath: program).lastPathComponent] + arguments).joined(separator: " ")
        guard FileManager.default.createFile(atPath: outPath, contents: nil),
              FileManager.default.createFile(atPath: errPath, contents: nil),
              let out = FileHandle(forWritingAtPath: outPath), let err = FileHandle(forWritingAtPath: errPath)
        else { throw CocoaError(.fileWriteUnknown) }
        defer {
            try? out.close()
            try? err.close()
        }
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        let stdin = input.map { _ in Pipe() }
        process.standardInput = stdin ?? FileHandle.nullDevice
        try process.run()
        if let input, let stdin {
            try stdin.fileHandleForWriting.write(contentsOf: input)
            try stdin.fileHandleForWriting.close()
        }
    }

    var processIdentifier: Int32 { process.processIdentifier }
    var stdout: String { String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self) }
    var stderr: String { String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self) }

    /// The exit status once it has ended (128 + signal when killed), else nil.
    var status: Int32? {
        guard !process.isRunning else { return nil }
        return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    }

    /// Waits up to `limit` for the process to end; its status, or nil if it is still running.
    func finish(within limit: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + limit
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        return status
    }

    /// The first complete line on `stream` that satisfies `match`, waiting up to `limit`; nil if
    /// none came (or the process ended without printing one).
    func line(on stream: Stream, within limit: Duration, where match: (String) -> Bool) async -> String? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let running = process.isRunning
            let text = stream == .stdout ? stdout : stderr
            let complete = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            if let found = complete.first(where: { match(String($0)) }) { return String(found) }
            guard running, (try? await Task.sleep(for: .milliseconds(20))) != nil else { return nil }
        }
        return nil
    }

    /// SIGTERM, up to 3 s to finish, then SIGKILL; always reaped.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date(timeIntervalSinceNow: 3)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    var description: String {
        "\(label) → \(status.map(String.init) ?? "running")\nstdout: \(stdout.suffix(3000))\nstderr: \(stderr.suffix(3000))"
    }
}
