/// What an entry is (Protocol/entries.md §Kinds). Values are wire constants: never renumber.
public enum EntryKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case genesis = 1
    case profile = 2
    case meetingOpen = 3
    case meetingClose = 4
    case share = 5
    case checkIn = 6
    // 7…13 are reserved for invite, member add/remove, role change, re-key,
    // private check-in and redaction; 14…255 for later versions.

    public var description: String {
        switch self {
        case .genesis: "genesis"
        case .profile: "profile"
        case .meetingOpen: "meeting-open"
        case .meetingClose: "meeting-close"
        case .share: "share"
        case .checkIn: "check-in"
        }
    }
}
