import Foundation
import GRDB
import MeetKitCore
import MeetKitCrypto

/// What a node needs to sync with peers and admit new members (Protocol/sync.md,
/// Protocol/membership.md).
extension Store {
    // MARK: - Version vectors

    /// What this node holds of each feed. A quarantined feed is announced as complete
    /// (UInt64.max), so that no peer sends more of it and nothing is fetched in a loop.
    public func versionVector(of group: GroupID) -> VersionVector {
        var heads = (logs[group]?.heads ?? [:]).mapValues(\.sequence)
        for author in (logs[group]?.quarantined ?? [:]).keys { heads[author] = .max }
        return VersionVector(heads)
    }

    /// The entries `peer` lacks, in log order: every entry before its author's later ones, and
    /// every member's admission before anything that member wrote.
    public func entries(of group: GroupID, missingFrom peer: VersionVector) -> [Entry] {
        (logs[group]?.entries ?? []).filter { $0.header.sequence > peer[$0.header.author] }
            .sorted { $0.position < $1.position }
    }

    /// Each group this node holds keys of, with its current epoch: cheap, unlike `groups`,
    /// which orders and digests every log.
    public var epochs: [GroupID: UInt32] { keys.mapValues(\.currentEpoch) }

    /// The current epoch's network key of each group: the handshake's app key.
    public func networkKeys() -> [(group: GroupID, key: SecretBytes)] {
        keys.values.compactMap { groupKeys in groupKeys.current.map { (groupKeys.group, $0.networkKey) } }
    }

    /// Every network key held, newest epoch first, and whom a handshake under it may admit:
    /// under a current key anyone holding it (a joiner with an invite); under an older one only
    /// current members, who may not have heard of the re-key yet (Protocol/epochs.md §Sessions).
    public func handshakeKeys() -> [(group: GroupID, key: SecretBytes, onlyMembers: Set<PublicKey>?)] {
        keys.values.flatMap { groupKeys in
            let current = groupKeys.currentEpoch
            let members = self.members(of: groupKeys.group)
            return groupKeys.epochs.sorted { $0.number > $1.number }.map { set in
                (groupKeys.group, set.networkKey, set.number == current ? nil : members)
            }
        }
    }

    public func isMember(_ key: PublicKey, of group: GroupID) -> Bool {
        logs[group]?.members.contains(key) ?? false
    }

    /// Whether `key` was a member of `group` and has been removed.
    public func wasRemoved(_ key: PublicKey, from group: GroupID) -> Bool {
        logs[group]?.removedAt[key] != nil
    }

    /// The group's members now; for a node restored from a backup whose log is still empty,
    /// the members the backup knew (whom it may dial to fetch the log).
    public func members(of group: GroupID) -> Set<PublicKey> {
        let members = logs[group]?.members ?? []
        return members.isEmpty ? Set(awaitingOwnFeed[group] ?? []) : members
    }

    // MARK: - Receiving entries

