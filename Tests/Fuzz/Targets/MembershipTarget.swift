import MeetKitCore
import MeetKitCrypto

/// The membership fold (Protocol/membership.md, epochs.md), driven with real keys: six members
/// (`Fixed.members`), a genesis by member 0, and entries that the script has any of them sign
/// (`Entry.sign`, bodies sealed under `Fixed.contentKey`), honest or not. The input is
///
///     now (i64, for `dropReason`) ‖ operation…
///
/// and each operation (at most `maximumOperations`) is
///
///     kind (u8, mod 12: `Operation`) ‖ author (u8, mod 6) ‖ flags (u8) ‖ header fields ‖ content fields
///
/// (a fork reads no flags: `Operation.fork`). Each flag set reads its header field from the
/// input, in this order; a flag clear takes the honest value:
///
/// - bit 0: sequence (u64), else the author's next;
/// - bit 1: previous (u8: `pick`), else the author's head (none at sequence 1);
/// - bits 2-3: Lamport clock: 0 one past the highest held, 1 any (u64), 2 one of `lamports`
///   (u8), 3 the author's head's (not increasing);
/// - bit 4: epoch (u32), else the latest one a re-key of the script began;
/// - bit 5: timestamp (i64), else a minute after the entry before;
/// - bit 6: the body is withheld (the fold gets no content);
/// - bit 7: the entry is of another group.
///
/// An entry whose header breaks the rules every node checks first (`Entry(storedWire:body:)`)
/// is not written. The harness then holds the entries as a node would (one per place in a
/// feed: a second at a held place is a fork proof), sorts them into log order, folds them
/// (`GroupState(items:forks:lookup:)`) and asks the state about every entry (`refusal`,
/// `dropReason`), every pair of members (`outranks`) and itself (`needsRekey`). It also plays a
/// node receiving the entries in the order written (`Node`: link checks, `refusal`, an
/// incremental `apply` where the store folds incrementally, a full fold where it folds again).
///
/// It traps when an invariant breaks: (1) folding the same log twice gives the same state;
/// (2) a removed member is neither a member nor an admin; (3) every admin is a member; (4) the
/// current epoch (after 0) has a source among the re-keys that took effect; (5) the founder is
/// a member and an admin, is never removed, is outranked by no one, and is cut only by their
/// own fork; (6) there are at most `GroupState.maximumMembers` members, each once; (7) the
/// node's state, folded as it received the entries, is the full fold of what it holds; (8) a
/// re-key received last, which `Store.append` would predict takes effect (its author's feed is
/// not cut, and it cuts no removed member's feed before an entry held), takes that effect when
/// the log is folded again.
///
/// Refused: the script wrote no entry after the genesis.
enum MembershipTarget {
    static let maximumOperations = 48

    enum Operation: UInt8, CaseIterable {
        /// u8: invite (bits 0-1) of `Fixed.inviteSecrets`; bit 2: an id (32 bytes) instead; bit 3:
        /// the expiry (i64), else far ahead.
        case invite
        /// u8 member; u8: invite (bits 0-1) and proof (bits 2-4): 0 and 7 valid, 1 none, 2 another
        /// member's, 3 another invite's, 4 no invite (nor proof), 5 any (64 bytes), 6 another group's.
        case memberAdd
        /// u8 member.
        case roleGrant
        /// u8: epoch (bits 0-1: the header's + 1, the script's + 1, any u32, u32 max), removals
        /// (bits 2-3), a duplicate recipient (bit 4); an epoch (u32) if asked; each removal (u8:
        /// member in bits 0-6, bit 7: its last sequence (u64), else the member's head); the
        /// recipients (u8: one bit a member).
        case rekey
        /// u8: 0 a day, 1 zero, 2 any (i64), 3 one of `retentions` (bits 2-4).
        case retention
        /// u8: the entry redacted (`pick`).
        case redaction
        /// u8: bit 0, an expiry (i64).
        case share
        /// u8: the pseudonym's number.
        case profile
        /// u8: bit 0, no topic.
        case meetingOpen
        /// u8: the meeting (bit 7: a made-up id, else the n-th latest meeting opened).
        case meetingClose
        /// u8, and no flags: the n-th latest entry of the author, signed again a little later:
        /// two entries at one place in the feed.
        case fork
        /// A genesis of another group, by anyone.
        case genesis

