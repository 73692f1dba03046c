import Foundation
import GRDB
import MeetKitCore
import MeetKitCrypto

/// A member's node on disk: identity, group keys and the append-only log, all sealed at rest
/// (Protocol/storage.md). One process at a time holds a `Store`; others wait for its lock.
///
/// Every method that changes the log commits one SQLite transaction in WAL mode with
/// `synchronous=FULL` before it returns, so a returned entry survives a crash or power cut.
public final class Store {
    public let directory: DataDirectory
    public let identity: SigningKey
    public private(set) var pseudonym: String

    private let lock: DirectoryLock
    private let database: DatabaseQueue
    let atRest: AtRest
    var keys: [GroupID: GroupKeys] = [:]
    var logs: [GroupID: GroupLog] = [:]
    /// Groups this node, restored from a backup, has not yet synced its own feed in: it writes
    /// nothing there until it has (Protocol/storage.md §Identity backup). With each, the
    /// members the backup knew: whom to dial while the log is still empty.
    var awaitingOwnFeed: [GroupID: [PublicKey]] = [:]
    /// Membership entries this member could not read yet (their epoch's keys come later).
    private var unreadableMembership: [GroupID: [Entry]] = [:]
    /// Entries stored since `drainNewEntries` last ran: what a node pushes to its peers.
    private var unannounced: [Entry] = []

    public var memberID: PublicKey { identity.publicKey }

    private init(
        directory: DataDirectory, lock: DirectoryLock, database: DatabaseQueue, keystore: Keystore, pseudonym: String
    ) {
        self.directory = directory
        self.lock = lock
        self.database = database
        self.identity = keystore.identity
        self.atRest = AtRest(storeKey: keystore.storeKey)
        self.pseudonym = pseudonym
    }

    // MARK: - Creating and opening

    /// Creates a new node in `directory` (made if missing) for a member called `pseudonym`.
    public static func create(
        at directory: DataDirectory, passphrase: SecretBytes, pseudonym: String, cost: Argon2id.Cost = .moderate
    ) throws -> Store {
        try create(at: directory, passphrase: passphrase, pseudonym: pseudonym, cost: cost, identity: .generate()) { _, _ in }
    }

    /// Creates a node for `identity`; `prepare` adds to the new database in the same
    /// transaction, before the keystore is written.
    static func create(
        at directory: DataDirectory, passphrase: SecretBytes, pseudonym: String, cost: Argon2id.Cost, identity: SigningKey,
        prepare: (Store, Database) throws -> Void
    ) throws -> Store {
        guard passphrase.count >= 8 else {
            throw StoreError(.weakPassphrase, "Choose a passphrase of at least 8 characters.")
        }
        do { _ = try EntryContent.profile(pseudonym: pseudonym).encoded() } catch {
            throw StoreError(.invalidContent, "The name cannot be used: \(error.explanation).")
        }
        try FileSystem.createDirectory(directory.path)
        guard FileSystem.isWritableDirectory(directory.path) else { throw FileSystem.ioError("write in", directory.path) }
        let lock = try DirectoryLock(path: directory.lock)
        guard !FileSystem.exists(directory.keystore) else {
            throw StoreError(.alreadyInitialized, "\(directory.path) already holds a MeetKit node; nothing was changed.")
        }
        guard try !FileSystem.exists(directory.database) || removeLeftoverOfInterruptedCreate(directory) else {
            throw StoreError(
                .alreadyInitialized,
                "\(directory.path) holds a log but no keystore; move it aside before running init again.")
        }

        let keystore = Keystore(identity: identity, storeKey: SecretBytes(randomCount: 32))
        let sealedKeystore = try keystore.sealed(passphrase: passphrase, cost: cost)
        let database = try openDatabase(directory)
        let store = Store(directory: directory, lock: lock, database: database, keystore: keystore, pseudonym: pseudonym)
        try store.write { db in
            try Schema.create(db)
            try store.putMeta(db, "check", Array("meetkit".utf8))
            try store.putMeta(db, "pseudonym", Array(pseudonym.utf8))
            try prepare(store, db)
        }
        // The keystore comes last: its presence is what marks a node as set up.
        try FileSystem.writeAtomically(sealedKeystore, to: directory.keystore)
        return store
    }

