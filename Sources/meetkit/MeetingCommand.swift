import ArgumentParser
import Foundation
import MeetKitCore
import MeetKitStore

struct MeetingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meeting", abstract: "Open and close a meeting.", subcommands: [Start.self, End.self])

    struct Start: ParsableCommand, NodeCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a meeting; shares and check-ins written while it is open belong to it.")

        @OptionGroup var node: NodeOptions
        @OptionGroup var selection: GroupOption
        @OptionGroup var output: JSONFlag

        @Option(name: .long, help: "What the meeting is about.")
        var topic: String?

        func run() throws {
            let store = try node.openStore()
            let group = try store.resolveGroup(selection.group)
            if let open = store.state(of: group).openMeeting {
                throw StoreError(
                    .meetingAlreadyOpen,
                    "A meeting opened \(Output.shortTime(open.openedAt)) is still open; end it first with 'meetkit meeting end'.")
            }
            let entry = try store.append(.meetingOpen(topic: topic), to: group, at: Date())
            if output.json { return try Output.json(["id": entry.id.hex, "topic": topic]) }
            Output.line("Meeting opened\(topic.map { ": " + Output.safe($0) } ?? "") (id \(entry.id.short)).")
        }
    }

    struct End: ParsableCommand, NodeCommand {
        static let configuration = CommandConfiguration(abstract: "Close the open meeting.")

        @OptionGroup var node: NodeOptions
        @OptionGroup var selection: GroupOption
        @OptionGroup var output: JSONFlag

        func run() throws {
            let store = try node.openStore()
            let group = try store.resolveGroup(selection.group)
            guard let open = store.state(of: group).openMeeting else {
                throw StoreError(.noOpenMeeting, "No meeting is open; start one with 'meetkit meeting start'.")
            }
            let entry = try store.append(.meetingClose(meeting: open.id), to: group, at: Date())
            let items = store.log(of: group).filter { $0.content?.meeting == open.id }
            let shares = items.filter { $0.entry.header.kind == .share }.count
            let checkIns = items.filter { $0.entry.header.kind == .checkIn || $0.entry.header.kind == .privateCheckIn }.count
            if output.json {
                return try Output.json(["id": entry.id.hex, "meeting": open.id.hex, "shares": "\(shares)", "checkins": "\(checkIns)"])
            }
            Output.line("Meeting closed (id \(open.id.short)): \(shares) share(s), \(checkIns) check-in(s).")
        }
    }
}

extension EntryContent {
    /// The meeting this content belongs to, if any.
    var meeting: EntryID? {
        switch self {
        case .share(let share): share.meeting
        case .checkIn(let checkIn): checkIn.meeting
        case .privateCheckIn(let privateCheckIn): privateCheckIn.meeting
        case .meetingClose(let meeting): meeting
        case .genesis, .profile, .meetingOpen, .invite, .memberAdd, .rekey, .roleGrant, .redaction, .retention: nil
        }
    }
}
