import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitStore

/// MeetKit's engine: what a member does (typed commands) and reads (typed queries), over one
/// node's store, with every domain rule in one place. The CLI, the running node's control
/// socket and embedding programs all go through it; none of them decides anything itself.
///
/// Not thread-safe: a running node uses it on its own actor (`Node.withStore`), a command in
/// process on its one thread.
public final class Engine {
    public let store: Store
    /// Told how long work goes (what, done, total), for a front end that shows progress: a
    /// bundle being checked or written. Not called for work done in a running node.
    public var progress: ((String, Int, Int) -> Void)?

    public init(store: Store) {
        self.store = store
    }

    /// A new node in `directory`: identity and keystore sealed under `passphrase`.
    public static func create(
        at directory: DataDirectory, passphrase: SecretBytes, pseudonym: String, cost: Argon2id.Cost = .moderate
    ) throws(EngineError) -> Engine {
        try EngineError.catching { Engine(store: try Store.create(at: directory, passphrase: passphrase, pseudonym: pseudonym, cost: cost)) }
    }

    /// The node in `directory`, unlocked with `passphrase`.
    public static func open(at directory: DataDirectory, passphrase: SecretBytes) throws(EngineError) -> Engine {
        try EngineError.catching { Engine(store: try Store.open(at: directory, passphrase: passphrase)) }
    }

    // MARK: - Groups

    /// Founds a group with this member as founder and first admin; returns its id.
    public func createGroup(name: String, now: Date = Date()) throws(EngineError) -> GroupID {
        try EngineError.catching { try store.createGroup(name: name, at: now) }
    }

    /// The group `selector` names (a name or an id prefix), or the only one.
    public func group(_ selector: String?) throws(EngineError) -> GroupID {
        try EngineError.catching { try store.resolveGroup(selector) }
    }

    // MARK: - Commands

    /// Shares `text` with the group. It belongs to the open meeting, if there is one; with
    /// `expiresIn` (ms), every member's node drops its text once that time has passed.
    public func share(_ text: String, expiresIn: Int64? = nil, group selector: String? = nil, now: Date = Date()) throws(EngineError) -> Written {
        let group = try group(selector)
        let meeting = store.state(of: group).openMeeting?.id
        let expires = try expiresIn.map { milliseconds throws(EngineError) in try Self.milliseconds(milliseconds, after: now) }
        let entry = try EngineError.catching {
            try store.append(.share(Share(text: text, meeting: meeting, expires: expires)), to: group, at: now)
        }
        return Written(id: entry.id.hex, meeting: meeting?.hex, expires: expires, readers: nil)
    }

    /// Checks in. Belongs to the open meeting, if there is one. With `readers` (members named
    /// by fingerprint, name or id prefix), only they and the author can read how it went.
    public func checkIn(
        mood: UInt8, note: String? = nil, days: UInt32? = nil, wantsSupport: Bool = false, readers names: [String] = [],
        group selector: String? = nil, now: Date = Date()
    ) throws(EngineError) -> Written {
        guard CheckIn.moods.contains(mood) else { throw EngineError(.outOfRange, "A mood is 1, 2, 3, 4 or 5.") }
        let group = try group(selector)
        let state = store.state(of: group)
        let meeting = state.openMeeting?.id
        let checkIn = CheckIn(mood: mood, note: note, milestoneDays: days, wantsSupport: wantsSupport, meeting: meeting)
        var readers: [PublicKey] = []
        for name in names { readers.append(try Self.member(name, in: state)) }
        let entry = try EngineError.catching {
            readers.isEmpty
                ? try store.append(.checkIn(checkIn), to: group, at: now)
                : try store.appendPrivateCheckIn(checkIn, readers: readers, to: group, at: now)
        }
        return Written(
            id: entry.id.hex, meeting: meeting?.hex, expires: nil,
            readers: readers.isEmpty ? nil : readers.map { state.displayName(of: $0) })
    }

    /// Opens a meeting: shares and check-ins written while it is open belong to it. Only one
    /// meeting is open at a time.
    public func openMeeting(topic: String? = nil, group selector: String? = nil, now: Date = Date()) throws(EngineError) -> MeetingOpened {
        let group = try group(selector)
        if let open = store.state(of: group).openMeeting {
            throw EngineError(.meetingAlreadyOpen, "A meeting opened \(Self.isoTime(open.openedAt)) is still open.")
        }
        let entry = try EngineError.catching { try store.append(.meetingOpen(topic: topic), to: group, at: now) }
        return MeetingOpened(id: entry.id.hex, topic: topic)
    }