    /// Removes the log a `create` cut short (by a crash or power cut) left without a keystore,
    /// if it holds no entry; true if it did (or there was none). Without its keystore a log
    /// cannot be read by anyone, but one that holds entries is left for the member to decide.
    private static func removeLeftoverOfInterruptedCreate(_ directory: DataDirectory) throws -> Bool {
        let entries: Int
        do {
            let queue = try DatabaseQueue(path: directory.database)
            defer { try? queue.close() }
            entries = try queue.read { db in
                try db.tableExists("entries") ? try Int.fetchOne(db, sql: "SELECT count(*) FROM entries") ?? 0 : 0
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            entries = 0  // Its first page never reached the disk.
        } catch {
            return false
        }
        guard entries == 0 else { return false }
        for name in ["log.sqlite", "log.sqlite-wal", "log.sqlite-shm", "log.sqlite-journal", "keystore.tmp"] {
            let path = directory.file(name)
            guard unlink(path) == 0 || errno == ENOENT else { throw FileSystem.ioError("remove", path) }
        }
        try FileSystem.syncDirectory(directory.path)
        return true
    }

    /// Opens the node in `directory`, unlocking it with `passphrase`.
    public static func open(at directory: DataDirectory, passphrase: SecretBytes) throws -> Store {
        guard FileSystem.exists(directory.keystore) else {
            throw StoreError(.notInitialized, "No MeetKit node in \(directory.path); run 'meetkit init --name NAME' first.")
        }
        guard FileSystem.isWritableDirectory(directory.path) else { throw FileSystem.ioError("write in", directory.path) }
        let lock = try DirectoryLock(path: directory.lock)
        let keystore = try Keystore.unseal(
            try FileSystem.read(directory.keystore), passphrase: passphrase, path: directory.keystore)
        guard let size = FileSystem.size(directory.database), size > 0 else {
            throw StoreError(
                .damagedDatabase,
                "The log \(directory.database) is missing or empty; restore it from a backup, or sync it again from another member.")
        }
        let database = try openDatabase(directory)
        let store = Store(directory: directory, lock: lock, database: database, keystore: keystore, pseudonym: "")
        try store.write { db in try Schema.migrate(db) }
        try store.load()
        return store
    }

    private static func openDatabase(_ directory: DataDirectory) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // FULL: a commit is on disk when it returns. MEMORY: no plaintext in temp files.
            // secure_delete: a dropped body's bytes are overwritten, not just unlinked.
            try db.execute(sql: "PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY; PRAGMA secure_delete = ON")
        }
        do {
            let queue = try DatabaseQueue(path: directory.database, configuration: configuration)
            // SQLite gives the -wal and -shm files the database file's mode.
            chmod(directory.database, 0o600)
            try queue.writeWithoutTransaction { db in
                if try String.fetchOne(db, sql: "PRAGMA journal_mode") != "wal" {
                    try db.execute(sql: "PRAGMA journal_mode = WAL")
                }
            }
            return queue
        } catch {
            throw Self.storeError(error, directory)
        }
    }

    // MARK: - Loading

    private func load() throws {
        try read { db in
            // Reading every row does not visit the indexes; a damaged index would go unnoticed
            // until a later write. quick_check walks every page (about 15 ms for 10 MB).
            let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
            guard check == ["ok"] else {
                throw StoreError(
                    .damagedDatabase,
                    "The log \(directory.database) is damaged: SQLite reports \(Self.summarize(check)). Nothing was changed.")
            }
            guard try Schema.isCurrent(db) else {
                throw StoreError(.damagedDatabase, "\(directory.database) is not a MeetKit log, or was written by a newer MeetKit.")
            }
            guard try getMeta(db, "check") == Array("meetkit".utf8) else {
                throw StoreError(.damagedDatabase, "The log \(directory.database) does not belong to this keystore, or is damaged.")
            }
            pseudonym = try getMeta(db, "pseudonym").flatMap { String(validating: $0, as: UTF8.self) } ?? ""
            awaitingOwnFeed = Self.decodeRestored(try getMeta(db, "restored") ?? [])
            for row in try Row.fetchAll(db, sql: "SELECT tag, sealed FROM groups") {
                let tag: [UInt8] = [UInt8](row["tag"] as Data)
                guard var plain = atRest.open([UInt8](row["sealed"] as Data), context: Array("group".utf8) + tag),
                      let groupKeys = GroupKeys(decoding: plain), atRest.groupTag(groupKeys.group) == tag
                else { throw damagedRow("a group's keys") }
                SecretBytes.wipe(&plain)
                keys[groupKeys.group] = groupKeys
                logs[groupKeys.group] = GroupLog()
            }
            let rows = try Row.fetchCursor(db, sql: "SELECT rowid, feed, sequence, sealed, body FROM entries ORDER BY rowid")
            while let row = try rows.next() {
                let entry = try unsealEntry(row)
                // The body is not sealed at rest, only bound by the hash in the sealed header:
                // check it (cheap), so a damaged body is neither shown as unreadable nor served.
                if let body = entry.body,
                   body.count != Int(entry.header.bodyLength) || BLAKE2b.hash(body) != entry.header.bodyHash {
                    throw damagedRow("the body of entry \(row["rowid"] as Int64)")
                }
                record(entry, announce: false)
            }
            for row in try Row.fetchAll(db, sql: "SELECT feed, sealed FROM forks") {
                let feed = [UInt8](row["feed"] as Data)
                guard let plain = atRest.open([UInt8](row["sealed"] as Data), context: Array("fork".utf8) + feed),
                    plain.count == 2 * Entry.wireLength,
                    let first = try? Entry(wire: Array(plain.prefix(Entry.wireLength)), body: nil),
                    let second = try? Entry(wire: Array(plain.suffix(Entry.wireLength)), body: nil),
                    let fork = Fork(first, second)
                else { throw damagedRow("a fork proof") }
                logs[first.group, default: GroupLog()].membership.quarantine(fork)
            }
        }
    }

    private func unsealEntry(_ row: Row) throws -> Entry {
        let feed = [UInt8](row["feed"] as Data)
        let sequence: Int64 = row["sequence"]
        let body = (row["body"] as Data?).map { [UInt8]($0) }
        guard let wire = atRest.open(
            [UInt8](row["sealed"] as Data), context: AtRest.entryContext(feed: feed, sequence: UInt64(sequence)))
        else { throw damagedRow("entry \(row["rowid"] as Int64)") }
        let entry: Entry
        do { entry = try Entry(storedWire: wire, body: body) } catch { throw damagedRow("entry \(row["rowid"] as Int64)") }
        guard entry.header.sequence == UInt64(sequence), atRest.feedTag(group: entry.group, author: entry.header.author) == feed
        else { throw damagedRow("entry \(row["rowid"] as Int64)") }
        return entry
    }

    private func damagedRow(_ what: String) -> StoreError {
        StoreError(.damagedDatabase, "The log \(directory.database) is damaged: \(what) fails authentication. Nothing was changed.")
    }

    // MARK: - Groups

    /// Groups this member belongs to, by name.
    public var groups: [GroupSummary] {
        keys.keys.map { summary(of: $0) }.sorted { ($0.name ?? "", $0.id) < ($1.name ?? "", $1.id) }
    }

    /// Counts, name and digest of a group, without decrypting more than its genesis.
    public func summary(of group: GroupID) -> GroupSummary {
        let log = logs[group] ?? GroupLog()
        let ordered = log.entries.sorted { $0.position < $1.position }
        var name: String?
        if let genesis = ordered.first(where: { $0.id == EntryID(bytes: group.bytes) }),
           case .genesis(let genesisName)? = try? content(of: genesis) {
            name = genesisName
        }
        return GroupSummary(
            id: group, name: name, entries: log.entries.count, feeds: log.heads.count,
            epoch: keys[group]?.currentEpoch ?? 0, digest: LogDigest.digest(ofOrderedIDs: ordered.map(\.id)))
    }

    /// Picks a group by name or id prefix; with no selector, the only group there is.
    public func resolveGroup(_ selector: String?) throws -> GroupID {
        let all = groups
        guard let selector else {
            if all.count == 1 { return all[0].id }
            if all.isEmpty { throw StoreError(.noGroup, "You are in no group yet; create one with 'meetkit group create NAME'.") }
            throw StoreError(.ambiguousGroup, "You are in \(all.count) groups; choose one with --group NAME.")
        }
        let matches = all.filter { $0.name == selector || (selector.count >= 4 && $0.id.hex.hasPrefix(selector.lowercased())) }
        guard matches.count == 1 else {
            if matches.isEmpty { throw StoreError(.unknownGroup, "You are in no group called \(selector).") }
            throw StoreError(.ambiguousGroup, "More than one group matches \(selector); use the group id.")
        }
        return matches[0].id
    }

    /// Founds a group: its genesis entry (epoch 0 keys drawn fresh) and this member's profile.
    @discardableResult
    public func createGroup(name: String, at time: Date) throws -> GroupID {
        let epoch = GroupKeys.Epoch(
            number: 0, contentKey: SecretBytes(randomCount: AEAD.keyLength), networkKey: SecretBytes(randomCount: 32))
        let genesis = try author(.genesis(name: name), group: nil, after: nil, lamport: 1, epoch: 0, key: epoch.contentKey, at: time)
        let group = genesis.group
        let profile = try author(
            .profile(pseudonym: pseudonym), group: group, after: genesis.head, lamport: 2, epoch: 0,
            key: epoch.contentKey, at: time)
        let groupKeys = GroupKeys(group: group, epochs: [epoch])
        try write { db in
            try insertKeys(groupKeys, db)
            try insert([genesis, profile], in: group, db)
        }
        keys[group] = groupKeys
        logs[group] = GroupLog()
        for entry in [genesis, profile] { record(entry) }
        return group
    }

    // MARK: - Writing

    /// Signs `content` as this member's next entry in `group` and stores it durably.
    @discardableResult
    public func append(_ content: EntryContent, to group: GroupID, at time: Date) throws -> Entry {
        guard let epoch = keys[group]?.current else {
            throw StoreError(.unknownGroup, "You are not a member of group \(group.short).")
        }
        guard logs[group]?.removedAt[memberID] == nil else {
            throw StoreError(.notPermitted, "You were removed from this group; nothing was written.")
        }
        guard awaitingOwnFeed[group] == nil else {
            throw StoreError(
                .notPermitted,
                "This node was restored from a backup and has not yet fetched your earlier entries; sync with a member ('meetkit sync --peer', or 'meetkit run') or import a bundle first, so that nothing is written twice under your key.")
        }
        let log = logs[group]
        let entry = try author(
            content, group: group, after: log?.heads[memberID], lamport: (log?.maxLamport ?? 0) + 1,
            epoch: epoch.number, key: epoch.contentKey, at: time)
        try write { db in try insert([entry], in: group, db) }
        record(entry)
        return entry
    }

    func author(
        _ content: EntryContent, group: GroupID?, after head: FeedHead?, lamport: UInt64, epoch: UInt32,
        key: SecretBytes, at time: Date
    ) throws -> Entry {
        do {
            return try Entry.create(
                content: content, group: group, after: head, lamport: lamport,
                timestamp: Int64((time.timeIntervalSince1970 * 1000).rounded()), epoch: epoch, author: identity,
                contentKey: key, nonce: SecureRandom.bytes(AEAD.nonceLength))
        } catch {
            throw StoreError(.invalidContent, "Nothing was written: \(error.explanation).")
        }
    }

    /// Validates `entries` in order against the group's feeds and inserts them. The caller
    /// adds them to `logs` once the transaction has committed.
    func insert(_ entries: [Entry], in group: GroupID, _ db: Database) throws {
        var heads: [PublicKey: FeedHead] = [:]
        var feeds: [PublicKey: [UInt8]] = [:]
        let statement = try db.cachedStatement(sql: "INSERT INTO entries (feed, sequence, sealed, body) VALUES (?, ?, ?, ?)")
        for entry in entries {
            let author = entry.header.author
            do { try entry.validateLink(after: heads[author] ?? logs[group]?.heads[author], in: group) } catch {
                throw StoreError(.invalidEntry, "Entry \(entry.id.short) was refused: \(error.explanation).")
            }
            let feed = feeds[author] ?? atRest.feedTag(group: group, author: author)
            feeds[author] = feed
            try statement.execute(
                arguments: [
                    Data(feed), Int64(entry.header.sequence),
                    Data(atRest.seal(entry.wire, context: AtRest.entryContext(feed: feed, sequence: entry.header.sequence))),
                    entry.body.map { Data($0) },
                ])
            heads[author] = entry.head
        }
    }

    /// Seals a group's keys into the `groups` table.
    func insertKeys(_ groupKeys: GroupKeys, _ db: Database) throws {
        let tag = atRest.groupTag(groupKeys.group)
        var plain = groupKeys.encoded()
        defer { SecretBytes.wipe(&plain) }
        try db.execute(
            sql: "INSERT INTO groups (tag, sealed) VALUES (?, ?)",
            arguments: [Data(tag), Data(atRest.seal(plain, context: Array("group".utf8) + tag))])
    }

    /// Adds a stored entry to the in-memory index, folding membership (and opening the keys of
    /// a re-key sealed to this member) as it goes.
    func record(_ entry: Entry, announce: Bool = true) {
        if announce { unannounced.append(entry) }
        logs[entry.group, default: GroupLog()].add(entry)
        if entry.header.kind.changesMembership { foldMembership(of: entry) }
    }

    /// Folds a membership entry, or keeps it until its epoch's keys arrive.
    private func foldMembership(of entry: Entry) {
        guard let content = (try? content(of: entry)) ?? nil else {
            unreadableMembership[entry.group, default: []].append(entry)
            return
        }
        logs[entry.group]?.membership.fold(content, author: entry.header.author)
        if case .rekey(let rekey) = content, openKeys(of: rekey, in: entry.group) {
            for waiting in unreadableMembership.removeValue(forKey: entry.group) ?? [] { foldMembership(of: waiting) }
        }
    }

    /// Adds the keys `rekey` sealed to this member, if it sealed any; true if they were new.
    @discardableResult
    func openKeys(of rekey: Rekey, in group: GroupID) -> Bool {
        guard let sealed = rekey.keys.first(where: { $0.recipient == memberID }), let publicKey = try? memberID.curve25519(),
            var plain = SealedBox.open(sealed.box, publicKey: publicKey, secretKey: identity.curve25519SecretKey())
        else { return false }
        defer { SecretBytes.wipe(&plain) }
        guard let opened = EpochKeys(decoding: plain), opened.group == group, opened.epoch == rekey.epoch else { return false }
        return keys[group]?.add(GroupKeys.Epoch(number: opened.epoch, contentKey: opened.contentKey, networkKey: opened.networkKey)) ?? false
    }

    /// The entries stored since the last call, in the order they were stored.
    public func drainNewEntries() -> [Entry] {
        defer { unannounced = [] }
        return unannounced
    }

    /// The decrypted content of `entry`, or nil when this member holds no key of its epoch.
    func content(of entry: Entry) throws -> EntryContent? {
        for set in keys[entry.group]?.sets(of: entry.header.epoch) ?? [] {
            if let content = try entry.openContent(contentKey: set.contentKey) { return content }
        }
        return nil
    }

    // MARK: - Reading

    /// The group's entries in log order, with content decrypted where this member can read it.
    public func log(of group: GroupID) -> [LogItem] {
        (logs[group]?.entries ?? []).sorted { $0.position < $1.position }.map { entry in
            LogItem(entry: entry, content: (try? content(of: entry)) ?? nil)
        }
    }

    public func state(of group: GroupID) -> GroupState {
        GroupState(items: log(of: group))
    }

    public var entryCount: Int { logs.values.reduce(0) { $0 + $1.entries.count } }

    // MARK: - Verification

    /// Re-checks everything from the files: SQLite's integrity check, every row's sealing,
    /// every signature, every feed's chain and every held body's hash.
    public func verify() throws -> VerificationReport {
        var report = VerificationReport()
        try read { db in
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            guard integrity == ["ok"] else {
                throw StoreError(
                    .damagedDatabase, "The log \(directory.database) is damaged: SQLite reports \(Self.summarize(integrity)).")
            }
            var heads: [[UInt8]: FeedHead] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT rowid, feed, sequence, sealed, body FROM entries ORDER BY feed, sequence")
            while let row = try rows.next() {
                let stored = try unsealEntry(row)
                let entry: Entry
                do throws(EntryError) {
                    entry = try Entry(wire: stored.wire, body: stored.body)
                    try entry.validateLink(after: heads[stored.header.author.bytes + stored.group.bytes], in: stored.group)
                } catch {
                    throw StoreError(
                        .verificationFailed,
                        "Entry \(stored.header.sequence) of \(stored.header.author.fingerprint)'s feed is invalid: \(error.explanation).")
                }
                heads[entry.header.author.bytes + entry.group.bytes] = entry.head
                report.entries += 1
                if entry.body != nil { report.bodies += 1 }
            }
            report.feeds = heads.count
            report.groups = Set(heads.keys.map { Array($0[32...]) }).count
        }
        return report
    }

    // MARK: - Database access

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.read(body) } catch { throw Self.storeError(error, directory) }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.write(body) } catch { throw Self.storeError(error, directory) }
    }

    /// Copies the write-ahead log into the database and truncates it to nothing: after bodies
    /// were dropped, no old copy of their pages is left in the -wal file.
    func checkpoint() throws {
        do {
            try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        } catch {
            throw Self.storeError(error, directory)
        }
    }

    func putMeta(_ db: Database, _ key: String, _ value: [UInt8]) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO meta (key, sealed) VALUES (?, ?)",
            arguments: [key, Data(atRest.seal(value, context: Array("meta:\(key)".utf8)))])
    }

    private func getMeta(_ db: Database, _ key: String) throws -> [UInt8]? {
        guard let sealed = try Data.fetchOne(db, sql: "SELECT sealed FROM meta WHERE key = ?", arguments: [key]) else {
            return nil
        }
        guard let plain = atRest.open([UInt8](sealed), context: Array("meta:\(key)".utf8)) else {
            throw damagedRow("the \(key) record")
        }
        return plain
    }

    /// The first problems an integrity or quick check reports, on one line (its rows can hold
    /// several lines, headed "*** in database main ***").
    static func summarize(_ report: [String]) -> String {
        let problems = report.flatMap { $0.split(whereSeparator: \.isNewline) }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("***") }
        return problems.prefix(3).joined(separator: "; ")
    }

    static func storeError(_ error: Error, _ directory: DataDirectory) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let error = error as? DatabaseError else {
            return StoreError(.io, "The log \(directory.database) could not be used: \(error).")
        }
        let path = directory.database
        switch error.resultCode {
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return StoreError(.damagedDatabase, "The log \(path) is damaged (\(error.message ?? "corrupt")); nothing was changed. Restore it from a backup or sync it again from another member.")
        case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_AUTH:
            return StoreError(.readOnly, "Cannot write the log \(path): the data directory must be writable.")
        case .SQLITE_FULL:
            return StoreError(.diskFull, "The disk holding \(path) is full; nothing was written.")
        case .SQLITE_IOERR where FileSystem.isFull(directory.path):
            // SQLite reports a full disk as SQLITE_FULL only for its main files: growing the
            // -shm index, say, fails with a plain I/O error.
            return StoreError(.diskFull, "The disk holding \(path) is full; nothing was written.")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StoreError(.busy, "The log \(path) is in use by another process; try again.")
        case .SQLITE_IOERR:
            return StoreError(.io, "Reading or writing \(path) failed (\(error.message ?? "I/O error")); nothing was changed.")
        case .SQLITE_CONSTRAINT:
            return StoreError(.invalidEntry, "The log refused the change: \(error.message ?? "constraint failed").")
        default:
            return StoreError(.io, "The log \(path) could not be used: \(error.message ?? "SQLite error \(error.resultCode.rawValue)").")
        }
    }
}

