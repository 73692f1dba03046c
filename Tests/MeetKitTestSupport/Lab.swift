import Foundation

/// A lab of hosts on this machine, for tests of discovery over a real (virtual) network:
/// Tests/Lab/lab.sh driven from Swift. Each host is a network namespace on a bridge with its own
/// `/run`, D-Bus system bus and avahi-daemon; commands run "on" a host see only that host's
/// network and daemons. Hosts are numbered 1...hosts; host i has the address 10.77.0.(10+i).
///
/// Needs root and the tools lab.sh checks for: gate tests with `.enabled(if: Lab.isSupported)`.
/// The lab is torn down by `down()` or, at the latest, when the object goes away. After a
/// crashed test run, `Tests/Lab/lab.sh down-all` removes what was left.
public final class Lab: Sendable {
    /// The lab's name ("mk" and four random characters): its namespaces are NAME-br, NAME-h1….
    public let name: String
    public let hosts: Int
    private let isDown = OnceFlag()

    /// The repository: three levels above this file (Tests/MeetKitTestSupport/Lab.swift).
    public static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let script = repository.appendingPathComponent("Tests/Lab/lab.sh")

    /// Whether labs can run here: as root, with every tool lab.sh needs (`lab.sh check`).
    public static let isSupported: Bool = (try? runScript(["check"]).status) == 0

    /// Whether labs here can also cut links and lose packets: nftables works in a network
    /// namespace (`lab.sh check faults`).
    public static let canInjectFaults: Bool = (try? runScript(["check", "faults"]).status) == 0

    /// Makes a lab of `hosts` hosts, each with its avahi-daemon ready (about 1.2 s).
    public init(hosts: Int) throws {
        precondition(hosts >= 1, "a lab has at least one host")
        let name = "mk" + String((0..<4).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
        // lab.sh tears down what it made if `up` fails, so a failed init leaves nothing behind.
        try Self.succeed(["up", name, String(hosts)])
        self.name = name
        self.hosts = hosts
    }

    deinit { down() }

    /// Where lab.sh keeps the lab's state: per host, the daemons' logs and the host's `/run`.
    public var stateDirectory: URL { URL(fileURLWithPath: "/tmp/meetkit-lab").appendingPathComponent(name) }

    /// Runs `arguments` on `host` to its end, in the caller's directory and environment.
    /// Throws if it takes longer than `timeout` (it is then stopped). Start anything that is to
    /// outlive the command with `spawn`: Foundation's Process reports an exit only once every
    /// process that inherited its child's descriptors has ended, so a command that leaves one
    /// running in the background keeps `run` waiting.
    public func run(
        _ host: Int, _ arguments: [String], input: String? = nil, timeout: TimeInterval = 60
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        try Self.runScript(["exec", name, hostName(host)] + arguments, input: input, timeout: timeout)
    }

    /// Starts `arguments` on `host` in the background, with stdout and stderr going to `log`;
    /// returns its PID. It runs until it ends or the lab goes down.
    public func spawn(_ host: Int, _ arguments: [String], log: URL) throws -> Int32 {
        let printed = try Self.succeed(["spawn", name, hostName(host), log.path] + arguments)
        guard let pid = Int32(printed.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw Failure(arguments: ["spawn"] + arguments, detail: "lab.sh printed no PID but '\(printed)'")
        }
        return pid
    }

    /// The IPv4 address of `host` on the lab's network (as lab.sh assigns it).
    public func address(of host: Int) -> String {
        precondition((1...hosts).contains(host), "lab \(name) has hosts 1...\(hosts), not \(host)")
        return "10.77.0.\(10 + host)"
    }

    /// Stops `host`'s avahi-daemon (its D-Bus stays up): DNS-SD clients there then fail.
    public func avahiStop(_ host: Int) throws {
        try Self.succeed(["avahi-stop", name, hostName(host)])
    }

    /// Starts `host`'s avahi-daemon again (restarts it if it runs) and waits until it is ready.
    public func avahiStart(_ host: Int) throws {
        try Self.succeed(["avahi-start", name, hostName(host)])
    }

    // MARK: Faults

    /// Cuts the link between hosts `a` and `b` both ways, their mDNS included, as if they were
    /// on two networks; each still reaches every other host.
    public func cut(_ a: Int, _ b: Int) throws {
        try Self.succeed(["cut", name, hostName(a), hostName(b)])
    }

    /// Cuts every link between the hosts in `side` and the others: a partition in two.
    public func split(_ side: some Sequence<Int>) throws {
        try Self.succeed(["split", name] + side.map(hostName))
    }

    /// Restores every cut link (packet loss stays as set).
    public func heal() throws {
        try Self.succeed(["heal", name])
    }

    /// Restores the link between hosts `a` and `b`.
    public func heal(_ a: Int, _ b: Int) throws {
        try Self.succeed(["heal", name, hostName(a), hostName(b)])
    }

    /// Drops `percent`% (0...100) of the packets arriving at `host`, chosen at random; 0 ends it.
    public func setLoss(_ percent: Int, on host: Int) throws {
        precondition((0...100).contains(percent), "a loss is 0...100 %, not \(percent)")
        try Self.succeed(["loss", name, hostName(host), String(percent)])
    }

    /// The faults in place, one host a line: "h1 cut=h3,h4 loss=20".
    public func faults() throws -> String {
        try Self.succeed(["faults", name])
    }

    /// The lab's processes that are still running as recorded: every host's holder, dbus and
    /// avahi, and what `spawn` started ("h1.avahi", "spawn.4242", …).
    public func recordedProcesses() throws -> [(role: String, pid: Int32)] {
        try Self.succeed(["pids", name]).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 2, let pid = Int32(fields[1]) else { return nil }
            return (String(fields[0]), pid)
        }
    }

