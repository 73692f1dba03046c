import Foundation
import GRDB
import Testing

/// A damaged, truncated or tampered log: every command refuses it in one sentence and
/// changes nothing.
@Suite struct DamagedDataTests {
    static let commands = [["status"], ["log"], ["log", "--json"], ["share", "hello"], ["verify"]]

    /// A node with a group and enough shares to fill a few dozen pages.
    static func populated(_ s: CLISession) throws {
        try s.setUpGroup()
        try s.succeed(["meeting", "start", "--topic", "Pages"])
        for n in 1...12 {
            try s.succeed(["share", "share number \(n): " + String(repeating: "words to fill the page ", count: 60)])
        }
        try s.succeed(["meeting", "end"])
    }

    @Test(arguments: [0.3, 0.5, 0.8])
    func corruptedDatabase(at fraction: Double) throws {
        try withSession { s in
            try Self.populated(s)
            let size = try #require(Bytes.fileSize(s.database))
            let boundary = max(1, Int(Double(size / 4096) * fraction)) * 4096
            try Bytes.overwrite(s.database, at: boundary - 2048, count: 4096)
            let before = s.snapshot()
            for command in Self.commands {
                s.expectRefused(try s.meetkit(command), unchanged: before, mentioning: ["damaged"])
            }
        }
    }

    @Test(arguments: [2, 0])
    func truncatedDatabase(divisor: Int) throws {
        try withSession { s in
            try Self.populated(s)
            let size = try #require(Bytes.fileSize(s.database))
            try Bytes.truncate(s.database, to: divisor == 0 ? 0 : size / divisor)
            let before = s.snapshot()
            for command in Self.commands {
                s.expectRefused(try s.meetkit(command), unchanged: before, mentioning: ["log.sqlite"])
            }
        }
    }

    @Test func missingDatabase() throws {
        try withSession { s in
            try s.setUpGroup()
            try FileManager.default.removeItem(atPath: s.database)
            let before = s.snapshot()
            for command in Self.commands {
                s.expectRefused(try s.meetkit(command), unchanged: before, mentioning: ["missing"])
            }
            #expect(!FileManager.default.fileExists(atPath: s.database))
        }
    }

    @Test func damagedKeystore() throws {
        try withSession { s in
            try s.setUpGroup()
            let original = try Data(contentsOf: URL(fileURLWithPath: s.keystore))
            try original.prefix(40).write(to: URL(fileURLWithPath: s.keystore))
            let before = s.snapshot()
            for command in Self.commands {
                s.expectRefused(try s.meetkit(command), unchanged: before, mentioning: ["keystore", "damaged"])
            }
        }
    }

    /// Flips one bit of a stored row after dropping the append-only triggers, as someone
    /// with the file and the sqlite3 tool could.
    static func tamper(_ s: CLISession, column: String) throws {
        let queue = try DatabaseQueue(path: s.database)
        try queue.write { db in
            try db.execute(sql: "DROP TRIGGER entries_append_only; DROP TRIGGER entries_only_drop_body")
            let rowid = try #require(try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM entries WHERE \(column) IS NOT NULL"))
            var blob = try #require(try Data.fetchOne(db, sql: "SELECT \(column) FROM entries WHERE rowid = ?", arguments: [rowid]))
            blob[blob.startIndex + blob.count / 2] ^= 0x04
            try db.execute(sql: "UPDATE entries SET \(column) = ? WHERE rowid = ?", arguments: [blob, rowid])
        }
        try queue.close()
    }

    @Test(arguments: ["sealed", "body"])
    func tamperedEntry(column: String) throws {
        try withSession { s in
            try s.setUpGroup()
            try s.succeed(["share", "first"])
            try s.succeed(["share", "second"])
            try Self.tamper(s, column: column)
            let before = s.snapshot()
            let verify = try s.meetkit(["verify"])
            #expect(verify.status == 1, "\(verify)")
            s.expectRefused(verify, unchanged: before, mentioning: ["damaged"])
            for command in [["log"], ["share", "third"]] {
                s.expectRefused(try s.meetkit(command), unchanged: before, mentioning: ["damaged"])
            }
        }
    }

    @Test func removedEntryIsCaughtByVerify() throws {
        try withSession { s in
            try s.setUpGroup()
            for text in ["first", "second", "third"] { try s.succeed(["share", text]) }
            let queue = try DatabaseQueue(path: s.database)
            try queue.write { db in
                try db.execute(sql: "DROP TRIGGER entries_append_only; DELETE FROM entries WHERE rowid = 4")
            }
            try queue.close()
            let before = s.snapshot()
            let verify = try s.meetkit(["verify"])
            #expect(verify.status == 1, "\(verify)")
            s.expectRefused(verify, unchanged: before, mentioning: ["sequence number"])
        }
    }

    /// A log of an earlier schema (its membership entries predate invite proofs and feed cuts,
    /// and its bodies were not sealed at rest) is refused untouched, as is one from a newer
    /// MeetKit: neither is read under rules it was not written for.
    @Test func anOlderOrNewerLogIsRefusedUntouched() throws {
        try withSession { s in
            try s.setUpGroup()
            try s.succeed(["share", "written before the upgrade"])
            for version in [2, 4] {
                let queue = try DatabaseQueue(path: s.database)
                try queue.write { db in try db.execute(sql: "PRAGMA user_version = \(version)") }
                try queue.close()
                let before = s.snapshot()
                s.expectRefused(try s.meetkit(["log"]), unchanged: before, mentioning: ["another version of MeetKit"])
            }
        }
    }
}
