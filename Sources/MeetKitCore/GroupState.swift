import MeetKitCrypto

/// An entry together with its decrypted content, when this member can read it.
public struct LogItem: Sendable {
    public let entry: Entry
    /// nil when the body is absent or not readable with the keys this member holds.
    public let content: EntryContent?
    /// Which of its epoch's key sets opened the body.
    public let keys: KeySet

    public init(entry: Entry, content: EntryContent?, keys: KeySet = .unchecked) {
        self.entry = entry
        self.content = content
        self.keys = keys
    }
}

/// Which key set of an epoch opened an entry's body. A membership entry takes effect only
/// when written under the keys its epoch's re-key gave (Protocol/epochs.md §Epoch integrity):
/// keys from a re-key that fell are held by some members only, and what they alone can read
/// must not decide anything.
public enum KeySet: Hashable, Sendable {
    /// Epoch 0's keys, drawn by the founder.
    case founders
    /// The keys re-key `EntryID` sealed.
    case rekey(EntryID)
    /// Not said (a log given whole, as the vectors and tests give it): not checked.
    case unchecked
}

/// A meeting as the log tells it.
public struct Meeting: Hashable, Sendable {
    public let id: EntryID
    public let openedBy: PublicKey
    public let openedAt: Int64
    public let topic: String?
    public var closedBy: PublicKey?
    public var closedAt: Int64?

    public var isOpen: Bool { closedAt == nil }
}

/// Why a node refuses to store an entry, whoever wrote it (Protocol/membership.md §Acceptance).
public enum EntryRefusal: Error, Hashable, Sendable {
    /// The author's feed was cut (a removal, or a fork) before this entry.
    case afterCut(lastAccepted: UInt64)
    /// The author is not (or not yet) a member.
    case notAMember
    /// The Lamport clock jumps further past its author's previous entry than any honest node
    /// writes, or past the largest value allowed.
    case lamportTooFar(UInt64)
    /// A membership entry without its body.
    case membershipWithoutBody

    public var explanation: String {
        switch self {
        case .afterCut(let last): "it was written after its author's feed was cut at entry \(last)"
        case .notAMember: "its author is not a member"
        case .lamportTooFar(let lamport): "its Lamport clock \(lamport) is too far ahead of its author's previous entry"
        case .membershipWithoutBody: "it changes the membership but carries no body"
        }
    }
}

extension EntryKind {
    /// Kinds that decide who belongs, who may do what, and which keys are current
    /// (Protocol/membership.md §Authority): judged at their position in the log, never without
    /// their body, never dropped by redaction, retention or expiry.
    public var isMembership: Bool {
        switch self {
        case .genesis, .invite, .memberAdd, .rekey, .roleGrant, .retention, .redaction: true
        default: false
        }
    }

    /// Kinds the group state is folded from: the membership kinds, profiles and meetings.
    public var shapesState: Bool {
        isMembership || self == .profile || self == .meetingOpen || self == .meetingClose
    }

    /// Kinds that take effect only when an admin writes them.
    public var needsAdmin: Bool {
        switch self {
        case .invite, .rekey, .roleGrant, .retention: true
        default: false
        }
    }
}

/// What the log of one group says, folded from its entries in log order: the pure rules of
/// who belongs (Protocol/membership.md, epochs.md). Every membership entry is judged against the
/// state at its own position, never against sets that only grow, and every node that holds the
/// same entries folds the same state, whatever order they arrived in.
public struct GroupState: Sendable {
    // MARK: Limits

    /// The most members a group can have: a re-key seals the new keys to each of them, and the
    /// whole re-key must fit in one body (`EntryHeader.maximumBodyLength`).
    public static let maximumMembers = 250
    /// How long shares may be kept, when the group limits it: from an hour to a hundred years.
    public static let retentionRange: ClosedRange<Int64> = 3_600_000...(100 * 365 * 86_400_000)
    /// How far an entry's Lamport clock may be past its author's previous entry (or past 0, for
    /// the first): honest nodes write one past the highest held, which is far less unless a
    /// hostile member climbed (Protocol/entries.md §Lamport clock). Judged within the author's
    /// own feed, so that every node decides alike whatever else it holds.
    public static let lamportReach: UInt64 = 1 << 32
    /// No entry's Lamport clock may exceed this, so that no clock arithmetic can overflow.
    public static let maximumLamport: UInt64 = 1 << 62

