import Foundation
import MeetKitTestSupport
import Testing

/// Power cuts, simulated: a writer runs under Tests/Faults/faultfs.c, which keeps what the disk
/// would still hold after a power cut (file bytes as of their last fsync, directory entries as
/// of their directory's last fsync; at a write, any subset of the unsynced sectors) and, at a
/// random sync or write, writes that state out and kills the writer. The state must open as a
/// node, verify (SQLite's integrity check included), and hold every entry acknowledged before
/// the cut. Each run starts from the state the previous cut left, as a device would.
@Suite(.serialized, .enabled(if: FaultFS.isSupported, "needs a C compiler (cc, gcc or clang) to build Tests/Faults/faultfs.c"))
struct PowerLossTests {
    static let appendRuns = Figures.sized(ci: 24, long: 300)
    static let initRuns = Figures.sized(ci: 8, long: 60)
    static let syncRuns = Figures.sized(ci: 10, long: 100)

    /// The node restarted on what a cut left at `home`: `verify` and SQLite's integrity check
    /// must pass. Returns the ids it then holds, or nil (the issue recorded) if they do not.
    static func restart(_ session: CLISession, home: String, _ label: String) throws -> Set<String>? {
        let verify = try session.meetkit(["verify", "--json"], home: home)
        let integrity = sqliteIntegrity(home + "/log.sqlite")
        guard verify.status == 0, integrity == ["ok"] else {
            Issue.record("\(label): the store does not verify after the cut: \(verify); SQLite: \(integrity)")
            return nil
        }
        return try session.logIDs(home: home)
    }

