/// What an entry is (Protocol/entries.md §Kinds). Values are wire constants: never renumber.
public enum EntryKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case genesis = 1
    case profile = 2
    case meetingOpen = 3
    case meetingClose = 4
    case share = 5
    case checkIn = 6
    case invite = 7
    case memberAdd = 8
    case rekey = 9
    case roleGrant = 10
    case redaction = 11
    case retention = 12
    case privateCheckIn = 13
    // 14…255 are for later versions.

    public var description: String {
        switch self {
        case .genesis: "genesis"
        case .profile: "profile"
        case .meetingOpen: "meeting-open"
        case .meetingClose: "meeting-close"
        case .share: "share"
        case .checkIn: "check-in"
        case .invite: "invite"
        case .memberAdd: "member-add"
        case .rekey: "re-key"
        case .roleGrant: "role-grant"
        case .redaction: "redaction"
        case .retention: "retention"
        case .privateCheckIn: "private-check-in"
        }
    }
}
