import GRDB

/// The database schema (Protocol/storage.md §Database). Nothing in it is readable without
/// the store key: rows hold keyed tags, sequence numbers and sealed blobs.
enum Schema {
    static let version = 1

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
            PRAGMA user_version = \(version);
            """)
    }

    static func isCurrent(_ db: Database) throws -> Bool {
        try Int.fetchOne(db, sql: "PRAGMA user_version") == version
            && db.tableExists("entries") && db.tableExists("meta") && db.tableExists("groups")
    }
}
