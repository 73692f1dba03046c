import MeetKitCore
import MeetKitCrypto

/// One case of Protocol/vectors/membership: a small log of one group and one entry of it
/// under test, which takes effect (`yay/`), or is stored and takes no effect, or is refused
/// (`nay/`), for a stated reason.
struct MembershipVector {
    /// The file name, without `.json`.
    let name: String
    let description: String
    let group: GroupID
    /// Everyone whose key appears in the log, by the label the files use for them.
    let people: [(label: String, key: PublicKey)]
    /// The content key of each epoch that an entry of the log is written in.
    let contentKeys: [(epoch: UInt32, key: SecretBytes)]
    /// The entries held, by name, in log order; the entry under test among them.
    let log: [(name: String, entry: Entry)]
    /// The name of the entry under test.
    let test: String
    /// What the rules say about it (Protocol/membership.md, epochs.md).
    let verdict: MembershipVerdict
    /// Facts the verdict implies about the state folded afterwards, for `yay` cases.
    let effect: ((MembershipState) -> Bool)?

    var directory: String { verdict == .takesEffect ? "yay" : "nay" }
}

/// What happens to the entry under test.
enum MembershipVerdict: Equatable, CustomStringConvertible {
    /// Stored, and takes effect.
    case takesEffect
    /// Stored, and takes no effect: the exact `GroupState.ineffective` reason.
    case ineffective(String)
    /// Not stored: the name of the `EntryRefusal` case.
    case refused(String)

    init(_ refusal: EntryRefusal) {
        switch refusal {
        case .afterCut: self = .refused("afterCut")
        case .notAMember: self = .refused("notAMember")
        case .lamportTooFar: self = .refused("lamportTooFar")
        case .membershipWithoutBody: self = .refused("membershipWithoutBody")
        }
    }

    var reason: String? {
        switch self {
        case .takesEffect: nil
        case .ineffective(let reason), .refused(let reason): reason
        }
    }

    var description: String {
        switch self {
        case .takesEffect: "takes effect"
        case .ineffective(let reason): "takes no effect: \(reason)"
        case .refused(let reason): "refused: \(reason)"
        }
    }
}

// MARK: - Checking

/// The checks of Protocol/vectors/membership/README.md, on decoded entries.
enum MembershipCheck {
    /// The verdict on `items[test]` and the state folded from what is stored: the whole log,
    /// or the log without the entry under test when it is refused. `items` are in log order,
    /// each with its content opened under the key of its epoch (nil when it does not open).
    static func judge(_ items: [LogItem], test: Int) -> (verdict: MembershipVerdict, state: GroupState) {
        var held = items
        let candidate = held.remove(at: test)
        let before = GroupState(items: held)
        let header = candidate.entry.header
        let previous = held.first { $0.entry.header.author == header.author && $0.entry.header.sequence == header.sequence - 1 }
        if let refusal = before.refusal(of: candidate.entry, after: previous?.entry.head) {
            return (MembershipVerdict(refusal), before)
        }
        let after = GroupState(items: items)
        return (after.ineffective[candidate.entry.id].map { .ineffective($0) } ?? .takesEffect, after)
    }

    /// The content of `entry` under the key of its epoch, nil when there is none or it does not open.
    static func content(of entry: Entry, keys: [UInt32: SecretBytes]) throws -> EntryContent? {
        guard let key = keys[entry.header.epoch] else { return nil }
        return try entry.openContent(contentKey: key)
    }
}

/// The parts of a folded `GroupState` the vectors state, with people by label and entries by name.
struct MembershipState: Equatable, Decodable {
    struct Removal: Equatable, Decodable {
        var epoch: UInt32
        var lastSequence: UInt64
    }

    /// In the order they were admitted.
    var members: [String]
    /// By seniority.
    var admins: [String]
    var removed: [String: Removal]
    var epoch: UInt32
    /// The re-key that began the current epoch; nil in epoch 0.
    var epochSource: String?
    /// Sorted by label.
    var keyHolders: [String]
    var needsRekey: Bool
    var retention: Int64
    /// In log order.
    var redacted: [String]
    /// Invites by the name of the entry that recorded them: who used each, or nil.
    var invites: [String: String?]

    init(_ state: GroupState, items: [LogItem], names: [EntryID: String], labels: [PublicKey: String]) {
        func label(_ key: PublicKey) -> String { labels[key] ?? key.hex }
        func name(_ id: EntryID) -> String { names[id] ?? id.hex }
        members = state.members.map(label)
        admins = state.admins.sorted { (state.seniority[$0] ?? .max, label($0)) < (state.seniority[$1] ?? .max, label($1)) }.map(label)
        removed = Dictionary(uniqueKeysWithValues: state.removed.map { (label($0.key), Removal(epoch: $0.value.epoch, lastSequence: $0.value.lastSequence)) })
        epoch = state.epoch
        epochSource = state.epochSources[state.epoch].map(name)
        keyHolders = state.keyHolders.map(label).sorted()
        needsRekey = state.needsRekey
        retention = state.retention
        redacted = items.map(\.entry.id).filter(state.redacted.contains).map(name)
        // Each invite recorded, named by the first entry in log order that recorded its id.
        invites = [:]
        var named: Set<[UInt8]> = []
        for item in items {
            guard case .invite(let invite)? = item.content, let record = state.invites[invite.id],
                state.ineffective[item.entry.id] == nil, named.insert(invite.id).inserted
            else { continue }
            invites[name(item.entry.id)] = .some(record.usedBy.map(label))
        }
    }

