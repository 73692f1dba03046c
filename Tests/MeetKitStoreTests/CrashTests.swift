#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MeetKitTestSupport
import GRDB
import MeetKitCore
import MeetKitStore
import Testing

/// "An entry that the CLI reported as written survives a crash": a writer is killed with
/// SIGKILL at random moments, again and again on the same log, and every entry it had
/// acknowledged must still be there, with the chain and SQLite's integrity intact, and the
/// store must open again (as the node does when it restarts) after every kill.
@Suite struct CrashTests {
    static let rounds = Figures.sized(ci: 20, long: 200)

    @Test func everyAcknowledgedEntrySurvivesKillNine() throws {
        let devtool = try BuiltProducts.executable("meetkit-devtool")
        let home = try TemporaryHome()
        let group = try Fixture.populate(home, shares: 0)
        var acknowledged: Set<String> = []
        var generator = SystemRandomNumberGenerator()
        var killed = 0
        var lost = 0
        var reopened = 0
        var verified = 0

        for round in 1...Self.rounds {
            let writer = try AppendLoop(devtool: devtool, home: home, count: 100_000)
            guard writer.waitForFirstAcknowledgement(timeout: 20) else {
                _ = writer.killAndCollect()
                Issue.record("round \(round): the writer acknowledged nothing; stderr: \(writer.standardError())")
                return
            }
            usleep(UInt32.random(in: 50_000...400_000, using: &generator))
            let lines = writer.killAndCollect()
            #expect(writer.terminationSignal == SIGKILL, "round \(round): the writer ended on its own; stderr: \(writer.standardError())")
            if writer.terminationSignal == SIGKILL { killed += 1 }

            let ids = try lines.map { line -> String in
                let fields = line.split(separator: " ")
                try #require(fields.count == 3 && fields[0] == "ok", "round \(round): unexpected line \(line)")
                return String(fields[2])
            }
            #expect(!ids.isEmpty)
            let before = acknowledged.count
            acknowledged.formUnion(ids)
            #expect(acknowledged.count == before + ids.count, "round \(round): an acknowledged id was repeated")

            // The store reopens, as the node does when it restarts, then verifies.
            do {
                let store = try Fixture.open(home)
                reopened += 1
                let stored = Set(store.log(of: group).map(\.entry.id.hex))
                let missing = acknowledged.subtracting(stored)
                lost += missing.count
                #expect(missing.isEmpty, "round \(round): \(missing.count) acknowledged entries are missing")
                let report = try store.verify()
                #expect(report.entries == stored.count && report.feeds == 1)
            }
            let queue = try DatabaseQueue(path: home.directory.database)
            let integrity = try queue.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
            #expect(integrity == ["ok"])
            try queue.close()
            if integrity == ["ok"] { verified += 1 }
        }

        Figures.record("crash", "kill -9 during append: runs", killed)
        Figures.record("crash", "kill -9 during append: acknowledged entries checked", acknowledged.count)
        Figures.record("crash", "kill -9 during append: lost acknowledged entries", lost)
        Figures.record("crash", "kill -9 during append: store reopened and verified (SQLite integrity included)", "\(min(reopened, verified)) of \(Self.rounds)")
        // Not vacuous: every round acknowledged at least one entry, and many were written in all.
        #expect(acknowledged.count >= Self.rounds)
    }
}

/// `meetkit-devtool append-loop` running in a child process, its output lines collected.
final class AppendLoop: @unchecked Sendable {
    private let process = Process()
    private let output = Pipe()
    private let errors = Pipe()
    private let condition = NSCondition()
    private var buffer = Data()
    private var finished = false
    private var errorText = Data()

    init(devtool: URL, home: TemporaryHome, count: Int) throws {
        process.executableURL = devtool
        process.arguments = ["append-loop", home.path, String(count)]
        process.environment = ["MEETKIT_PASSPHRASE": Fixture.passphraseText, "PATH": "/usr/bin:/bin"]
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let reader = output.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let chunk = reader.availableData
                condition.lock()
                if chunk.isEmpty { finished = true } else { buffer.append(chunk) }
                condition.broadcast()
                condition.unlock()
                if chunk.isEmpty { return }
            }
        }
    }

    /// Whether a first complete "ok" line arrived within `timeout` seconds.
    func waitForFirstAcknowledgement(timeout: TimeInterval) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while !buffer.contains(UInt8(ascii: "\n")) && !finished {
            guard condition.wait(until: deadline) else { break }
        }
        return buffer.contains(UInt8(ascii: "\n"))
    }

    /// Kills the child with SIGKILL and returns every complete line it printed.
    func killAndCollect() -> [String] {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        condition.lock()
        while !finished { condition.wait() }
        let text = String(decoding: buffer, as: UTF8.self)
        condition.unlock()
        errorText = errors.fileHandleForReading.readDataToEndOfFile()
        // A line cut off by the kill (no newline yet) was never acknowledged.
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast()
        return lines
    }

    var terminationSignal: Int32? {
        process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil
    }

    func standardError() -> String { String(decoding: errorText, as: UTF8.self) }
}
