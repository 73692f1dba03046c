import Foundation
import GRDB
import MeetKitCore
import MeetKitCrypto

/// What a node needs to sync with peers and admit new members (Protocol/sync.md,
/// Protocol/membership.md).
extension Store {
    // MARK: - Version vectors

    /// What this node holds of each feed. A quarantined feed is announced as held, up to its
    /// cut: a peer still sends what comes before the fork, and what it sends after is skipped
    /// (the proof the node sends it ends that).
    public func versionVector(of group: GroupID) -> VersionVector {
        VersionVector((logs[group]?.heads ?? [:]).mapValues(\.sequence))
    }

    /// The entries `peer` lacks, in log order: every entry before its author's later ones, and
    /// every member's admission before anything that member wrote.
    public func entries(of group: GroupID, missingFrom peer: VersionVector) -> [Entry] {
        (logs[group]?.entries ?? []).filter { $0.header.sequence > peer[$0.header.author] }
            .sorted { $0.position < $1.position }
    }

    /// The signed header of this node's entry at the place each of `peer`'s feeds ends, without
    /// its body: what a sync session sends before the entries the peer lacks. Equal sequence
    /// numbers do not mean equal entries: a member who signed two histories may have given one
    /// to each side, and a header the peer holds a different one of is the proof of it
    /// (Protocol/sync.md §Forks). One header per feed the peer holds part of.
    public func headsToCompare(of group: GroupID, with peer: VersionVector) -> [Entry] {
        guard let log = logs[group] else { return [] }
        var probes: [Entry] = []
        for (author, head) in log.heads where log.forks[author] == nil {
            let known = peer[author]
            guard known > 0, known <= head.sequence else { continue }
            let id = known == head.sequence ? head.id : log.entry(by: author, at: known + 1)?.header.previous
            if let id, let entry = log.entry(id) { probes.append(entry.droppingBody()) }
        }
        return probes.sorted { $0.position < $1.position }
    }

    /// Each group this node holds keys of, with its current epoch (the folded state's).
    public var epochs: [GroupID: UInt32] { keys.mapValues { logs[$0.group]?.state.epoch ?? 0 } }

    /// The keys of the current epoch when this member holds them; else the newest it holds.
    private func currentKeys(of group: GroupID) -> GroupKeys.Epoch? {
        writeKeys(of: group) ?? keys[group].flatMap { groupKeys in
            groupKeys.epochs.filter { $0.number == groupKeys.newestEpoch }.first
        }
    }

    /// The current epoch's network key of each group: the handshake's app key.
    public func networkKeys() -> [(group: GroupID, key: SecretBytes)] {
        keys.keys.compactMap { group in currentKeys(of: group).map { (group, $0.networkKey) } }
    }

    /// Every network key held, current first, and whom a handshake under it may admit:
    /// under the current key anyone holding it (a joiner with an invite); under an older one only
    /// current members, who may not have heard of the re-key yet (Protocol/epochs.md §Sessions).
    public func handshakeKeys() -> [(group: GroupID, key: SecretBytes, onlyMembers: Set<PublicKey>?)] {
        keys.values.flatMap { groupKeys in
            // Only the current epoch's keys admit anyone: a node that does not hold them yet
            // offers its older keys to current members alone.
            let current = writeKeys(of: groupKeys.group)
            let members = self.members(of: groupKeys.group)
            let others = groupKeys.epochs.filter { !($0.number == current?.number && $0.source == current?.source) }
                .sorted { $0.number > $1.number }
                .map { (groupKeys.group, $0.networkKey, Optional(members)) }
            return (current.map { [(groupKeys.group, $0.networkKey, Set<PublicKey>?.none)] } ?? []) + others
        }
    }

    public func isMember(_ key: PublicKey, of group: GroupID) -> Bool {
        logs[group]?.state.isMember(key) ?? false
    }

    /// Whether `key` was a member of `group` and has been removed.
    public func wasRemoved(_ key: PublicKey, from group: GroupID) -> Bool {
        logs[group]?.state.removed[key] != nil
    }

    /// The group's members now; for a node restored from a backup whose log is still empty,
    /// the members the backup knew (whom it may dial to fetch the log).
    public func members(of group: GroupID) -> Set<PublicKey> {
        let members = Set(logs[group]?.state.members ?? [])
        return members.isEmpty ? Set(awaitingOwnFeed[group] ?? []) : members
    }