        var kind: EntryKind {
            switch self {
            case .invite: .invite
            case .memberAdd: .memberAdd
            case .roleGrant: .roleGrant
            case .rekey: .rekey
            case .retention: .retention
            case .redaction: .redaction
            case .share: .share
            case .profile: .profile
            case .meetingOpen: .meetingOpen
            case .meetingClose: .meetingClose
            case .fork, .genesis: .genesis
            }
        }
    }

    enum Flag {
        static let sequence: UInt8 = 1
        static let previous: UInt8 = 2
        static let lamportShift: UInt8 = 2
        static let epoch: UInt8 = 16
        static let timestamp: UInt8 = 32
        static let withheld: UInt8 = 64
        static let otherGroup: UInt8 = 128
    }

    static func run(_ input: [UInt8]) -> FuzzOutcome {
        var input = FuzzInput(input)
        let now = Int64(bitPattern: input.integer())
        var script = Script()
        for _ in 0..<maximumOperations {
            guard let kind = input.next() else { break }
            let operation = Operation.allCases[Int(kind) % Operation.allCases.count]
            script.perform(operation, by: Int(input.byte()) % Fixed.members.count, &input)
        }
        guard script.entries.count > 1 else { return .refused("no entry after the genesis") }
        check(script, now: now)
        return .accepted
    }

    // MARK: Checks

    private static func check(_ script: Script, now: Int64) {
        let group = Script.group
        // One entry per place in a feed, as a node holds them: a second is a fork proof.
        var places: Set<Place> = []
        var ids: Set<EntryID> = []
        var held: [Entry] = []
        var forks: [PublicKey: UInt64] = [:]
        for entry in script.entries where entry.group == group && ids.insert(entry.id).inserted {
            let place = Place(entry)
            if places.insert(place).inserted {
                held.append(entry)
            } else {
                forks[place.author] = min(forks[place.author] ?? .max, place.sequence)
            }
        }
        let headers = Dictionary(held.map { ($0.id, $0.header) }) { first, _ in first }
        let lookup: (EntryID) -> EntryHeader? = { headers[$0] }
        let all = held.map { LogItem(entry: $0, content: script.contents[$0.id]) }
        let items = logOrder(all)
        let state = GroupState(items: items, forks: forks, lookup: lookup)
        // (1) The fold is a function of the entries: the same log, sorted again from another
        // arrival order, folds to the same state.
        let again = GroupState(items: logOrder(all.reversed()), forks: forks, lookup: lookup)
        precondition(Snapshot(state) == Snapshot(again), "(1) folding the same log twice gave two states")
        checkInvariants(state, forks: forks, "the fold")

        for entry in script.entries { _ = state.refusal(of: entry, after: script.heads[entry.header.author]?.head) }
        for item in all { _ = state.dropReason(of: item, now: now) }
        _ = state.needsRekey
        _ = state.openMeeting
        for a in Fixed.members.map(\.publicKey) {
            for b in Fixed.members.map(\.publicKey) {
                precondition(!(state.outranks(a, b) && state.outranks(b, a)), "two admins outrank each other")
            }
            _ = state.admitsRekey(by: a, at: (script.heads[a]?.header.sequence ?? 0) &+ 1)
        }

        // (7) A node receiving the entries as they were written, folding incrementally where
        // the store does, holds the state a full fold of what it kept gives.
        var node = Node()
        for entry in script.entries { node.receive(entry, content: script.contents[entry.id]) }
        let nodeHeaders = node.headers
        let folded = GroupState(items: node.items, forks: node.forks) { nodeHeaders[$0] }
        precondition(Snapshot(node.state) == Snapshot(folded), "(7) the node's incremental state is not the full fold")
        checkInvariants(node.state, forks: node.forks, "the node")
    }

    /// Log order (Protocol/entries.md §Log order), for the entries that shape the state.
    private static func logOrder<S: Sequence<LogItem>>(_ items: S) -> [LogItem] {
        items.filter { $0.entry.header.kind.shapesState }.sorted { $0.entry.position < $1.entry.position }
    }