    /// Ends every process of the lab and deletes its namespaces and state. Idempotent; a
    /// failure is reported on standard error (`lab.sh down-all` can finish the job).
    public func down() {
        guard isDown.set() else { return }
        do {
            try Self.succeed(["down", name])
        } catch {
            FileHandle.standardError.write(Data("Lab \(name): \(error)\n".utf8))
        }
    }

    /// Whether process `pid` is running (a zombie counts as ended).
    public static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: end)...].drop { $0 == " " }.first
        return state != "Z" && state != "X"
    }

    /// lab.sh failed, or a command ran over its time.
    public struct Failure: Error, CustomStringConvertible {
        public let arguments: [String]
        public let detail: String
        public var description: String { "lab.sh \(arguments.joined(separator: " ")): \(detail)" }
    }

    // MARK: Running lab.sh

    private func hostName(_ host: Int) -> String {
        precondition((1...hosts).contains(host), "lab \(name) has hosts 1...\(hosts), not \(host)")
        return "h\(host)"
    }

    /// Runs lab.sh and returns its stdout; throws unless it exits 0.
    @discardableResult
    private static func succeed(_ arguments: [String]) throws -> String {
        let result = try runScript(arguments)
        guard result.status == 0 else {
            throw Failure(arguments: arguments, detail: "exit status \(result.status): \(result.stderr)")
        }
        return result.stdout
    }

    /// Runs lab.sh with `arguments`; stdout and stderr go through files (no pipe to fill up and
    /// no pipe held open by a daemon it starts). A signal's death is reported as 128 + signal.
    private static func runScript(
        _ arguments: [String], input: String? = nil, timeout: TimeInterval = 60
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let files = FileManager.default.temporaryDirectory.appendingPathComponent("meetkit-lab-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: files) }
        let inURL = files.appendingPathComponent("in")
        let outURL = files.appendingPathComponent("out")
        let errURL = files.appendingPathComponent("err")
        try Data((input ?? "").utf8).write(to: inURL)
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        let stdin = try FileHandle(forReadingFrom: inURL)
        let stdout = try FileHandle(forWritingTo: outURL)
        let stderr = try FileHandle(forWritingTo: errURL)
        defer { for handle in [stdin, stdout, stderr] { try? handle.close() } }

        let process = Process()
        process.executableURL = script
        process.arguments = arguments
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            // lab.sh has become the command itself (it execs), so this stops the command.
            process.terminate()
            if exited.wait(timeout: .now() + 5) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                _ = exited.wait(timeout: .now() + 5)
            }
            throw Failure(
                arguments: arguments,
                detail: "not done after \(timeout) s (or it left a process running in the background): stopped")
        }
        let status = process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
        let text = { (url: URL) in String(decoding: try Data(contentsOf: url), as: UTF8.self) }
        return (status, try text(outURL), try text(errURL))
    }
}

/// A flag that can be set once, from any thread: `set()` is true only for the first caller.
private final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var isSet = false

    func set() -> Bool {
        lock.withLock {
            defer { isSet = true }
            return !isSet
        }
    }
}
