import Foundation
import GRDB
import MeetKitCore

/// Expiry and redaction (Protocol/retention.md): bodies every node drops, keeping the signed
/// headers so that feeds still verify.
extension Store {
    /// Drops, in every group, the bodies of shares that have expired (their own expiry, or the
    /// group's retention) and of entries their authors redacted. The bytes are gone from the
    /// files, not just hidden: SQLite's secure_delete overwrites them in the database, and a
    /// checkpoint truncates the write-ahead log that still held them. Returns how many.
    @discardableResult
    public func dropExpiredBodies(at time: Date) throws -> Int {
        let now = Int64(time.timeIntervalSince1970 * 1000)
        var dropped: [(group: GroupID, entry: Entry)] = []
        for group in keys.keys {
            let state = self.state(of: group)
            // Only shares expire and only non-membership entries are redacted: nothing else is read.
            for entry in logs[group]?.entries ?? [] where entry.body != nil && !entry.header.kind.isMembership {
                guard entry.header.kind == .share || state.redacted.contains(entry.id) else { continue }
                let content = entry.header.kind == .share ? (try? self.content(of: entry)) ?? nil : nil
                if state.dropReason(of: LogItem(entry: entry, content: content), now: now) != nil { dropped.append((group, entry)) }
            }
        }
        guard !dropped.isEmpty else { return 0 }
        try write { db in
            let statement = try db.cachedStatement(sql: "UPDATE entries SET body = NULL WHERE feed = ? AND sequence = ?")
            for (group, entry) in dropped {
                let feed = atRest.feedTag(group: group, author: entry.header.author)
                try statement.execute(arguments: [Data(feed), Int64(entry.header.sequence)])
            }
        }
        try checkpoint()
        for (group, entry) in dropped { logs[group]?.dropBody(of: entry.id) }
        return dropped.count
    }

    /// Writes `redaction` of one of this member's own entries, and drops its body here at once.
    @discardableResult
    public func redact(_ id: EntryID, in group: GroupID, at time: Date) throws -> Entry {
        guard let target = logs[group]?.entry(id) else {
            throw StoreError(.invalidEntry, "There is no entry \(id.short) in this group.")
        }
        guard target.header.author == memberID else {
            throw StoreError(.notPermitted, "Only its author may redact entry \(id.short).")
        }
        guard !target.header.kind.isMembership else {
            throw StoreError(.notPermitted, "Entry \(id.short) records who belongs to the group; it cannot be redacted.")
        }
        let entry = try append(.redaction(entry: id), to: group, at: time)
        try dropExpiredBodies(at: time)
        return entry
    }

    /// Sets how long the group keeps shares (admins only); 0 keeps them.
    @discardableResult
    public func setRetention(_ milliseconds: Int64, in group: GroupID, at time: Date) throws -> Entry {
        guard state(of: group).isAdmin(memberID) else {
            throw StoreError(.notPermitted, "Only an admin may set how long shares are kept; ask one of the group's admins.")
        }
        let entry = try append(.retention(milliseconds: milliseconds), to: group, at: time)
        try dropExpiredBodies(at: time)
        return entry
    }
}