    private static func checkInvariants(_ state: GroupState, forks: [PublicKey: UInt64], _ which: String) {
        let members = Set(state.members)
        for key in state.removed.keys {
            precondition(!members.contains(key) && !state.admins.contains(key), "(2) in \(which), a removed member is still a member or an admin")
        }
        precondition(state.admins.isSubset(of: members), "(3) in \(which), an admin is not a member")
        if state.epoch > 0 {
            guard let source = state.epochSources[state.epoch] else { preconditionFailure("(4) in \(which), epoch \(state.epoch) has no source") }
            precondition(state.effectiveRekeys.contains(source), "(4) in \(which), epoch \(state.epoch)'s source took no effect")
        }
        let founder = Fixed.members[0].publicKey
        if let actual = state.founder {
            precondition(actual == founder, "(5) in \(which), the founder is not the genesis's author")
            precondition(state.removed[founder] == nil, "(5) in \(which), the founder was removed")
            precondition(members.contains(founder) && state.admins.contains(founder), "(5) in \(which), the founder is not an admin member")
            if let cut = state.cuts[founder] {
                precondition(forks[founder].map { $0 - 1 == cut } == true, "(5) in \(which), the founder's feed was cut at \(cut) without a fork")
            }
            for key in Fixed.members.map(\.publicKey) {
                precondition(!state.outranks(key, founder), "(5) in \(which), someone outranks the founder")
            }
        } else {
            // Only the founder's own fork at sequence 1 (a second entry beside the genesis)
            // cuts the genesis.
            precondition(forks[founder] == 1 && state.cuts[founder] == 0, "(5) in \(which), the genesis took no effect")
        }
        precondition(state.members.count <= GroupState.maximumMembers, "(6) in \(which), too many members")
        precondition(members.count == state.members.count, "(6) in \(which), a member is listed twice")
    }

    // MARK: Seeds

