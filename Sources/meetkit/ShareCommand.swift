import ArgumentParser
import Foundation
import MeetKitCore
import MeetKitStore

struct ShareCommand: ParsableCommand, NodeCommand {
    static let configuration = CommandConfiguration(
        commandName: "share",
        abstract: "Share something with the group.",
        discussion: """
            Belongs to the open meeting, if there is one. Only members can read it. With
            --expires, every member's node drops its text once that time has passed (the group
            may also keep shares for a limited time: 'meetkit group retention').
            """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var selection: GroupOption
    @OptionGroup var output: JSONFlag

    @Argument(help: "What you want to tell the group.")
    var text: String

    @Option(name: .long, help: "Drop its text everywhere after this long: for example 2h, 7d.")
    var expires: String?

    func run() throws {
        // Checked here rather than in validate(), so that the refusal is one line on stderr.
        let lifetime = try expires.map(Duration.expiresOption)
        let store = try node.openStore()
        let group = try store.resolveGroup(selection.group)
        let meeting = store.state(of: group).openMeeting?.id
        let now = Date()
        let expiry = try lifetime.map { lifetime in
            guard let expiry = Duration.milliseconds(lifetime, after: now) else {
                throw CLIError("The expiry time is out of range; check this device's clock.")
            }
            return expiry
        }
        let entry = try store.append(.share(Share(text: text, meeting: meeting, expires: expiry)), to: group, at: now)
        if output.json { return try Output.json(["id": entry.id.hex, "meeting": meeting?.hex]) }
        let until = expiry.map { ", kept until \(Output.shortTime($0))" } ?? ""
        Output.line("Shared (entry \(entry.id.short)\(meeting == nil ? "" : ", in the open meeting")\(until)).")
    }
}

struct RedactCommand: ParsableCommand, NodeCommand {
    static let configuration = CommandConfiguration(
        commandName: "redact",
        abstract: "Drop the text of one of your own entries, on every member's node.",
        discussion: """
            Writes a redaction entry; each node that receives it deletes that entry's body
            from its files, keeping only the signed header, so the log still verifies.
            """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var selection: GroupOption

    @Argument(help: "The entry's id, or its first 8 or more hex digits (see 'meetkit log --json').")
    var entry: String

    func run() throws {
        let store = try node.openStore()
        let group = try store.resolveGroup(selection.group)
        let wanted = entry.lowercased()
        let matches = store.log(of: group).map(\.entry.id).filter { wanted.count >= 8 && $0.hex.hasPrefix(wanted) }
        guard matches.count == 1 else {
            throw CLIError(matches.isEmpty ? "No entry in this group starts with \(Output.safe(entry))." : "More than one entry starts with \(Output.safe(entry)); give more digits.")
        }
        try store.redact(matches[0], in: group, at: Date())
        Output.line("Redacted entry \(matches[0].short): its text is gone from this node, and from each member's as it syncs.")
    }
}

struct CheckInCommand: ParsableCommand, NodeCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkin",
        abstract: "Check in: how you are doing, for attendance and accountability.",
        discussion: """
            Belongs to the open meeting, if there is one. Only members can read it; with --to,
            only the members named (an accountability partner, say) and you: the others see
            that you checked in, and for whom, but not how you are doing.
            """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var selection: GroupOption
    @OptionGroup var output: JSONFlag

    @Option(name: .long, help: "Only this member may read it (fingerprint, name or id prefix); repeatable.")
    var to: [String] = []

    @Option(name: .long, help: "How you are doing, from 1 (struggling) to 5 (doing well).")
    var mood: UInt8

    @Option(name: .long, help: "A few words about it.")
    var note: String?

    @Option(name: .long, help: "A milestone in days (for example, days sober).")
    var days: UInt32?

    @Flag(name: .long, help: "Let the group know you would like support.")
    var support = false

    func validate() throws {
        guard CheckIn.moods.contains(mood) else { throw ValidationError("--mood must be 1, 2, 3, 4 or 5.") }
    }

    func run() throws {
        let store = try node.openStore()
        let group = try store.resolveGroup(selection.group)
        let state = store.state(of: group)
        let meeting = state.openMeeting?.id
        let checkIn = CheckIn(mood: mood, note: note, milestoneDays: days, wantsSupport: support, meeting: meeting)
        let readers = try to.map { try MemberSelection.find($0, in: state) }
        let entry = readers.isEmpty
            ? try store.append(.checkIn(checkIn), to: group, at: Date())
            : try store.appendPrivateCheckIn(checkIn, readers: readers, to: group, at: Date())
        if output.json { return try Output.json(["id": entry.id.hex, "meeting": meeting?.hex]) }
        let privately = readers.isEmpty ? "" : " privately, for " + readers.map { Output.safe(state.displayName(of: $0)) }.joined(separator: ", ")
        Output.line("Checked in\(privately) (entry \(entry.id.short)\(meeting == nil ? "" : ", in the open meeting")).")
    }
}