    // MARK: - Receiving entries

    /// What `ingest` did with a batch.
    public struct IngestReport: Sendable {
        /// The entries newly stored, in the order given.
        public var stored: [Entry] = []
        /// Entries refused, each with one sentence saying why. A refusal is about one entry
        /// (and the rest of its author's feed in the batch): the others are stored.
        public var refused: [(id: EntryID, reason: String)] = []
        /// Entries after their author's feed was cut (a removal, a fork): refused without
        /// complaint, since a peer that has not heard of the cut still sends them.
        public var afterCut: [EntryID] = []
        /// Forks found in this batch.
        public var forks: [Fork] = []
    }

    /// Stores entries received from a peer (already decoded and signature-checked by
    /// `Entry(wire:body:)`), in one transaction, under the same rules as `append`
    /// (Protocol/membership.md §Acceptance). Entries already held, and entries after a feed's
    /// cut, are skipped without complaint (a peer that has not heard of the cut still sends
    /// them); an entry that breaks a rule is refused alone, with the rest of its author's feed
    /// in this batch. Returns the entries newly stored.
    @discardableResult
    public func ingest(_ entries: [Entry], into group: GroupID) throws -> [Entry] {
        try ingestReporting(entries, into: group).stored
    }

    /// `ingest`, saying what was refused and which forks were found.
    public func ingestReporting(_ entries: [Entry], into group: GroupID) throws -> IngestReport {
        guard keys[group] != nil, let log = logs[group] else {
            throw StoreError(.unknownGroup, "You are not a member of group \(group.short).")
        }
        var report = IngestReport()
        var fresh: [Entry] = []
        var items: [EntryID: LogItem] = [:]
        var blocked: Set<PublicKey> = []
        var adoptedKeys = false
        // What the batch has changed so far: a copy of the feed heads and the state only (a
        // copy of the whole log would share its entries array, and the next append would copy it).
        var ledger = log.ledger
        func lookup(_ id: EntryID) -> EntryHeader? {
            log.entry(id)?.header ?? fresh.last { $0.id == id }?.header
        }
        func refuse(_ entry: Entry, _ reason: String) {
            report.refused.append((entry.id, "Entry \(entry.id.short) by \(entry.header.author.fingerprint) was refused: \(reason)."))
            blocked.insert(entry.header.author)
        }
        for entry in entries {
            let author = entry.header.author
            guard !blocked.contains(author) else {
                report.refused.append((entry.id, "Entry \(entry.id.short) by \(author.fingerprint) was refused: it follows a refused entry of its feed."))
                continue
            }
            guard entry.group == group else {
                refuse(entry, EntryError.wrongGroup.explanation)
                continue
            }
            // After the cut (a removal, a fork) nothing counts, not even whether it follows its
            // feed; before it, a quarantined feed is taken as any other, up to the fork.
            if let cut = ledger.state.cuts[author], entry.header.sequence > cut {
                report.afterCut.append(entry.id)
                continue
            }
            if let head = ledger.heads[author], entry.header.sequence <= head.sequence {
                guard !log.contains(entry.id), !fresh.contains(where: { $0.id == entry.id }) else { continue }
                // A second valid entry at the same place in the feed: proof of equivocation.
                // Neither branch is kept, from the fork on (Protocol/sync.md §Forks).
                let original = fresh.first { $0.header.author == author && $0.header.sequence == entry.header.sequence }
                    ?? log.entry(by: author, at: entry.header.sequence)
                if let original, let fork = Fork(original, entry), fork.sequence < ledger.forks[author]?.sequence ?? .max {
                    report.forks.append(fork)
                    fresh.removeAll { $0.header.author == author && $0.header.sequence >= fork.sequence }
                    ledger = log.ledger
                    for proof in report.forks { ledger.quarantine(proof) }
                    for kept in fresh { ledger.add(items[kept.id] ?? LogItem(entry: kept, content: nil), fold: false, lookup: lookup) }
                    ledger.refold(lookup: lookup)
                }
                continue
            }
            do { try entry.validateLink(after: ledger.heads[author], in: group) } catch {
                refuse(entry, error.explanation)
                continue
            }
            if let refusal = ledger.state.refusal(of: entry, after: ledger.heads[author]) {
                refuse(entry, refusal.explanation)
                continue
            }
            // A membership entry this node cannot read is kept, and takes no effect here until
            // it can (the keys may come later); it does not stop its author's feed.
            let item = stateItem(of: entry)
            let content = item.content
            ledger.add(item, fold: true, lookup: lookup)
            items[entry.id] = item
            fresh.append(entry)
            // Later entries in this batch may be of the epoch this re-key begins: keep its keys
            // now (they are written to the files once the batch is stored).
            if case .rekey(let rekey)? = content, ledger.state.effectiveRekeys.contains(entry.id),
                let opened = openKeys(of: rekey, in: group) {
                adoptedKeys = keys[group]?.add(GroupKeys.Epoch(
                    number: opened.epoch, source: entry.id, contentKey: opened.contentKey, networkKey: opened.networkKey)) ?? false
                    || adoptedKeys
            }
        }
        guard !fresh.isEmpty || !report.forks.isEmpty else { return report }
        try write { db in
            try insert(fresh, in: group, db)
            for fork in report.forks { try insertFork(fork, in: group, db) }
            if adoptedKeys, let groupKeys = keys[group] { try updateKeys(groupKeys, db) }
        }
        logs[group]?.append(fresh, judgedBy: ledger)
        // Keys this batch brought may open membership entries stored earlier that could not be
        // read then: read them again.
        if adoptedKeys { try reread(group) }
        unannounced.append(contentsOf: fresh)
        try settle(group)
        report.stored = fresh.filter { logs[group]?.contains($0.id) ?? false }
        return report
    }