    static func seeds() -> [(name: String, bytes: [UInt8])] {
        var seeds: [(name: String, bytes: [UInt8])] = []
        func seed(_ name: String, _ build: (inout Seed) -> Void) {
            var seed = Seed()
            build(&seed)
            seeds.append((name, seed.bytes))
        }
        /// Member 0 invites (invite `invite`) and admits `member` with a valid proof.
        func admit(_ member: Int, invite: UInt8, _ seed: inout Seed) {
            seed.add(.invite, by: 0, [invite])
            seed.add(.memberAdd, by: 0, [UInt8(member), invite])
        }
        seed("admit") { seed in
            admit(1, invite: 0, &seed)
            seed.add(.profile, by: 1, [1])
        }
        seed("admit-refused") { seed in
            seed.add(.invite, by: 0, [0])
            // Each proof that fails (bits 2-4 of the second byte): none, another member's,
            // another invite's, no invite at all, 64 bytes of noise, another group's.
            for mode: UInt8 in 1...6 {
                seed.add(.memberAdd, by: 0, [mode, mode << 2] + (mode == 5 ? [UInt8](repeating: 0x62, count: 64) : []))
            }
            // A member-add whose author is no member, an invite by a non-admin, one used twice.
            seed.add(.memberAdd, by: 3, [4, 0])
            admit(1, invite: 1, &seed)
            seed.add(.invite, by: 1, [2])
            seed.add(.memberAdd, by: 1, [2, 2])
            seed.add(.memberAdd, by: 0, [3, 1])
            // An invite already expired, and one with a made-up id.
            seed.add(.invite, by: 0, [3 | 8] + bigEndian(Int64(0)))
            seed.add(.memberAdd, by: 0, [4, 3])
            seed.add(.invite, by: 0, [4] + [UInt8](repeating: 0x61, count: 32))
        }
        seed("role-grant") { seed in
            admit(1, invite: 0, &seed)
            seed.add(.roleGrant, by: 0, [1])
            seed.add(.invite, by: 1, [1])
            seed.add(.memberAdd, by: 1, [2, 1])
            seed.add(.roleGrant, by: 2, [2])
            seed.add(.roleGrant, by: 1, [1])
            seed.add(.roleGrant, by: 1, [4])
        }
        seed("re-key-removes") { seed in
            admit(1, invite: 0, &seed)
            admit(2, invite: 1, &seed)
            seed.add(.profile, by: 2, [2])
            // Epoch 1, removing member 2 after their last entry, sealed to members 0 and 1.
            seed.add(.rekey, by: 0, [1 << 2, 2, 0b011])
            seed.add(.profile, by: 2, [3])
            seed.add(.share, by: 1, [0])
            seed.add(.rekey, by: 0, [0, 0b011])
        }
        seed("re-key-refused") { seed in
            admit(1, invite: 0, &seed)
            admit(2, invite: 1, &seed)
            seed.add(.roleGrant, by: 0, [1])
            seed.add(.roleGrant, by: 0, [2])
            // A junior admin removing a senior one, and the founder; a non-admin re-keying;
            // epochs out of turn; a recipient twice; one who was never a member.
            seed.add(.rekey, by: 2, [1 << 2, 1, 0b111])
            seed.add(.rekey, by: 2, [1 << 2, 0, 0b111])
            seed.add(.rekey, by: 3, [0, 0b1])
            seed.add(.rekey, by: 0, [2] + bigEndian(UInt32(7)) + [0b111])
            seed.add(.rekey, by: 0, [3, 0b111])
            seed.add(.rekey, by: 0, [0x10, 0b111])
            seed.add(.rekey, by: 0, [0, 0b1111])
            // The script's epoch followed the re-keys above: this one is written in epoch 0, and
            // takes effect (an admin removing a junior one).
            seed.add(.rekey, by: 1, flags: Flag.epoch, bigEndian(UInt32(0)) + [1 << 2, 2, 0b011])
        }
        seed("concurrent-re-keys") { seed in
            admit(1, invite: 0, &seed)
            admit(2, invite: 1, &seed)
            seed.add(.roleGrant, by: 0, [1])
            // Admin 1 begins epoch 1, sealed to all three; member 0, still in epoch 0, begins
            // it too and removes member 2, who now holds the current keys: one more re-key is due.
            seed.add(.rekey, by: 1, [0, 0b111])
            seed.add(.rekey, by: 0, flags: Flag.epoch, bigEndian(UInt32(0)) + [1 << 2, 2, 0b011])
            seed.add(.invite, by: 0, [2])
            seed.add(.memberAdd, by: 1, [3, 2])
        }
        seed("senior-cuts-junior") { seed in
            admit(1, invite: 0, &seed)
            admit(2, invite: 1, &seed)
            seed.add(.roleGrant, by: 0, [1])
            seed.add(.profile, by: 1, [1])
            // Member 0 removes admin 1 after their profile (sequence 2); admin 1's re-key,
            // later in their feed, is cut, whatever it says.
            seed.add(.rekey, by: 1, flags: 1 << Flag.lamportShift, bigEndian(UInt64(100)) + [1 << 2, 2, 0b011])
            seed.add(.rekey, by: 0, flags: Flag.epoch, bigEndian(UInt32(0)) + [1 << 2, 0x80 | 1] + bigEndian(UInt64(1)) + [0b101])
            seed.add(.profile, by: 1, [2])
        }
        seed("retention") { seed in
            for mode: UInt8 in [0, 1] { seed.add(.retention, by: 0, [mode]) }
            seed.add(.retention, by: 0, [2] + bigEndian(Int64.min))
            for index: UInt8 in 0..<8 { seed.add(.retention, by: 0, [3 | index << 2]) }
            admit(1, invite: 0, &seed)
            seed.add(.retention, by: 1, [0])
            seed.add(.share, by: 1, [1] + bigEndian(Int64(1_950_000_000_000)))
            seed.add(.share, by: 1, flags: Flag.timestamp, bigEndian(Int64.max) + [0])
        }
        seed("redaction") { seed in
            admit(1, invite: 0, &seed)
            seed.add(.share, by: 1, [0])
            seed.add(.redaction, by: 1, [0])
            seed.add(.redaction, by: 1, [2])
            seed.add(.redaction, by: 0, [4])
            seed.add(.redaction, by: 1, [0x80 | 0x33])
        }
        seed("meetings") { seed in
            admit(1, invite: 0, &seed)
            seed.add(.meetingOpen, by: 0, [0])
            seed.add(.meetingOpen, by: 1, [1])
            seed.add(.meetingClose, by: 1, [0])
            seed.add(.meetingClose, by: 0, [1])
            seed.add(.meetingClose, by: 0, [0x80 | 0x34])
            seed.add(.profile, by: 0, [0])
        }
        seed("fork") { seed in
            admit(1, invite: 0, &seed)
            seed.add(.profile, by: 1, [1])
            seed.add(.share, by: 1, [0])
            seed.add(.fork, by: 1, [1])
            seed.add(.profile, by: 1, [2])
            seed.add(.fork, by: 0, [0])
        }
        seed("founder-fork-at-genesis") { seed in
            admit(1, invite: 0, &seed)
            seed.add(.profile, by: 0, flags: Flag.sequence, bigEndian(UInt64(1)) + [0])
            seed.add(.profile, by: 1, [1])
        }
        seed("second-genesis") { seed in
            seed.add(.genesis, by: 2, [])
            seed.add(.genesis, by: 0, [])
            seed.add(.profile, by: 0, [0])
        }
        seed("hostile-headers") { seed in
            admit(1, invite: 0, &seed)
            for index: UInt8 in 0..<8 { seed.add(.profile, by: 1, flags: 2 << Flag.lamportShift, [index, index]) }
            seed.add(.profile, by: 1, flags: 1 << Flag.lamportShift, bigEndian(UInt64.max) + [8])
            seed.add(.profile, by: 1, flags: 3 << Flag.lamportShift, [9])
            seed.add(.profile, by: 1, flags: Flag.epoch, bigEndian(UInt32.max) + [10])
            seed.add(.share, by: 1, flags: Flag.timestamp, bigEndian(Int64.min) + [0])
            seed.add(.profile, by: 1, flags: Flag.sequence, bigEndian(UInt64(40)) + [11])
            seed.add(.profile, by: 1, flags: Flag.previous, [0x80 | 0x35, 12])
            seed.add(.profile, by: 1, flags: Flag.previous, [3, 13])
            seed.add(.invite, by: 0, flags: Flag.withheld, [1])
            seed.add(.profile, by: 1, flags: Flag.withheld, [14])
            seed.add(.profile, by: 1, flags: Flag.otherGroup, [15])
        }
        seed("removed-member-writes") { seed in
            admit(1, invite: 0, &seed)
            seed.add(.profile, by: 1, [1])
            seed.add(.rekey, by: 0, [1 << 2, 0x80 | 1] + bigEndian(UInt64(1)) + [0b1])
            seed.add(.profile, by: 1, [2])
            seed.add(.invite, by: 0, [1])
            seed.add(.memberAdd, by: 0, [1, 1])
        }
        return seeds
    }