    /// Stores entries received from a peer (already decoded and signature-checked by
    /// `Entry(wire:body:)`), in one transaction. Each must follow its feed and come from a
    /// member; entries already held are skipped. On any failure nothing is stored.
    /// Returns the entries newly stored.
    @discardableResult
    public func ingest(_ entries: [Entry], into group: GroupID) throws -> [Entry] {
        guard keys[group] != nil else {
            throw StoreError(.unknownGroup, "You are not a member of group \(group.short).")
        }
        var heads: [PublicKey: FeedHead] = [:]
        // A copy of the membership only: a copy of the whole log would share its entries array,
        // and the first append after this batch would copy all of it.
        var working = logs[group]?.membership ?? Membership()
        var fresh: [Entry] = []
        var forks: [Fork] = []
        for entry in entries {
            let author = entry.header.author
            // A feed in quarantine takes nothing more, and that is not an error: the peer may
            // not know of the fork yet.
            guard working.quarantined[author] == nil else { continue }
            let head = heads[author] ?? logs[group]?.heads[author]
            if let head, entry.header.sequence <= head.sequence {
                guard !held(entry, in: group) else { continue }
                // A second valid entry at the same place in the feed: proof of equivocation.
                let original = fresh.first { $0.header.author == author && $0.header.sequence == entry.header.sequence }
                    ?? logs[group]?.entry(by: author, at: entry.header.sequence)
                if let original, let fork = Fork(original, entry) {
                    forks.append(fork)
                    working.quarantine(fork)
                    fresh.removeAll { $0.header.author == author && $0.header.sequence > entry.header.sequence }
                }
                continue
            }
            let isGenesis = entry.header.kind == .genesis && GroupID(entry.id) == group
            guard isGenesis || working.admitted.contains(author) else {
                throw StoreError(.invalidEntry, "Entry \(entry.id.short) comes from \(author.fingerprint), who is not a member.")
            }
            if let removed = working.removedAt[author], entry.header.epoch >= removed {
                throw StoreError(.invalidEntry, "Entry \(entry.id.short) was written by \(author.fingerprint) after their removal.")
            }
            if entry.header.kind.needsAdmin, !working.admins.contains(author) {
                throw StoreError(
                    .invalidEntry, "Entry \(entry.id.short) is a \(entry.header.kind) by \(author.fingerprint), who is not an admin.")
            }
            if entry.header.kind.changesMembership {
                guard let content = (try? content(of: entry)) ?? nil else {
                    throw StoreError(.invalidEntry, "Entry \(entry.id.short) changes the membership but cannot be read.")
                }
                working.fold(content, author: author)
                // Later entries in this batch may be of the new epoch.
                if case .rekey(let rekey) = content { openKeys(of: rekey, in: group) }
            }
            fresh.append(entry)
            heads[author] = entry.head
        }
        guard !fresh.isEmpty || !forks.isEmpty else { return [] }
        try write { db in
            try insert(fresh, in: group, db)
            for fork in forks { try insertFork(fork, in: group, db) }
        }
        for entry in fresh { record(entry) }
        for fork in forks { logs[group]?.membership.quarantine(fork) }
        return fresh
    }

    private func held(_ entry: Entry, in group: GroupID) -> Bool {
        logs[group]?.ids.contains(entry.id) ?? false
    }

    // MARK: - Invites and admission

    /// Records a one-time invite valid for `lifetime` and returns its code.
    public func createInvite(to group: GroupID, lifetime: TimeInterval, at time: Date) throws -> InviteCode {
        guard let epoch = keys[group]?.current else {
            throw StoreError(.unknownGroup, "You are not a member of group \(group.short).")
        }
        try requireAdmin(in: group, to: "invite")
        let code = InviteCode(
            group: group, networkKey: epoch.networkKey, secret: SecretBytes(randomCount: InviteCode.secretLength), inviter: memberID)
        let expires = Int64(((time.timeIntervalSince1970 + lifetime) * 1000).rounded())
        try append(.invite(Invite(id: code.id, expires: expires)), to: group, at: time)
        return code
    }

    /// Admits `member`, who presented `secret` over an authenticated session: records a
    /// member-add entry (once) and returns the group's keys sealed to the new member.
    public func admit(_ member: PublicKey, to group: GroupID, secret: SecretBytes, at time: Date) throws -> (entry: Entry?, sealedKeys: [UInt8]) {
        let state = self.state(of: group)
        let id = InviteCode.id(ofSecret: secret)
        guard let invite = state.invites[id] else {
            throw StoreError(.invalidEntry, "The invite code is not one of this group's.")
        }
        var entry: Entry?
        if !state.isMember(member) {
            guard invite.usedBy == nil else { throw StoreError(.invalidEntry, "The invite code has already been used.") }
            guard Int64(time.timeIntervalSince1970 * 1000) < invite.invite.expires else {
                throw StoreError(.invalidEntry, "The invite code has expired; ask for a new one.")
            }
            entry = try append(.memberAdd(MemberAdd(member: member, invite: id)), to: group, at: time)
        } else if invite.usedBy != member {
            throw StoreError(.invalidEntry, "The invite code has already been used.")
        }
        return (entry, try sealedKeys(of: group, to: member))
    }

    /// group id ‖ count (u32) ‖ count × (epoch u32 ‖ content key ‖ network key), sealed to `member`.
    private func sealedKeys(of group: GroupID, to member: PublicKey) throws -> [UInt8] {
        guard let groupKeys = keys[group] else { throw StoreError(.unknownGroup, "Unknown group \(group.short).") }
        var plain = groupKeys.encoded()
        defer { SecretBytes.wipe(&plain) }
        do {
            return try SealedBox.seal(plain, to: member.curve25519())
        } catch {
            throw StoreError(.invalidEntry, "The new member's key cannot receive sealed messages.")
        }
    }

