import Foundation
import GRDB
import MeetKitCore
import MeetKitStore
import Testing

/// The schema itself keeps `entries` append-only, whatever SQL reaches the file
/// (Protocol/storage.md §Database). Raw SQL goes through GRDB straight to the file.
@Suite struct SchemaTests {
    static let refusedChanges = [
        "UPDATE entries SET sealed = zeroblob(length(sealed)) WHERE rowid = 3",
        "UPDATE entries SET feed = zeroblob(32) WHERE rowid = 3",
        "UPDATE entries SET sequence = sequence + 100 WHERE rowid = 3",
        "UPDATE entries SET rowid = 1000 WHERE rowid = 3",
        "UPDATE entries SET body = zeroblob(length(body)) WHERE rowid = 3",
        "DELETE FROM entries WHERE rowid = 3",
        "DELETE FROM entries",
        "INSERT OR REPLACE INTO entries (feed, sequence, sealed) SELECT feed, sequence, x'00' FROM entries WHERE rowid = 3",
        "INSERT OR REPLACE INTO entries (rowid, feed, sequence, sealed) SELECT rowid, zeroblob(32), 1, x'00' FROM entries WHERE rowid = 3",
        "REPLACE INTO entries (feed, sequence, sealed) SELECT feed, sequence, sealed FROM entries WHERE rowid = 3",
    ]

    @Test(arguments: refusedChanges)
    func refusesChangesToStoredEntries(sql: String) throws {
        let home = try TemporaryHome()
        try Fixture.populate(home, shares: 3)
        let queue = try DatabaseQueue(path: home.directory.database)
        let rowsBefore = try queue.read { try Row.fetchAll($0, sql: "SELECT rowid, feed, sequence, sealed, body FROM entries") }

        #expect(throws: DatabaseError.self) {
            try queue.write { try $0.execute(sql: sql) }
        }

        let rowsAfter = try queue.read { try Row.fetchAll($0, sql: "SELECT rowid, feed, sequence, sealed, body FROM entries") }
        #expect(rowsAfter == rowsBefore)
        try queue.close()
        #expect(try Fixture.open(home).verify().entries == 5)
    }

    @Test func refusalNamesTheRule() throws {
        let home = try TemporaryHome()
        try Fixture.populate(home, shares: 1)
        let queue = try DatabaseQueue(path: home.directory.database)
        defer { try? queue.close() }
        do {
            try queue.write { try $0.execute(sql: "DELETE FROM entries WHERE rowid = 1") }
            Issue.record("DELETE was accepted")
        } catch let error as DatabaseError {
            #expect(error.message?.contains("append-only") == true)
        }
    }

    @Test func allowsDroppingABody() throws {
        let home = try TemporaryHome()
        let group = try Fixture.populate(home, shares: 3)
        let queue = try DatabaseQueue(path: home.directory.database)
        try queue.write { try $0.execute(sql: "UPDATE entries SET body = NULL WHERE rowid = 4") }
        #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM entries WHERE body IS NULL") } == 1)
        try queue.close()

        let store = try Fixture.open(home)
        let items = store.log(of: group)
        #expect(items.count == 5)
        #expect(items[3].entry.body == nil)
        #expect(items[3].content == nil)
        #expect(items.enumerated().allSatisfy { $0.offset == 3 || $0.element.content != nil })
        let report = try store.verify()
        #expect(report.entries == 5)
        #expect(report.bodies == 4)
    }

    @Test func aNewEntryStillAppends() throws {
        let home = try TemporaryHome()
        let group = try Fixture.populate(home, shares: 1)
        let store = try Fixture.open(home)
        let entry = try store.append(.share(Share(text: "more")), to: group, at: Date())
        #expect(entry.header.sequence == 4)
    }
}