    /// A script, written operation by operation.
    private struct Seed {
        var bytes = bigEndian(Int64(1_900_000_000_000))

        mutating func add(_ operation: Operation, by author: Int, flags: UInt8 = 0, _ fields: [UInt8]) {
            bytes += [operation.rawValue, UInt8(author)] + (operation == .fork ? [] : [flags]) + fields
        }
    }

    static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian, Array.init)
    }
}

/// A place in a feed: two entries at one are a fork.
private struct Place: Hashable {
    let author: PublicKey
    let sequence: UInt64

    init(_ entry: Entry) {
        author = entry.header.author
        sequence = entry.header.sequence
    }
}

/// What the script wrote: every entry (the genesis first), in order.
private struct Script {
    typealias Operation = MembershipTarget.Operation
    typealias Flag = MembershipTarget.Flag

    static let start: Int64 = 1_700_000_000_000
    static let farAhead: Int64 = 4_000_000_000_000
    static let genesis: Entry = {
        do {
            return try Entry.create(
                content: .genesis(name: "Fuzz"), group: nil, after: nil, lamport: 1, timestamp: start, epoch: 0,
                author: Fixed.members[0], contentKey: Fixed.contentKey, nonce: Fixed.nonce)
        } catch {
            preconditionFailure("the genesis did not encode: \(error)")
        }
    }()
    static let group = genesis.group
    static let inviteIDs = Fixed.inviteSecrets.map(InviteCode.id(ofSecret:))
    /// Each invite's proof for each member, in the group and in another.
    static let proofs = proofs(in: group)
    static let otherProofs = proofs(in: Fixed.otherGroup)
    static let box = [UInt8](repeating: 0x25, count: Rekey.boxLength)

    private static func proofs(in group: GroupID) -> [[[UInt8]]] {
        Fixed.inviteSecrets.map { secret in
            Fixed.members.map { InviteCode.proof(secret: secret, group: group, member: $0.publicKey) }
        }
    }

    private(set) var entries = [genesis]
    /// The content the fold gets, by entry: none when the body is withheld.
    private(set) var contents: [EntryID: EntryContent] = [genesis.id: .genesis(name: "Fuzz")]
    /// Each author's latest entry in the group.
    private(set) var heads: [PublicKey: Entry] = [genesis.header.author: genesis]
    private var maxLamport: UInt64 = 1
    /// The latest epoch a re-key that named the epoch after its own began.
    private var epoch: UInt32 = 0