    /// Labels in `order` first (the order of the file's `people`), anything else after.
    func json(peopleOrder order: [String], entryOrder: [String]) -> MembershipJSON {
        func rank(_ label: String, in order: [String]) -> Int { order.firstIndex(of: label) ?? .max }
        let removedJSON = removed.sorted { (rank($0.key, in: order), $0.key) < (rank($1.key, in: order), $1.key) }.map {
            ($0.key, MembershipJSON.object([("epoch", .number(Int($0.value.epoch))), ("lastSequence", .number(Int($0.value.lastSequence)))]))
        }
        let invitesJSON = invites.sorted { (rank($0.key, in: entryOrder), $0.key) < (rank($1.key, in: entryOrder), $1.key) }.map {
            ($0.key, $0.value.map { MembershipJSON.string($0) } ?? .null)
        }
        return .object([
            ("members", .array(members.map { .string($0) })),
            ("admins", .array(admins.map { .string($0) })),
            ("removed", .object(removedJSON)),
            ("epoch", .number(Int(epoch))),
            ("epochSource", epochSource.map { .string($0) } ?? .null),
            ("keyHolders", .array(keyHolders.map { .string($0) })),
            ("needsRekey", .bool(needsRekey)),
            ("retention", .number(Int(retention))),
            ("redacted", .array(redacted.map { .string($0) })),
            ("invites", .object(invitesJSON)),
        ])
    }
}

extension MembershipVector {
    /// The log as the checker sees it: contents opened under `contentKeys`.
    func items() throws -> [LogItem] {
        let keys = Dictionary(uniqueKeysWithValues: contentKeys.map { ($0.epoch, $0.key) })
        return try log.map { LogItem(entry: $0.entry, content: try MembershipCheck.content(of: $0.entry, keys: keys)) }
    }

    var testIndex: Int { log.firstIndex { $0.name == test }! }

    /// The state folded from what is stored, as the file states it.
    func state() throws -> MembershipState {
        let items = try items()
        let (_, state) = MembershipCheck.judge(items, test: testIndex)
        return MembershipState(
            state, items: items, names: Dictionary(uniqueKeysWithValues: log.map { ($0.entry.id, $0.name) }),
            labels: Dictionary(uniqueKeysWithValues: people.map { ($0.key, $0.label) }))
    }

    /// The file's text, as described in Protocol/vectors/membership/README.md.
    func json() throws -> String {
        var members: [(String, MembershipJSON)] = [
            ("description", .string(description)),
            ("group", .string(group.hex)),
            ("people", .object(people.map { ($0.label, .string($0.key.hex)) })),
            ("contentKeys", .object(contentKeys.map { (String($0.epoch), .string(Hex.encode($0.key.exposedCopy()))) })),
            ("log", .array(log.map { item in
                .object([
                    ("name", .string(item.name)),
                    ("entry", .string(Hex.encode(item.entry.wire))),
                    ("body", item.entry.body.map { .string(Hex.encode($0)) } ?? .null),
                ])
            })),
            ("test", .string(test)),
        ]
        if let reason = verdict.reason { members.append(("reason", .string(reason))) }
        members.append(("state", try state().json(peopleOrder: people.map(\.label), entryOrder: log.map(\.name))))
        return MembershipJSON.object(members).rendered() + "\n"
    }
}

// MARK: - Writing logs

/// A group's log written by named people with the fixed keys, clocks and nonces of `Fixtures`.
struct MembershipLog {
    static let groupName = "Tuesday Hall Group"

    let group: GroupID
    private(set) var people: [(label: String, key: SigningKey)] = []
    private var feeds: [String: FeedWriter] = [:]

    /// The Lamport clock of `label`'s latest entry.
    func lamport(of label: String) -> UInt64 { feeds[label]?.head?.lamport ?? 0 }
    private(set) var entries: [(name: String, entry: Entry)] = []
    /// Each epoch's content key, as the re-key that began it sealed it.
    private(set) var keys: [UInt32: SecretBytes] = [0: Fixtures.contentKey]
    /// The epoch honest writers write in: begun by the latest re-key that took effect.
    var epoch: UInt32 = 0
    /// The highest Lamport clock written.
    private(set) var lamport: UInt64 = 0
    private var inviteSecrets: [String: SecretBytes] = [:]

