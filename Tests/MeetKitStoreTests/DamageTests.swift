import Foundation
import GRDB
import MeetKitCore
import MeetKitStore
import Testing

/// A tampered, corrupted or truncated log is reported as damage, and opening it changes nothing
/// (Protocol/storage.md §Opening and checking, §Errors).
@Suite struct DamageTests {
    /// Runs raw SQL on the log with the append-only triggers dropped, as an attacker with the
    /// file could; the connection is closed (and the WAL checkpointed) before returning.
    static func tamper(_ home: TemporaryHome, _ change: (Database) throws -> Void) throws {
        let queue = try DatabaseQueue(path: home.directory.database)
        try queue.write { db in
            try db.execute(sql: "DROP TRIGGER entries_append_only; DROP TRIGGER entries_only_drop_body")
            try change(db)
        }
        try queue.close()
    }

    static func flipByte(in blob: Data, at offset: Int? = nil) -> Data {
        var copy = blob
        copy[copy.startIndex + (offset ?? blob.count / 2)] ^= 0x01
        return copy
    }

    /// Expects opening to fail with `.damagedDatabase` and to leave every file as it was.
    static func expectDamageRefused(
        _ home: TemporaryHome, saying words: String = "damaged", sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let before = FileSnapshot(home)
        let error = Fixture.storeError({ _ = try Fixture.open(home) }, sourceLocation: sourceLocation)
        #expect(error?.code == .damagedDatabase, "got \(String(describing: error))", sourceLocation: sourceLocation)
        #expect(error?.message.contains(home.directory.database) == true, sourceLocation: sourceLocation)
        #expect(error?.message.contains(words) == true, "\(String(describing: error))", sourceLocation: sourceLocation)
        #expect(FileSnapshot(home) == before, "opening a damaged log changed it", sourceLocation: sourceLocation)
    }

    // MARK: Tampering with sealed rows

    @Test(arguments: ["entries", "groups", "meta"])
    func aFlippedByteInASealedRowIsDetected(table: String) throws {
        let home = try TemporaryHome()
        try Fixture.populate(home, shares: 3)
        try Self.tamper(home) { db in
            let (rowid, sealed) = try #require(try Row.fetchOne(db, sql: "SELECT rowid, sealed FROM \(table) ORDER BY rowid DESC LIMIT 1")
                .map { ($0[0] as Int64, $0[1] as Data) })
            try db.execute(
                sql: "UPDATE \(table) SET sealed = ? WHERE rowid = ?", arguments: [Self.flipByte(in: sealed), rowid])
        }
        Self.expectDamageRefused(home)
    }

    @Test func swappedSealedRowsAreDetected() throws {
        let home = try TemporaryHome()
        try Fixture.populate(home, shares: 3)
        try Self.tamper(home) { db in
            let a = try #require(try Data.fetchOne(db, sql: "SELECT sealed FROM entries WHERE rowid = 3"))
            let b = try #require(try Data.fetchOne(db, sql: "SELECT sealed FROM entries WHERE rowid = 4"))
            try db.execute(sql: "UPDATE entries SET sealed = ? WHERE rowid = 3", arguments: [b])
            try db.execute(sql: "UPDATE entries SET sealed = ? WHERE rowid = 4", arguments: [a])
        }
        Self.expectDamageRefused(home)
    }

    @Test func aRemovedEntryIsDetectedAsAGapInTheFeed() throws {
        let home = try TemporaryHome()
        try Fixture.populate(home, shares: 3)
        try Self.tamper(home) { db in try db.execute(sql: "DELETE FROM entries WHERE rowid = 3") }
        // The remaining rows are intact, so opening may work; verify must name the gap.
        do {
            let store = try Fixture.open(home)
            let error = Fixture.storeError { _ = try store.verify() }
            #expect(error?.code == .verificationFailed)
            #expect(error?.message.contains("feed") == true)
        } catch let error as StoreError {
            #expect(error.code == .damagedDatabase)
        }
    }

    @Test func aFlippedByteInABodyIsDetectedOnOpen() throws {
        let home = try TemporaryHome()
        try Fixture.populate(home, shares: 3)
        try Self.tamper(home) { db in
            let body = try #require(try Data.fetchOne(db, sql: "SELECT body FROM entries WHERE rowid = 4"))
            try db.execute(sql: "UPDATE entries SET body = ? WHERE rowid = 4", arguments: [Self.flipByte(in: body)])
        }
        Self.expectDamageRefused(home)
    }

    @Test func aLogFromAnotherNodeIsRefused() throws {
        let home = try TemporaryHome()
        let other = try TemporaryHome()
        try Fixture.populate(home, shares: 1)
        try Fixture.populate(other, shares: 1)
        try FileManager.default.removeItem(atPath: home.directory.database)
        try FileManager.default.copyItem(atPath: other.directory.database, toPath: home.directory.database)
        Self.expectDamageRefused(home)
    }

    // MARK: Corrupted and truncated files

    /// Overwrites 4 KiB straddling a page boundary (the end of one page holds its cells, the
    /// start of the next its header) at several places in the file.
    @Test(arguments: [0.25, 0.5, 0.75])
    func aCorruptedFileIsRefusedAndLeftAlone(at fraction: Double) throws {
        let home = try TemporaryHome()
        try Fixture.populate(home, shares: 40, text: String(repeating: "filler text for pages ", count: 20))
        let path = home.directory.database
        let size = try #require(Bytes.fileSize(path))
        #expect(size >= 16 * 4096)
        let boundary = max(1, Int(Double(size / 4096) * fraction)) * 4096
        try Bytes.overwrite(path, at: boundary - 2048, count: 4096)
        Self.expectDamageRefused(home)
    }

    /// Reading every row never visits the `(feed, sequence)` index, so damage there must be
    /// caught by the page check, before a write could build on it.
    @Test func aDamagedIndexIsRefusedBeforeAnyWrite() throws {
        let home = try TemporaryHome()
        try Fixture.populate(home, shares: 5)
        let queue = try DatabaseQueue(path: home.directory.database)
        let (root, pageSize) = try queue.read { db in
            (try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_entries_1'"),
             try Int.fetchOne(db, sql: "PRAGMA page_size"))
        }
        try queue.close()
        let page = try #require(root)
        let size = try #require(pageSize)
        // The end of a b-tree page holds its cells.
        try Bytes.overwrite(home.directory.database, at: page * size - 64, count: 64)
        Self.expectDamageRefused(home)
    }

    @Test(arguments: [2, 0])
    func aTruncatedFileIsRefusedAndLeftAlone(divisor: Int) throws {
        let home = try TemporaryHome()
        try Fixture.populate(home, shares: 20)
        let path = home.directory.database
        let size = try #require(Bytes.fileSize(path))
        try Bytes.truncate(path, to: divisor == 0 ? 0 : size / divisor)
        Self.expectDamageRefused(home, saying: divisor == 0 ? "missing or empty" : "damaged")
    }

    @Test func aFileThatIsNotSQLiteIsRefused() throws {
        let home = try TemporaryHome()
        try Fixture.populate(home, shares: 1)
        try Data("this is not a database, just some text that happens to be here\n".utf8)
            .write(to: URL(fileURLWithPath: home.directory.database))
        Self.expectDamageRefused(home)
    }
}
