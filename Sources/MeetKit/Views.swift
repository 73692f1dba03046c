import Foundation
import MeetKitCore

// The engine's answers. Each is `Codable`: its JSON encoding is what `meetkit … --json` prints
// (README §Output formats), and what the control socket carries (Protocol/control.md).

/// This member, their groups and the log digest (`meetkit status --json`).
public struct StatusReport: Codable, Sendable, Equatable {
    public struct Group: Codable, Sendable, Equatable {
        public let id: String
        public let name: String?
        public let entries: Int
        public let feeds: Int
        public let epoch: UInt32
        public let digest: String
        /// Feeds whose authors signed two entries at one place (Protocol/sync.md §Forks).
        public let quarantined: [Quarantined]
    }

    public struct Quarantined: Codable, Sendable, Equatable {
        public let member: String
        public let name: String
        public let sequence: UInt64
    }

    public let member: String
    public let fingerprint: String
    public let name: String
    public let home: String
    public let entries: Int
    /// The selected group's digest, or, with several groups and none selected, the combined one.
    public let digest: String
    public let groups: [Group]
}

/// One member of a group (`meetkit group members --json`).
public struct MemberView: Codable, Sendable, Equatable {
    public let member: String
    public let fingerprint: String
    public let name: String
    public let founder: Bool
    public let admin: Bool
    public let you: Bool
}

/// One entry as a member reads it (an element of `meetkit log --json`).
public struct LogElement: Codable, Sendable, Equatable {
    public let id: String
    public let group: String
    public let author: String
    public let authorName: String
    public let kind: String
    /// ISO 8601, UTC.
    public let time: String
    /// The same instant in milliseconds since 1970.
    public let timestamp: Int64
    public let lamport: UInt64
    public let sequence: UInt64
    public let epoch: UInt32
    public var readable: Bool
    public var meeting: String?
    public var name: String?
    public var pseudonym: String?
    public var topic: String?
    public var text: String?
    public var mood: UInt8?
    public var note: String?
    public var milestoneDays: UInt32?
    public var wantsSupport: Bool?
    public var member: String?
    public var removed: [String]?
    public var newEpoch: UInt32?
    /// How many members a re-key sealed its keys to.
    public var recipients: Int?
    /// "expired" or "redacted" when its body is no longer kept (or "dropped", for no known reason).
    public var dropped: String?
    public var redacts: String?
    /// A private check-in's readers (member ids), the author among them.
    public var readers: [String]?
    public var retentionSeconds: Int64?
}

/// A group's log as a member reads it: the entries in log order, the meetings they belong
/// to, the names of everyone they mention, and the forked feeds.
public struct LogView: Codable, Sendable, Equatable {
    public struct Meeting: Codable, Sendable, Equatable {
        public let id: String
        public let topic: String?
        public let openedAt: Int64
        public let closedAt: Int64?
    }

    public struct Fork: Codable, Sendable, Equatable {
        public let member: String
        public let fingerprint: String
        public let sequence: UInt64
    }

    public let name: String?
    /// The whole log's digest, and how many entries it holds, whatever the filter shows.
    public let digest: String
    public let total: Int
    public let entries: [LogElement]
    public let meetings: [Meeting]
    /// Display names by member id, for every member the entries mention.
    public let names: [String: String]
    public let forks: [Fork]
}

/// An entry just written: its id, and the meeting it belongs to (share, check-in).
public struct Written: Codable, Sendable, Equatable {
    public let id: String
    public let meeting: String?
    /// When its text is dropped everywhere (ms since 1970), for a share with an expiry.
    public let expires: Int64?
    /// A private check-in's readers, by name, the author left out.
    public let readers: [String]?
}

/// A meeting just opened.
public struct MeetingOpened: Codable, Sendable, Equatable {
    public let id: String
    public let topic: String?
}

/// A meeting just closed, with what was written in it.
public struct MeetingClosed: Codable, Sendable, Equatable {
    public let id: String
    public let meeting: String
    public let shares: Int
    public let checkins: Int
}

/// An entry just redacted.
public struct Redacted: Codable, Sendable, Equatable {
    public let id: String
    public let entry: String
}

/// A group just founded.
public struct GroupCreated: Codable, Sendable, Equatable {
    public let id: String
    public let name: String
}

/// An invite just written: the one-time code (a secret: whoever holds it can join) and until
/// when it is valid.
public struct Invited: Codable, Sendable, Equatable {
    public let code: String
    public let group: String
    public let name: String?
    /// ms since 1970.
    public let expires: Int64
}

/// A member whose role changed: removed (a new epoch began) or made an admin.
public struct MemberChanged: Codable, Sendable, Equatable {
    public let member: String
    public let fingerprint: String
    public let name: String
    /// The epoch the removal began; nil when the member was made an admin.
    public let epoch: UInt32?
}

/// How long the group now keeps shares: ms after they were written; 0 keeps them.
public struct RetentionSet: Codable, Sendable, Equatable {
    public let milliseconds: Int64
}