    /// Keeps a fork proof received from a peer (two entries by one author at one sequence,
    /// already signature-checked): that feed is quarantined from the fork on, as if this node
    /// had seen both entries itself. Returns false if the feed was quarantined already at this
    /// fork or an earlier one.
    @discardableResult
    public func acceptForkProof(_ a: Entry, _ b: Entry, in group: GroupID) throws -> Bool {
        guard let fork = Fork(a, b), a.group == group else {
            throw StoreError(.invalidEntry, "The fork proof is not two entries of one feed at one place.")
        }
        guard let log = logs[group] else { throw StoreError(.unknownGroup, "You are not a member of group \(group.short).") }
        guard fork.sequence < log.forks[fork.author]?.sequence ?? .max else { return false }
        try write { db in try insertFork(fork, in: group, db) }
        logs[group]?.ledger.quarantine(fork)
        logs[group]?.refold()
        try settle(group)
        return true
    }

    // MARK: - Invites and admission

    /// Records a one-time invite valid for `lifetime` and returns its code.
    public func createInvite(to group: GroupID, lifetime: TimeInterval, at time: Date) throws -> InviteCode {
        guard let epoch = currentKeys(of: group) else {
            throw StoreError(.unknownGroup, "You are not a member of group \(group.short).")
        }
        try requireAdmin(in: group, to: "invite")
        let code = InviteCode(
            group: group, networkKey: epoch.networkKey, secret: SecretBytes(randomCount: InviteCode.secretLength), inviter: memberID)
        guard let expires = Int64(exactly: ((time.timeIntervalSince1970 + lifetime) * 1000).rounded()) else {
            throw StoreError(.invalidContent, "The invite's lifetime is out of range; nothing was written.")
        }
        try append(.invite(Invite(id: code.id, expires: expires)), to: group, at: time)
        return code
    }