    @Test func everyAcknowledgedAppendSurvivesAPowerCut() throws {
        try withSession { session in
            try session.setUpGroup()
            let work = session.root.appendingPathComponent("power")
            let shim = try FaultFS(compilingInto: work)
            let stats = work.appendingPathComponent("stats").path
            var disk = work.appendingPathComponent("disk-0")
            try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: session.home, toPath: disk.appendingPathComponent("home").path)

            // A run without a cut tells how many syncs and writes an append takes.
            let calibration = try session.appendLoop(
                home: disk.appendingPathComponent("home").path, count: 20,
                env: shim.environment(root: disk.path, stats: stats))
            try #require(calibration.result.status == 0, "\(calibration.result)")
            let counted = try #require(FaultFS.stats(stats))
            let syncsPerAppend = Double(counted.syncs) / 20
            let writesPerAppend = Double(counted.writes) / 20
            var acknowledged = Set(calibration.acknowledged)

            var cuts: [String: Int] = [:]
            var lost = 0
            var integrityFailures = 0
            var generator = SystemRandomNumberGenerator()
            for run in 1...Self.appendRuns {
                let appends = Int.random(in: 1...24, using: &generator)
                let cut: String
                switch Int.random(in: 0..<10, using: &generator) {
                case 0..<4: cut = "sync:\(Int.random(in: 1...Int(Double(appends) * syncsPerAppend) + 1, using: &generator))"
                case 4..<8: cut = "write:\(Int.random(in: 1...Int(Double(appends) * writesPerAppend) + 1, using: &generator))"
                default: cut = "exit"
                }
                let seed = UInt64.random(in: 1...UInt64(UInt32.max), using: &generator)
                let after = work.appendingPathComponent("disk-\(run)")
                let home = after.appendingPathComponent("home").path
                let label = "run \(run) (\(appends) appends, cut \(cut), seed \(seed))"

                let (result, ids) = try session.appendLoop(
                    home: disk.appendingPathComponent("home").path, count: appends,
                    env: shim.environment(root: disk.path, out: after.path, cut: cut, seed: seed, stats: stats))
                #expect(result.status == 0 || result.status == 128 + SIGKILL, "\(label): \(result)")
                cuts[FaultFS.stats(stats)?.cut ?? "?", default: 0] += 1
                acknowledged.formUnion(ids)

                // The node restarts on what survived: it opens and verifies, and holds every
                // entry ever acknowledged.
                guard let stored = try Self.restart(session, home: home, label) else {
                    integrityFailures += 1
                    break
                }
                let missing = acknowledged.subtracting(stored)
                lost += missing.count
                #expect(missing.isEmpty, "\(label): \(missing.count) acknowledged entries are gone")

                try FileManager.default.removeItem(at: disk)
                disk = after
            }

            Figures.record("power loss", "append runs", Self.appendRuns)
            Figures.record("power loss", "append runs cut at a sync / at a write / at exit",
                "\(cuts["sync", default: 0]) / \(cuts["write", default: 0]) / \(cuts["exit", default: 0])")
            Figures.record("power loss", "acknowledged entries checked", acknowledged.count)
            Figures.record("power loss", "lost acknowledged entries", lost)
            Figures.record("power loss", "integrity failures", integrityFailures)
            #expect(acknowledged.count > Self.appendRuns)
            #expect(cuts["sync", default: 0] > 0 && cuts["write", default: 0] > 0)
        }
    }

    /// `meetkit init` cut short at any sync or write: either the node is there and opens, or
    /// there is none and `init` runs again. Never a keystore that is there but cannot be
    /// opened, nor leftovers that make `init` refuse; and once `init` has said "Created", the
    /// node survives the cut.
    @Test func aPowerCutDuringInitNeverLocksTheMemberOut() throws {
        do {
            let session = try CLISession()
            let work = session.root.appendingPathComponent("init")
            let shim = try FaultFS(compilingInto: work)
            let stats = work.appendingPathComponent("stats").path
            let initialize = ["init", "--name", "Ana", "--kdf", "interactive"]

            let calibration = work.appendingPathComponent("calibration")
            try FileManager.default.createDirectory(at: calibration, withIntermediateDirectories: true)
            let created = try session.meetkit(
                initialize, home: calibration.appendingPathComponent("home").path,
                env: shim.environment(root: calibration.path, stats: stats))
            try #require(created.status == 0, "\(created)")
            let counted = try #require(FaultFS.stats(stats))

            var lost = 0
            var lockouts = 0
            var generator = SystemRandomNumberGenerator()
            for run in 1...Self.initRuns {
                let cut = run % 5 == 0 ? "exit"
                    : run % 2 == 1 ? "sync:\(Int.random(in: 1...counted.syncs, using: &generator))"
                    : "write:\(Int.random(in: 1...counted.writes, using: &generator))"
                let seed = UInt64.random(in: 1...UInt64(UInt32.max), using: &generator)
                let label = "run \(run) (cut \(cut), seed \(seed))"
                let disk = work.appendingPathComponent("disk-\(run)")
                let after = work.appendingPathComponent("after-\(run)")
                defer {
                    try? FileManager.default.removeItem(at: disk)
                    try? FileManager.default.removeItem(at: after)
                }
                try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
                let result = try session.meetkit(
                    initialize, home: disk.appendingPathComponent("home").path,
                    env: shim.environment(root: disk.path, out: after.path, cut: cut, seed: seed))
                let acknowledged = result.status == 0 && result.stdout.contains("Created")

                let home = after.appendingPathComponent("home").path
                let status = try session.meetkit(["status", "--json"], home: home)
                if status.status == 0 { continue }
                if acknowledged {
                    lost += 1
                    Issue.record("\(label): init said it created the node, but after the cut: \(status)")
                    continue
                }
                let again = try session.meetkit(initialize, home: home)
                let reopened = try session.meetkit(["status", "--json"], home: home)
                if again.status != 0 || reopened.status != 0 {
                    lockouts += 1
                    Issue.record("\(label): after the cut, 'status' said \(status.stderr), and init again: \(again)")
                }
            }

            Figures.record("power loss", "init runs", Self.initRuns)
            Figures.record("power loss", "init: nodes lost after 'Created'", lost)
            Figures.record("power loss", "init: lockouts", lockouts)
        }
    }

    /// `meetkit passphrase` cut short at any sync or write: the old passphrase or the new one
    /// opens the node, and the new one does once the command has said so.
    @Test func aPowerCutDuringAPassphraseChangeLeavesOneThatOpens() throws {
        try withSession { session in
            try session.setUpGroup()
            let work = session.root.appendingPathComponent("passphrase")
            let shim = try FaultFS(compilingInto: work)
            let stats = work.appendingPathComponent("stats").path
            let new = "a brand new passphrase"
            let change = ["passphrase", "--kdf", "interactive"]

            let calibration = work.appendingPathComponent("calibration")
            try FileManager.default.createDirectory(at: calibration, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: session.home, toPath: calibration.appendingPathComponent("home").path)
            let changed = try session.meetkit(
                change, home: calibration.appendingPathComponent("home").path,
                env: shim.environment(root: calibration.path, stats: stats).merging(["MEETKIT_NEW_PASSPHRASE": new]) { $1 })
            try #require(changed.status == 0, "\(changed)")
            let counted = try #require(FaultFS.stats(stats))

            var lockouts = 0
            var generator = SystemRandomNumberGenerator()
            let runs = Figures.sized(ci: 4, long: 30)
            for run in 1...runs {
                let cut = run % 2 == 1
                    ? "sync:\(Int.random(in: 1...counted.syncs, using: &generator))"
                    : "write:\(Int.random(in: 1...counted.writes, using: &generator))"
                let seed = UInt64.random(in: 1...UInt64(UInt32.max), using: &generator)
                let disk = work.appendingPathComponent("disk-\(run)")
                let after = work.appendingPathComponent("after-\(run)")
                defer {
                    try? FileManager.default.removeItem(at: disk)
                    try? FileManager.default.removeItem(at: after)
                }
                try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: session.home, toPath: disk.appendingPathComponent("home").path)
                let result = try session.meetkit(
                    change, home: disk.appendingPathComponent("home").path,
                    env: shim.environment(root: disk.path, out: after.path, cut: cut, seed: seed)
                        .merging(["MEETKIT_NEW_PASSPHRASE": new]) { $1 })

                let home = after.appendingPathComponent("home").path
                let withNew = try session.meetkit(["verify"], home: home, env: ["MEETKIT_PASSPHRASE": new])
                let withOld = try session.meetkit(["verify"], home: home)
                let opens = result.status == 0 ? withNew.status == 0 : withNew.status == 0 || withOld.status == 0
                if !opens {
                    lockouts += 1
                    Issue.record("run \(run) (cut \(cut), seed \(seed)): \(result); new: \(withNew); old: \(withOld)")
                }
            }
            Figures.record("power loss", "passphrase change runs", runs)
            Figures.record("power loss", "passphrase change: lockouts", lockouts)
        }
    }

    /// What `init` clears away is only a log that holds nothing: one with entries whose
    /// keystore is gone is left for the member to decide about.
    @Test func initKeepsALogWithEntriesWhoseKeystoreIsGone() throws {
        try withSession { session in
            try session.setUpGroup()
            try FileManager.default.removeItem(atPath: session.keystore)
            let before = session.snapshot()
            let again = try session.meetkit(["init", "--name", "Ana", "--kdf", "interactive"])
            session.expectRefused(again, unchanged: before, mentioning: ["no keystore"])
        }
    }

    /// `meetkit sync` receiving a peer's entries, cut at a random sync or write, run after run
    /// on what the previous cut left: nothing Ana's node held before a run is lost, the node
    /// restarts and verifies each time, and a sync that said it was done kept everything.
    @Test func aPowerCutDuringASyncLosesNothingStored() throws {
        try withSession { session in
            try session.setUpGroup()
            let ben = session.root.appendingPathComponent("ben").path
            let joined = try session.meetkit(["init", "--name", "Ben", "--kdf", "interactive"], home: ben)
            try #require(joined.status == 0, "\(joined)")
            do {
                let anaNode = try BackgroundNode(session: session, home: session.home)
                defer { anaNode.stop() }
                let invite = try session.meetkit(["group", "invite"], home: session.home)
                let code = try #require(invite.stdout.split(separator: "\n").last.map(String.init), "\(invite)")
                let join = try session.meetkit(["group", "join", code, "--peer", anaNode.address], home: ben)
                try #require(join.status == 0, "\(join)")
            }
            let written = try session.appendLoop(home: ben, count: Figures.sized(ci: 600, long: 3_000))
            try #require(written.result.status == 0, "\(written.result)")
            let everything = try session.logIDs(home: ben)
            let benNode = try BackgroundNode(session: session, home: ben)
            defer { benNode.stop() }
            let sync = ["sync", "--peer", benNode.address]

            let work = session.root.appendingPathComponent("power")
            let shim = try FaultFS(compilingInto: work)
            let stats = work.appendingPathComponent("stats").path
            var disk = work.appendingPathComponent("disk-0")
            try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: session.home, toPath: disk.appendingPathComponent("home").path)
            var held = try session.logIDs(home: disk.appendingPathComponent("home").path)

            // A whole sync, on a copy, tells how many syncs and writes it takes.
            let copy = work.appendingPathComponent("calibration")
            try FileManager.default.copyItem(at: disk, to: copy)
            let calibration = try session.meetkit(
                sync, home: copy.appendingPathComponent("home").path, env: shim.environment(root: copy.path, stats: stats))
            try #require(calibration.status == 0, "\(calibration)")
            let counted = try #require(FaultFS.stats(stats))
            try FileManager.default.removeItem(at: copy)

            var lost = 0
            var integrityFailures = 0
            var cuts: [String: Int] = [:]
            var generator = SystemRandomNumberGenerator()
            for run in 1...Self.syncRuns {
                let cut = run % 2 == 1
                    ? "sync:\(Int.random(in: 1...counted.syncs, using: &generator))"
                    : "write:\(Int.random(in: 1...counted.writes, using: &generator))"
                let seed = UInt64.random(in: 1...UInt64(UInt32.max), using: &generator)
                let after = work.appendingPathComponent("disk-\(run)")
                let home = after.appendingPathComponent("home").path
                let label = "run \(run) (cut \(cut), seed \(seed))"

                let result = try session.meetkit(
                    sync, home: disk.appendingPathComponent("home").path,
                    env: shim.environment(root: disk.path, out: after.path, cut: cut, seed: seed, stats: stats))
                #expect(result.status == 0 || result.status == 128 + SIGKILL, "\(label): \(result)")
                cuts[FaultFS.stats(stats)?.cut ?? "?", default: 0] += 1

                guard let stored = try Self.restart(session, home: home, label) else {
                    integrityFailures += 1
                    break
                }
                // Held before the run, or reported synced by it: durable.
                let expected = result.status == 0 ? held.union(everything) : held
                let missing = expected.subtracting(stored)
                lost += missing.count
                #expect(missing.isEmpty, "\(label): \(missing.count) stored entries are gone")
                held = stored

                try FileManager.default.removeItem(at: disk)
                disk = after
                if held.isSuperset(of: everything) {
                    // All there: start again from the node before its first sync.
                    try FileManager.default.removeItem(at: disk)
                    try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
                    try FileManager.default.copyItem(atPath: session.home, toPath: home)
                    held = try session.logIDs(home: home)
                }
            }
            let final = try session.meetkit(sync, home: disk.appendingPathComponent("home").path)
            #expect(final.status == 0, "\(final)")
            #expect(try session.logIDs(home: disk.appendingPathComponent("home").path) == everything)

            Figures.record("power loss", "sync runs", Self.syncRuns)
            Figures.record("power loss", "sync runs cut at a sync / at a write / after it ended",
                "\(cuts["sync", default: 0]) / \(cuts["write", default: 0]) / \(cuts["exit", default: 0])")
            Figures.record("power loss", "sync: lost stored entries", lost)
            Figures.record("power loss", "sync: integrity failures", integrityFailures)
        }
    }
}
