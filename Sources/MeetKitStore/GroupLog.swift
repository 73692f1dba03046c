import MeetKitCore
import MeetKitCrypto

/// The in-memory index of one group's log: its entries, and the group state folded from the
/// few that shape it (`EntryKind.shapesState`), kept up to date as entries are added, so that
/// no command decrypts and folds the whole log again.
struct GroupLog {
    /// Every entry held, in the order it was stored.
    private(set) var entries: [Entry] = []
    /// Where each entry stands in `entries`.
    private var index: [EntryID: Int] = [:]
    /// What deciding about the next entry needs; copied to judge a batch before it is stored.
    var ledger = Ledger()
    /// The fold after which `unkept` last found nothing: only a full fold can cut a feed or
    /// undo an admission, so there is nothing to look for until the next one.
    var settledFold = -1

    var heads: [PublicKey: FeedHead] { ledger.heads }
    var maxLamport: UInt64 { ledger.maxLamport }
    var state: GroupState { ledger.state }
    var forks: [PublicKey: Store.Fork] { ledger.forks }

    func contains(_ id: EntryID) -> Bool { index[id] != nil }

    func entry(_ id: EntryID) -> Entry? { index[id].map { entries[$0] } }

    /// The entry of `author`'s feed at `sequence`, if held: found from the feed's head back,
    /// so it costs the distance from the head, not the size of the log.
    func entry(by author: PublicKey, at sequence: UInt64) -> Entry? {
        guard let head = ledger.heads[author], sequence <= head.sequence, var entry = entry(head.id) else { return nil }
        while entry.header.sequence > sequence {
            guard let previous = entry.header.previous, let earlier = self.entry(previous) else { return nil }
            entry = earlier
        }
        return entry
    }

    /// Adds a stored entry (with its content, when it shapes the state).
    mutating func add(_ item: LogItem, fold: Bool = true) {
        index[item.entry.id] = entries.count
        entries.append(item.entry)
        let (entries, index) = (entries, index)
        ledger.add(item, fold: fold) { id in index[id].map { entries[$0].header } }
    }

    /// Adds entries stored after `ledger`, a copy of this log's, judged them (`Store.ingest`).
    mutating func append(_ stored: [Entry], judgedBy ledger: Ledger) {
        for entry in stored {
            index[entry.id] = entries.count
            entries.append(entry)
        }
        self.ledger = ledger
    }

    /// Folds the whole state again, from the entries that shape it.
    mutating func refold() {
        let entries = entries
        let index = index
        ledger.refold { id in index[id].map { entries[$0].header } }
    }

    /// Forgets the body of entry `id`, keeping its signed header.
    mutating func dropBody(of id: EntryID) {
        guard let i = index[id] else { return }
        entries[i] = entries[i].droppingBody()
    }

    /// Forgets the entries `ids` (a cut feed's, or a non-member's) and folds again.
    mutating func remove(_ ids: Set<EntryID>) {
        guard !ids.isEmpty else { return }
        entries.removeAll { ids.contains($0.id) }
        index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.id, $0) })
        ledger.rebuild(from: entries)
        refold()
    }

    /// Entries held that no node keeps (Protocol/membership.md §Acceptance): after a feed's
    /// cut, or by an author the state does not admit.
    func unkept() -> Set<EntryID> {
        let state = ledger.state
        return Set(entries.lazy.filter { entry in
            let header = entry.header
            if let cut = state.cuts[header.author], header.sequence > cut { return true }
            let admitted = state.isMember(header.author) || state.removed[header.author] != nil
            return !admitted && state.founder != nil
        }.map(\.id))
    }
}

/// Feed heads, the highest Lamport clock, the entries that shape the state and the state
/// folded from them: all that judging one more entry needs, small enough to copy.
struct Ledger {
    private(set) var heads: [PublicKey: FeedHead] = [:]
    private(set) var maxLamport: UInt64 = 0
    /// The entries that shape the state, with their content, in log order.
    private(set) var items: [LogItem] = []
    private(set) var state = GroupState()
    /// Feeds whose authors signed two entries at one sequence (Protocol/sync.md §Forks).
    private(set) var forks: [PublicKey: Store.Fork] = [:]
    /// How many times the whole state was folded again.
    private(set) var folds = 0

    mutating func add(_ item: LogItem, fold: Bool, lookup: (EntryID) -> EntryHeader?) {
        let entry = item.entry
        let author = entry.header.author
        if entry.header.sequence > heads[author]?.sequence ?? 0 { heads[author] = entry.head }
        maxLamport = max(maxLamport, entry.header.lamport)
        guard entry.header.kind.shapesState else { return }
        // Usually the newest entry stands last and folds on top; a re-key can cut feeds that
        // were folded already, and an entry from the past changes what came after it.
        if let last = items.last, last.entry.position > entry.position {
            let at = items.firstIndex { $0.entry.position > entry.position } ?? items.endIndex
            items.insert(item, at: at)
        } else {
            items.append(item)
        }
        guard fold else { return }
        if entry.header.kind == .rekey || items.last?.entry.id != entry.id {
            refold(lookup: lookup)
        } else {
            state.apply(item, lookup: lookup)
        }
    }

    mutating func refold(lookup: (EntryID) -> EntryHeader?) {
        state = GroupState(items: items, forks: forks.mapValues(\.sequence), lookup: lookup)
        folds += 1
    }

    /// Keeps a fork proof, quarantining its feed from the fork on; the caller folds again. Of
    /// two forks in one feed the earlier is kept, so that every node cuts the feed at the same
    /// place whichever it learnt of first. Returns false when this one changes nothing.
    @discardableResult
    mutating func quarantine(_ fork: Store.Fork) -> Bool {
        guard fork.sequence < forks[fork.author]?.sequence ?? .max else { return false }
        forks[fork.author] = fork
        return true
    }

    /// Heads, clock and items again from `entries`, after some were removed.
    mutating func rebuild(from entries: [Entry]) {
        let kept = Set(entries.map(\.id))
        items.removeAll { !kept.contains($0.entry.id) }
        heads = [:]
        maxLamport = 0
        for entry in entries {
            if entry.header.sequence > heads[entry.header.author]?.sequence ?? 0 { heads[entry.header.author] = entry.head }
            maxLamport = max(maxLamport, entry.header.lamport)
        }
    }
}