    /// Admits `member`, who presented `secret` over an authenticated session: records a
    /// member-add entry (once) and returns the group's keys sealed to the new member. A member
    /// already admitted who presents a valid invite gets the keys again and nothing is written:
    /// the way back for a member a concurrent re-key left without the current keys
    /// (Protocol/epochs.md §Concurrent re-keys).
    public func admit(_ member: PublicKey, to group: GroupID, secret: SecretBytes, at time: Date) throws -> (entry: Entry?, sealedKeys: [UInt8]) {
        let state = self.state(of: group)
        let id = InviteCode.id(ofSecret: secret)
        guard let invite = state.invites[id] else {
            throw StoreError(.invalidEntry, "The invite code is not one of this group's.")
        }
        guard state.removed[member] == nil else {
            throw StoreError(.notPermitted, "This member was removed from the group and cannot join again with the same key.")
        }
        guard invite.usedBy == nil || invite.usedBy == member else {
            throw StoreError(.invalidEntry, "The invite code has already been used.")
        }
        guard invite.usedBy == member || Int64(time.timeIntervalSince1970 * 1000) < invite.invite.expires else {
            throw StoreError(.invalidEntry, "The invite code has expired; ask for a new one.")
        }
        var entry: Entry?
        if !state.isMember(member) {
            guard state.members.count < GroupState.maximumMembers else {
                throw StoreError(.notPermitted, "The group is full: a group can have at most \(GroupState.maximumMembers) members.")
            }
            let proof = InviteCode.proof(secret: secret, group: group, member: member)
            entry = try append(.memberAdd(MemberAdd(member: member, invite: id, proof: proof)), to: group, at: time)
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

    /// Stores the keys a member sealed to this node on admitting it; returns the group. A
    /// member who joins again keeps the keys it held and adds those it lacked: entries it could
    /// not read are read now, and the state folded again.
    public func acceptAdmission(sealedKeys: [UInt8], into expected: GroupID) throws -> GroupID {
        let secret = identity.curve25519SecretKey()
        guard let publicKey = try? memberID.curve25519(),
              var plain = SealedBox.open(sealedKeys, publicKey: publicKey, secretKey: secret)
        else { throw StoreError(.invalidEntry, "The admission could not be opened; it was not meant for this node.") }
        defer { SecretBytes.wipe(&plain) }
        guard let groupKeys = GroupKeys(decoding: plain), groupKeys.group == expected else {
            throw StoreError(.invalidEntry, "The admission is malformed or for another group.")
        }
        let group = groupKeys.group
        guard var held = keys[group] else {
            try write { db in try insertKeys(groupKeys, db) }
            keys[group] = groupKeys
            logs[group] = logs[group] ?? GroupLog()
            return group
        }
        var added = false
        for epoch in groupKeys.epochs { added = held.add(epoch) || added }
        guard added else { return group }
        try write { db in try updateKeys(held, db) }
        keys[group] = held
        try reread(group)
        try settle(group)
        return group
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
        guard !state.outranks(member, memberID) else {
            throw StoreError(
                .notPermitted,
                "\(state.displayName(of: member)) has been an admin longer than you; only a more senior admin can remove them.")
        }
        return try rekey(group, removing: [member], at: time)
    }

    /// After two admins re-keyed at once, one member they removed may still hold the current
    /// keys; the remaining admin with the smallest key re-keys once more. Returns that entry
    /// when this member wrote it.
    public func resolveConcurrentRekey(in group: GroupID, at time: Date) throws -> Entry? {
        guard state(of: group).needsRekey, rekeyingAdmin(of: group) == memberID else { return nil }
        return try rekey(group, removing: [], at: time)
    }

    /// The admin who writes the re-key concurrent re-keys call for: the one with the smallest
    /// key among the admins who can still write in the current epoch (feed not cut, and not
    /// already past the current epoch). Every node that holds the same entries names the same.
    public func rekeyingAdmin(of group: GroupID) -> PublicKey? {
        guard let log = logs[group] else { return nil }
        let state = log.state
        return state.admins.filter { admin in
            state.cuts[admin] == nil && (log.heads[admin]?.epoch ?? 0) <= state.epoch
        }.min()
    }

    /// A re-key entry: the epoch after the current one, fresh keys sealed to every member not
    /// removed, each removed member's feed cut after the last entry held of it, written under
    /// the current epoch; recording it opens this member's own keys.
    private func rekey(_ group: GroupID, removing removed: [PublicKey], at time: Date) throws -> Entry {
        let state = self.state(of: group)
        let (epoch, overflow) = state.epoch.addingReportingOverflow(1)
        guard !overflow else { throw StoreError(.notPermitted, "The group has used every epoch number; start a new group.") }
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
        let removals = removed.map { Rekey.Removal(member: $0, lastSequence: logs[group]?.heads[$0]?.sequence ?? 0) }
        return try append(.rekey(Rekey(epoch: epoch, removed: removals, keys: sealed)), to: group, at: time)
    }

    private func requireAdmin(in group: GroupID, to action: String) throws {
        guard state(of: group).isAdmin(memberID) else {
            throw StoreError(.notPermitted, "Only an admin may \(action); ask one of the group's admins.")
        }
    }
}
