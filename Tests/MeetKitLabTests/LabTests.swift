import Foundation
import MeetKitTestSupport
import Testing

/// The lab itself (Tests/Lab/lab.sh through `Lab`): hosts that find each other over mDNS as
/// separate machines would, seen by two DNS-SD implementations that share no code (Avahi and
/// python-zeroconf), and a teardown that leaves nothing behind. Tests run in parallel, each
/// with a lab of its own.
@Suite("The lab: hosts on one machine", .enabled(if: Lab.isSupported), .timeLimit(Lab.timeLimit))
struct LabTests {
    @Test("An advert on one host is seen by Avahi and by python-zeroconf on the others")
    func advertIsSeenFromOtherHosts() async throws {
        let lab = try Lab(hosts: 3)
        defer { lab.down() }
        let scratch = try Scratch()
        let instance = "labtest-\(lab.name)"

        let log = scratch.file("publish.log")
        _ = try lab.spawn(1, ["avahi-publish", "-s", instance, "_meetkit._tcp", "7420", "v=1", "t=abc"], log: log)
        try #require(
            eventually(timeout: .seconds(15)) { scratch.read(log).contains("Established under name '\(instance)'") },
            "avahi-publish on h1 did not register the service: \(scratch.read(log))")

        // Avahi on host 2: `-p` prints "=;eth0;IPv4;NAME;TYPE;DOMAIN;HOST;ADDRESS;PORT;TXT".
        var fields: [String] = []
        var seen = ""
        let resolved = try eventually(timeout: .seconds(15)) {
            seen = try lab.run(2, ["avahi-browse", "-rpt", "_meetkit._tcp"]).stdout
            fields = seen.split(separator: "\n").map { $0.split(separator: ";", omittingEmptySubsequences: false).map(String.init) }
                .first { $0.count == 10 && $0[0] == "=" && $0[3] == instance } ?? []
            return !fields.isEmpty
        }
        try #require(resolved, "avahi-browse on h2 did not resolve \(instance); it saw: \(seen)")
        #expect(fields[6] == "\(lab.name)-h1.local")
        #expect(fields[7] == lab.address(of: 1))
        #expect(fields[8] == "7420")
        #expect(Set(fields[9].split(separator: " ").map { $0.trimmingCharacters(in: ["\""]) }) == ["v=1", "t=abc"])

        // python-zeroconf on host 3, with no Avahi there: it does mDNS on its own.
        try lab.avahiStop(3)
        #expect(try lab.run(3, ["avahi-browse", "-pt", "_meetkit._tcp"]).status != 0, "avahi is still up on h3")
        let python = Lab.repository.appendingPathComponent(".venv-interop/bin/python3").path
        try #require(
            FileManager.default.isExecutableFile(atPath: python),
            "\(python) is missing: run 'bash Tests/Interop/setup.sh' (.ci/run does this before 'swift test')")
        let browser = Lab.repository.appendingPathComponent("Tests/Interop/zeroconf_browse.py").path
        let browse = try lab.run(3, [python, browser, "3"])
        #expect(browse.status == 0, "\(browse.stderr)")
        let services = try browse.stdout.split(separator: "\n").map {
            try JSONDecoder().decode(ZeroconfService.self, from: Data($0.utf8))
        }
        let service = try #require(services.first { $0.name == instance }, "zeroconf saw only: \(browse.stdout)")
        #expect(service.addresses == [lab.address(of: 1)])
        #expect(service.port == 7420)
        #expect(service.txt == ["v": "1", "t": "abc"])
    }

    @Test("A command on a host runs as the caller's would: input, output, status, directory, signals")
    func commandsRunAsTheCallersWould() throws {
        let lab = try Lab(hosts: 1)
        defer { lab.down() }
        let result = try lab.run(1, ["sh", "-c", "cat; pwd; echo oops >&2; exit 3"], input: "hello\n")
        #expect(result.status == 3)
        #expect(result.stdout == "hello\n\(FileManager.default.currentDirectoryPath)\n")
        #expect(result.stderr == "oops\n")
        #expect(try lab.run(1, ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).stdout.contains(" \(lab.address(of: 1))/24 "))

        // Started from a test's thread, a child inherits a mask that blocks SIGTERM; lab.sh
        // clears it, so the host's commands can be stopped (and a node can say goodbye).
        #expect(try lab.run(1, ["grep", "^SigBlk:", "/proc/self/status"]).stdout == "SigBlk:\t0000000000000000\n")
    }

    @Test("down() ends every process, also ones it did not start itself, and deletes the namespaces and state")
    func downLeavesNothingBehind() throws {
        let lab = try Lab(hosts: 2)
        let scratch = try Scratch()
        // The shell is recorded; the `sleep 300` it starts in the background is not.
        let shell = try lab.spawn(2, ["sh", "-c", "sleep 300 & exec sleep 301"], log: scratch.file("sleep.log"))

        let recorded = try lab.recordedProcesses()
        #expect(Set(recorded.map(\.role)) == [
            "h1.holder", "h1.dbus", "h1.avahi", "h2.holder", "h2.dbus", "h2.avahi", "spawn.\(shell)",
        ])
        #expect(recorded.allSatisfy { Lab.isRunning($0.pid) })
        let namespaces = try self.namespaces(of: lab)
        #expect(namespaces == ["\(lab.name)-br", "\(lab.name)-h1", "\(lab.name)-h2"])
        let inside = try namespaces.flatMap { try command(["ip", "netns", "pids", $0]).split(separator: "\n") }
            .compactMap { Int32($0) }
        #expect(Set(recorded.map(\.pid)).isStrictSubset(of: inside), "nothing runs in the namespaces unrecorded")

        lab.down()
        #expect(try self.namespaces(of: lab).isEmpty)
        for pid in Set(recorded.map(\.pid) + inside) {
            #expect(!Lab.isRunning(pid), "PID \(pid) (\(recorded.first { $0.pid == pid }?.role ?? "unrecorded")) still runs")
        }
        #expect(!FileManager.default.fileExists(atPath: lab.stateDirectory.path))
    }

    // MARK: Helpers

    /// The network namespaces (of the root namespace's view) named after the lab, sorted.
    private func namespaces(of lab: Lab) throws -> [String] {
        // Lines are "NAME" or "NAME (id: N)".
        try command(["ip", "netns", "list"]).split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0.hasPrefix(lab.name + "-") }.sorted()
    }

    /// Runs a command here (not in the lab) and returns its stdout.
    private func command(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return printed
    }

    /// Checks `condition` every 200 ms until it holds (true) or `seconds` have passed (false).
}

/// One line of zeroconf_browse.py.
struct ZeroconfService: Decodable {
    let name: String
    let addresses: [String]
    let port: Int
    let txt: [String: String?]
}

/// A temporary directory for one test's files, removed when the test ends.
private final class Scratch {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("meetkit-labtest-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: directory) }

    func file(_ name: String) -> URL { directory.appendingPathComponent(name) }
    func read(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }
}
