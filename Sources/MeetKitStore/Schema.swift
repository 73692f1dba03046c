import GRDB

/// The database schema (Protocol/storage.md §Database). Nothing in it is readable without
/// the store key: rows hold keyed tags, sequence numbers and sealed blobs.
enum Schema {
    /// 2 added the `forks` table (Protocol/storage.md §Database); `migrate` brings a version 1
    /// log forward.
    static let version = 2

    static func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, sealed BLOB NOT NULL);
            CREATE TABLE groups (tag BLOB PRIMARY KEY NOT NULL, sealed BLOB NOT NULL);
            CREATE TABLE entries (
                rowid INTEGER PRIMARY KEY,
                feed BLOB NOT NULL,
                sequence INTEGER NOT NULL CHECK (sequence > 0),
                sealed BLOB NOT NULL,
                body BLOB,
                UNIQUE (feed, sequence)
            );
            CREATE TRIGGER entries_append_only BEFORE DELETE ON entries
            BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;
            -- INSERT OR REPLACE deletes the row it replaces without firing DELETE triggers.
            CREATE TRIGGER entries_never_replaced BEFORE INSERT ON entries
            WHEN EXISTS (SELECT 1 FROM entries WHERE rowid = NEW.rowid OR (feed = NEW.feed AND sequence = NEW.sequence))
            BEGIN SELECT RAISE(ABORT, 'entries are append-only: an entry cannot be replaced'); END;
            CREATE TRIGGER entries_only_drop_body BEFORE UPDATE ON entries
            WHEN NEW.rowid IS NOT OLD.rowid OR NEW.feed IS NOT OLD.feed OR NEW.sequence IS NOT OLD.sequence
                OR NEW.sealed IS NOT OLD.sealed OR NEW.body IS NOT NULL
            BEGIN SELECT RAISE(ABORT, 'entries are append-only: only a body may be dropped'); END;
            """)
        try createForks(db)
        try db.execute(sql: "PRAGMA user_version = \(version)")
    }

    /// Proofs of equivocation: per quarantined feed, its two entries at one sequence, sealed.
    private static func createForks(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE forks (feed BLOB PRIMARY KEY NOT NULL, sealed BLOB NOT NULL);
            CREATE TRIGGER forks_append_only BEFORE DELETE ON forks
            BEGIN SELECT RAISE(ABORT, 'fork proofs are kept'); END;
            """)
    }

    /// Brings an older log forward; leaves a current one (or a newer one, which `isCurrent`
    /// then refuses) alone.
    static func migrate(_ db: Database) throws {
        guard try Int.fetchOne(db, sql: "PRAGMA user_version") == 1, try db.tableExists("entries") else { return }
        try createForks(db)
        try db.execute(sql: "PRAGMA user_version = \(version)")
    }

    static func isCurrent(_ db: Database) throws -> Bool {
        try Int.fetchOne(db, sql: "PRAGMA user_version") == version
            && db.tableExists("entries") && db.tableExists("meta") && db.tableExists("groups") && db.tableExists("forks")
    }
}