    // MARK: What members see

    public private(set) var name: String?
    public private(set) var founder: PublicKey?
    /// Each member's latest pseudonym.
    public private(set) var pseudonyms: [PublicKey: String] = [:]
    /// Meetings in the order they were opened.
    public private(set) var meetings: [Meeting] = []
    /// The founder and every member admitted since and not removed, in the order they were
    /// admitted.
    public private(set) var members: [PublicKey] = []
    /// Members who are admins now: the founder and those granted it, while they remain members.
    public private(set) var admins: Set<PublicKey> = []
    /// Members removed, with the epoch their removal began and where their feed was cut.
    public private(set) var removed: [PublicKey: Removal] = [:]
    /// The current epoch: begun by the latest re-key that took effect.
    public private(set) var epoch: UInt32 = 0
    /// The re-key that gave each epoch after 0 its keys: the keys a member writes with.
    public private(set) var epochSources: [UInt32: EntryID] = [:]
    /// Who holds the current epoch's keys: its re-key's recipients and everyone admitted since.
    public private(set) var keyHolders: Set<PublicKey> = []
    /// How long shares are kept (ms after they were written); 0 keeps them. Set by admins.
    public private(set) var retention: Int64 = 0
    /// Entries whose authors redacted them.
    public private(set) var redacted: Set<EntryID> = []
    /// Invites by id.
    public private(set) var invites: [[UInt8]: InviteRecord] = [:]
    /// Re-keys that took effect; the keys of no other re-key are ever used.
    public private(set) var effectiveRekeys: Set<EntryID> = []
    /// Membership entries that are held but took no effect, with the reason.
    public private(set) var ineffective: [EntryID: String] = [:]
    /// Feeds cut, by author: the last sequence accepted. Removed members' feeds, and feeds
    /// whose author signed two entries at one place (cut just before the fork).
    public private(set) var cuts: [PublicKey: UInt64] = [:]

    public struct Removal: Hashable, Sendable {
        public let epoch: UInt32
        public let lastSequence: UInt64
    }

    public struct InviteRecord: Sendable {
        public let invite: Invite
        public let by: PublicKey
        public fileprivate(set) var usedBy: PublicKey?
    }

    // MARK: Folding

    /// Re-keys that may take effect, chosen before the fold (see `resolveCuts`).
    private var kept: Set<EntryID> = []
    /// Admins by seniority, as this fold judges removals: the founder (0), then admins in the
    /// order their role-grants took effect. An admin removes only members and more junior admins.
    public private(set) var seniority: [PublicKey: Int] = [:]
    /// The seniority the grants folded so far give.
    private var foundSeniority: [PublicKey: Int] = [:]
    /// Where the last folded entry stands: an entry folded later must stand after it.
    public private(set) var lastPosition: LogPosition?

    /// An empty state: the group before its genesis.
    public init() {}

    /// Folds `items` (one group's entries that shape the state, `EntryKind.shapesState`, in
    /// log order), with `forks` (authors who signed two entries at one sequence, and that
    /// sequence). `lookup` finds any entry of the group by id: a redaction needs its target.
    public init(items: [LogItem], forks: [PublicKey: UInt64] = [:], lookup: (EntryID) -> EntryHeader?) {
        var excluded: Set<EntryID> = []
        var seniority = Self.claimedSeniority(items)
        let cutting = Set(items.compactMap { item -> EntryID? in
            guard case .rekey(let rekey)? = item.content, !rekey.removed.isEmpty else { return nil }
            return item.entry.id
        })
        // Each round either leaves out one more re-key or takes the seniority the last fold
        // found; the bound only guards against a log built to make the two chase each other.
        var state = GroupState()
        for _ in 0...(items.count + 1) {
            let (kept, cuts) = Self.resolveCuts(items, forks: forks, seniority: seniority, excluding: excluded)
            state = GroupState()
            state.kept = kept
            state.cuts = cuts
            state.seniority = seniority
            for item in items { state.apply(item, lookup: lookup) }
            // A re-key chosen to cut feeds that then took no effect at its own position cuts
            // no one: leave it out and fold again. (One that removes no one cuts nothing, and
            // the fold alone judges it.)
            let failed = kept.filter { state.ineffective[$0] != nil && cutting.contains($0) }
            if !failed.isEmpty {
                excluded.formUnion(failed)
                continue
            }
            let found = state.foundSeniority
            if found == seniority { break }
            // Judged again under the seniority the grants give: what fell under the claimed one
            // may stand now.
            seniority = found
            excluded = []
        }
        self = state
    }

