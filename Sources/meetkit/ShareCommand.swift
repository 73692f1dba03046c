import ArgumentParser
import MeetKit
import MeetKitCore

struct ShareCommand: ParsableCommand, EngineCommand {
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

    func request() throws -> Request {
        // Checked here rather than in validate(), so that the refusal is one line on stderr.
        .share(text: text, expiresIn: try expires.map(Duration.expiresOption), group: selection.group)
    }

    func render(_ response: Response) throws -> String {
        let written = try expect(response, \.written)
        if output.json { return try Output.jsonText(["id": written.id, "meeting": written.meeting]) }
        let until = written.expires.map { ", kept until \(Output.shortTime($0))" } ?? ""
        return "Shared (entry \(written.id.prefix(8))\(written.meeting == nil ? "" : ", in the open meeting")\(until))."
    }
}

struct RedactCommand: ParsableCommand, EngineCommand {
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

    func request() throws -> Request { .redact(entry: entry, group: selection.group) }

    func render(_ response: Response) throws -> String {
        let redacted = try expect(response, \.redacted)
        return "Redacted entry \(redacted.entry.prefix(8)): its text is gone from this node, and from each member's as it syncs."
    }
}

struct CheckInCommand: ParsableCommand, EngineCommand {
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

    func request() throws -> Request {
        .checkIn(mood: mood, note: note, days: days, wantsSupport: support, readers: to, group: selection.group)
    }

    func render(_ response: Response) throws -> String {
        let written = try expect(response, \.written)
        if output.json { return try Output.jsonText(["id": written.id, "meeting": written.meeting]) }
        let privately = written.readers.map { " privately, for " + $0.map(Output.safe).joined(separator: ", ") } ?? ""
        return "Checked in\(privately) (entry \(written.id.prefix(8))\(written.meeting == nil ? "" : ", in the open meeting"))."
    }
}