/// One group as `meetkit status` shows it.
public struct GroupSummary: Sendable {
    public let id: GroupID
    public let name: String?
    public let entries: Int
    public let feeds: Int
    public let epoch: UInt32
    public let digest: [UInt8]
}

/// What `verify` checked.
public struct VerificationReport: Sendable {
    public var entries = 0
    public var bodies = 0
    public var feeds = 0
    public var groups = 0
}

/// The in-memory index of one group's log.
struct GroupLog {
    private(set) var entries: [Entry] = []
    private(set) var heads: [PublicKey: FeedHead] = [:]
    private(set) var maxLamport: UInt64 = 0
    private(set) var ids: Set<EntryID> = []
    /// Who may write what: kept apart so that `ingest` can work on a copy of it without
    /// sharing (and so later copying) the entries.
    var membership = Membership()

    var admitted: Set<PublicKey> { membership.admitted }
    var removedAt: [PublicKey: UInt32] { membership.removedAt }
    var quarantined: [PublicKey: Store.Fork] { membership.quarantined }
    /// Members now: admitted and not removed.
    var members: Set<PublicKey> { membership.admitted.filter { membership.removedAt[$0] == nil } }

    /// The entry of `author`'s feed at `sequence`, if held.
    func entry(by author: PublicKey, at sequence: UInt64) -> Entry? {
        entries.first { $0.header.author == author && $0.header.sequence == sequence }
    }

