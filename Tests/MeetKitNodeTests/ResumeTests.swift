import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitStore
import MeetKitTestSupport
import Testing

/// A sync cut short by `kill -9` resumes where it stopped: nothing lost, nothing twice.
@Suite(.serialized) struct ResumeTests {
    static let written = 3_000
    /// For the random kills: enough entries that the syncs are still running after that many.
    static let randomKills = Figures.sized(ci: 12, long: 50)
    static let writtenForRandomKills = Figures.sized(ci: 3_000, long: 15_000)

    @Test func aSyncKilledHalfwayResumesWithoutDuplicatesOrLoss() throws {
        try withCluster { cluster in
            let (ana, ben, anaNode) = try cluster.anaFoundsAndBenJoins()
            #expect(anaNode.process.stop(), "meetkit run ignored SIGTERM")
            let before = try ana.status().entries

            // Ben writes many entries, fast: in this process, through the library. The store
            // (and its directory lock) is released before Ben's node starts.
            try Self.appendShares(Self.written, home: ben.home, passphrase: cluster.passphrase)
            let total = try ben.status().entries
            #expect(total == before + Self.written)

            let benNode = try ben.run()
            // Kill Ana's `meetkit sync` once it has committed its first batch (a few hundred
            // entries), well before the end: watch for a commit frame in her WAL.
            let wal = ana.home + "/log.sqlite-wal"
            let sync = try ana.background(["sync", "--peer", benNode.address])
            let committed = eventually(timeout: .seconds(30), interval: .milliseconds(1)) {
                Self.commitFrames(inWAL: wal) > 0 || !sync.isRunning
            }
            sync.signal(SIGKILL)
            sync.wait(timeout: .seconds(10))
            #expect(committed)
            #expect(sync.status == 128 + SIGKILL, "the sync ended before it could be killed: \(sync.result())")

            let partial = try ana.status().entries
            #expect(partial > before && partial < total, "killed at \(partial) of \(total) entries")
            try ana.succeed(["verify"])

            let resumed = try ana.succeed(["sync", "--peer", benNode.address])
            #expect(resumed.stdout.contains("received \(total - partial)."), "\(resumed)")
            #expect(benNode.process.stop(), "meetkit run ignored SIGTERM")

            let a = try ana.status()
            let b = try ben.status()
            #expect(a.entries == total)
            #expect(a.digest == b.digest)
            let ids = try ana.logIDs()
            #expect(ids.count == total)
            #expect(Set(ids).count == ids.count, "duplicate ids in Ana's log")
            #expect(ids == (try ben.logIDs()))
            let verified = try ana.succeed(["verify", "--json"]).object()
            #expect(verified["entries"] as? Int == total)
        }
    }

