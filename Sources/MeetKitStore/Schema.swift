import GRDB

/// The database schema (Protocol/storage.md §Database). Nothing in it is readable without
/// the store key: rows hold keyed tags, sequence numbers and sealed blobs.
enum Schema {
    /// 2 added the `forks` table; 3 the `cuts` table, and entries may be deleted past a feed's
    /// cut (Protocol/storage.md §Database). Version 3 also changed what rows hold (bodies
    /// sealed, keys with their re-key): older logs are not brought forward.
    static let version = 3

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
            CREATE TABLE cuts (feed BLOB PRIMARY KEY NOT NULL, last INTEGER NOT NULL);
            -- An entry leaves the log only when it stands past its feed's cut (a removal, a
            -- fork, or an author who was never admitted: cut at 0).
            CREATE TRIGGER entries_append_only BEFORE DELETE ON entries
            WHEN NOT EXISTS (SELECT 1 FROM cuts WHERE cuts.feed = OLD.feed AND OLD.sequence > cuts.last)
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

    static func isCurrent(_ db: Database) throws -> Bool {
        try Int.fetchOne(db, sql: "PRAGMA user_version") == version
            && db.tableExists("entries") && db.tableExists("meta") && db.tableExists("groups") && db.tableExists("forks")
            && db.tableExists("cuts")
    }
}
