import Foundation
import MeetKitTestSupport
import Testing

/// A group whose members each sit on a host of their own in a lab, with the real `meetkit`:
/// host N's data directory, commands run on host N, and `meetkit run` started there.
final class LabGroup: @unchecked Sendable {
    let lab: Lab
    let directory: URL
    let meetkit: String
    private var nodes: [Int: Int32] = [:]
    static let passphrase = "lab passphrase, not a real one"

    init(hosts: Int) throws {
        lab = try Lab(hosts: hosts)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("meetkit-lab-\(lab.name)-\(UUID().uuidString.prefix(8))")
        meetkit = try BuiltProducts.executable("meetkit").path
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Tears the lab down (which ends every node) and removes the data directories.
    func close() {
        lab.down()
        try? FileManager.default.removeItem(at: directory)
    }

    func home(_ host: Int) -> String { directory.appendingPathComponent("h\(host)").path }
    func log(_ host: Int) -> URL { directory.appendingPathComponent("h\(host)-run.log") }
    func logText(_ host: Int) -> String { (try? String(contentsOf: log(host), encoding: .utf8)) ?? "" }

    /// `meetkit ARGS` on `host`, in its data directory.
    @discardableResult
    func meetkit(_ host: Int, _ arguments: [String], input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try lab.run(host, ["env", "MEETKIT_HOME=\(home(host))", "MEETKIT_PASSPHRASE=\(Self.passphrase)", meetkit] + arguments, input: input)
    }

    /// `meetkit ARGS` on `host`, which must succeed; returns its stdout.
    @discardableResult
    func succeed(_ host: Int, _ arguments: [String], input: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = try meetkit(host, arguments, input: input)
        try #require(result.status == 0, "meetkit \(arguments.joined(separator: " ")) on h\(host): \(result.stderr)", sourceLocation: sourceLocation)
        return result.stdout
    }

    /// Host 1 founds a group; hosts 2... join it through host 1's node, found by DNS-SD (no
    /// address anywhere). Host 1's node is left running.
    func foundAndJoin(members: ClosedRange<Int>) throws {
        for host in members { try succeed(host, ["init", "--name", "Member\(host)", "--kdf", "interactive"]) }
        try succeed(members.lowerBound, ["group", "create", "Lab Circle"])
        try startNode(members.lowerBound)
        for host in members.dropFirst() {
            let code = try succeed(members.lowerBound, ["group", "invite"]).split(separator: "\n").last.map(String.init) ?? ""
            let joined = try succeed(host, ["group", "join", "-"], input: code + "\n")
            #expect(joined.contains("Joined Lab Circle"), "\(joined)")
        }
    }

    /// Starts `meetkit run` on `host` (no addresses, unless given) and waits until it listens.
    func startNode(_ host: Int, _ extra: [String] = []) throws {
        let arguments = ["env", "MEETKIT_HOME=\(home(host))", "MEETKIT_PASSPHRASE=\(Self.passphrase)", meetkit, "run"] + extra
        nodes[host] = try lab.spawn(host, arguments, log: log(host))
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if logText(host).contains("listening"), FileManager.default.fileExists(atPath: home(host) + "/control.sock") { return }
            usleep(50_000)
        }
        Issue.record("meetkit run on h\(host) did not start: \(logText(host))")
        throw LabGroupFailure()
    }

    /// Stops host's node with SIGTERM and waits for it to end.
    func stopNode(_ host: Int) {
        guard let pid = nodes.removeValue(forKey: host) else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while Lab.isRunning(pid) && Date() < deadline { usleep(50_000) }
    }

    /// Takes `host` off the network without a word: its port on the bridge goes down, so no
    /// goodbye, FIN or RST reaches anyone (as a phone that leaves the hall's Wi-Fi).
    func cutOff(_ host: Int) throws {
        let ip = Process()
        ip.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        ip.arguments = ["-n", "\(lab.name)-br", "link", "set", "h\(host)", "down"]
        try ip.run()
        ip.waitUntilExit()
        try #require(ip.terminationStatus == 0, "could not cut h\(host) off")
    }

    struct Status: Decodable {
        let member: String
        let entries: Int
        let digest: String
    }

    func status(_ host: Int) throws -> Status {
        try JSONDecoder().decode(Status.self, from: Data(try succeed(host, ["status", "--json"]).utf8))
    }

    /// The log digest of each host in `hosts`, in that order.
    func digests(_ hosts: some Sequence<Int>) throws -> [String] {
        try hosts.map { try status($0).digest }
    }

    /// The texts of the shares in `host`'s log (`meetkit log --json`).
    func sharedTexts(_ host: Int) throws -> Set<String> {
        struct Line: Decodable { let text: String? }
        let lines = try JSONDecoder().decode([Line].self, from: Data(try succeed(host, ["log", "--json"]).utf8))
        return Set(lines.compactMap(\.text))
    }

    struct Peer: Decodable {
        let member: String
        let name: String
        let address: String
        let advertised: Bool
        let connected: Bool
    }

    func peers(_ host: Int) throws -> [Peer] {
        try JSONDecoder().decode([Peer].self, from: Data(try succeed(host, ["peers", "--json"]).utf8))
    }
}

struct LabGroupFailure: Error {}

extension Lab {
    /// The time limit of a lab suite: only a guard against a hang. Swift Testing runs
    /// synchronous tests on the cooperative pool, one thread per core, so on a 2-core machine
    /// a lab test can wait minutes for a thread while the fault tests block theirs, and its
    /// limit counts that wait (CI saw lab tests pass after 238 s, "over" a 2 minute limit).
    static let timeLimit: TimeLimitTrait.Duration = .minutes(10)
}