    /// A group founded by `ash`, whose genesis is the entry `genesis`, with `others` admitted
    /// one after the other by `ash` (`invite-X`, `add-X`).
    init(admitting others: [String] = []) throws {
        var founder = FeedWriter(author: Fixtures.founder, group: nil)
        let genesis = try founder.append(.genesis(name: Self.groupName), lamport: 1)
        group = genesis.group
        people = [("ash", Fixtures.founder)]
        feeds["ash"] = founder
        entries = [("genesis", genesis)]
        lamport = 1
        for label in others { try admit(label) }
    }

    /// Every person's key, by label: the founder, the member, the outsider of `Fixtures` and more.
    static let signingKeys: [String: SigningKey] = [
        "ash": Fixtures.founder, "bo": Fixtures.member, "eve": Fixtures.outsider,
        "cy": Fixtures.signingKey(0x04), "di": Fixtures.signingKey(0x05), "puppet": Fixtures.signingKey(0x06),
    ]

    static func key(_ label: String) -> SigningKey {
        if let key = signingKeys[label] { return key }
        // Numbered members of large groups: seeds derived from the label.
        var seed = BLAKE2b.hash(Array("meetkit-test-member:\(label)".utf8))
        return try! SigningKey(seed: SecretBytes(consuming: &seed))
    }

    /// The content key of `epoch`: 4b…4b for epoch 0, 4c…4c for 1, 4d…4d for 2, and so on.
    static func epochKey(_ epoch: UInt32) -> SecretBytes {
        secret(repeating: UInt8(truncatingIfNeeded: 0x4b &+ epoch), count: 32)
    }

    /// "m001", "m002", …: the members of a large group.
    static func numbered(_ i: Int) -> String {
        let digits = String(i)
        return "m" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }

    func publicKey(_ label: String) -> PublicKey { Self.key(label).publicKey }

    /// The last sequence of `label`'s feed, 0 when they wrote nothing.
    func lastSequence(_ label: String) -> UInt64 { feeds[label]?.head?.sequence ?? 0 }

    func entry(_ name: String) -> Entry { entries.first { $0.name == name }!.entry }

    /// Appends an entry by `label`: at one past the highest Lamport clock written unless told,
    /// in the current epoch unless told, under that epoch's key unless told.
    @discardableResult
    mutating func write(
        _ name: String, by label: String, _ content: EntryContent, lamport: UInt64? = nil, epoch: UInt32? = nil,
        contentKey: SecretBytes? = nil, dropBody: Bool = false
    ) throws -> Entry {
        precondition(!entries.contains { $0.name == name }, "\(name) is written already")
        if !people.contains(where: { $0.label == label }) { people.append((label: label, key: Self.key(label))) }
        var feed = feeds[label] ?? FeedWriter(author: Self.key(label), group: group)
        feed.epoch = epoch ?? self.epoch
        feed.contentKey = contentKey ?? keys[feed.epoch] ?? Self.epochKey(feed.epoch)
        let clock = lamport ?? self.lamport + 1
        let entry = try feed.append(content, lamport: clock)
        feeds[label] = feed
        self.lamport = max(self.lamport, clock)
        entries.append((name, dropBody ? entry.droppingBody() : entry))
        return entry
    }

    /// Names `label` in the log's people without their writing anything.
    mutating func mention(_ label: String) {
        if !people.contains(where: { $0.label == label }) { people.append((label: label, key: Self.key(label))) }
    }

    /// The invite key's secret of the invite entry `name`: derived from the name.
    static func inviteSecret(_ name: String) -> SecretBytes {
        var bytes = BLAKE2b.hash(Array("meetkit-test-invite:\(name)".utf8), outputLength: InviteCode.secretLength)
        return SecretBytes(consuming: &bytes)
    }

    static func inviteID(_ name: String) -> [UInt8] { InviteCode.id(ofSecret: inviteSecret(name)) }

    /// Seven days after the start of the clock.
    static let inviteExpiry = Fixtures.startTime + 604_800_000

    @discardableResult
    mutating func invite(_ name: String, by label: String = "ash", expires: Int64 = inviteExpiry, id: [UInt8]? = nil) throws -> Entry {
        try write(name, by: label, .invite(Invite(id: id ?? Self.inviteID(name), expires: expires)))
    }

    /// A member-add of `member` with the invite recorded by the entry `invite`, and the proof
    /// that its writer holds that invite's secret, made for `proofFor` (the member, unless told).
    @discardableResult
    mutating func add(
        _ name: String, by label: String = "ash", member: String, invite: String?, proofFor: String? = nil, lamport: UInt64? = nil
    ) throws -> Entry {
        mention(member)
        let proof = invite.map {
            InviteCode.proof(secret: Self.inviteSecret($0), group: group, member: publicKey(proofFor ?? member))
        }
        return try write(
            name, by: label, .memberAdd(MemberAdd(member: publicKey(member), invite: invite.map(Self.inviteID), proof: proof)),
            lamport: lamport)
    }