    /// Admins by seniority as the log claims it, before anything is judged: the founder, then
    /// everyone named by a role-grant whose author is ranked, in log order. The fold then ranks
    /// only the grants that took effect (`foundSeniority`).
    static func claimedSeniority(_ items: [LogItem]) -> [PublicKey: Int] {
        var seniority: [PublicKey: Int] = [:]
        for item in items {
            switch item.content {
            case .genesis? where seniority.isEmpty:
                seniority[item.entry.header.author] = 0
            case .roleGrant(let member)? where seniority[item.entry.header.author] != nil && seniority[member] == nil:
                seniority[member] = seniority.count
            default:
                break
            }
        }
        return seniority
    }

    /// Which re-keys may take effect, and where they cut feeds. A re-key cuts each member it
    /// removes after the last entry its author had accepted from them; anything later in that
    /// feed has no effect and is refused by every node, whatever epoch or Lamport clock it
    /// claims. An admin never removes a more senior one (§Seniority), so no cut can keep out
    /// the re-key that would overturn it: the re-keys are taken most senior author first, and
    /// one whose author is already cut before it falls (Protocol/epochs.md §The cut).
    static func resolveCuts(
        _ items: [LogItem], forks: [PublicKey: UInt64], seniority: [PublicKey: Int], excluding excluded: Set<EntryID>
    ) -> (kept: Set<EntryID>, cuts: [PublicKey: UInt64]) {
        let ordered = items.compactMap { item -> (entry: Entry, rekey: Rekey)? in
            guard case .rekey(let rekey)? = item.content, seniority[item.entry.header.author] != nil,
                !excluded.contains(item.entry.id)
            else { return nil }
            return (item.entry, rekey)
        }.sorted {
            let (a, b) = (seniority[$0.entry.header.author]!, seniority[$1.entry.header.author]!)
            return a != b ? a < b : $0.entry.position < $1.entry.position
        }
        var cuts: [PublicKey: UInt64] = [:]
        for (author, sequence) in forks { cuts[author] = sequence - 1 }
        var kept: Set<EntryID> = []
        for (entry, rekey) in ordered {
            let author = entry.header.author
            if let cut = cuts[author], entry.header.sequence > cut { continue }
            // A re-key that names a more senior admin takes no effect at all (the fold says so).
            guard !rekey.removed.contains(where: { Self.outranks($0.member, author, seniority) }) else { continue }
            kept.insert(entry.id)
            for removal in rekey.removed where removal.member != author {
                cuts[removal.member] = min(cuts[removal.member] ?? removal.lastSequence, removal.lastSequence)
            }
        }
        return (kept, cuts)
    }

    /// Whether `a` is an admin more senior than `b` (ranked, and ranked earlier).
    static func outranks(_ a: PublicKey, _ b: PublicKey, _ seniority: [PublicKey: Int]) -> Bool {
        guard let rankA = seniority[a] else { return false }
        return seniority[b].map { rankA < $0 } ?? true
    }

