import ArgumentParser
import Foundation
import MeetKitCore
import MeetKitStore

struct LogCommand: ParsableCommand, NodeCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Read the group's log: who said what, when, grouped by meeting.")

    @OptionGroup var node: NodeOptions
    @OptionGroup var selection: GroupOption
    @OptionGroup var output: JSONFlag

    /// One entry as `meetkit log --json` prints it (see README §Output formats).
    struct Element: Encodable {
        let id: String
        let group: String
        let author: String
        let authorName: String
        let kind: String
        let time: String
        let lamport: UInt64
        let sequence: UInt64
        let epoch: UInt32
        var readable: Bool
        var meeting: String?
        var name: String?
        var pseudonym: String?
        var topic: String?
        var text: String?
        var mood: UInt8?
        var note: String?
        var milestoneDays: UInt32?
        var wantsSupport: Bool?
        var member: String?
        var removed: [String]?
        var newEpoch: UInt32?
        /// "expired" or "redacted" when its body is no longer kept.
        var dropped: String?
        var redacts: String?
        /// A private check-in's readers (member ids), the author among them.
        var readers: [String]?
        var retentionSeconds: Int64?
    }

    func run() throws {
        let store = try node.openStore()
        let group = try store.resolveGroup(selection.group)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let state = store.state(of: group)
        // An expired or redacted entry reads as such at once, even before its body is dropped.
        let items = store.log(of: group).map { item in
            state.dropReason(of: item, now: now) == nil ? item : LogItem(entry: item.entry.droppingBody(), content: nil)
        }
        // Private check-ins this member is a reader of, opened.
        var opened: [EntryID: CheckIn] = [:]
        for item in items {
            if case .privateCheckIn(let p)? = item.content, let checkIn = store.open(p, in: item.entry.header) { opened[item.entry.id] = checkIn }
        }
        if output.json { return try Output.json(items.map { element($0, state, now: now, opened: opened) }) }
        Output.line(render(items, state, now: now, opened: opened, digest: LogDigest.digest(ofOrderedIDs: items.map(\.entry.id))))
        for fork in store.forks(in: group) {
            Output.line("\nWarning: \(Output.safe(state.displayName(of: fork.author))) (\(fork.author.fingerprint)) signed two different entries at #\(fork.sequence) of their feed: their key may be in someone else's hands. Nothing more of their feed is accepted; ask them in person.")
        }
    }

    private func element(_ item: LogItem, _ state: GroupState, now: Int64, opened: [EntryID: CheckIn]) -> Element {
        let header = item.entry.header
        var e = Element(
            id: item.entry.id.hex, group: item.entry.group.hex, author: header.author.hex,
            authorName: state.displayName(of: header.author), kind: header.kind.description,
            time: Output.iso(header.timestamp), lamport: header.lamport, sequence: header.sequence, epoch: header.epoch,
            readable: item.content != nil)
        e.dropped = item.entry.body == nil ? (state.dropReason(of: item, now: now)?.rawValue ?? "dropped") : nil
        e.meeting = item.content?.meeting?.hex
        switch item.content {
        case .genesis(let name)?: e.name = name
        case .profile(let pseudonym)?: e.pseudonym = pseudonym
        case .meetingOpen(let topic)?: e.topic = topic
        case .meetingClose?, .invite?, nil: break
        case .memberAdd(let add)?: e.member = add.member.hex
        case .roleGrant(let member)?: e.member = member.hex
        case .redaction(let entry)?: e.redacts = entry.hex
        case .retention(let milliseconds)?: e.retentionSeconds = milliseconds / 1000
        case .rekey(let rekey)?:
            e.removed = rekey.removed.map(\.member.hex)
            e.newEpoch = rekey.epoch
        case .share(let share)?: e.text = share.text
        case .checkIn(let c)?:
            e.mood = c.mood
            e.note = c.note
            e.milestoneDays = c.milestoneDays
            e.wantsSupport = c.wantsSupport
        case .privateCheckIn(let p)?:
            e.readers = p.readers.map(\.recipient.hex)
            e.readable = opened[item.entry.id] != nil
            if let c = opened[item.entry.id] {
                e.mood = c.mood
                e.note = c.note
                e.milestoneDays = c.milestoneDays
                e.wantsSupport = c.wantsSupport
            }
        }
        return e
    }

    // MARK: Text

    /// Sections in log order: each meeting gathers its own entries at the point it opened;
    /// entries outside any meeting stay where they fall.
    private func render(_ items: [LogItem], _ state: GroupState, now: Int64, opened: [EntryID: CheckIn], digest: [UInt8]) -> String {
        var sections: [(meeting: Meeting?, items: [LogItem])] = []
        var sectionOfMeeting: [EntryID: Int] = [:]
        let meetings = Dictionary(uniqueKeysWithValues: state.meetings.map { ($0.id, $0) })
        for item in items {
            let meetingID = item.entry.header.kind == .meetingOpen ? item.entry.id : item.content?.meeting
            if let meetingID, let meeting = meetings[meetingID] {
                if let index = sectionOfMeeting[meetingID] {
                    sections[index].items.append(item)
                } else {
                    sectionOfMeeting[meetingID] = sections.count
                    sections.append((meeting, [item]))
                }
            } else if let last = sections.indices.last, sections[last].meeting == nil {
                sections[last].items.append(item)
            } else {
                sections.append((nil, [item]))
            }
        }

        var lines = ["\(Output.safe(state.name ?? "Group")): \(items.count) entries, digest \(Hex.encode(digest).prefix(16))"]
        for section in sections {
            lines.append("")
            if let meeting = section.meeting {
                let topic = meeting.topic.map { " \u{201C}\(Output.safe($0))\u{201D}" } ?? ""
                let end = meeting.closedAt.map { " to \(Output.clockTime($0))" } ?? ", still open"
                lines.append("Meeting\(topic): \(Output.shortTime(meeting.openedAt))\(end)")
            }
            for item in section.items where item.entry.header.kind != .meetingOpen {
                lines.append(contentsOf: describe(item, state, now: now, opened: opened, inMeeting: section.meeting != nil))
            }
        }
        return lines.joined(separator: "\n")
    }

    private func describe(_ item: LogItem, _ state: GroupState, now: Int64, opened: [EntryID: CheckIn], inMeeting: Bool) -> [String] {
        let header = item.entry.header
        let who = Output.safe(state.displayName(of: header.author))
        let when = inMeeting ? Output.clockTime(header.timestamp) : Output.shortTime(header.timestamp)
        let prefix = "  \(when)  \(who)"
        let indent = "      "
        func quoted(_ text: String) -> [String] {
            Output.safe(text).split(separator: "\n", omittingEmptySubsequences: false).map { indent + $0 }
        }
        guard let content = item.content else {
            let reason = switch (item.entry.body, state.dropReason(of: item, now: now)) {
            case (_, .redacted?): "redacted by its author"
            case (_, .expired?): "expired; its text is no longer kept"
            case (nil, nil): "its text is no longer kept"
            case (_?, nil): "you cannot read it"
            }
            return ["\(prefix): \(header.kind) (\(reason))"]
        }
        switch content {
        case .genesis(let name): return ["\(prefix) founded \(Output.safe(name))"]
        case .profile(let pseudonym): return ["\(prefix) is known as \(Output.safe(pseudonym))"]
        case .meetingOpen(let topic): return ["\(prefix) opened a meeting\(topic.map { ": " + Output.safe($0) } ?? "")"]
        case .meetingClose: return ["\(prefix) closed the meeting"]
        case .invite: return ["\(prefix) invited someone"]
        case .memberAdd(let add): return ["\(prefix) admitted \(Output.safe(state.displayName(of: add.member)))"]
        case .roleGrant(let member): return ["\(prefix) made \(Output.safe(state.displayName(of: member))) an admin"]
        case .redaction(let entry): return ["\(prefix) redacted entry \(entry.short)"]
        case .retention(let milliseconds):
            return [milliseconds == 0 ? "\(prefix) set shares to be kept" : "\(prefix) set shares to be kept for \(Output.duration(milliseconds))"]
        case .rekey(let rekey):
            let removed = rekey.removed.map { Output.safe(state.displayName(of: $0.member)) }
            return [
                "\(prefix) \(removed.isEmpty ? "re-keyed the group" : "removed " + removed.joined(separator: ", ")): "
                    + "epoch \(rekey.epoch) began, its keys sealed to \(rekey.keys.count) member\(rekey.keys.count == 1 ? "" : "s")"
            ]
        case .share(let share): return ["\(prefix) shared:"] + quoted(share.text)
        case .checkIn(let c):
            return checkedIn(c, "")
        case .privateCheckIn(let p):
            let readers = p.readers.map(\.recipient).filter { $0 != header.author }.map { Output.safe(state.displayName(of: $0)) }
            let forWhom = readers.isEmpty ? "for themself" : "for " + readers.joined(separator: ", ")
            guard let c = opened[item.entry.id] else { return ["\(prefix) checked in privately (\(forWhom))"] }
            return checkedIn(c, " privately (\(forWhom))")
        }

        func checkedIn(_ c: CheckIn, _ how: String) -> [String] {
            var facts = ["mood \(c.mood)/5"]
            if let days = c.milestoneDays { facts.append("\(days) day\(days == 1 ? "" : "s")") }
            if c.wantsSupport { facts.append("would like support") }
            return ["\(prefix) checked in\(how): \(facts.joined(separator: ", "))"] + (c.note.map(quoted) ?? [])
        }
    }
}
