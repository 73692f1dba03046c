import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitProtocol
@testable import MeetKitStore

/// A member who writes what an honest node never would (threat-model.md, "a malicious member"
/// and "a removed member"): entries with any header field chosen — sequence, previous entry,
/// Lamport clock, epoch, timestamp, a body left out — signed with the member's own key and
/// encrypted with keys the member really holds, read from their own data directory as a short
/// script over libsodium would. They are delivered as an attacker can: in a bundle sealed under
/// any network key the member holds, or planted in the member's own log so that their node
/// serves them to whoever syncs with it.
public struct HostileMember {
    public let store: Store
    public let group: GroupID

    public init(_ store: Store, in group: GroupID) {
        self.store = store
        self.group = group
    }

    public var key: PublicKey { store.memberID }

    /// The member's latest entry in the group, as their own log holds it.
    public var head: FeedHead? { store.logs[group]?.heads[store.memberID] }

    /// Every epoch whose keys the member holds.
    public var epochsHeld: [UInt32] { store.keys[group]?.epochs.map(\.number).sorted() ?? [] }

    /// `content` as this member's entry, with every header field the caller names and the
    /// honest choice for the others (the next sequence after `after`, one past the log's
    /// highest Lamport clock, the current epoch, now). The body is sealed under the content key
    /// of `epoch` that the member holds, or under `contentKey` when given (keys of the member's
    /// own making).
    public func entry(
        _ content: EntryContent, after: FeedHead?? = nil, sequence: UInt64? = nil, lamport: UInt64? = nil,
        epoch: UInt32? = nil, timestamp: Int64? = nil, contentKey: SecretBytes? = nil
    ) throws -> Entry {
        let head = after ?? self.head
        let state = store.state(of: group)
        let epoch = epoch ?? state.epoch
        // The keys the member writes with in the current epoch, as an honest node would; in
        // another epoch, any key set of it the member holds.
        let held = epoch == state.epoch ? store.writeKeys(of: group) ?? store.keys[group]?.sets(of: epoch).first
            : store.keys[group]?.sets(of: epoch).first
        guard let key = contentKey ?? held?.contentKey else {
            throw HostileError("the member holds no key of epoch \(epoch)")
        }
        let header = EntryHeader(
            kind: content.kind, group: group, author: store.memberID, sequence: sequence ?? (head?.sequence ?? 0) + 1,
            previous: head?.id, lamport: lamport ?? (store.logs[group]?.maxLamport ?? 0) + 1,
            timestamp: timestamp ?? Int64(Date().timeIntervalSince1970 * 1000), epoch: epoch, bodyLength: 0, bodyHash: nil)
        return Entry.sign(
            header, plaintext: try content.encoded(), author: store.identity, contentKey: key,
            nonce: SecureRandom.bytes(AEAD.nonceLength))
    }

    /// Stores `entries` in the member's own log with no check at all, as a modified node
    /// would: from then on the member's node serves them to every peer that syncs with it.
    public func plant(_ entries: [Entry]) throws {
        try store.write { db in
            let statement = try db.makeStatement(sql: "INSERT OR REPLACE INTO entries (feed, sequence, sealed, body) VALUES (?, ?, ?, ?)")
            for entry in entries {
                let feed = store.atRest.feedTag(group: group, author: entry.header.author)
                let context = AtRest.entryContext(feed: feed, sequence: entry.header.sequence)
                try statement.execute(arguments: [
                    Data(feed), Int64(entry.header.sequence), Data(store.atRest.seal(entry.wire, context: context)),
                    entry.body.map { Data(store.atRest.seal($0, context: AtRest.bodyContext(entry: context))) },
                ])
            }
        }
        for entry in entries { store.logs[group]?.add(LogItem(entry: entry, content: nil), fold: false) }
    }

    /// A bundle of `entries` sealed under the network key of `epoch` (the member's own copy).
    public func bundle(_ entries: [Entry], epoch: UInt32) throws -> [UInt8] {
        guard let networkKey = store.keys[group]?.sets(of: epoch).first?.networkKey else {
            throw HostileError("the member holds no network key of epoch \(epoch)")
        }
        return BundleFile.seal(entries, group: group, networkKey: networkKey, nonce: SecureRandom.bytes(24))
    }

    /// Delivers `entries` to `victim` in a bundle sealed under `epoch`'s network key, as
    /// `meetkit import` does; returns what the victim refused.
    @discardableResult
    public func deliver(_ entries: [Entry], to victim: Store, epoch: UInt32) throws -> Store.IngestReport {
        let bytes = try bundle(entries, epoch: epoch)
        let opened = try BundleFile.open(bytes, keys: victim.handshakeKeys().map { ($0.group, $0.key) })
        return try victim.ingestReporting(opened.entries.map { try Entry(wire: $0.wire, body: $0.body) }, into: opened.group)
    }
}

public struct HostileError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