    /// Folds one more entry, which stands after every entry folded so far. A re-key folded this
    /// way must be one this state may keep (`admitsRekey`); otherwise fold the whole log again.
    public mutating func apply(_ item: LogItem, lookup: (EntryID) -> EntryHeader?) {
        let entry = item.entry
        let header = entry.header
        lastPosition = entry.position
        guard header.kind.shapesState else { return }
        if let cut = cuts[header.author], header.sequence > cut {
            return ignore(entry, "it was written after its author's feed was cut")
        }
        guard let content = item.content else {
            if header.kind.isMembership { ignore(entry, "it cannot be read") }
            return
        }
        if header.kind.isMembership, item.keys != .unchecked,
            item.keys != (header.epoch == 0 ? .founders : epochSources[header.epoch].map(KeySet.rekey)) {
            return ignore(entry, "it was written under keys its epoch's re-key did not give")
        }
        if case .genesis(let name) = content {
            guard founder == nil, GroupID(entry.id) == entry.group else { return ignore(entry, "the group has a genesis already") }
            self.name = name
            founder = header.author
            members = [header.author]
            admins = [header.author]
            keyHolders = [header.author]
            foundSeniority = [header.author: 0]
            if seniority.isEmpty { seniority = foundSeniority }
            return
        }
        guard isMember(header.author) else { return ignore(entry, "its author is not a member here") }
        if header.kind.needsAdmin, !isAdmin(header.author) { return ignore(entry, "its author is not an admin here") }
        switch content {
        case .profile(let pseudonym):
            pseudonyms[header.author] = pseudonym
        case .meetingOpen(let topic):
            meetings.append(Meeting(id: entry.id, openedBy: header.author, openedAt: header.timestamp, topic: topic))
        case .meetingClose(let meeting):
            if let i = meetings.firstIndex(where: { $0.id == meeting }), meetings[i].isOpen {
                meetings[i].closedBy = header.author
                meetings[i].closedAt = header.timestamp
            }
        case .invite(let invite):
            guard invites[invite.id] == nil else { return ignore(entry, "the invite exists already") }
            invites[invite.id] = InviteRecord(invite: invite, by: header.author, usedBy: nil)
        case .memberAdd(let add):
            if let reason = refusal(of: add, in: entry) { return ignore(entry, reason) }
            members.append(add.member)
            // The admitting node seals the keys it holds: the current epoch's only if it wrote
            // in it. Admitted under an older epoch, the newcomer needs a re-key (`needsRekey`).
            if entry.header.epoch == epoch { keyHolders.insert(add.member) }
            invites[add.invite!]?.usedBy = add.member
        case .roleGrant(let member):
            guard isMember(member), !isAdmin(member) else { return ignore(entry, "it names no member who is not an admin") }
            admins.insert(member)
            if foundSeniority[member] == nil { foundSeniority[member] = foundSeniority.count }
            if seniority[member] == nil { seniority[member] = seniority.count }
        case .rekey(let rekey):
            if let reason = refusal(of: rekey, in: entry) { return ignore(entry, reason) }
            for removal in rekey.removed where isMember(removal.member) && removal.member != header.author {
                members.removeAll { $0 == removal.member }
                admins.remove(removal.member)
                removed[removal.member] = Removal(epoch: rekey.epoch, lastSequence: removal.lastSequence)
            }
            effectiveRekeys.insert(entry.id)
            // The first re-key to begin an epoch gives it its keys; a concurrent one for the
            // same epoch only removes (Protocol/epochs.md §Concurrent re-keys).
            if rekey.epoch != epoch {
                epoch = rekey.epoch
                epochSources[epoch] = entry.id
                keyHolders = Set(rekey.keys.map(\.recipient))
            }
        case .redaction(let target):
            guard let redacted = lookup(target), redacted.author == header.author, !redacted.kind.isMembership else {
                return ignore(entry, "it names no entry of its author that may be redacted")
            }
            self.redacted.insert(target)
        case .retention(let milliseconds):
            guard milliseconds == 0 || Self.retentionRange.contains(milliseconds) else {
                return ignore(entry, "its retention is out of range")
            }
            retention = milliseconds
        case .genesis, .share, .checkIn, .privateCheckIn:
            break
        }
    }

    private mutating func ignore(_ entry: Entry, _ reason: String) {
        ineffective[entry.id] = reason
    }

    /// Why `add` takes no effect at this position, if it does not.
    private func refusal(of add: MemberAdd, in entry: Entry) -> String? {
        guard let id = add.invite, let record = invites[id] else { return "it names no invite of this group" }
        guard record.usedBy == nil else { return "its invite was used already" }
        guard entry.header.timestamp < record.invite.expires else { return "its invite had expired" }
        guard let proof = add.proof, InviteCode.isValidProof(proof, invite: id, group: entry.group, member: add.member) else {
            return "it does not prove that its author holds the invite"
        }
        guard !isMember(add.member), removed[add.member] == nil else {
            return "it names someone who is or was a member"
        }
        guard members.count < Self.maximumMembers else { return "the group is full" }
        return nil
    }