    /// Closes the open meeting, and counts what was written in it.
    public func closeMeeting(group selector: String? = nil, now: Date = Date()) throws(EngineError) -> MeetingClosed {
        let group = try group(selector)
        guard let open = store.state(of: group).openMeeting else {
            throw EngineError(.noOpenMeeting, "No meeting is open.")
        }
        let entry = try EngineError.catching { try store.append(.meetingClose(meeting: open.id), to: group, at: now) }
        let items = store.log(of: group).filter { $0.content?.meeting == open.id }
        let shares = items.filter { $0.entry.header.kind == .share }.count
        let checkIns = items.filter { $0.entry.header.kind == .checkIn || $0.entry.header.kind == .privateCheckIn }.count
        return MeetingClosed(id: entry.id.hex, meeting: open.id.hex, shares: shares, checkins: checkIns)
    }

    /// Drops the text of one of this member's own entries (named by 8 or more hex digits of
    /// its id) on every member's node.
    public func redact(_ prefix: String, group selector: String? = nil, now: Date = Date()) throws(EngineError) -> Redacted {
        let group = try group(selector)
        let wanted = prefix.lowercased()
        let matches = wanted.count >= 8 ? store.log(of: group).map(\.entry.id).filter { $0.hex.hasPrefix(wanted) } : []
        guard matches.count == 1 else {
            throw matches.isEmpty
                ? EngineError(.unknownEntry, "No entry in this group starts with \(prefix).")
                : EngineError(.ambiguousEntry, "More than one entry starts with \(prefix); give more digits.")
        }
        let entry = try EngineError.catching { try store.redact(matches[0], in: group, at: now) }
        return Redacted(id: entry.id.hex, entry: matches[0].hex)
    }

    /// Writes a one-time invite valid for `lifetime` ms (admins only) and returns its code.
    public func invite(lifetime: Int64, group selector: String? = nil, now: Date = Date()) throws(EngineError) -> Invited {
        let group = try group(selector)
        let expires = try Self.milliseconds(lifetime, after: now)
        let code = try EngineError.catching { try store.createInvite(to: group, lifetime: TimeInterval(lifetime) / 1000, at: now) }
        return Invited(code: code.text, group: group.hex, name: store.state(of: group).name, expires: expires)
    }

    /// Removes the member `name` names (admins only, never a more senior admin): a new epoch
    /// begins whose keys they never get.
    public func remove(_ name: String, group selector: String? = nil, now: Date = Date()) throws(EngineError) -> MemberChanged {
        let group = try group(selector)
        let state = store.state(of: group)
        let member = try Self.member(name, in: state)
        let entry = try EngineError.catching { try store.remove(member, from: group, at: now) }
        return MemberChanged(
            member: member.hex, fingerprint: member.fingerprint, name: state.displayName(of: member), epoch: entry.header.epoch + 1)
    }

    /// Makes the member `name` names an admin (admins only).
    public func makeAdmin(_ name: String, group selector: String? = nil, now: Date = Date()) throws(EngineError) -> MemberChanged {
        let group = try group(selector)
        let state = store.state(of: group)
        let member = try Self.member(name, in: state)
        try EngineError.catching { _ = try store.grantAdmin(member, in: group, at: now) }
        return MemberChanged(member: member.hex, fingerprint: member.fingerprint, name: state.displayName(of: member), epoch: nil)
    }

    /// How long the group keeps shares (admins only): `milliseconds` after they were written,
    /// from an hour to a hundred years; 0 keeps them.
    public func setRetention(_ milliseconds: Int64, group selector: String? = nil, now: Date = Date()) throws(EngineError) -> RetentionSet {
        guard milliseconds == 0 || GroupState.retentionRange.contains(milliseconds) else {
            throw EngineError(.outOfRange, "Shares are kept from an hour to a hundred years, or for good.")
        }
        let group = try group(selector)
        try EngineError.catching { _ = try store.setRetention(milliseconds, in: group, at: now) }
        return RetentionSet(milliseconds: milliseconds)
    }

    // MARK: - Queries

