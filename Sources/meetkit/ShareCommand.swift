import ArgumentParser
import Foundation
import MeetKitCore
import MeetKitStore

struct ShareCommand: ParsableCommand, NodeCommand {
    static let configuration = CommandConfiguration(
        commandName: "share",
        abstract: "Share something with the group.",
        discussion: "Belongs to the open meeting, if there is one. Only members can read it.")

    @OptionGroup var node: NodeOptions
    @OptionGroup var selection: GroupOption
    @OptionGroup var output: JSONFlag

    @Argument(help: "What you want to tell the group.")
    var text: String

    func run() throws {
        let store = try node.openStore()
        let group = try store.resolveGroup(selection.group)
        let meeting = store.state(of: group).openMeeting?.id
        let entry = try store.append(.share(Share(text: text, meeting: meeting)), to: group, at: Date())
        if output.json { return try Output.json(["id": entry.id.hex, "meeting": meeting?.hex]) }
        Output.line("Shared (entry \(entry.id.short)\(meeting == nil ? "" : ", in the open meeting")).")
    }
}

struct CheckInCommand: ParsableCommand, NodeCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkin",
        abstract: "Check in: how you are doing, for attendance and accountability.",
        discussion: "Belongs to the open meeting, if there is one. Only members can read it.")

    @OptionGroup var node: NodeOptions
    @OptionGroup var selection: GroupOption
    @OptionGroup var output: JSONFlag

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
        let meeting = store.state(of: group).openMeeting?.id
        let checkIn = CheckIn(mood: mood, note: note, milestoneDays: days, wantsSupport: support, meeting: meeting)
        let entry = try store.append(.checkIn(checkIn), to: group, at: Date())
        if output.json { return try Output.json(["id": entry.id.hex, "meeting": meeting?.hex]) }
        Output.line("Checked in (entry \(entry.id.short)\(meeting == nil ? "" : ", in the open meeting")).")
    }
}