    /// Stores the keys a member sealed to this node on admitting it; returns the group.
    public func acceptAdmission(sealedKeys: [UInt8], into expected: GroupID) throws -> GroupID {
        let secret = identity.curve25519SecretKey()
        guard let publicKey = try? memberID.curve25519(),
              var plain = SealedBox.open(sealedKeys, publicKey: publicKey, secretKey: secret)
        else { throw StoreError(.invalidEntry, "The admission could not be opened; it was not meant for this node.") }
        defer { SecretBytes.wipe(&plain) }
        guard let groupKeys = GroupKeys(decoding: plain), groupKeys.group == expected else {
            throw StoreError(.invalidEntry, "The admission is malformed or for another group.")
        }
        if keys[groupKeys.group] == nil {
            try write { db in try insertKeys(groupKeys, db) }
            keys[groupKeys.group] = groupKeys
            logs[groupKeys.group] = logs[groupKeys.group] ?? GroupLog()
        }
        return groupKeys.group
    }

    // MARK: - Roles and epochs (Protocol/epochs.md)

    /// Makes `member` an admin.
    @discardableResult
    public func grantAdmin(_ member: PublicKey, in group: GroupID, at time: Date) throws -> Entry {
        try requireAdmin(in: group, to: "make admins")
        let state = self.state(of: group)
        guard state.isMember(member) else { throw StoreError(.unknownMember, "\(member.fingerprint) is not a member of this group.") }
        guard !state.isAdmin(member) else { throw StoreError(.notPermitted, "\(state.displayName(of: member)) is already an admin.") }
        return try append(.roleGrant(member: member), to: group, at: time)
    }

    /// Removes `member` and starts a new epoch whose keys only the remaining members get.
    @discardableResult
    public func remove(_ member: PublicKey, from group: GroupID, at time: Date) throws -> Entry {
        try requireAdmin(in: group, to: "remove members")
        let state = self.state(of: group)
        guard member != memberID else { throw StoreError(.notPermitted, "You cannot remove yourself.") }
        guard state.isMember(member) else { throw StoreError(.unknownMember, "\(member.fingerprint) is not a member of this group.") }
        return try rekey(group, removing: [member], at: time)
    }

    /// After two admins re-keyed at once, one member they removed may still hold the current
    /// keys; the remaining admin with the smallest key re-keys once more. Returns that entry
    /// when this member wrote it.
    public func resolveConcurrentRekey(in group: GroupID, at time: Date) throws -> Entry? {
        let state = self.state(of: group)
        guard state.needsRekey, state.rekeyingAdmin == memberID else { return nil }
        return try rekey(group, removing: [], at: time)
    }

    /// A re-key entry: epoch one past the highest known, fresh keys sealed to every member not
    /// removed, written under the current epoch; recording it opens this member's own keys.
    private func rekey(_ group: GroupID, removing removed: [PublicKey], at time: Date) throws -> Entry {
        let state = self.state(of: group)
        let epoch = max(state.epoch, keys[group]?.currentEpoch ?? 0) + 1
        let fresh = EpochKeys(
            group: group, epoch: epoch, contentKey: SecretBytes(randomCount: AEAD.keyLength), networkKey: SecretBytes(randomCount: 32))
        var plain = fresh.encoded()
        defer { SecretBytes.wipe(&plain) }
        var sealed: [Rekey.Sealed] = []
        for recipient in state.members where !removed.contains(recipient) {
            do {
                sealed.append(Rekey.Sealed(recipient: recipient, box: try SealedBox.seal(plain, to: recipient.curve25519())))
            } catch {
                throw StoreError(.invalidEntry, "\(recipient.fingerprint)'s key cannot receive sealed messages.")
            }
        }
        return try append(.rekey(Rekey(epoch: epoch, removed: removed, keys: sealed)), to: group, at: time)
    }

    private func requireAdmin(in group: GroupID, to action: String) throws {
        guard state(of: group).isAdmin(memberID) else {
            throw StoreError(.notPermitted, "Only an admin may \(action); ask one of the group's admins.")
        }
    }
}
