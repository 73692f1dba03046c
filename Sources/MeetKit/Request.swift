import Foundation

/// Everything a front end may ask of the engine, as a value: what the control socket carries
/// (Protocol/control.md). `group` is a group's name or id prefix, nil for the only group.
public enum Request: Codable, Sendable, Equatable {
    // Queries
    case status(group: String?)
    case versionVector(group: String?)
    case members(group: String?)
    case log(group: String?)
    // Commands
    case share(text: String, expiresIn: Int64?, group: String?)
    case checkIn(mood: UInt8, note: String?, days: UInt32?, wantsSupport: Bool, readers: [String], group: String?)
    case openMeeting(topic: String?, group: String?)
    case closeMeeting(group: String?)
    case redact(entry: String, group: String?)
    case createGroup(name: String)
    case invite(lifetime: Int64, group: String?)
    case remove(member: String, group: String?)
    case makeAdmin(member: String, group: String?)
    case setRetention(milliseconds: Int64, group: String?)
    /// A `meetkit` command line not yet carried as a typed request: the node runs it and
    /// returns what it printed (Protocol/control.md §Command lines). Being replaced, command
    /// by command, by the cases above.
    case commandLine([String])
}

/// The engine's answer to a `Request`.
public enum Response: Codable, Sendable, Equatable {
    case status(StatusReport)
    case text(String)
    case members([MemberView])
    case log(LogView)
    case written(Written)
    case meetingOpened(MeetingOpened)
    case meetingClosed(MeetingClosed)
    case redacted(Redacted)
    case groupCreated(GroupCreated)
    case invited(Invited)
    case memberChanged(MemberChanged)
    case retentionSet(RetentionSet)
    /// What a command line printed, and how it ended.
    case printed(status: Int32, stdout: String, stderr: String)
}

extension Engine {
    /// Carries out `request` (any but `.commandLine`, which only a running node's front end
    /// can run).
    public func perform(_ request: Request, now: Date = Date()) throws(EngineError) -> Response {
        switch request {
        case .status(let group): .status(try status(group: group))
        case .versionVector(let group): .text(try versionVector(group: group))
        case .members(let group): .members(try members(group: group))
        case .log(let group): .log(try log(group: group, now: now))
        case .share(let text, let expiresIn, let group): .written(try share(text, expiresIn: expiresIn, group: group, now: now))
        case .checkIn(let mood, let note, let days, let wantsSupport, let readers, let group):
            .written(try checkIn(mood: mood, note: note, days: days, wantsSupport: wantsSupport, readers: readers, group: group, now: now))
        case .openMeeting(let topic, let group): .meetingOpened(try openMeeting(topic: topic, group: group, now: now))
        case .closeMeeting(let group): .meetingClosed(try closeMeeting(group: group, now: now))
        case .redact(let entry, let group): .redacted(try redact(entry, group: group, now: now))
        case .createGroup(let name):
            .groupCreated(GroupCreated(id: try createGroup(name: name, now: now).hex, name: name))
        case .invite(let lifetime, let group): .invited(try invite(lifetime: lifetime, group: group, now: now))
        case .remove(let member, let group): .memberChanged(try remove(member, group: group, now: now))
        case .makeAdmin(let member, let group): .memberChanged(try makeAdmin(member, group: group, now: now))
        case .setRetention(let milliseconds, let group): .retentionSet(try setRetention(milliseconds, group: group, now: now))
        case .commandLine: throw EngineError(.malformedRequest, "A command line is run by the command-line front end, not the engine.")
        }
    }
}
