import Foundation
import Testing

/// `meetkit backup` and `meetkit init --restore` (Protocol/storage.md §Identity backup): a
/// restored node fetches its own feed before it writes, so it never forks it.
@Suite(.serialized) struct RestoreTests {
    @Test func aRestoredNodeWritesOnlyAfterFetchingItsOwnFeedAndNeverForksIt() throws {
        try withCluster { cluster in
            let (ana, ben, anaNode) = try cluster.anaFoundsAndBenJoins()
            for n in 1...3 { try ben.succeed(["share", "Ben's share \(n)."]) }
            try ben.succeed(["sync", "--peer", anaNode.address])
            let backup = cluster.root.appendingPathComponent("ben.backup").path
            let wrote = try ben.succeed(["backup", backup, "--kdf", "interactive"])
            #expect(wrote.stdout.contains("Wrote the identity backup"), "\(wrote)")
            let benStatus = try ben.status()
            // Nothing readable in the backup without the passphrase.
            let bytes = try Data(contentsOf: URL(fileURLWithPath: backup))
            for text in ["Ben", "Circle"] { #expect(bytes.range(of: Data(text.utf8)) == nil) }

            // Ben's device is lost; on a new one he restores.
            try FileManager.default.removeItem(atPath: ben.home)
            let restored = try ben.succeed(["init", "--restore", backup, "--kdf", "interactive"])
            #expect(restored.stdout.contains("Restored a MeetKit node for Ben"), "\(restored)")
            #expect(try ben.status().member == benStatus.member)

            // Before it has its own feed back, it refuses to write.
            let early = try ben.meetkit(["share", "Too early."])
            #expect(early.status == 1 && early.stderr.contains("restored from a backup"), "\(early)")

            // A sync brings the feed back; writing then continues after Ben's last entry.
            try ben.succeed(["sync", "--peer", anaNode.address])
            #expect(try ben.status().digest == benStatus.digest)
            try ben.succeed(["share", "Back again."])
            try ben.succeed(["sync", "--peer", anaNode.address])
            #expect(try ana.status().digest == (try ben.status().digest))
            let anaStatus = try ana.succeed(["status", "--json"]).object()
            let groups = try #require(anaStatus["groups"] as? [[String: Any]])
            #expect(groups.allSatisfy { ($0["quarantined"] as? [Any])?.isEmpty == true }, "\(anaStatus)")
            #expect(try ana.shareTexts().contains("Back again."))
        }
    }
}
