import Foundation
import Testing

/// The world around the node: a read-only data directory, two writers at once.
@Suite struct EnvironmentTests {
    /// The data directory bind-mounted read-only over itself in a private mount namespace
    /// (the tests run as root, so file permissions alone would not stop a write).
    @Test func readOnlyDataDirectory() throws {
        try withSession { s in
            try s.setUpGroup()
            try s.succeed(["share", "before"])
            let before = s.snapshot()
            let script = #"mount --bind -o ro "$H" "$H" || exit 97; "$M" "$@""#

            // Can this environment make the mount at all, and does it then refuse writes?
            let probeScript = #"mount --bind -o ro "$H" "$H" || exit 97; touch "$H/probe" 2>/dev/null && exit 98; exit 0"#
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else {
                withKnownIssue("unshare(1) is not installed here") { Issue.record("/usr/bin/unshare is missing") }
                return
            }
            let probe = try s.run("/usr/bin/unshare", ["--mount", "sh", "-c", probeScript], env: ["H": s.home])
            guard probe.status == 0 else {
                withKnownIssue("a read-only bind mount in a private mount namespace is not permitted here") {
                    Issue.record("unshare --mount / mount --bind -o ro failed (status \(probe.status)): \(probe.stderr)")
                }
                return
            }

            for command in [["share", "hi"], ["meeting", "start"]] {
                let result = try s.run(
                    "/usr/bin/unshare", ["--mount", "sh", "-c", script, "sh"] + command,
                    env: ["H": s.home, "M": s.meetkitPath], label: ["(read-only)"] + command)
                s.expectRefused(result, unchanged: before, mentioning: ["writable"])
            }
            #expect(try s.entryCount() == 3)
        }
    }

    /// Two processes, each sharing ten times in a row, at the same time: the lock serialises
    /// them, every share lands, and the feed verifies.
    @Test func twoWritersAtOnce() throws {
        try withSession { s in
            try s.setUpGroup()
            let results = ResultBox()
            DispatchQueue.concurrentPerform(iterations: 2) { writer in
                for n in 1...10 {
                    do {
                        results.append(try s.meetkit(["share", "writer \(writer) share \(n)"]))
                    } catch {
                        results.fail("writer \(writer): \(error)")
                    }
                }
            }
            let all = results.results
            #expect(results.failures.isEmpty, "\(results.failures)")
            #expect(all.count == 20)
            for result in all { #expect(result.status == 0 && result.stderr.isEmpty, "\(result)") }

            let log = try s.succeed(["log", "--json"])
            let elements = try #require(try JSONSerialization.jsonObject(with: Data(log.stdout.utf8)) as? [[String: Any]])
            let texts = Set(elements.compactMap { $0["text"] as? String })
            for writer in 0..<2 {
                for n in 1...10 { #expect(texts.contains("writer \(writer) share \(n)")) }
            }
            #expect(elements.count == 22)
            let verified = try s.succeed(["verify"])
            #expect(verified.stdout.contains("22 entries"))
        }
    }
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storedResults: [CLIResult] = []
    private var storedFailures: [String] = []

    func append(_ result: CLIResult) { lock.withLock { storedResults.append(result) } }
    func fail(_ message: String) { lock.withLock { storedFailures.append(message) } }
    var results: [CLIResult] { lock.withLock { storedResults } }
    var failures: [String] { lock.withLock { storedFailures } }
}