    /// This member, their groups, and the digest of the selected group (or, with several
    /// groups and none selected, the digest of their digests in group-id order).
    public func status(group selector: String? = nil) throws(EngineError) -> StatusReport {
        let groups = store.groups
        let digest: [UInt8]
        if selector != nil || groups.count == 1 {
            digest = store.summary(of: try group(selector)).digest
        } else {
            digest = LogDigest.combined(groups.sorted { $0.id < $1.id }.map(\.digest))
        }
        return StatusReport(
            member: store.memberID.hex, fingerprint: store.memberID.fingerprint, name: store.pseudonym,
            home: store.directory.path, entries: store.entryCount, digest: Hex.encode(digest),
            groups: groups.map { group in
                let forks = store.forks(in: group.id)
                let state = forks.isEmpty ? nil : store.state(of: group.id)
                return StatusReport.Group(
                    id: group.id.hex, name: group.name, entries: group.entries, feeds: group.feeds, epoch: group.epoch,
                    digest: Hex.encode(group.digest),
                    quarantined: forks.map { fork in
                        StatusReport.Quarantined(
                            member: fork.author.hex, name: state?.displayName(of: fork.author) ?? fork.author.fingerprint,
                            sequence: fork.sequence)
                    })
            })
    }

    /// The group's version vector, as text, for another member's `export --since`.
    public func versionVector(group selector: String? = nil) throws(EngineError) -> String {
        store.versionVector(of: try group(selector)).text
    }

    /// When this member last wrote anything, in any group (ms since 1970); nil before their
    /// first entry. A clock set earlier than this would stamp new entries before old ones.
    public func newestOwnEntry() -> Int64? {
        store.groups.flatMap { store.entries(of: $0.id, missingFrom: VersionVector()) }
            .filter { $0.header.author == store.memberID }.map(\.header.timestamp).max()
    }

    /// The group's members, in the order they were admitted.
    public func members(group selector: String? = nil) throws(EngineError) -> [MemberView] {
        let state = store.state(of: try group(selector))
        return state.members.map { key in
            MemberView(
                member: key.hex, fingerprint: key.fingerprint, name: state.displayName(of: key),
                founder: key == state.founder, admin: state.isAdmin(key), you: key == store.memberID)
        }
    }

    /// The group's log as this member may read it, at `now`: an expired or redacted entry
    /// reads as such at once, even before its body is dropped; private check-ins this member
    /// is a reader of are opened.
    /// With `filter`, only the entries it selects (the digest is still the whole log's).
    public func log(group selector: String? = nil, filter: LogFilter = LogFilter(), now: Date = Date()) throws(EngineError) -> LogView {
        let group = try group(selector)
        let now = Int64(now.timeIntervalSince1970 * 1000)
        let state = store.state(of: group)
        let all = store.log(of: group)
        let selected = try filter.select(all, meetings: state.meetings)
        let items = selected.map { item in
            state.dropReason(of: item, now: now) == nil ? item : LogItem(entry: item.entry.droppingBody(), content: nil)
        }
        var names: [String: String] = [:]
        func mention(_ key: PublicKey) { names[key.hex] = state.displayName(of: key) }
        let elements = items.map { item in
            mention(item.entry.header.author)
            var element = Self.element(item, state, now: now)
            switch item.content {
            case .memberAdd(let add)?: mention(add.member)
            case .roleGrant(let member)?: mention(member)
            case .rekey(let rekey)?: rekey.removed.forEach { mention($0.member) }
            case .privateCheckIn(let sealed)?:
                sealed.readers.forEach { mention($0.recipient) }
                if let checkIn = store.open(sealed, in: item.entry.header) {
                    element.readable = true
                    element.fill(checkIn)
                } else {
                    element.readable = false
                }
            default: break
            }
            return element
        }
        return LogView(
            name: state.name, digest: Hex.encode(LogDigest.digest(ofOrderedIDs: all.map(\.entry.id))), total: all.count, entries: elements,
            meetings: state.meetings.map { LogView.Meeting(id: $0.id.hex, topic: $0.topic, openedAt: $0.openedAt, closedAt: $0.closedAt) },
            names: names,
            forks: store.forks(in: group).map { LogView.Fork(member: $0.author.hex, fingerprint: $0.author.fingerprint, sequence: $0.sequence) })
    }

    // MARK: - Helpers