    /// `ash` invites `label` and admits them: the entries `invite-label` and `add-label`.
    mutating func admit(_ label: String) throws {
        try invite("invite-\(label)")
        try add("add-\(label)", member: label, invite: "invite-\(label)")
    }

    /// A re-key by `label` naming epoch `next`, written in `writtenIn` (the current epoch unless
    /// told), removing each of `removing` after their last sequence, with the keys sealed to
    /// `recipients`. The sealed boxes are filler of the right length: the fold never opens them.
    @discardableResult
    mutating func rekey(
        _ name: String, by label: String = "ash", to next: UInt32, removing: [String] = [], recipients: [String],
        writtenIn: UInt32? = nil, lamport: UInt64? = nil
    ) throws -> Entry {
        for member in removing + recipients { mention(member) }
        let removals = removing.map { Rekey.Removal(member: publicKey($0), lastSequence: lastSequence($0)) }
        let sealed = recipients.map { Rekey.Sealed(recipient: publicKey($0), box: Self.filler) }
        if keys[next] == nil { keys[next] = Self.epochKey(next) }
        return try write(
            name, by: label, .rekey(Rekey(epoch: next, removed: removals, keys: sealed)), lamport: lamport, epoch: writtenIn)
    }

    static let filler = [UInt8](repeating: 0xb0, count: Rekey.boxLength)

    /// The vector whose log is everything written, in log order.
    func vector(
        _ name: String, _ description: String, test: String, _ verdict: MembershipVerdict,
        effect: ((MembershipState) -> Bool)? = nil
    ) -> MembershipVector {
        precondition(entries.contains { $0.name == test }, "\(name): no entry \(test)")
        let log = entries.sorted { $0.entry.position < $1.entry.position }
        let epochs = Set(log.map(\.entry.header.epoch)).sorted()
        return MembershipVector(
            name: name, description: description, group: group, people: people.map { (label: $0.label, key: $0.key.publicKey) },
            contentKeys: epochs.map { (epoch: $0, key: keys[$0] ?? Self.epochKey($0)) }, log: log, test: test, verdict: verdict,
            effect: effect)
    }
}

// MARK: - The cases

/// Every vector, made from fixed keys, clocks, nonces and invite secrets: regenerating gives
/// the same bytes.
enum MembershipVectors {
    static let notAdmin = "its author is not an admin here"
    static let noInvite = "it names no invite of this group"
    static let cannotRedact = "it names no entry of its author that may be redacted"
    static let retentionRange = "its retention is out of range"
    static let notNextAfterHeader = "it does not begin the epoch after the one it was written in"

    static let hour: Int64 = 3_600_000