    mutating func perform(_ operation: Operation, by author: Int, _ input: inout FuzzInput) {
        let key = Fixed.members[author]
        guard operation != .fork else { return fork(by: key, input.byte()) }
        let flags = input.byte()
        var header = header(operation.kind, flags, by: key, &input)
        let content = content(operation, header: header, &input)
        if operation == .genesis {
            header.group = nil
            header.sequence = 1
            header.previous = nil
            header.epoch = 0
        }
        write(header, content, by: key, withheld: flags & Flag.withheld != 0)
        if case .rekey(let rekey) = content, header.epoch == epoch, rekey.epoch == epoch &+ 1 { epoch = rekey.epoch }
    }

    private func header(_ kind: EntryKind, _ flags: UInt8, by key: SigningKey, _ input: inout FuzzInput) -> EntryHeader {
        let head = heads[key.publicKey]
        let sequence = flags & Flag.sequence != 0 ? input.integer() : (head?.header.sequence ?? 0) &+ 1
        let previous = flags & Flag.previous != 0 ? pick(input.byte()) : sequence == 1 ? nil : head?.id ?? Fixed.id(0x30)
        let next = maxLamport.addingReportingOverflow(1)
        let lamport: UInt64 =
            switch flags >> Flag.lamportShift & 3 {
            case 0: next.overflow ? .max : next.partialValue
            case 1: input.integer()
            case 2: Self.lamports(after: head?.header.lamport ?? 0)[Int(input.byte()) % 8]
            default: head?.header.lamport ?? 0
            }
        let epoch: UInt32 = flags & Flag.epoch != 0 ? input.integer() : self.epoch
        let timestamp = flags & Flag.timestamp != 0 ? Int64(bitPattern: input.integer()) : Self.start + Int64(entries.count) * 60_000
        return EntryHeader(
            kind: kind, group: flags & Flag.otherGroup != 0 ? Fixed.otherGroup : Self.group, author: key.publicKey,
            sequence: sequence, previous: previous, lamport: lamport, timestamp: timestamp, epoch: epoch,
            bodyLength: 0, bodyHash: nil)
    }

    /// Lamport clocks at the edges of what a node accepts after `max` (`GroupState.lamportLimit`).
    private static func lamports(after max: UInt64) -> [UInt64] {
        let reach = max.addingReportingOverflow(GroupState.lamportReach)
        let past = reach.partialValue.addingReportingOverflow(1)
        return [
            0, 1, max, reach.overflow ? .max : reach.partialValue, reach.overflow || past.overflow ? .max : past.partialValue,
            GroupState.maximumLamport, GroupState.maximumLamport + 1, .max,
        ]
    }

    private static let retentions: [Int64] = [
        GroupState.retentionRange.lowerBound - 1, GroupState.retentionRange.lowerBound, GroupState.retentionRange.upperBound,
        GroupState.retentionRange.upperBound + 1, .max, .min, -1, 1,
    ]

    /// An entry held so far (the n-th latest, for a byte below 128), or a made-up id.
    private func pick(_ byte: UInt8) -> EntryID {
        byte & 0x80 != 0 ? Fixed.id(byte) : entries[entries.count - 1 - Int(byte) % entries.count].id
    }

