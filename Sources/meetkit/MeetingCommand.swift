import ArgumentParser
import MeetKit

struct MeetingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meeting", abstract: "Open and close a meeting.", subcommands: [Start.self, End.self])

    struct Start: ParsableCommand, EngineCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a meeting; shares and check-ins written while it is open belong to it.")

        @OptionGroup var node: NodeOptions
        @OptionGroup var selection: GroupOption
        @OptionGroup var output: JSONFlag

        @Option(name: .long, help: "What the meeting is about.")
        var topic: String?

        func request() throws -> Request { .openMeeting(topic: topic, group: selection.group) }

        func render(_ response: Response) throws -> String {
            let opened = try expect(response, \.meetingOpened)
            if output.json { return try Output.jsonText(opened) }
            return "Meeting opened\(opened.topic.map { ": " + Output.safe($0) } ?? "") (id \(opened.id.prefix(8)))."
        }
    }

    struct End: ParsableCommand, EngineCommand {
        static let configuration = CommandConfiguration(abstract: "Close the open meeting.")

        @OptionGroup var node: NodeOptions
        @OptionGroup var selection: GroupOption
        @OptionGroup var output: JSONFlag

        func request() throws -> Request { .closeMeeting(group: selection.group) }

        func render(_ response: Response) throws -> String {
            let closed = try expect(response, \.meetingClosed)
            if output.json { return try Output.jsonText(closed) }
            return "Meeting closed (id \(closed.meeting.prefix(8))): \(closed.shares) share(s), \(closed.checkins) check-in(s)."
        }
    }
}
