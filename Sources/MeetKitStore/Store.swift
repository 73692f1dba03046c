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
    /// Entries stored since `drainNewEntries` last ran: what a node pushes to its peers.
    var unannounced: [Entry] = []

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
                throw StoreError(.damagedDatabase, "\(directory.database) is not a MeetKit log, or was written by another version of MeetKit; nothing was changed.")
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
            for row in try Row.fetchAll(db, sql: "SELECT feed, sealed FROM forks") {
                let feed = [UInt8](row["feed"] as Data)
                guard let plain = atRest.open([UInt8](row["sealed"] as Data), context: Array("fork".utf8) + feed),
                    plain.count == 2 * Entry.wireLength,
                    let first = try? Entry(wire: Array(plain.prefix(Entry.wireLength)), body: nil),
                    let second = try? Entry(wire: Array(plain.suffix(Entry.wireLength)), body: nil),
                    let fork = Fork(first, second)
                else { throw damagedRow("a fork proof") }
                logs[first.group, default: GroupLog()].ledger.quarantine(fork)
            }
            // Entries in the order they were stored: each feed in order, every membership
            // entry before what it allowed. The state is folded once per group at the end.
            let rows = try Row.fetchCursor(db, sql: "SELECT rowid, feed, sequence, sealed, body FROM entries ORDER BY rowid")
            while let row = try rows.next() {
                let entry = try unsealEntry(row)
                logs[entry.group, default: GroupLog()].add(stateItem(of: entry), fold: false)
            }
        }
        for group in logs.keys { logs[group]?.refold() }
    }

    /// An entry row: its header and signature, and its body (when held), each sealed under the
    /// store key and bound to the row's feed and sequence (Protocol/storage.md §Database).
    private func unsealEntry(_ row: Row) throws -> Entry {
        let feed = [UInt8](row["feed"] as Data)
        let sequence = UInt64(row["sequence"] as Int64)
        let context = AtRest.entryContext(feed: feed, sequence: sequence)
        guard let wire = atRest.open([UInt8](row["sealed"] as Data), context: context) else {
            throw damagedRow("entry \(row["rowid"] as Int64)")
        }
        var body: [UInt8]?
        if let sealed = row["body"] as Data? {
            guard let opened = atRest.open([UInt8](sealed), context: AtRest.bodyContext(entry: context)) else {
                throw damagedRow("the body of entry \(row["rowid"] as Int64)")
            }
            body = opened
        }
        let entry: Entry
        do { entry = try Entry(storedWire: wire, body: body) } catch { throw damagedRow("entry \(row["rowid"] as Int64)") }
        guard entry.header.sequence == sequence, atRest.feedTag(group: entry.group, author: entry.header.author) == feed
        else { throw damagedRow("entry \(row["rowid"] as Int64)") }
        // The sealed body is bound to the row, and its hash to the sealed header: a body that
        // does not match is damage, neither shown as unreadable nor served.
        if let body, body.count != Int(entry.header.bodyLength) || BLAKE2b.hash(body) != entry.header.bodyHash {
            throw damagedRow("the body of entry \(row["rowid"] as Int64)")
        }
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
        return GroupSummary(
            id: group, name: log.state.name, entries: log.entries.count, feeds: log.heads.count,
            epoch: log.state.epoch, digest: LogDigest.digest(ofOrderedIDs: ordered.map(\.id)))
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
            number: 0, source: nil, contentKey: SecretBytes(randomCount: AEAD.keyLength), networkKey: SecretBytes(randomCount: 32))
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
        for entry in [genesis, profile] { try record(entry) }
        return group
    }

    // MARK: - Writing

    /// Signs `content` as this member's next entry in `group` and stores it durably. The entry
    /// passes the same rules as one received from a peer, and a membership entry must take
    /// effect: a node never writes what its peers would refuse or ignore.
    @discardableResult
    public func append(_ content: EntryContent, to group: GroupID, at time: Date) throws -> Entry {
        guard let log = logs[group], let epoch = writeKeys(of: group) else {
            if logs[group] != nil, keys[group] != nil {
                throw StoreError(.notPermitted, "This node does not hold the group's current keys yet; sync with a member first (if that does not help, ask an admin for an invite code and join again). Nothing was written.")
            }
            throw StoreError(.unknownGroup, "You are not a member of group \(group.short).")
        }
        guard log.state.removed[memberID] == nil else {
            throw StoreError(.notPermitted, "You were removed from this group; nothing was written.")
        }
        guard awaitingOwnFeed[group] == nil else {
            throw StoreError(
                .notPermitted,
                "This node was restored from a backup and has not yet fetched your earlier entries; sync with a member ('meetkit sync --peer', or 'meetkit run') first, so that nothing is written twice under your key.")
        }
        // One past everything held, as far as the own feed may climb at once: only a hostile
        // member's clock is ever further ahead (Protocol/entries.md §Lamport clock).
        let head = log.heads[memberID]
        let lamport = max(head.map { $0.lamport + 1 } ?? 1, min(log.maxLamport + 1, GroupState.lamportLimit(after: head)))
        guard lamport <= GroupState.maximumLamport else {
            throw StoreError(.invalidEntry, "The group's log has run out of clock values; nothing was written.")
        }
        let entry = try author(
            content, group: group, after: head, lamport: lamport,
            epoch: epoch.number, key: epoch.contentKey, at: time)
        if let refusal = log.state.refusal(of: entry, after: head) {
            throw StoreError(.notPermitted, "Nothing was written: \(refusal.explanation).")
        }
        if content.kind.isMembership, let reason = ineffectiveReason(of: entry, after: log) {
            throw StoreError(.notPermitted, "Nothing was written: the entry would have no effect (\(reason)).")
        }
        try write { db in try insert([entry], in: group, db) }
        try record(entry)
        return entry
    }

    /// Why `entry`, written at the end of `log`, would take no effect, if it would not.
    private func ineffectiveReason(of entry: Entry, after log: GroupLog) -> String? {
        var state = log.state
        if entry.header.kind == .rekey {
            guard state.admitsRekey(by: entry.header.author, at: entry.header.sequence) else { return "your feed was cut" }
            state.keep(rekey: entry.id)
        }
        state.apply(stateItem(of: entry)) { id in log.entry(id)?.header }
        return state.ineffective[entry.id]
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
            let context = AtRest.entryContext(feed: feed, sequence: entry.header.sequence)
            try statement.execute(
                arguments: [
                    Data(feed), Int64(entry.header.sequence), Data(atRest.seal(entry.wire, context: context)),
                    entry.body.map { Data(atRest.seal($0, context: AtRest.bodyContext(entry: context))) },
                ])
            heads[author] = entry.head
        }
    }

    /// Seals a group's keys into the `groups` table.
    func insertKeys(_ groupKeys: GroupKeys, _ db: Database) throws {
        try storeKeys(groupKeys, db, sql: "INSERT INTO groups (sealed, tag) VALUES (?, ?)")
    }

    /// Seals a group's keys again, after new ones were adopted.
    func updateKeys(_ groupKeys: GroupKeys, _ db: Database) throws {
        try storeKeys(groupKeys, db, sql: "UPDATE groups SET sealed = ? WHERE tag = ?")
    }

    private func storeKeys(_ groupKeys: GroupKeys, _ db: Database, sql: String) throws {
        let tag = atRest.groupTag(groupKeys.group)
        var plain = groupKeys.encoded()
        defer { SecretBytes.wipe(&plain) }
        try db.execute(sql: sql, arguments: [Data(atRest.seal(plain, context: Array("group".utf8) + tag)), Data(tag)])
    }

    /// Adds a stored entry to the in-memory index and folds the state; then adopts the keys of
    /// any re-key that took effect, and forgets what the state no longer keeps.
    func record(_ entry: Entry) throws {
        unannounced.append(entry)
        logs[entry.group, default: GroupLog()].add(stateItem(of: entry))
        if entry.header.kind.shapesState { try settle(entry.group) }
    }

    /// `entry` with its content and the key set that opened it when it shapes the group state;
    /// without content for other kinds, and when it cannot be read.
    func stateItem(of entry: Entry) -> LogItem {
        guard entry.header.kind.shapesState else { return LogItem(entry: entry, content: nil) }
        for set in keys[entry.group]?.sets(of: entry.header.epoch) ?? [] {
            if let content = (try? entry.openContent(contentKey: set.contentKey)) ?? nil {
                return LogItem(entry: entry, content: content, keys: set.source.map(KeySet.rekey) ?? .founders)
            }
        }
        return LogItem(entry: entry, content: nil)
    }

    /// After the state changed: keeps the keys of re-keys that took effect (which may make
    /// membership entries readable, and so change the state again), and removes from the files
    /// the entries no node keeps (Protocol/membership.md §Acceptance).
    func settle(_ group: GroupID) throws {
        while let log = logs[group] {
            if try adoptKeys(in: group) {
                // Entries that could not be read before may be readable now.
                try reread(group)
                continue
            }
            guard log.settledFold != log.ledger.folds else { return }
            let unkept = log.unkept()
            guard !unkept.isEmpty else {
                logs[group]?.settledFold = log.ledger.folds
                return
            }
            try write { db in
                let cut = try db.cachedStatement(sql: "INSERT OR REPLACE INTO cuts (feed, last) VALUES (?, ?)")
                let delete = try db.cachedStatement(sql: "DELETE FROM entries WHERE feed = ? AND sequence = ?")
                for entry in log.entries where unkept.contains(entry.id) {
                    let feed = atRest.feedTag(group: group, author: entry.header.author)
                    let last = log.state.cuts[entry.header.author] ?? 0
                    try cut.execute(arguments: [Data(feed), Int64(clamping: last)])
                    try delete.execute(arguments: [Data(feed), Int64(entry.header.sequence)])
                }
            }
            unannounced.removeAll { unkept.contains($0.id) }
            logs[group]?.remove(unkept)
        }
    }

    /// Folds the group again with every membership entry read anew.
    func reread(_ group: GroupID) throws {
        guard let log = logs[group] else { return }
        var fresh = GroupLog()
        for fork in log.forks.values { fresh.ledger.quarantine(fork) }
        for entry in log.entries { fresh.add(stateItem(of: entry), fold: false) }
        fresh.refold()
        logs[group] = fresh
    }

    /// Opens and keeps the keys sealed to this member by re-keys that took effect; true if any
    /// were new. Keys are written to the files at once: they are never derived from the log
    /// again (Protocol/epochs.md §Keys).
    private func adoptKeys(in group: GroupID) throws -> Bool {
        guard var groupKeys = keys[group], let log = logs[group] else { return false }
        var changed = false
        for item in log.ledger.items where log.state.effectiveRekeys.contains(item.entry.id) {
            guard case .rekey(let rekey)? = item.content, !groupKeys.holds(source: item.entry.id),
                let opened = openKeys(of: rekey, in: group)
            else { continue }
            groupKeys.add(GroupKeys.Epoch(
                number: opened.epoch, source: item.entry.id, contentKey: opened.contentKey, networkKey: opened.networkKey))
            changed = true
        }
        guard changed else { return false }
        try write { db in try updateKeys(groupKeys, db) }
        keys[group] = groupKeys
        return true
    }

    /// The epoch keys `rekey` sealed to this member, if it sealed any.
    func openKeys(of rekey: Rekey, in group: GroupID) -> EpochKeys? {
        guard let sealed = rekey.keys.first(where: { $0.recipient == memberID }), let publicKey = try? memberID.curve25519(),
            var plain = SealedBox.open(sealed.box, publicKey: publicKey, secretKey: identity.curve25519SecretKey())
        else { return nil }
        defer { SecretBytes.wipe(&plain) }
        guard let opened = EpochKeys(decoding: plain), opened.group == group, opened.epoch == rekey.epoch else { return nil }
        return opened
    }

    /// The keys this member writes with in `group`: those of the current epoch, from the re-key
    /// that began it; nil when this member does not hold them (yet).
    func writeKeys(of group: GroupID) -> GroupKeys.Epoch? {
        guard let state = logs[group]?.state else { return nil }
        return keys[group]?.set(of: state.epoch, source: state.epochSources[state.epoch])
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

    /// The group's state, folded as entries arrived: nothing is decrypted to answer.
    public func state(of group: GroupID) -> GroupState {
        logs[group]?.state ?? GroupState()
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