    private func content(_ operation: Operation, header: EntryHeader, _ input: inout FuzzInput) -> EntryContent {
        func member() -> PublicKey { Fixed.members[Int(input.byte()) % Fixed.members.count].publicKey }
        switch operation {
        case .invite:
            let mode = input.byte()
            let id = mode & 4 != 0 ? input.padded(32) : Self.inviteIDs[Int(mode & 3)]
            return .invite(Invite(id: id, expires: mode & 8 != 0 ? Int64(bitPattern: input.integer()) : Self.farAhead))
        case .memberAdd:
            let index = Int(input.byte()) % Fixed.members.count
            let mode = input.byte()
            let invite = Int(mode & 3)
            let proof: [UInt8]? =
                switch mode >> 2 & 7 {
                case 1, 4: nil
                case 2: Self.proofs[invite][(index + 1) % Fixed.members.count]
                case 3: Self.proofs[(invite + 1) % Self.proofs.count][index]
                case 5: input.padded(Signature.length)
                case 6: Self.otherProofs[invite][index]
                default: Self.proofs[invite][index]
                }
            return .memberAdd(MemberAdd(
                member: Fixed.members[index].publicKey, invite: mode >> 2 & 7 == 4 ? nil : Self.inviteIDs[invite], proof: proof))
        case .roleGrant:
            return .roleGrant(member: member())
        case .rekey:
            let mode = input.byte()
            let epoch: UInt32 =
                switch mode & 3 {
                case 0: header.epoch &+ 1
                case 1: self.epoch &+ 1
                case 2: input.integer()
                default: .max
                }
            let removed = (0..<Int(mode >> 2 & 3)).map { _ in
                let removal = input.byte()
                let member = Fixed.members[Int(removal & 0x7f) % Fixed.members.count].publicKey
                let last: UInt64 = removal & 0x80 != 0 ? input.integer() : heads[member]?.header.sequence ?? 0
                return Rekey.Removal(member: member, lastSequence: last)
            }
            let recipients = input.byte()
            var keys = Fixed.members.indices.filter { recipients >> $0 & 1 == 1 }.map {
                Rekey.Sealed(recipient: Fixed.members[$0].publicKey, box: Self.box)
            }
            if mode & 0x10 != 0, let first = keys.first { keys.append(first) }
            return .rekey(Rekey(epoch: epoch, removed: removed, keys: keys))
        case .retention:
            let mode = input.byte()
            let milliseconds: Int64 =
                switch mode & 3 {
                case 0: 86_400_000
                case 1: 0
                case 2: Int64(bitPattern: input.integer())
                default: Self.retentions[Int(mode >> 2 & 7)]
                }
            return .retention(milliseconds: milliseconds)
        case .redaction:
            return .redaction(entry: pick(input.byte()))
        case .share:
            let mode = input.byte()
            return .share(Share(text: "one day at a time", expires: mode & 1 != 0 ? Int64(bitPattern: input.integer()) : nil))
        case .profile:
            return .profile(pseudonym: "member \(input.byte())")
        case .meetingOpen:
            return .meetingOpen(topic: input.byte() & 1 != 0 ? nil : "tuesday")
        case .meetingClose:
            let choice = input.byte()
            let opened = entries.filter { $0.header.kind == .meetingOpen }
            guard choice & 0x80 == 0, !opened.isEmpty else { return .meetingClose(meeting: Fixed.id(choice)) }
            return .meetingClose(meeting: opened[opened.count - 1 - Int(choice) % opened.count].id)
        case .genesis, .fork:
            return .genesis(name: "Other")
        }
    }

    /// A second entry at the place of the author's n-th latest entry in the group.
    private mutating func fork(by key: SigningKey, _ choice: UInt8) {
        let own = entries.filter { $0.header.author == key.publicKey && $0.group == Self.group }
        guard !own.isEmpty else { return }
        let original = own[own.count - 1 - Int(choice) % own.count]
        var header = original.header
        header.timestamp = header.timestamp &+ 1 &+ Int64(choice)
        let content = contents[original.id]
        write(header, content, by: key, withheld: content == nil)
    }

    /// Signs `header` over `content`'s encoding (none if it has none: the fold gets `content`
    /// as it is), and keeps the entry if its header passes the checks every node makes first.
    private mutating func write(_ header: EntryHeader, _ content: EntryContent?, by key: SigningKey, withheld: Bool) {
        let plaintext = (try? content?.encoded()) ?? []
        let signed = Entry.sign(header, plaintext: plaintext, author: key, contentKey: Fixed.contentKey, nonce: Fixed.nonce)
        guard let entry = try? Entry(storedWire: signed.wire, body: withheld ? nil : signed.body) else { return }
        entries.append(entry)
        if !withheld, let content { contents[entry.id] = content }
        guard entry.group == Self.group else { return }
        if entry.header.sequence > heads[key.publicKey]?.header.sequence ?? 0 { heads[key.publicKey] = entry }
        maxLamport = max(maxLamport, entry.header.lamport)
    }
}

/// A node receiving entries one at a time, as `Store.insert` and `Ledger.add` judge and fold
/// them: a second entry at a held place is a fork proof (the feed is quarantined and the state
/// folded again); an entry must follow its author's head and not be refused; one that stands
/// last in log order and is no re-key is folded on top, anything else folds the log again.
private struct Node {
    private(set) var state = GroupState()
    private(set) var items: [LogItem] = []
    private(set) var forks: [PublicKey: UInt64] = [:]
    private(set) var headers: [EntryID: EntryHeader] = [:]
    private var heads: [PublicKey: FeedHead] = [:]
    private var places: [Place: EntryID] = [:]

