import MeetKitCrypto

/// An entry together with its decrypted content, when this member can read it.
public struct LogItem: Sendable {
    public let entry: Entry
    /// nil when the body is absent or not readable with the keys this member holds.
    public let content: EntryContent?

    public init(entry: Entry, content: EntryContent?) {
        self.entry = entry
        self.content = content
    }
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

/// What the log of one group says, folded from its entries in log order. Every node that
/// holds the same entries folds the same state.
public struct GroupState: Sendable {
    public private(set) var name: String?
    public private(set) var founder: PublicKey?
    /// Each member's latest pseudonym.
    public private(set) var pseudonyms: [PublicKey: String] = [:]
    /// Meetings in the order they were opened.
    public private(set) var meetings: [Meeting] = []
    /// The founder and every member added since and not removed, in the order they were
    /// admitted.
    public private(set) var members: [PublicKey] = []
    /// The founder and the members made admins, while they remain members
    /// (Protocol/epochs.md §Roles).
    public private(set) var admins: Set<PublicKey> = []
    /// Members removed, with the epoch their removal began: they hold no key of it or later.
    public private(set) var removed: [PublicKey: UInt32] = [:]
    /// The current epoch: the highest any effective re-key began.
    public private(set) var epoch: UInt32 = 0
    /// How long shares are kept (ms after they were written); 0 keeps them. Set by admins.
    public private(set) var retention: Int64 = 0
    /// Entries whose authors redacted them.
    public private(set) var redacted: Set<EntryID> = []
    /// Who wrote each entry folded so far: a redaction counts only from the same author.
    private var authors: [EntryID: PublicKey] = [:]
    /// Who received the current epoch's keys from the first re-key to begin it (nil in
    /// epoch 0, whose keys went to every member admitted).
    public private(set) var keyHolders: Set<PublicKey>?
    /// Invites by id, with the member who used each, once used.
    public private(set) var invites: [[UInt8]: (invite: Invite, by: PublicKey, usedBy: PublicKey?)] = [:]

    public init(items: [LogItem]) {
        for item in items { apply(item) }
    }

    /// The most recently opened meeting that has not been closed.
    public var openMeeting: Meeting? { meetings.last(where: \.isOpen) }

    public func isMember(_ key: PublicKey) -> Bool { members.contains(key) }

    public func isAdmin(_ key: PublicKey) -> Bool { admins.contains(key) }

    /// Two admins re-keyed at once, and a member one of them removed received the current
    /// keys from the other: the group needs one more re-key (Protocol/epochs.md §Concurrent).
    public var needsRekey: Bool {
        keyHolders.map { !$0.isDisjoint(with: removed.keys) } ?? false
    }

    /// The admin who writes that re-key: the remaining admin with the smallest key.
    public var rekeyingAdmin: PublicKey? { admins.min() }

    public func displayName(of member: PublicKey) -> String {
        pseudonyms[member] ?? member.fingerprint
    }

    /// Why every node drops (or has dropped) `item`'s body at `now` (ms since 1970), if it
    /// does (Protocol/retention.md).
    public func dropReason(of item: LogItem, now: Int64) -> DropReason? {
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

    /// Folds one more entry, in log order.
    public mutating func apply(_ item: LogItem) {
        let header = item.entry.header
        authors[item.entry.id] = header.author
        switch item.content {
        case .genesis(let name)?:
            self.name = name
            founder = header.author
            members = [header.author]
            admins = [header.author]
        case .profile(let pseudonym)?:
            pseudonyms[header.author] = pseudonym
        case .meetingOpen(let topic)?:
            meetings.append(Meeting(
                id: item.entry.id, openedBy: header.author, openedAt: header.timestamp, topic: topic))
        case .meetingClose(let meeting)?:
            if let i = meetings.firstIndex(where: { $0.id == meeting }), meetings[i].isOpen {
                meetings[i].closedBy = header.author
                meetings[i].closedAt = header.timestamp
            }
        case .invite(let invite)?:
            if invites[invite.id] == nil { invites[invite.id] = (invite, header.author, nil) }
        case .memberAdd(let add)?:
            if !members.contains(add.member), removed[add.member] == nil { members.append(add.member) }
            if let id = add.invite, invites[id]?.usedBy == nil { invites[id]?.usedBy = add.member }
        case .roleGrant(let member)?:
            if admins.contains(header.author), members.contains(member) { admins.insert(member) }
        case .rekey(let rekey)?:
            guard admins.contains(header.author) else { break }
            for member in rekey.removed where removed[member] == nil {
                removed[member] = rekey.epoch
                members.removeAll { $0 == member }
                admins.remove(member)
            }
            // The first re-key (in log order) to begin an epoch gives it its keys; a concurrent
            // one for the same epoch only removes.
            if rekey.epoch > epoch {
                epoch = rekey.epoch
                keyHolders = Set(rekey.keys.map(\.recipient))
            }
        case .redaction(let entry)?:
            if authors[entry] == header.author { redacted.insert(entry) }
        case .retention(let milliseconds)?:
            if admins.contains(header.author) { retention = milliseconds }
        case .share?, .checkIn?, .privateCheckIn?, nil:
            break
        }
    }
}
