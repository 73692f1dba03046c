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
    /// The founder and every member added since, in the order they were admitted.
    public private(set) var members: [PublicKey] = []
    /// Invites by id, with the member who used each, once used.
    public private(set) var invites: [[UInt8]: (invite: Invite, by: PublicKey, usedBy: PublicKey?)] = [:]

    public init(items: [LogItem]) {
        for item in items { apply(item) }
    }

    /// The most recently opened meeting that has not been closed.
    public var openMeeting: Meeting? { meetings.last(where: \.isOpen) }

    public func isMember(_ key: PublicKey) -> Bool { members.contains(key) }

    public func displayName(of member: PublicKey) -> String {
        pseudonyms[member] ?? member.fingerprint
    }

    /// Folds one more entry, in log order.
    public mutating func apply(_ item: LogItem) {
        let header = item.entry.header
        switch item.content {
        case .genesis(let name)?:
            self.name = name
            founder = header.author
            members = [header.author]
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
            if !members.contains(add.member) { members.append(add.member) }
            if let id = add.invite, invites[id]?.usedBy == nil { invites[id]?.usedBy = add.member }
        case .share?, .checkIn?, nil:
            break
        }
    }
}
