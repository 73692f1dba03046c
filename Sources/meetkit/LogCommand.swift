import ArgumentParser
import Foundation
import MeetKit

struct LogCommand: ParsableCommand, EngineCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Read the group's log: who said what, when, grouped by meeting.")

    @OptionGroup var node: NodeOptions
    @OptionGroup var selection: GroupOption
    @OptionGroup var output: JSONFlag

    @Option(name: .long, help: "Only this meeting: 'latest', or the first 8 or more hex digits of its id.")
    var meeting: String?

    @Option(name: .long, help: "Only what was written in this last while: for example 2h, 7d.")
    var since: String?

    @Option(name: .long, help: "At most this many entries: the latest.")
    var limit: Int?

    func request() throws -> Request {
        // Checked here rather than in validate(), so that the refusal is one line on stderr.
        let since = try since.map { text in
            guard let milliseconds = Duration.milliseconds(text) else {
                throw CLIError("--since must look like 30m, 12h or 7d, and be from 1 second to 100 years.")
            }
            return Int64((Date().timeIntervalSince1970 * 1000).rounded()) - milliseconds
        }
        let filter = LogFilter(meeting: meeting, since: since, limit: limit)
        return .log(group: selection.group, filter: filter == LogFilter() ? nil : filter)
    }

    func render(_ response: Response) throws -> String {
        let log = try expect(response, \.log)
        if output.json { return try Output.jsonText(log.entries) }
        var lines = [Self.render(log)]
        for fork in log.forks {
            let name = Output.safe(log.names[fork.member] ?? fork.fingerprint)
            lines.append("\nWarning: \(name) (\(fork.fingerprint)) signed two different entries at #\(fork.sequence) of their feed: their key may be in someone else's hands. Nothing more of their feed is accepted; ask them in person.")
        }
        return lines.joined(separator: "\n")
    }

    // MARK: Text

    /// Sections in log order: each meeting gathers its own entries at the point it opened;
    /// entries outside any meeting stay where they fall.
    static func render(_ log: LogView) -> String {
        var sections: [(meeting: LogView.Meeting?, entries: [LogElement])] = []
        var sectionOfMeeting: [String: Int] = [:]
        let meetings = Dictionary(uniqueKeysWithValues: log.meetings.map { ($0.id, $0) })
        for entry in log.entries {
            let meetingID = entry.kind == "meeting-open" ? entry.id : entry.meeting
            if let meetingID, let meeting = meetings[meetingID] {
                if let index = sectionOfMeeting[meetingID] {
                    sections[index].entries.append(entry)
                } else {
                    sectionOfMeeting[meetingID] = sections.count
                    sections.append((meeting, [entry]))
                }
            } else if let last = sections.indices.last, sections[last].meeting == nil {
                sections[last].entries.append(entry)
            } else {
                sections.append((nil, [entry]))
            }
        }

        let shown = log.entries.count == log.total ? "" : "; showing \(log.entries.count)"
        var lines = ["\(Output.safe(log.name ?? "Group")): \(log.total) entries, digest \(log.digest.prefix(16))\(shown)"]
        for section in sections {
            lines.append("")
            if let meeting = section.meeting {
                let topic = meeting.topic.map { " \u{201C}\(Output.safe($0))\u{201D}" } ?? ""
                let end = meeting.closedAt.map { " to \(Output.clockTime($0))" } ?? ", still open"
                lines.append("Meeting\(topic): \(Output.shortTime(meeting.openedAt))\(end)")
            }
            for entry in section.entries where entry.kind != "meeting-open" {
                lines.append(contentsOf: describe(entry, names: log.names, inMeeting: section.meeting != nil))
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func describe(_ e: LogElement, names: [String: String], inMeeting: Bool) -> [String] {
        func name(_ member: String) -> String { Output.safe(names[member] ?? String(member.prefix(8))) }
        let when = inMeeting ? Output.clockTime(e.timestamp) : Output.shortTime(e.timestamp)
        let prefix = "  \(when)  \(Output.safe(e.authorName))"
        let indent = "      "
        func quoted(_ text: String) -> [String] {
            Output.safe(text).split(separator: "\n", omittingEmptySubsequences: false).map { indent + $0 }
        }
        func checkedIn(_ how: String) -> [String] {
            var facts = ["mood \(e.mood ?? 0)/5"]
            if let days = e.milestoneDays { facts.append("\(days) day\(days == 1 ? "" : "s")") }
            if e.wantsSupport == true { facts.append("would like support") }
            return ["\(prefix) checked in\(how): \(facts.joined(separator: ", "))"] + (e.note.map(quoted) ?? [])
        }
        if e.kind == "private-check-in", let readers = e.readers {
            let others = readers.filter { $0 != e.author }.map(name)
            let forWhom = others.isEmpty ? "for themself" : "for " + others.joined(separator: ", ")
            return e.readable ? checkedIn(" privately (\(forWhom))") : ["\(prefix) checked in privately (\(forWhom))"]
        }
        guard e.readable else {
            let reason = switch e.dropped {
            case "redacted": "redacted by its author"
            case "expired": "expired; its text is no longer kept"
            case .some: "its text is no longer kept"
            case nil: "you cannot read it"
            }
            return ["\(prefix): \(e.kind) (\(reason))"]
        }
        switch e.kind {
        case "genesis": return ["\(prefix) founded \(Output.safe(e.name ?? ""))"]
        case "profile": return ["\(prefix) is known as \(Output.safe(e.pseudonym ?? ""))"]
        case "meeting-close": return ["\(prefix) closed the meeting"]
        case "invite": return ["\(prefix) invited someone"]
        case "member-add": return ["\(prefix) admitted \(e.member.map(name) ?? "someone")"]
        case "role-grant": return ["\(prefix) made \(e.member.map(name) ?? "someone") an admin"]
        case "redaction": return ["\(prefix) redacted entry \(e.redacts?.prefix(8) ?? "")"]
        case "retention":
            let milliseconds = (e.retentionSeconds ?? 0) * 1000
            return [milliseconds == 0 ? "\(prefix) set shares to be kept" : "\(prefix) set shares to be kept for \(Output.duration(milliseconds))"]
        case "re-key":
            let removed = (e.removed ?? []).map(name)
            let count = e.recipients ?? 0
            return [
                "\(prefix) \(removed.isEmpty ? "re-keyed the group" : "removed " + removed.joined(separator: ", ")): "
                    + "epoch \(e.newEpoch ?? 0) began, its keys sealed to \(count) member\(count == 1 ? "" : "s")"
            ]
        case "share": return ["\(prefix) shared:"] + quoted(e.text ?? "")
        case "check-in": return checkedIn("")
        default: return ["\(prefix): \(e.kind)"]
        }
    }
}