    /// Why `rekey` takes no effect at this position, if it does not.
    private func refusal(of rekey: Rekey, in entry: Entry) -> String? {
        if rekey.removed.contains(where: { Self.outranks($0.member, entry.header.author, seniority) }) {
            return "it removes an admin more senior than its author"
        }
        // The epoch named is the one after the epoch it was written in, which is the current
        // epoch, or the one before when another re-key began the current epoch concurrently.
        guard entry.header.epoch < UInt32.max, rekey.epoch == entry.header.epoch + 1 else {
            return "it does not begin the epoch after the one it was written in"
        }
        guard rekey.epoch == epoch + 1 || (rekey.epoch == epoch && epoch > 0) else {
            return "it does not begin the next epoch"
        }
        let recipients = rekey.keys.map(\.recipient)
        guard Set(recipients).count == recipients.count,
            recipients.allSatisfy({ isMember($0) || removed[$0] != nil })
        else { return "it seals keys to someone who was never a member" }
        // Last, so that a re-key left out for one of the reasons above keeps that reason.
        guard kept.contains(entry.id) else { return "its author's feed was cut before it" }
        return nil
    }

    // MARK: Questions

    /// The most recently opened meeting that has not been closed.
    public var openMeeting: Meeting? { meetings.last(where: \.isOpen) }

    public func isMember(_ key: PublicKey) -> Bool { members.contains(key) }

    public func isAdmin(_ key: PublicKey) -> Bool { admins.contains(key) }

    /// Whether `a` is an admin more senior than `b`, whom `b` therefore cannot remove.
    public func outranks(_ a: PublicKey, _ b: PublicKey) -> Bool { Self.outranks(a, b, seniority) }

    /// Whether a re-key folded now, at the end of the log, may take effect: its author's feed
    /// is not cut. (Any other re-key needs the whole log folded again.)
    public func admitsRekey(by author: PublicKey, at sequence: UInt64) -> Bool {
        cuts[author].map { sequence <= $0 } ?? true
    }

    /// Marks a re-key written at the end of the log as one that may take effect.
    public mutating func keep(rekey id: EntryID) { kept.insert(id) }

    /// Whether `entry` may be stored at all (`EntryRefusal`); nil when it may. `previous` is its
    /// author's entry before it (nil for the first). Whether a membership entry takes effect is
    /// another question, answered by folding it.
    public func refusal(of entry: Entry, after previous: FeedHead?) -> EntryRefusal? {
        let header = entry.header
        if let cut = cuts[header.author], header.sequence > cut { return .afterCut(lastAccepted: cut) }
        let isGenesis = header.kind == .genesis && GroupID(entry.id) == entry.group
        guard isGenesis || isMember(header.author) || removed[header.author] != nil else { return .notAMember }
        guard header.lamport <= Self.maximumLamport, header.lamport <= Self.lamportLimit(after: previous) else {
            return .lamportTooFar(header.lamport)
        }
        if header.kind.isMembership, entry.body == nil { return .membershipWithoutBody }
        return nil
    }

    /// The highest Lamport clock an entry after `previous` may carry.
    public static func lamportLimit(after previous: FeedHead?) -> UInt64 {
        let reach = (previous?.lamport ?? 0).addingReportingOverflow(lamportReach)
        return reach.overflow ? .max : reach.partialValue
    }

    /// Two admins re-keyed at once, and a member one of them removed received the current
    /// keys from the other, or a member admitted meanwhile received none: the group needs one
    /// more re-key (Protocol/epochs.md §Concurrent re-keys), which `Store.rekeyingAdmin` writes.
    public var needsRekey: Bool {
        epoch > 0 && (!keyHolders.isDisjoint(with: removed.keys) || !Set(members).isSubset(of: keyHolders))
    }


    public func displayName(of member: PublicKey) -> String {
        pseudonyms[member] ?? member.fingerprint
    }

    /// Why every node drops (or has dropped) `item`'s body at `now` (ms since 1970), if it
    /// does (Protocol/retention.md). Membership entries keep their bodies.
    public func dropReason(of item: LogItem, now: Int64) -> DropReason? {
        guard !item.entry.header.kind.isMembership else { return nil }
        if redacted.contains(item.entry.id) { return .redacted }
        guard item.entry.header.kind == .share else { return nil }
        // A share's own expiry is inside its body: once the body is gone, expiry is the reason
        // (the only other, redaction, is known from the log).
        if item.entry.body == nil { return .expired }
        if case .share(let share)? = item.content, let expires = share.expires, expires <= now { return .expired }
        // The timestamp is whatever its author signed: one so late that this overflows never expires.
        let expiry = item.entry.header.timestamp.addingReportingOverflow(retention)
        if retention > 0, !expiry.overflow, expiry.partialValue <= now { return .expired }
        return nil
    }

    public enum DropReason: String, Sendable {
        case expired
        case redacted
    }
}
