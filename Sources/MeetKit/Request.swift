import Foundation
import MeetKitNode

/// Everything a front end may ask of the engine, as a value: what the control socket carries
/// (Protocol/control.md). `group` is a group's name or id prefix, nil for the only group.
public enum Request: Codable, Sendable, Equatable {
    // Queries
    case status(group: String?)
    case versionVector(group: String?)
    case members(group: String?)
    case log(group: String?, filter: LogFilter?)
    case newestOwnEntry
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
    /// `file`: an absolute path (the node's working directory is not the client's).
    case export(file: String, since: String?, group: String?)
    case importBundle(file: String)
    case verify
    // What needs a node
    case sync(peer: String, group: String?)
    case join(code: String, peer: String?)
    case peers
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
    case exported(Exported)
    case imported(Imported)
    case verified(Verified)
    case synced(Synced)
    case joined(Joined)
    case peers([Node.PeerInfo])
    /// A time in milliseconds since 1970, or none.
    case timestamp(Int64?)
}

extension Engine {
    /// Carries out `request` on the store (those that reach members need a node:
    /// `perform(_:on:)`).
    public func perform(_ request: Request, now: Date = Date()) throws(EngineError) -> Response {
        switch request {
        case .status(let group): .status(try status(group: group))
        case .versionVector(let group): .text(try versionVector(group: group))
        case .members(let group): .members(try members(group: group))
        case .log(let group, let filter): .log(try log(group: group, filter: filter ?? LogFilter(), now: now))
        case .newestOwnEntry: .timestamp(newestOwnEntry())
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
        case .export(let file, let since, let group): .exported(try export(to: file, since: since, group: group))
        case .importBundle(let file): .imported(try importBundle(from: file))
        case .verify: .verified(try verify())
        case .sync, .join, .peers: throw EngineError(.noNode, "That needs a node (`Engine.perform(_:on:)`); this engine has only a store.")
        }
    }
}