    mutating func receive(_ entry: Entry, content: EntryContent?) {
        let header = entry.header
        guard entry.group == Script.group, forks[header.author] == nil, headers[entry.id] == nil else { return }
        if let head = heads[header.author], header.sequence <= head.sequence {
            if let original = places[Place(entry)], original != entry.id {
                forks[header.author] = header.sequence
                refold()
            }
            return
        }
        guard (try? entry.validateLink(after: heads[header.author], in: Script.group)) != nil,
            state.refusal(of: entry, after: heads[header.author]) == nil,
            !header.kind.isMembership || content != nil
        else { return }
        heads[header.author] = entry.head
        places[Place(entry)] = entry.id
        headers[entry.id] = header
        guard header.kind.shapesState else { return }
        let item = LogItem(entry: entry, content: content)
        if let last = items.last, last.entry.position > entry.position {
            items.insert(item, at: items.firstIndex { $0.entry.position > entry.position } ?? items.endIndex)
            refold()
        } else if header.kind == .rekey {
            // What `Store.append` predicts of a re-key it writes at the end of the log: when
            // its author's feed is not cut and it cuts no feed before an entry held, the fold
            // again gives the state the prediction did.
            var trial = state
            let honest = content.map { content in
                guard case .rekey(let rekey) = content else { return false }
                return rekey.removed.allSatisfy { $0.lastSequence >= heads[$0.member]?.sequence ?? 0 }
            } ?? false
            let predicts = honest && trial.admitsRekey(by: header.author, at: header.sequence)
            let headers = self.headers
            if predicts {
                trial.keep(rekey: entry.id)
                trial.apply(item) { headers[$0] }
            }
            items.append(item)
            refold()
            if predicts, trial.ineffective[entry.id] == nil {
                precondition(state.ineffective[entry.id] == nil, "(8) a re-key predicted to take effect took none")
                precondition(Prediction(trial) == Prediction(state), "(8) a re-key took another effect than predicted")
            }
        } else {
            items.append(item)
            let headers = self.headers
            state.apply(item) { headers[$0] }
        }
    }

    private mutating func refold() {
        let headers = self.headers
        state = GroupState(items: items, forks: forks) { headers[$0] }
    }
}

/// What a re-key decides: what `Store.append` predicts of one it writes. (Not the cuts: its
/// prediction folds the re-key on top, and only folding again cuts the feeds it names.)
private struct Prediction: Equatable {
    let members: [PublicKey]
    let admins: Set<PublicKey>
    let removed: [PublicKey: GroupState.Removal]
    let epoch: UInt32
    let epochSources: [UInt32: EntryID]
    let keyHolders: Set<PublicKey>

    init(_ state: GroupState) {
        members = state.members
        admins = state.admins
        removed = state.removed
        epoch = state.epoch
        epochSources = state.epochSources
        keyHolders = state.keyHolders
    }
}

/// The parts of a state the invariants compare.
private struct Snapshot: Equatable {
    struct InviteUse: Equatable {
        let invite: Invite
        let by: PublicKey
        let usedBy: PublicKey?
    }

    let founder: PublicKey?
    let members: [PublicKey]
    let admins: Set<PublicKey>
    let removed: [PublicKey: GroupState.Removal]
    let epoch: UInt32
    let epochSources: [UInt32: EntryID]
    let cuts: [PublicKey: UInt64]
    let retention: Int64
    let keyHolders: Set<PublicKey>
    let effectiveRekeys: Set<EntryID>
    let redacted: Set<EntryID>
    let seniority: [PublicKey: Int]
    let ineffective: [EntryID: String]
    let pseudonyms: [PublicKey: String]
    let meetings: [Meeting]
    let invites: [[UInt8]: InviteUse]

    init(_ state: GroupState) {
        founder = state.founder
        members = state.members
        admins = state.admins
        removed = state.removed
        epoch = state.epoch
        epochSources = state.epochSources
        cuts = state.cuts
        retention = state.retention
        keyHolders = state.keyHolders
        effectiveRekeys = state.effectiveRekeys
        redacted = state.redacted
        seniority = state.seniority
        ineffective = state.ineffective
        pseudonyms = state.pseudonyms
        meetings = state.meetings
        invites = state.invites.mapValues { InviteUse(invite: $0.invite, by: $0.by, usedBy: $0.usedBy) }
    }
}