    private static func element(_ item: LogItem, _ state: GroupState, now: Int64) -> LogElement {
        let header = item.entry.header
        var e = LogElement(
            id: item.entry.id.hex, group: item.entry.group.hex, author: header.author.hex,
            authorName: state.displayName(of: header.author), kind: header.kind.description,
            time: isoTime(header.timestamp), timestamp: header.timestamp, lamport: header.lamport, sequence: header.sequence,
            epoch: header.epoch, readable: item.content != nil)
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
            e.recipients = rekey.keys.count
        case .share(let share)?: e.text = share.text
        case .checkIn(let checkIn)?: e.fill(checkIn)
        case .privateCheckIn(let sealed)?: e.readers = sealed.readers.map(\.recipient.hex)
        }
        return e
    }

    /// The member of `state` that `text` names: fingerprint (dashes optional), pseudonym, or
    /// member id prefix (4 hex digits or more).
    public static func member(_ text: String, in state: GroupState) throws(EngineError) -> PublicKey {
        let wanted = text.lowercased().replacingOccurrences(of: "-", with: "")
        let matches = state.members.filter { key in
            state.pseudonyms[key] == text || key.fingerprint.replacingOccurrences(of: "-", with: "") == wanted
                || (wanted.count >= 4 && key.hex.hasPrefix(wanted))
        }
        guard matches.count == 1 else {
            throw matches.isEmpty
                ? EngineError(.unknownMember, "No member of this group is called \(text).")
                : EngineError(.ambiguousMember, "More than one member matches \(text); use their fingerprint.")
        }
        return matches[0]
    }

    /// The time `milliseconds` after `date`, in milliseconds since 1970, with no arithmetic
    /// that can trap on what a user typed.
    static func milliseconds(_ milliseconds: Int64, after date: Date) throws(EngineError) -> Int64 {
        let total = (date.timeIntervalSince1970 * 1000).rounded() + Double(milliseconds)
        guard milliseconds > 0, total.isFinite, let value = Int64(exactly: total) else {
            throw EngineError(.outOfRange, "The expiry time is out of range; check this device's clock.")
        }
        return value
    }

    static func isoTime(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}

/// Which entries of a log to show: those of one meeting, those written since a time, and at
/// most the latest `limit` of them. The empty filter shows the whole log.
public struct LogFilter: Codable, Sendable, Equatable {
    /// "latest", or 8 or more hex digits of a meeting's id (its meeting-open entry).
    public var meeting: String?
    /// ms since 1970.
    public var since: Int64?
    public var limit: Int?

    public init(meeting: String? = nil, since: Int64? = nil, limit: Int? = nil) {
        self.meeting = meeting
        self.since = since
        self.limit = limit
    }

    func select(_ items: [LogItem], meetings: [Meeting]) throws(EngineError) -> [LogItem] {
        var items = items
        if let wanted = meeting?.lowercased() {
            let meeting: Meeting?
            if wanted == "latest" {
                guard let latest = meetings.last else { throw EngineError(.unknownEntry, "The group has held no meeting yet.") }
                meeting = latest
            } else {
                let matches = wanted.count >= 8 ? meetings.filter { $0.id.hex.hasPrefix(wanted) } : []
                guard matches.count == 1 else {
                    throw matches.isEmpty
                        ? EngineError(.unknownEntry, "No meeting of this group starts with \(wanted).")
                        : EngineError(.ambiguousEntry, "More than one meeting starts with \(wanted); give more digits.")
                }
                meeting = matches[0]
            }
            let id = meeting?.id
            items = items.filter { $0.entry.id == id || $0.content?.meeting == id }
        }
        if let since { items = items.filter { $0.entry.header.timestamp >= since } }
        if let limit {
            guard limit > 0 else { throw EngineError(.outOfRange, "A limit is 1 or more entries.") }
            items = Array(items.suffix(limit))
        }
        return items
    }
}

extension LogElement {
    mutating func fill(_ checkIn: CheckIn) {
        mood = checkIn.mood
        note = checkIn.note
        milestoneDays = checkIn.milestoneDays
        wantsSupport = checkIn.wantsSupport
    }
}

extension EntryContent {
    /// The meeting this content belongs to, if any.
    public var meeting: EntryID? {
        switch self {
        case .share(let share): share.meeting
        case .checkIn(let checkIn): checkIn.meeting
        case .privateCheckIn(let privateCheckIn): privateCheckIn.meeting
        case .meetingClose(let meeting): meeting
        case .genesis, .profile, .meetingOpen, .invite, .memberAdd, .rekey, .roleGrant, .redaction, .retention: nil
        }
    }
}
