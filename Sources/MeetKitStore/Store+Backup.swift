import Foundation
import GRDB
import MeetKitCore
import MeetKitCrypto

/// Identity backup and restore (Protocol/storage.md §Identity backup): the member's identity,
/// name and group keys, sealed under a passphrase; a node restored from it writes nothing in a
/// group until it has synced its own earlier entries there, so it never forks its own feed.
extension Store {
    static let backupMagic = Array("MEETKIT-IDBACKUP".utf8)
    static let backupVersion: UInt8 = 1

    /// The backup's bytes, sealed under `passphrase`.
    public func identityBackup(passphrase: SecretBytes, cost: Argon2id.Cost = .moderate) throws -> [UInt8] {
        var w = ByteWriter()
        w.write(identity.seed.exposedCopy())
        let name = Array(pseudonym.utf8)
        w.write(UInt16(name.count))
        w.write(name)
        w.write(UInt32(keys.count))
        for groupKeys in keys.values.sorted(by: { $0.group < $1.group }) {
            let encoded = groupKeys.encoded()
            w.write(UInt32(encoded.count))
            w.write(encoded)
            let members = self.members(of: groupKeys.group).sorted()
            w.write(UInt32(members.count))
            for member in members { w.write(member.bytes) }
        }
        var plain = w.bytes
        defer { SecretBytes.wipe(&plain) }
        return try PassphraseSeal.seal(plain, magic: Self.backupMagic, version: Self.backupVersion, passphrase: passphrase, cost: cost)
    }

    /// A new node in `directory` with the identity, name and group keys of `backup`, sealed
    /// under `passphrase` (which also opens the backup). Its log is empty until it syncs.
    public static func restore(
        at directory: DataDirectory, backup: [UInt8], passphrase: SecretBytes, cost: Argon2id.Cost = .moderate
    ) throws -> Store {
        var plain = try PassphraseSeal.open(
            backup, magic: backupMagic, version: backupVersion, passphrase: passphrase, what: "the identity backup")
        defer { SecretBytes.wipe(&plain) }
        let damaged = StoreError(.damagedKeystore, "The identity backup is damaged.")
        var r = ByteReader(plain)
        guard var seed = r.readBytes(SigningKey.seedLength), let nameLength = r.readUInt16(),
            let name = r.readBytes(Int(nameLength)).flatMap({ String(validating: $0, as: UTF8.self) }), let count = r.readUInt32()
        else { throw damaged }
        var groups: [(keys: GroupKeys, members: [PublicKey])] = []
        for _ in 0..<count {
            guard let length = r.readUInt32(), let bytes = r.readBytes(Int(length)), let groupKeys = GroupKeys(decoding: bytes),
                let memberCount = r.readUInt32(), Int(memberCount) <= r.remaining / 32
            else { throw damaged }
            var members: [PublicKey] = []
            for _ in 0..<memberCount {
                guard let member = r.readBytes(32).flatMap({ try? PublicKey(bytes: $0) }) else { throw damaged }
                members.append(member)
            }
            groups.append((groupKeys, members))
        }
        guard r.isAtEnd else { throw damaged }
        let identity = try SigningKey(seed: SecretBytes(consuming: &seed))
        let store = try create(at: directory, passphrase: passphrase, pseudonym: name, cost: cost, identity: identity) { store, db in
            for group in groups { try store.insertKeys(group.keys, db) }
            try store.putMeta(db, "restored", Self.encodeRestored(Dictionary(uniqueKeysWithValues: groups.map { ($0.keys.group, $0.members) })))
        }
        for group in groups {
            store.keys[group.keys.group] = group.keys
            store.logs[group.keys.group] = GroupLog()
            store.awaitingOwnFeed[group.keys.group] = group.members
        }
        return store
    }

    /// Whether this node, restored from a backup, still waits to sync its own feed in `group`.
    public func isAwaitingOwnFeed(in group: GroupID) -> Bool { awaitingOwnFeed[group] != nil }

    /// A completed sync or an imported bundle brought this member's earlier entries in
    /// `group` (as far as anyone held them): it may write there again.
    public func ownFeedSynced(in group: GroupID) throws {
        guard awaitingOwnFeed[group] != nil else { return }
        var remaining = awaitingOwnFeed
        remaining[group] = nil
        try write { db in try putMeta(db, "restored", Self.encodeRestored(remaining)) }
        awaitingOwnFeed = remaining
    }

    /// group id (32) ‖ count (u32) ‖ count × member (32), for each group awaiting its feed.
    static func encodeRestored(_ groups: [GroupID: [PublicKey]]) -> [UInt8] {
        var w = ByteWriter()
        for (group, members) in groups.sorted(by: { $0.key < $1.key }) {
            w.write(group.bytes)
            w.write(UInt32(members.count))
            for member in members { w.write(member.bytes) }
        }
        return w.bytes
    }

    static func decodeRestored(_ bytes: [UInt8]) -> [GroupID: [PublicKey]] {
        var r = ByteReader(bytes)
        var groups: [GroupID: [PublicKey]] = [:]
        while !r.isAtEnd {
            guard let group = r.readBytes(32).flatMap(GroupID.init(bytes:)), let count = r.readUInt32() else { break }
            groups[group] = (0..<count).compactMap { _ in r.readBytes(32).flatMap { try? PublicKey(bytes: $0) } }
        }
        return groups
    }
}