    /// Forgets the body of entry `id`, keeping its signed header.
    mutating func dropBody(of id: EntryID) {
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return }
        entries[index] = entries[index].droppingBody()
    }

    mutating func add(_ entry: Entry) {
        entries.append(entry)
        ids.insert(entry.id)
        heads[entry.header.author] = entry.head
        maxLamport = max(maxLamport, entry.header.lamport)
    }
}

/// What the membership entries of a group say, for deciding what to accept. Unlike
/// `GroupState`, which folds in log order, this only grows (or, for removals, takes the
/// earliest epoch), so it is the same whatever order entries arrive in: what a node accepts
/// never depends on arrival order.
struct Membership {
    /// The founder and every member ever added: their entries are accepted, up to the epoch
    /// of their removal.
    private(set) var admitted: Set<PublicKey> = []
    /// Every member ever made an admin (Protocol/epochs.md §Roles): who may invite, re-key
    /// and grant roles.
    private(set) var admins: Set<PublicKey> = []
    /// Removed members, with the first epoch they hold no key of.
    private(set) var removedAt: [PublicKey: UInt32] = [:]
    /// Feeds whose authors equivocated: no more of them is accepted (Protocol/sync.md §Forks).
    private(set) var quarantined: [PublicKey: Store.Fork] = [:]

    mutating func quarantine(_ fork: Store.Fork) {
        if quarantined[fork.author] == nil { quarantined[fork.author] = fork }
    }

    mutating func fold(_ content: EntryContent, author: PublicKey) {
        switch content {
        case .genesis:
            admitted.insert(author)
            admins.insert(author)
        case .memberAdd(let add):
            admitted.insert(add.member)
        case .roleGrant(let member):
            if admins.contains(author) { admins.insert(member) }
        case .rekey(let rekey):
            guard admins.contains(author) else { return }
            for member in rekey.removed { removedAt[member] = min(removedAt[member] ?? rekey.epoch, rekey.epoch) }
        default:
            break
        }
    }
}

extension EntryKind {
    /// Kinds that change who is a member or admin, or the keys: their content must be readable
    /// to be accepted, and is folded into `GroupLog`.
    var changesMembership: Bool {
        switch self {
        case .genesis, .memberAdd, .rekey, .roleGrant: true
        default: false
        }
    }

    /// Kinds only an admin may write.
    var needsAdmin: Bool {
        switch self {
        case .invite, .rekey, .roleGrant, .retention: true
        default: false
        }
    }
}