    static func all() throws -> [MembershipVector] {
        var vectors: [MembershipVector] = []
        func add(_ vector: MembershipVector) { vectors.append(vector) }

        // MARK: Take effect

        do {
            var log = try MembershipLog()
            try log.invite("invite")
            add(log.vector(
                "invite-by-the-founder", "The founder records a one-time invite: its id is the invite key's public key.",
                test: "invite", .takesEffect, effect: { $0.invites == ["invite": String?.none] }))
        }
        do {
            var log = try MembershipLog()
            try log.invite("invite-bo")
            try log.add("add-bo", member: "bo", invite: "invite-bo")
            add(log.vector(
                "member-add-with-invite-and-proof",
                "The founder admits bo with an invite of the founder's and the invite key's proof naming bo and this group.",
                test: "add-bo", .takesEffect,
                effect: { $0.members == ["ash", "bo"] && $0.invites == ["invite-bo": "bo"] && $0.keyHolders == ["ash", "bo"] }))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.invite("invite-cy")
            try log.add("add-cy", by: "bo", member: "cy", invite: "invite-cy")
            add(log.vector(
                "member-add-by-a-member",
                "bo, a member but not an admin, admits cy with the founder's invite and its proof: any member may redeem an admin's invite.",
                test: "add-cy", .takesEffect, effect: { $0.members == ["ash", "bo", "cy"] && $0.invites["invite-cy"] == "cy" }))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.invite("invite-cy", expires: Fixtures.time(log.lamport + 2) + 1)
            try log.add("add-cy", member: "cy", invite: "invite-cy")
            add(log.vector(
                "member-add-just-before-expiry",
                "A member-add whose timestamp is one millisecond before its invite expires.",
                test: "add-cy", .takesEffect, effect: { $0.members.contains("cy") }))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.write("grant-bo", by: "ash", .roleGrant(member: log.publicKey("bo")))
            add(log.vector(
                "role-grant-by-an-admin", "The founder makes bo an admin, junior to the founder.",
                test: "grant-bo", .takesEffect, effect: { $0.admins == ["ash", "bo"] }))
        }
        do {
            var log = try MembershipLog(admitting: ["bo", "cy"])
            try log.write("profile-cy", by: "cy", .profile(pseudonym: "Cy"))
            try log.write("share-cy", by: "cy", .share(Share(text: "Glad to be here.")))
            try log.rekey("rekey", to: 1, removing: ["cy"], recipients: ["ash", "bo"])
            add(log.vector(
                "rekey-removing-a-member",
                "The founder removes cy (cut after cy's entry 2) and begins epoch 1, written in epoch 0, with the keys sealed to ash and bo.",
                test: "rekey", .takesEffect,
                effect: {
                    $0.members == ["ash", "bo"] && $0.epoch == 1 && $0.epochSource == "rekey"
                        && $0.removed == ["cy": .init(epoch: 1, lastSequence: 2)] && $0.keyHolders == ["ash", "bo"]
                }))
        }
        do {
            var log = try MembershipLog(admitting: ["bo", "cy"])
            try log.write("share-cy", by: "cy", .share(Share(text: "Glad to be here.")))
            try log.rekey("rekey", to: 1, removing: ["cy"], recipients: ["ash", "bo"])
            add(log.vector(
                "removed-members-entry-before-the-cut",
                "cy's share is entry 1 of cy's feed; the re-key that removes cy cuts after entry 1, so the share stays.",
                test: "share-cy", .takesEffect, effect: { $0.removed["cy"] == .init(epoch: 1, lastSequence: 1) }))
        }
        do {
            var log = try MembershipLog(admitting: ["bo", "cy", "di"])
            try log.write("grant-bo", by: "ash", .roleGrant(member: log.publicKey("bo")))
            try log.write("share-di", by: "di", .share(Share(text: "Hello all.")))
            let lamport = log.lamport
            try log.rekey("rekey-ash", to: 1, removing: ["cy"], recipients: ["ash", "bo", "di"], lamport: lamport + 1)
            // bo has not seen ash's re-key: written in epoch 0, still sealing to cy.
            try log.rekey("rekey-bo", by: "bo", to: 1, removing: ["di"], recipients: ["ash", "bo", "cy"], writtenIn: 0, lamport: lamport + 2)
            add(log.vector(
                "rekey-concurrent-same-epoch",
                "Two admins re-key epoch 0 at once: the founder removes cy, then (later in log order) bo removes di. bo's removal takes effect; the founder's re-key, first in log order, stays the source of epoch 1's keys, and the group needs one more re-key (di holds them).",
                test: "rekey-bo", .takesEffect,
                effect: {
                    $0.members == ["ash", "bo"] && $0.epoch == 1 && $0.epochSource == "rekey-ash"
                        && $0.removed == ["cy": .init(epoch: 1, lastSequence: 0), "di": .init(epoch: 1, lastSequence: 1)]
                        && $0.needsRekey
                }))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.write("grant-bo", by: "ash", .roleGrant(member: log.publicKey("bo")))
            try log.rekey("rekey", to: 1, removing: ["bo"], recipients: ["ash"])
            add(log.vector(
                "rekey-removing-a-junior-admin", "The founder removes bo, an admin the founder made: an admin removes more junior admins.",
                test: "rekey", .takesEffect, effect: { $0.members == ["ash"] && $0.admins == ["ash"] && $0.removed["bo"] != nil }))
        }
        do {
            var log = try MembershipLog()
            try log.write("retention", by: "ash", .retention(milliseconds: hour))
            add(log.vector(
                "retention-one-hour", "The founder keeps shares for one hour (3 600 000 ms), the shortest retention.",
                test: "retention", .takesEffect, effect: { $0.retention == hour }))
        }
        do {
            var log = try MembershipLog()
            try log.write("retention-hour", by: "ash", .retention(milliseconds: hour))
            try log.write("retention", by: "ash", .retention(milliseconds: 0))
            add(log.vector(
                "retention-zero", "After a retention of one hour, the founder sets 0: shares are kept again.",
                test: "retention", .takesEffect, effect: { $0.retention == 0 }))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            let share = try log.write("share-bo", by: "bo", .share(Share(text: "I said too much last week.")))
            try log.write("redaction", by: "bo", .redaction(entry: share.id))
            add(log.vector(
                "redaction-of-own-share", "bo redacts bo's own share.",
                test: "redaction", .takesEffect, effect: { $0.redacted == ["share-bo"] }))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.write("share-bo", by: "bo", .share(Share(text: "At the edge of the clock.")), lamport: log.lamport(of: "bo") + GroupState.lamportReach)
            add(log.vector(
                "lamport-at-the-reach", "bo's share with a Lamport clock exactly 2^32 past bo's previous entry: the farthest that is stored.",
                test: "share-bo", .takesEffect))
        }

        // MARK: Take no effect

        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.invite("invite", by: "bo")
            add(log.vector("invite-by-a-non-admin", "bo, a member but not an admin, records an invite.", test: "invite", .ineffective(notAdmin)))
        }
        do {
            var log = try MembershipLog()
            try log.invite("invite-1")
            try log.invite("invite-2", id: MembershipLog.inviteID("invite-1"))
            add(log.vector(
                "invite-id-reused", "The founder records a second invite with the id of the first.",
                test: "invite-2", .ineffective("the invite exists already")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.add("add-cy", by: "bo", member: "cy", invite: nil)
            add(log.vector("member-add-without-invite", "bo admits cy without naming an invite.", test: "add-cy", .ineffective(noInvite)))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.add("add-cy", by: "bo", member: "cy", invite: "invite-never-recorded")
            add(log.vector(
                "member-add-unknown-invite", "bo admits cy with an invite (and its proof) that no entry of the group recorded.",
                test: "add-cy", .ineffective(noInvite)))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.invite("invite-cy")
            try log.add("add-puppet", by: "bo", member: "puppet", invite: "invite-cy", proofFor: "cy")
            add(log.vector(
                "member-add-proof-for-another-member",
                "bo admits a puppet with the id of an invite copied from the log and a proof the invite key made for cy, not for the puppet.",
                test: "add-puppet", .ineffective("it does not prove that its author holds the invite")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.invite("invite")
            try log.add("add-cy", member: "cy", invite: "invite")
            try log.add("add-di", by: "bo", member: "di", invite: "invite")
            add(log.vector(
                "member-add-used-invite", "bo admits di with an invite already used to admit cy, and a valid proof for di.",
                test: "add-di", .ineffective("its invite was used already")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.invite("invite-cy", expires: Fixtures.time(log.lamport + 2))
            try log.add("add-cy", member: "cy", invite: "invite-cy")
            add(log.vector(
                "member-add-expired-invite", "A member-add whose timestamp equals its invite's expiry.",
                test: "add-cy", .ineffective("its invite had expired")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo", "cy"])
            try log.rekey("rekey", to: 1, removing: ["cy"], recipients: ["ash", "bo"])
            log.epoch = 1
            try log.invite("invite-cy-again")
            try log.add("add-cy-again", member: "cy", invite: "invite-cy-again")
            add(log.vector(
                "member-add-of-a-removed-member", "After removing cy, the founder admits cy again with a new invite and its proof: a removed member cannot be admitted again.",
                test: "add-cy-again", .ineffective("it names someone who is or was a member")))
        }
        do {
            var log = try MembershipLog(admitting: (1...249).map(MembershipLog.numbered))
            try log.invite("invite-m250")
            try log.add("add-m250", member: "m250", invite: "invite-m250")
            add(log.vector(
                "member-add-to-a-full-group", "A member-add when the group has 250 members, the most it can have.",
                test: "add-m250", .ineffective("the group is full")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.write("profile-bo", by: "bo", .profile(pseudonym: "Bo"), lamport: 2)
            add(log.vector(
                "entry-before-admission", "bo's profile with a Lamport clock before bo's member-add: in log order, bo is not yet a member there.",
                test: "profile-bo", .ineffective("its author is not a member here")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo", "cy"])
            try log.write("grant-cy", by: "bo", .roleGrant(member: log.publicKey("cy")))
            add(log.vector("role-grant-by-a-non-admin", "bo, not an admin, makes cy an admin.", test: "grant-cy", .ineffective(notAdmin)))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.write("grant-bo", by: "ash", .roleGrant(member: log.publicKey("bo")))
            try log.write("grant-bo-again", by: "ash", .roleGrant(member: log.publicKey("bo")))
            add(log.vector(
                "role-grant-to-an-admin", "The founder makes bo an admin twice: the second grant names an admin.",
                test: "grant-bo-again", .ineffective("it names no member who is not an admin")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            log.mention("puppet")
            try log.write("grant-puppet", by: "ash", .roleGrant(member: log.publicKey("puppet")))
            add(log.vector(
                "role-grant-to-a-non-member", "The founder makes someone who is not a member an admin.",
                test: "grant-puppet", .ineffective("it names no member who is not an admin")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo", "cy"])
            try log.rekey("rekey", by: "bo", to: 1, removing: ["cy"], recipients: ["ash", "bo"])
            add(log.vector("rekey-by-a-non-admin", "bo, not an admin, removes cy.", test: "rekey", .ineffective(notAdmin)))
        }
        do {
            var log = try MembershipLog(admitting: ["bo", "cy"])
            try log.rekey("rekey", to: 5, removing: ["cy"], recipients: ["ash", "bo"])
            add(log.vector(
                "rekey-skipping-epochs", "The founder's re-key written in epoch 0 names epoch 5.",
                test: "rekey", .ineffective(notNextAfterHeader)))
        }
        do {
            var log = try MembershipLog(admitting: ["bo", "cy"])
            try log.rekey("rekey", to: .max, removing: ["cy"], recipients: ["ash", "bo"])
            add(log.vector(
                "rekey-to-the-last-epoch", "The founder's re-key written in epoch 0 names epoch 0xFFFFFFFF, after which no re-key could follow.",
                test: "rekey", .ineffective(notNextAfterHeader)))
        }
        do {
            var log = try MembershipLog(admitting: ["bo", "cy"])
            try log.write("grant-bo", by: "ash", .roleGrant(member: log.publicKey("bo")))
            try log.write("profile-bo", by: "bo", .profile(pseudonym: "Bo"))
            try log.rekey("rekey-1", to: 1, recipients: ["ash", "bo", "cy"])
            log.epoch = 1
            try log.rekey("rekey-2", to: 2, recipients: ["ash", "bo", "cy"])
            log.epoch = 2
            try log.rekey("rekey-bo", by: "bo", to: 1, removing: ["cy"], recipients: ["ash", "bo"], writtenIn: 0)
            add(log.vector(
                "rekey-in-an-old-epoch",
                "bo, an admin, writes a re-key in epoch 0 naming epoch 1, after the founder's re-keys began epochs 1 and 2 in log order.",
                test: "rekey-bo", .ineffective("it does not begin the next epoch")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo", "cy"])
            try log.rekey("rekey", to: 1, removing: ["cy"], recipients: ["ash", "bo", "puppet"])
            add(log.vector(
                "rekey-sealing-to-a-puppet", "The founder's re-key seals the new keys to someone who was never a member.",
                test: "rekey", .ineffective("it seals keys to someone who was never a member")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.write("grant-bo", by: "ash", .roleGrant(member: log.publicKey("bo")))
            try log.rekey("rekey", by: "bo", to: 1, removing: ["ash"], recipients: ["bo"])
            add(log.vector(
                "rekey-removing-a-senior-admin", "bo, an admin the founder made, removes the founder.",
                test: "rekey", .ineffective("it removes an admin more senior than its author")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.write("retention", by: "bo", .retention(milliseconds: hour))
            add(log.vector("retention-by-a-non-admin", "bo, not an admin, sets a retention of one hour.", test: "retention", .ineffective(notAdmin)))
        }
        for (name, milliseconds, what) in [
            ("retention-one-millisecond", Int64(1), "1 ms"),
            ("retention-59-minutes", 59 * 60_000, "59 minutes, one minute short of the shortest"),
            ("retention-over-a-hundred-years", GroupState.retentionRange.upperBound + 1, "one millisecond over 100 years of 365 days"),
        ] {
            var log = try MembershipLog()
            try log.write("retention", by: "ash", .retention(milliseconds: milliseconds))
            add(log.vector(name, "The founder sets a retention of \(what).", test: "retention", .ineffective(retentionRange)))
        }
        do {
            var log = try MembershipLog()
            try log.write("redaction", by: "ash", .redaction(entry: log.entry("genesis").id))
            add(log.vector("redaction-of-the-genesis", "The founder redacts the genesis: a membership entry.", test: "redaction", .ineffective(cannotRedact)))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            let rekey = try log.rekey("rekey", to: 1, recipients: ["ash", "bo"])
            log.epoch = 1
            try log.write("redaction", by: "ash", .redaction(entry: rekey.id))
            add(log.vector("redaction-of-a-rekey", "The founder redacts the founder's own re-key.", test: "redaction", .ineffective(cannotRedact)))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            let share = try log.write("share-bo", by: "bo", .share(Share(text: "Thanks for listening.")))
            try log.write("redaction", by: "ash", .redaction(entry: share.id))
            add(log.vector(
                "redaction-of-another-members-entry", "The founder, an admin, redacts bo's share.",
                test: "redaction", .ineffective(cannotRedact)))
        }
        do {
            var log = try MembershipLog()
            try log.write("redaction", by: "ash", .redaction(entry: EntryID(bytes: [UInt8](repeating: 0xee, count: 32))!))
            add(log.vector(
                "redaction-of-an-unknown-entry", "The founder redacts an entry id that the log does not hold.",
                test: "redaction", .ineffective(cannotRedact)))
        }

        // MARK: Refused

        do {
            var log = try MembershipLog(admitting: ["bo", "cy"])
            try log.write("share-cy", by: "cy", .share(Share(text: "Before.")))
            try log.rekey("rekey", to: 1, removing: ["cy"], recipients: ["ash", "bo"])
            try log.write("share-cy-after", by: "cy", .share(Share(text: "After.")), epoch: 0)
            add(log.vector(
                "after-the-cut", "cy's entry 2, written in epoch 0 after the re-key that cut cy's feed after entry 1.",
                test: "share-cy-after", .refused("afterCut")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo", "cy"])
            try log.write("share-cy", by: "cy", .share(Share(text: "Before.")))
            try log.rekey("rekey", to: 1, removing: ["cy"], recipients: ["ash", "bo"])
            try log.write(
                "share-cy-after", by: "cy", .share(Share(text: "After.")), epoch: 1,
                contentKey: secret(repeating: 0x99, count: 32))
            add(log.vector(
                "after-the-cut-claiming-the-new-epoch",
                "cy's entry 2 after the cut, claiming epoch 1 (its body is under a key cy made up).",
                test: "share-cy-after", .refused("afterCut")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo", "cy"])
            try log.write("grant-bo", by: "ash", .roleGrant(member: log.publicKey("bo")))
            try log.write("profile-bo", by: "bo", .profile(pseudonym: "Bo"))
            let boLamport = log.lamport
            try log.write("share-ash", by: "ash", .share(Share(text: "A quiet week.")))
            try log.rekey("rekey-ash", to: 1, removing: ["bo"], recipients: ["ash", "cy"])
            // Removed, bo writes a re-key in the old epoch with a clock just past bo's own last
            // entry, so that in log order it lands before the removal, where bo was an admin.
            try log.rekey("rekey-bo", by: "bo", to: 1, removing: ["cy"], recipients: ["ash", "bo"], writtenIn: 0, lamport: boLamport + 1)
            add(log.vector(
                "after-the-cut-backdated-rekey",
                "bo, an admin removed by the founder after bo's entry 1, writes a re-key as entry 2 with a Lamport clock that puts it before the removal in log order.",
                test: "rekey-bo", .refused("afterCut")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.write("invite", by: "ash", .invite(Invite(id: MembershipLog.inviteID("invite"), expires: MembershipLog.inviteExpiry)), dropBody: true)
            add(log.vector("membership-entry-without-body", "The founder's invite, held without its body.", test: "invite", .refused("membershipWithoutBody")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.write("grant-bo", by: "ash", .roleGrant(member: log.publicKey("bo")), contentKey: secret(repeating: 0x66, count: 32))
            add(log.vector(
                "membership-body-unopenable", "The founder's role-grant in epoch 0 whose body is sealed under a key that is not epoch 0's.",
                test: "grant-bo", .ineffective("it cannot be read")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.write("share-bo", by: "bo", .share(Share(text: "Far ahead.")), lamport: log.lamport(of: "bo") + GroupState.lamportReach + 1)
            add(log.vector(
                "lamport-too-far", "bo's share with a Lamport clock 2^32 + 1 past bo's previous entry.",
                test: "share-bo", .refused("lamportTooFar")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            let climb = try log.write("share-ash", by: "ash", .share(Share(text: "Climbing.")), lamport: log.lamport(of: "ash") + GroupState.lamportReach)
            try log.write("share-bo", by: "bo", .share(Share(text: "On top.")), lamport: climb.header.lamport + GroupState.lamportReach)
            add(log.vector(
                "lamport-too-far-from-own-feed",
                "ash climbs 2^32 past ash's previous entry; bo's share is 2^32 past ash's climb but far more past bo's own previous entry: judged within bo's feed, so a node without ash's climb decides alike.",
                test: "share-bo", .refused("lamportTooFar")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.write("profile-eve", by: "eve", .profile(pseudonym: "Eve"))
            add(log.vector("author-not-a-member", "A profile by eve, whom no member-add names.", test: "profile-eve", .refused("notAMember")))
        }
        do {
            var log = try MembershipLog(admitting: ["bo"])
            try log.invite("invite-puppet", by: "eve")
            add(log.vector(
                "invite-by-a-non-member", "An invite by eve, who is not a member: refused before it could take effect.",
                test: "invite-puppet", .refused("notAMember")))
        }

        return vectors
    }
}

// MARK: - JSON

/// A JSON value that keeps its keys in the order written, with arrays: objects and arrays of
/// objects one member a line, arrays of scalars on one line.
indirect enum MembershipJSON {
    case string(String)
    case number(Int)
    case bool(Bool)
    case null
    case array([MembershipJSON])
    case object([(String, MembershipJSON)])

    var isScalar: Bool {
        switch self {
        case .array, .object: false
        default: true
        }
    }

    func rendered(indent: Int = 0) -> String {
        let inner = String(repeating: " ", count: indent + 2)
        let closing = String(repeating: " ", count: indent)
        switch self {
        case .string(let s): return Self.quoted(s)
        case .number(let n): return String(n)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let items):
            if items.isEmpty { return "[]" }
            if items.allSatisfy(\.isScalar) { return "[" + items.map { $0.rendered() }.joined(separator: ", ") + "]" }
            return "[\n" + items.map { inner + $0.rendered(indent: indent + 2) }.joined(separator: ",\n") + "\n" + closing + "]"
        case .object(let members):
            if members.isEmpty { return "{}" }
            let lines = members.map { "\(inner)\(Self.quoted($0.0)): \($0.1.rendered(indent: indent + 2))" }
            return "{\n" + lines.joined(separator: ",\n") + "\n" + closing + "}"
        }
    }

    private static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