    /// kill -9 at random moments of a sync, round after round: what was stored stays stored,
    /// the store opens and verifies (SQLite integrity included) after every kill, and a final
    /// sync completes with every entry once.
    @Test func syncsKilledAtRandomMomentsLoseNothingAndLeaveAVerifiedStore() throws {
        try withCluster { cluster in
            let (ana, ben, anaNode) = try cluster.anaFoundsAndBenJoins()
            #expect(anaNode.process.stop(), "meetkit run ignored SIGTERM")
            try Self.appendShares(Self.writtenForRandomKills, home: ben.home, passphrase: cluster.passphrase)
            let total = try ben.status().entries
            let benNode = try ben.run()

            var held = try ana.status().entries
            var killed = 0
            var lost = 0
            var restarts = 0
            var rounds = 0
            let wal = ana.home + "/log.sqlite-wal"
            for round in 0..<Self.randomKills where held < total {
                let sync = try ana.background(["sync", "--peer", benNode.address])
                if round == 0 {
                    // The first kill surely lands mid-sync: right after its first commit.
                    _ = eventually(timeout: .seconds(30), interval: .milliseconds(1)) {
                        Self.commitFrames(inWAL: wal) > 0 || !sync.isRunning
                    }
                } else {
                    usleep(UInt32.random(in: 20_000...400_000))
                }
                sync.signal(SIGKILL)
                sync.wait(timeout: .seconds(10))
                if sync.status == 128 + SIGKILL { killed += 1 }
                rounds += 1
                // Ana's node restarts on what the kill left: it opens, verifies (SQLite's
                // integrity check included) and still holds what it held.
                if try ana.succeed(["verify"]).status == 0 { restarts += 1 }
                let now = try ana.status().entries
                #expect(now >= held, "Ana's node lost entries: \(held) before the kill, \(now) after")
                lost += max(0, held - now)
                held = max(held, now)
            }
            #expect(killed > 0, "no sync was still running when killed")
            try ana.succeed(["sync", "--peer", benNode.address])
            let ids = try ana.logIDs()
            #expect(ids.count == total && Set(ids).count == total)
            #expect(try ana.status().digest == (try ben.status().digest))
            #expect(benNode.process.stop())

            Figures.record("crash", "kill -9 during sync: rounds, and kills that landed mid-sync", "\(rounds), \(killed)")
            Figures.record("crash", "kill -9 during sync: lost entries", lost)
            Figures.record("crash", "kill -9 during sync: node restarted and verified (SQLite integrity included)", "\(restarts) of \(rounds)")
        }
    }

    /// `meetkit sync` exits 0 only once the peer holds everything it sent: killing the peer's
    /// node the moment the sync has ended loses nothing.
    @Test func syncEndsOnlyOnceThePeerHasStoredWhatItSent() throws {
        try withCluster { cluster in
            let (ana, ben, anaNode) = try cluster.anaFoundsAndBenJoins()
            try Self.appendShares(Self.written, home: ben.home, passphrase: cluster.passphrase)
            let total = try ben.status().entries

            let sync = try ben.succeed(["sync", "--peer", anaNode.address])
            #expect(sync.stdout.contains("sent \(Self.written) entries"), "\(sync)")
            anaNode.process.signal(SIGKILL)
            anaNode.process.wait(timeout: .seconds(10))

            let a = try ana.status()
            #expect(a.entries == total, "Ben's sync reported success, but Ana's node had stored \(a.entries) of \(total)")
            #expect(a.digest == (try ben.status().digest))
        }
    }

    /// Appends `count` shares to the only group of the store at `home`, then closes it.
    static func appendShares(_ count: Int, home: String, passphrase: String) throws {
        var bytes = Array(passphrase.utf8)
        let store = try Store.open(at: DataDirectory(path: home), passphrase: SecretBytes(consuming: &bytes))
        let group = try store.resolveGroup(nil)
        let filler = String(repeating: "Keep coming back. ", count: 20)
        for n in 1...count {
            try store.append(.share(Share(text: "Share \(n). \(filler)")), to: group, at: Date())
        }
    }

    /// How many complete commit frames SQLite's write-ahead log at `path` holds (sqlite.org
    /// fileformat2 §4.1: a 32-byte header with the page size at offset 8, then frames of a
    /// 24-byte header and one page; a commit frame's header holds the database size in pages
    /// after the commit at offset 4, other frames hold 0). The WAL is never reset here: a
    /// checkpoint needs 1000 pages and the whole sync writes fewer.
    static func commitFrames(inWAL path: String) -> Int {
        guard let data = FileManager.default.contents(atPath: path), data.count >= 32 else { return 0 }
        let bytes = [UInt8](data)
        func uint32(_ offset: Int) -> Int { bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
        let pageSize = uint32(8) == 1 ? 65_536 : uint32(8)
        guard pageSize >= 512 else { return 0 }
        var commits = 0
        var offset = 32
        while offset + 24 + pageSize <= bytes.count {
            if uint32(offset + 4) != 0 { commits += 1 }
            offset += 24 + pageSize
        }
        return commits
    }
}
