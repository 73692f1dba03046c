import Foundation
import MeetKitCore
import MeetKitCrypto
@testable import MeetKitStore
import MeetKitTestSupport
import Testing

/// The membership rules as a property: random sequences of membership operations by honest and
/// hostile members, delivered to several stores in random orders and subsets, always converge to
/// one state; a removed member never holds a key of an epoch begun after its removal was known,
/// nor the current epoch's, nor is served anything under a key it holds; no member keeps an entry
/// written after its author's feed was cut; and the order in which a store receives the entries
/// does not change what it folds.
///
/// Each run is driven by one seed (SplitMix64): the identities are derived from it as well, so
/// that the log order (Lamport clock, then author) and so every decision repeats. Only nonces,
/// content keys and timestamps vary between runs of a seed. A failure prints the seed and the
/// operations of the run.
@Suite struct MembershipPropertyTests {
    /// Seeds 1…12 by default; `MEETKIT_PROPERTY_SEEDS=FIRST-LAST` runs a longer range.
    static let seeds: [UInt64] = {
        let range = ProcessInfo.processInfo.environment["MEETKIT_PROPERTY_SEEDS"]?.split(separator: "-").compactMap { UInt64($0) }
        guard let range, range.count == 2, range[0] <= range[1] else { return Array(1...12) }
        return Array(range[0]...range[1])
    }()
    static let operations = 45

    @Test(arguments: seeds)
    func randomMembershipHistoriesConverge(seed: UInt64) throws {
        let world = try World(seed: seed)
        do {
            for _ in 0..<Self.operations {
                try world.step()
            }
            try world.converge()
            try world.checkConverged()
            try world.checkRemoved()
            try world.checkDeliveryOrder()
        } catch {
            world.fail("threw \(error)")
        }
    }
}

// MARK: - The generator

extension MembershipPropertyTests {
    /// The run's source of choices (`SplitMix64`, in MeetKitTestSupport).
    typealias Random = SplitMix64
}

// MARK: - The world

extension MembershipPropertyTests {
    /// Every re-key written during a run: what a removed member's keys are judged against.
    struct RekeyRecord {
        let author: PublicKey
        let hostile: Bool
        let recipients: Set<PublicKey>
        /// The entries its author held when writing it.
        let held: Set<EntryID>
    }

    /// A group of several members' stores, operated on at random.
    final class World {
        let seed: UInt64
        var random: Random
        /// Identities only, so that adding an operation does not change who is who.
        var identities: Random
        var homes: [TemporaryHome] = []
        /// Members who act: each with a store of their own.
        var stores: [Store] = []
        /// Two members admitted at the start who take no part: at the end they are given every
        /// entry in different orders.
        var observers: [Store] = []
        let group: GroupID
        var names: [PublicKey: String] = [:]
        var trace: [String] = []
        var rekeys: [EntryID: RekeyRecord] = [:]
        var failures = 0
        static let maximumActive = 7

        init(seed: UInt64) throws {
            self.seed = seed
            random = Random(seed: seed)
            identities = Random(seed: seed ^ 0xA5A5_5A5A_0F0F_F0F0)
            let founder = try Self.makeStore("Ana", &identities, &homes)
            stores = [founder]
            group = try founder.createGroup(name: "Circle", at: Date())
            let count = 4 + random.int(0...1)
            for name in ["Ben", "Cy", "Dan", "Eve", "Fay"].prefix(count) {
                stores.append(try admitNewcomer(name, by: founder))
            }
            for name in ["Obs1", "Obs2"] {
                observers.append(try admitNewcomer(name, by: founder))
            }
            for store in stores + observers { names[store.memberID] = store.pseudonym }
            for i in stores.indices.dropFirst() { try sync(0, to: i) }
            // One or two admins besides the founder to begin with.
            for _ in 0..<random.int(1...2) {
                if let member = random.pick(Array(stores.indices.dropFirst())) {
                    _ = try? founder.grantAdmin(stores[member].memberID, in: group, at: Date())
                }
            }
            for i in stores.indices.dropFirst() { try sync(0, to: i) }
            note("start: \(stores.map(\.pseudonym)), admins \(nameList(founder.state(of: group).admins))")
        }

        static func makeStore(_ name: String, _ identities: inout Random, _ homes: inout [TemporaryHome]) throws -> Store {
            let home = try TemporaryHome()
            homes.append(home)
            var seed = identities.bytes(SigningKey.seedLength)
            let identity = try SigningKey(seed: SecretBytes(consuming: &seed))
            return try Store.create(
                at: home.directory, passphrase: Fixture.passphrase(), pseudonym: name, cost: Fixture.cost, identity: identity
            ) { _, _ in }
        }

        /// A new member's store, admitted by `admin` with an invite of its own.
        func admitNewcomer(_ name: String, by admin: Store) throws -> Store {
            let newcomer = try Self.makeStore(name, &identities, &homes)
            let code = try admin.createInvite(to: group, lifetime: 3_600, at: Date())
            let admission = try admin.admit(newcomer.memberID, to: group, secret: code.secret, at: Date())
            _ = try newcomer.acceptAdmission(sealedKeys: admission.sealedKeys, into: group)
            return newcomer
        }

        // MARK: Reporting

        func name(_ key: PublicKey) -> String { names[key] ?? "puppet-\(key.fingerprint.prefix(6))" }

        func nameList<S: Sequence>(_ keys: S) -> String where S.Element == PublicKey {
            "[" + keys.map(name).sorted().joined(separator: ",") + "]"
        }

        func note(_ line: String) { trace.append("\(trace.count): \(line)") }

        func fail(_ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
            failures += 1
            let context = failures == 1 ? "\noperations of seed \(seed):\n" + trace.joined(separator: "\n") : ""
            Issue.record("seed \(seed): \(message)\(context)", sourceLocation: sourceLocation)
        }

        func expect(_ condition: Bool, _ message: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) {
            if !condition { fail(message(), sourceLocation: sourceLocation) }
        }

        func state(_ i: Int) -> GroupState { stores[i].state(of: group) }

        func digest(_ store: Store) -> [UInt8] { store.summary(of: group).digest }

        func ids(_ store: Store) -> Set<EntryID> { Set(store.logs[group]?.entries.map(\.id) ?? []) }

        func describe(_ entry: Entry) -> String {
            "\(entry.id.short) by \(name(entry.header.author)) #\(entry.header.sequence) \(entry.header.kind) "
                + "epoch \(entry.header.epoch) Lamport \(entry.header.lamport)"
        }

        /// Why `store` does not hold `missing`: each offered alone, in log order, to a throwaway
        /// copy of its judgement (the ingest report of a batch of one, without storing anything
        /// new: entries it does store are listed as such).
        func whyNot(_ store: Store, _ missing: [Entry]) -> String {
            let state = store.state(of: group)
            return missing.sorted { $0.position < $1.position }.map { entry in
                var reason = "\(describe(entry)): "
                if let fork = store.logs[group]?.forks[entry.header.author] {
                    reason += "feed quarantined (fork proof at \(fork.sequence)) before this entry was held"
                } else if let refusal = state.refusal(of: entry, after: store.logs[group]?.heads[entry.header.author]) {
                    reason += "\(refusal)"
                } else if entry.header.kind.isMembership, store.stateItem(of: entry).content == nil {
                    reason += "unreadable here (holds epochs \(HostileMember(store, in: group).epochsHeld))"
                } else if let head = store.logs[group]?.heads[entry.header.author], entry.header.sequence != head.sequence + 1 {
                    reason += "feed held up to \(head.sequence)"
                } else {
                    reason += "no refusal now"
                }
                return reason
            }.joined(separator: "; ")
        }

        // MARK: Syncing

        /// `to` takes what `from` serves it, as a sync session does: the headers to compare, then
        /// the entries it lacks, in log order; cut short, or with gaps, when `partial`. Then, as a
        /// node does after a re-key arrives, `to` writes the re-key concurrent removals call for.
        func sync(_ from: Int, to: Int, partial: Bool = false, proofs: Bool = true) throws {
            let (source, target) = (stores[from], stores[to])
            let vector = target.versionVector(of: group)
            var entries = source.entries(of: group, missingFrom: vector)
            if partial {
                switch random.int(0...9) {
                case 0...5: break
                case 6...7: entries = Array(entries.prefix(random.int(0...entries.count)))
                default: entries = entries.filter { _ in random.chance(0.7) }
                }
            }
            try target.ingest(source.headsToCompare(of: group, with: vector) + entries, into: group)
            if proofs {
                for fork in source.forks(in: group) {
                    try target.acceptForkProof(fork.entries.0, fork.entries.1, in: group)
                }
            }
            try resolve(to)
        }

        /// The follow-up re-key, if `i`'s store is the one to write it.
        func resolve(_ i: Int) throws {
            let before = stores[i].state(of: group)
            guard before.needsRekey, stores[i].rekeyingAdmin(of: group) == stores[i].memberID else { return }
            let held = ids(stores[i])
            guard let entry = try? stores[i].resolveConcurrentRekey(in: group, at: Date()) else { return }
            rekeys[entry.id] = RekeyRecord(author: stores[i].memberID, hostile: false, recipients: Set(before.members), held: held)
            note("\(stores[i].pseudonym) wrote the follow-up re-key \(entry.id.short) to epoch \(before.epoch + 1)")
        }

        /// A member without the current keys, whom an admin who holds them still counts a
        /// member (a concurrent re-key left it out, and every later one is sealed under keys it
        /// lacks), is given an invite by that admin and joins again (Protocol/epochs.md
        /// §Concurrent re-keys).
        func rejoin(_ i: Int) throws {
            guard stores[i].writeKeys(of: group) == nil else { return }
            for a in live() where a != i && state(a).isAdmin(stores[a].memberID) && state(a).isMember(stores[i].memberID) {
                guard stores[a].writeKeys(of: group) != nil, talks(a, i),
                    let code = try? stores[a].createInvite(to: group, lifetime: 3_600, at: Date()),
                    let admission = try? stores[a].admit(stores[i].memberID, to: group, secret: code.secret, at: Date())
                else { continue }
                _ = try stores[i].acceptAdmission(sealedKeys: admission.sealedKeys, into: group)
                note("\(stores[i].pseudonym) joins again through \(stores[a].pseudonym), holding epochs \(HostileMember(stores[i], in: group).epochsHeld)")
                return
            }
        }

        /// Whether `a` would open a session with `b`: not with someone it knows was removed.
        func talks(_ a: Int, _ b: Int) -> Bool {
            state(a).removed[stores[b].memberID] == nil && state(b).removed[stores[a].memberID] == nil
        }

        /// `a` and `b` sync both ways and hand each other their fork proofs, twice round.
        func exchange(_ a: Int, _ b: Int) throws {
            for _ in 0..<2 {
                try sync(a, to: b)
                try sync(b, to: a)
            }
        }

        // MARK: Operations

        func step() throws {
            let roll = random.int(0...99)
            switch roll {
            case 0..<18: try share()
            case 18..<22: try checkIn()
            case 22..<30: try grant()
            case 30..<42: try remove()
            case 42..<46: try retention()
            case 46..<50: try invite()
            case 50..<53: try newcomer()
            case 53..<55: try redact()
            default: try hostile()
            }
            for _ in 0..<random.int(0...3) {
                let a = random.int(0...(stores.count - 1))
                let b = random.int(0...(stores.count - 1))
                guard a != b, talks(a, b) else { continue }
                let proofs = random.chance(0.5)
                try sync(a, to: b, partial: true, proofs: proofs)
                note("  sync \(stores[a].pseudonym) -> \(stores[b].pseudonym)\(proofs ? " with proofs" : "")")
                if random.chance(0.4) {
                    try sync(b, to: a, partial: true, proofs: proofs)
                    note("  sync \(stores[b].pseudonym) -> \(stores[a].pseudonym)")
                }
            }
        }

        func actor() -> Int { random.int(0...(stores.count - 1)) }

        /// Runs an honest command; a refusal is part of the game, and noted.
        @discardableResult
        func attempt<T>(_ what: String, _ body: () throws -> T) throws -> T? {
            do {
                let result = try body()
                note(what)
                return result
            } catch let error as StoreError {
                note("\(what): refused (\(error.message))")
                return nil
            }
        }

        func share() throws {
            let i = actor()
            try attempt("\(stores[i].pseudonym) shares") {
                try stores[i].append(.share(Share(text: "share \(trace.count)")), to: group, at: Date())
            }
        }

        func checkIn() throws {
            let i = actor()
            let mood = UInt8(random.int(1...5))
            try attempt("\(stores[i].pseudonym) checks in") {
                try stores[i].append(.checkIn(CheckIn(mood: mood)), to: group, at: Date())
            }
        }

        /// A member the actor knows of, other than the observers (and itself, unless `me`).
        func target(for i: Int, me: Bool = false) -> PublicKey? {
            let observerKeys = Set(observers.map(\.memberID))
            return random.pick(state(i).members.filter { !observerKeys.contains($0) && (me || $0 != stores[i].memberID) })
        }

        func grant() throws {
            let i = actor()
            guard let member = target(for: i) else { return }
            try attempt("\(stores[i].pseudonym) makes \(name(member)) admin") {
                try stores[i].grantAdmin(member, in: group, at: Date())
            }
        }

        func remove() throws {
            let i = actor()
            guard let member = target(for: i) else { return }
            let before = state(i)
            let held = ids(stores[i])
            let entry = try attempt("\(stores[i].pseudonym) removes \(name(member)) (epoch \(before.epoch) -> \(before.epoch + 1))") {
                try stores[i].remove(member, from: group, at: Date())
            }
            if let entry {
                rekeys[entry.id] = RekeyRecord(
                    author: stores[i].memberID, hostile: false, recipients: Set(before.members).subtracting([member]), held: held)
                trace[trace.count - 1] += " as \(entry.id.short)"
            }
        }

        func retention() throws {
            let i = actor()
            let value: Int64 = random.pick([0, 3_600_000, 7 * 86_400_000])!
            try attempt("\(stores[i].pseudonym) sets retention \(value)") {
                try stores[i].setRetention(value, in: group, at: Date())
            }
        }

        func invite() throws {
            let i = actor()
            try attempt("\(stores[i].pseudonym) invites") {
                try stores[i].createInvite(to: group, lifetime: 3_600, at: Date())
            }
        }

        func newcomer() throws {
            guard stores.count < Self.maximumActive else { return try share() }
            let i = actor()
            let name = "New\(stores.count)"
            guard let store = try attempt("\(stores[i].pseudonym) admits \(name)", { try admitNewcomer(name, by: stores[i]) }) else {
                return
            }
            names[store.memberID] = name
            stores.append(store)
            try sync(i, to: stores.count - 1)
        }

        func redact() throws {
            let i = actor()
            let own = stores[i].log(of: group).filter { $0.entry.header.author == stores[i].memberID && $0.entry.header.kind == .share }
            guard let item = random.pick(own) else { return try share() }
            try attempt("\(stores[i].pseudonym) redacts \(item.entry.id.short)") {
                try stores[i].redact(item.entry.id, in: group, at: Date())
            }
        }

        // MARK: Hostile operations

        /// Something no honest node writes, by a random member (removed or not), through
        /// `HostileMember`: stored in the author's own store under the ordinary rules (so that
        /// the author's node goes on from it, and serves it), and delivered in bundles to a few
        /// others.
        func hostile() throws {
            let i = actor()
            let me = stores[i]
            let hostile = HostileMember(me, in: group)
            let view = me.state(of: group)
            let held = hostile.epochsHeld
            let maxLamport = me.logs[group]?.maxLamport ?? 0
            let backdated = (hostile.head?.lamport ?? 0) + 1 + UInt64(random.int(0...2))
            func headerEpoch() -> UInt32 {
                random.chance(0.7) && held.contains(view.epoch) ? view.epoch : random.pick(held) ?? 0
            }
            let monthAgo = Int64(Date().timeIntervalSince1970 * 1000) - 30 * 86_400_000
            var entries: [Entry] = []
            var equivocation: Entry?
            var what = ""
            do {
                switch random.int(0...7) {
                case 0, 1:
                    // A re-key: backdated or not, naming any epoch, removing anyone (a senior admin
                    // most often), written under any epoch the member holds keys of.
                    let admins = Array(view.admins.filter { $0 != me.memberID })
                    guard let victim = random.chance(0.5) ? (random.pick(admins) ?? target(for: i)) : target(for: i) else { return }
                    let claimed = random.pick([view.epoch + 1, view.epoch + 1, view.epoch, 1, view.epoch + 2, view.epoch + 5, .max])!
                    let headerEpoch = headerEpoch()
                    let lastSequence = (me.logs[group]?.heads[victim]?.sequence ?? 0).subtractingReportingOverflow(UInt64(random.int(0...1)))
                    let recipients = Array(Set(view.members).subtracting([victim]).union([me.memberID])).sorted()
                    let keys = EpochKeys(
                        group: group, epoch: claimed, contentKey: SecretBytes(randomCount: 32), networkKey: SecretBytes(randomCount: 32))
                    let lamport = random.chance(0.6) ? backdated : nil
                    let entry = try hostile.entry(
                        .rekey(Rekey(
                            epoch: claimed, removed: [Rekey.Removal(member: victim, lastSequence: lastSequence.overflow ? 0 : lastSequence.partialValue)],
                            keys: try HostileMemberTests.seal(keys, to: recipients))),
                        lamport: lamport, epoch: headerEpoch)
                    rekeys[entry.id] = RekeyRecord(
                        author: me.memberID, hostile: true, recipients: Set(recipients),
                        held: ids(me))
                    entries = [entry]
                    what = "re-key \(entry.id.short) removing \(name(victim)) to epoch \(claimed) in epoch \(headerEpoch)"
                        + (lamport.map { ", Lamport \($0)" } ?? "")
                case 2:
                    // A puppet admitted without the invite's secret.
                    var seed = random.bytes(SigningKey.seedLength)
                    let puppet = try SigningKey(seed: SecretBytes(consuming: &seed)).publicKey
                    let invite = random.pick(Array(view.invites.keys))
                    let proof: [UInt8]? = invite == nil || random.chance(0.5)
                        ? nil : InviteCode.proof(secret: SecretBytes(randomCount: InviteCode.secretLength), group: group, member: puppet)
                    entries = [try hostile.entry(.memberAdd(MemberAdd(member: puppet, invite: invite, proof: proof)), epoch: headerEpoch())]
                    what = "puppet add \(entries[0].id.short) (invite \(invite == nil ? "none" : "known"), proof \(proof == nil ? "none" : "forged"))"
                case 3:
                    // A retention of 1 ms, or a backdated one of an hour.
                    let value: Int64 = random.chance(0.5) ? 1 : 3_600_000
                    entries = [try hostile.entry(
                        .retention(milliseconds: value), lamport: random.chance(0.5) ? backdated : nil, epoch: headerEpoch(),
                        timestamp: monthAgo)]
                    what = "retention \(value) ms \(entries[0].id.short), a month old"
                case 4:
                    // A Lamport clock far ahead: at the edge of the reach, past it, or at the end of time.
                    let limit = GroupState.lamportLimit(after: hostile.head)
                    let lamport = random.pick([limit, limit + 1, GroupState.maximumLamport + 1, UInt64.max])!
                    entries = [try hostile.entry(.share(Share(text: "from the future")), lamport: lamport, epoch: headerEpoch())]
                    what = "share \(entries[0].id.short) at Lamport \(lamport) (held \(maxLamport))"
                case 5:
                    // Two entries at one place in the feed, one to each of two victims.
                    let a = try hostile.entry(.share(Share(text: "to one")), epoch: headerEpoch())
                    let b = try hostile.entry(
                        random.chance(0.5) ? .checkIn(CheckIn(mood: 2)) : .roleGrant(member: me.memberID), epoch: headerEpoch())
                    entries = [a]
                    equivocation = b
                    what = "equivocation at \(a.header.sequence): \(a.id.short) / \(b.id.short) (\(b.header.kind))"
                case 6:
                    // Making itself an admin.
                    entries = [try hostile.entry(.roleGrant(member: me.memberID), lamport: random.chance(0.5) ? backdated : nil)]
                    what = "role grant to itself \(entries[0].id.short)"
                default:
                    // A share claiming the next epoch, under a key of its own making.
                    entries = [try hostile.entry(
                        .share(Share(text: "still here")), epoch: view.epoch + 1, contentKey: SecretBytes(randomCount: 32))]
                    what = "share \(entries[0].id.short) claiming epoch \(view.epoch + 1)"
                }
            } catch let error as HostileError {
                note("hostile \(me.pseudonym): cannot write (\(error))")
                return
            }
            let own = try me.ingestReporting(entries, into: group)
            var line = "hostile \(me.pseudonym): \(what); own store \(own.stored.isEmpty ? "refused" : "kept") it"
            let others = stores.indices.filter { $0 != i }.shuffled(using: &random)
            let victims = Array(others.prefix(random.int((equivocation == nil ? 1 : 2)...min(3, others.count))))
            for (n, victim) in victims.enumerated() {
                let delivered = n == 1 ? equivocation.map { [$0] } ?? entries : entries
                let epoch = random.pick(held) ?? 0
                do {
                    let report = try hostile.deliver(delivered, to: stores[victim], epoch: epoch)
                    line += "; \(stores[victim].pseudonym) stored \(report.stored.count), refused \(report.refused.count)"
                } catch {
                    line += "; \(stores[victim].pseudonym) could not open it (epoch \(epoch))"
                }
                try resolve(victim)
            }
            note(line)
        }

        // MARK: The end

        /// The stores that take part in the final syncs: every store that some member counts as
        /// a member (a store that wrongly believes it was removed still hears the truth).
        func live() -> [Int] {
            let selfMembers = stores.indices.filter { state($0).isMember(stores[$0].memberID) }
            return stores.indices.filter { i in selfMembers.contains { state($0).isMember(stores[i].memberID) } }
        }

        /// Everyone still a member syncs with everyone, until nothing changes.
        func converge() throws {
            note("-- final syncs")
            var previous: [[UInt8]] = []
            for _ in 0..<8 {
                let members = live()
                for a in members {
                    for b in members where a < b { try exchange(a, b) }
                }
                for i in members { try resolve(i) }
                for i in members { try rejoin(i) }
                let digests = live().map { digest(stores[$0]) }
                if digests == previous, Set(digests).count == 1 { return }
                previous = digests
            }
        }

        /// The members' stores, as the converged state has them.
        func current(_ reference: GroupState) -> [Int] {
            stores.indices.filter { reference.isMember(stores[$0].memberID) }
        }

        func reference() -> Int? { live().first { state($0).isMember(stores[$0].memberID) } }

        func differences(_ a: GroupState, _ b: GroupState) -> [String] {
            var found: [String] = []
            func compare<T: Equatable>(_ field: String, _ x: T, _ y: T, _ show: (T) -> String) {
                if x != y { found.append("\(field): \(show(x)) vs \(show(y))") }
            }
            compare("members", a.members, b.members) { self.nameList($0) + " in order \($0.map(self.name))" }
            compare("admins", a.admins, b.admins) { self.nameList($0) }
            compare("epoch", a.epoch, b.epoch) { "\($0)" }
            compare("epochSources", a.epochSources, b.epochSources) { "\($0.mapValues(\.short))" }
            compare("cuts", a.cuts, b.cuts) { cuts in "\(cuts.map { "\(self.name($0.key))@\($0.value)" }.sorted())" }
            compare("retention", a.retention, b.retention) { "\($0)" }
            compare("removed", a.removed, b.removed) { removed in
                "\(removed.map { "\(self.name($0.key)) epoch \($0.value.epoch) cut \($0.value.lastSequence)" }.sorted())"
            }
            compare("effectiveRekeys", a.effectiveRekeys, b.effectiveRekeys) { "\($0.map(\.short).sorted())" }
            compare("keyHolders", a.keyHolders, b.keyHolders) { self.nameList($0) }
            compare("redacted", a.redacted, b.redacted) { "\($0.map(\.short).sorted())" }
            return found
        }

        func checkConverged() throws {
            guard let r = reference() else { return fail("no store counts itself a member at the end") }
            let reference = state(r)
            let members = current(reference)
            note("-- converged at \(stores[r].pseudonym): members \(nameList(reference.members)), admins \(nameList(reference.admins)), "
                + "epoch \(reference.epoch), removed \(nameList(reference.removed.keys)), cuts \(reference.cuts.count), "
                + "forks \(stores[r].forks(in: group).map { name($0.author) })")
            // Known limitation (Protocol/epochs.md §Concurrent re-keys): when no admin can write
            // in the current epoch any more (every admin's feed cut, or carried past it by its
            // own hostile entries), nobody writes the follow-up re-key.
            expect(
                !reference.needsRekey || stores[r].rekeyingAdmin(of: group) == nil,
                "the converged state still needs a re-key (keyHolders \(nameList(reference.keyHolders)), removed "
                    + "\(nameList(reference.removed.keys)); the admin to write it is \(stores[r].rekeyingAdmin(of: group).map(name) ?? "none"), "
                    + "whose feed is cut at \(stores[r].rekeyingAdmin(of: group).flatMap { reference.cuts[$0] }.map(String.init) ?? "nothing"))")
            let live = live()
            for i in members {
                expect(live.contains(i), "\(stores[i].pseudonym) is a member but took no part in the final syncs")
                if digest(stores[i]) != digest(stores[r]) {
                    let (mine, theirs) = (ids(stores[i]), ids(stores[r]))
                    let onlyMine = (stores[i].logs[group]?.entries ?? []).filter { !theirs.contains($0.id) }
                    let onlyTheirs = (stores[r].logs[group]?.entries ?? []).filter { !mine.contains($0.id) }
                    fail("\(stores[i].pseudonym) and \(stores[r].pseudonym) hold different logs: only at \(stores[i].pseudonym) "
                        + "[\(whyNot(stores[r], onlyMine))]; only at \(stores[r].pseudonym) [\(whyNot(stores[i], onlyTheirs))]")
                }
                let diff = differences(state(i), reference)
                // Known limitation (Protocol/epochs.md): a member admitted by a node that had not
                // heard of a re-key holds no key of that epoch, so cannot read the re-key that
                // began the next one, even the follow-up sealed to it; it holds the same entries
                // (the digest above) but folds what it can read.
                if lacksKeys(i, reference) {
                    note("\(stores[i].pseudonym) cannot read the re-key that began epoch \(reference.epoch): compared by its log only")
                } else {
                    expect(diff.isEmpty, "\(stores[i].pseudonym) and \(stores[r].pseudonym) fold different states: \(diff)")
                }
                expect(
                    stores[i].forks(in: group).map(\.author) == stores[r].forks(in: group).map(\.author),
                    "\(stores[i].pseudonym) and \(stores[r].pseudonym) hold different fork proofs")
                // No entry after a feed's cut is kept, a removed member's or a forked one's.
                for item in stores[i].log(of: group) {
                    let header = item.entry.header
                    if let cut = reference.cuts[header.author] {
                        expect(header.sequence <= cut, "\(stores[i].pseudonym) holds \(item.entry.id.short) by \(name(header.author)) at \(header.sequence), after the cut at \(cut)")
                    }
                }
            }
            // Every removed member's feed is cut where the removal said.
            for (member, removal) in reference.removed {
                expect(reference.cuts[member].map { $0 <= removal.lastSequence } == true, "\(name(member)) was removed but the feed is not cut")
            }
        }

        /// Whether store `i` cannot read the re-key that began the current epoch (its keys of the
        /// epoch before were never sealed to it).
        func lacksKeys(_ i: Int, _ reference: GroupState) -> Bool {
            guard let source = reference.epochSources[reference.epoch], let entry = stores[i].logs[group]?.entry(source) else { return false }
            return stores[i].stateItem(of: entry).content == nil
        }

        func checkRemoved() throws {
            guard let r = reference() else { return }
            let reference = state(r)
            // While the group still needs a re-key that no admin can write (above), the removed
            // member may hold the current keys: that is the limitation, not checked here.
            guard !reference.needsRekey else { return note("the group still needs a re-key no admin can write") }
            let members = current(reference)
            let log = stores[r].log(of: group)
            for (member, removal) in reference.removed {
                guard let k = stores.firstIndex(where: { $0.memberID == member }) else { continue }
                // Once more from a member, as the removed node would try.
                _ = try? sync(r, to: k)
                let removals = log.filter { item in
                    guard reference.effectiveRekeys.contains(item.entry.id), case .rekey(let rekey)? = item.content else { return false }
                    return rekey.removed.contains { $0.member == member }
                }.map(\.entry.id)
                for held in stores[k].keys[group]?.epochs ?? [] where held.number >= removal.epoch {
                    let source = held.source.map { $0.short } ?? "none"
                    expect(
                        held.source != reference.epochSources[reference.epoch],
                        "\(name(member)), removed in epoch \(removal.epoch), holds the current epoch \(reference.epoch)'s keys (from \(source))")
                    guard let id = held.source, let record = rekeys[id] else {
                        fail("\(name(member)), removed in epoch \(removal.epoch), holds keys of epoch \(held.number) from \(source), no re-key written in this run")
                        continue
                    }
                    // Only a re-key whose writer had not yet heard of the removal gave it keys.
                    expect(
                        record.hostile || removals.allSatisfy { !record.held.contains($0) },
                        "\(name(member)), removed in epoch \(removal.epoch) by \(removals.map(\.short)), holds keys of epoch \(held.number) "
                            + "from \(id.short), which \(name(record.author)) wrote knowing of the removal")
                }
                // No member serves it: every network key it holds admits only current members there.
                let heldKeys = stores[k].keys[group]?.epochs ?? []
                for i in members {
                    for offered in stores[i].handshakeKeys() where offered.group == group {
                        guard let shared = heldKeys.first(where: { $0.networkKey.isEqual(to: offered.key) }) else { continue }
                        let mine = stores[i].keys[group]?.epochs.map { "\($0.number)/\($0.source?.short ?? "-")" } ?? []
                        expect(
                            offered.onlyMembers.map { !$0.contains(member) } == true,
                            "\(stores[i].pseudonym) would sync with \(name(member)), removed in epoch \(removal.epoch), under the network key "
                                + "of epoch \(shared.number) from \(shared.source?.short ?? "-"), which it offers to anyone (it holds \(mine); "
                                + "current epoch \(reference.epoch) from \(reference.epochSources[reference.epoch]?.short ?? "-"))")
                    }
                }
            }
        }

        /// `entries` with each author's in sequence order, the authors interleaved at random.
        func interleaved(_ entries: [Entry], _ order: inout Random) -> [Entry] {
            var feeds = Dictionary(grouping: entries, by: \.header.author).mapValues { $0.sorted { $0.header.sequence > $1.header.sequence } }
            var result: [Entry] = []
            while let author = order.pick(feeds.keys.sorted()) {
                result.append(feeds[author]!.removeLast())
                if feeds[author]!.isEmpty { feeds[author] = nil }
            }
            return result
        }

        /// The union of the converged log and its fork proofs, given to the two observers in
        /// different random orders and batches: both fold what the members fold.
        func checkDeliveryOrder() throws {
            guard let r = reference() else { return }
            let entries = stores[r].log(of: group).map(\.entry)
            let proofs = stores[r].forks(in: group).map(\.entries)
            for (n, observer) in observers.enumerated() {
                var order = Random(seed: seed &* 31 &+ UInt64(n) &+ 7)
                // The first observer takes them in any order at all (as bundles from anywhere
                // arrive), the second with each feed in order but the feeds interleaved at random
                // (as from several sessions); both in batches of random size, again and again
                // until nothing more is stored, with the fork proofs at random points.
                var pending = n == 0 ? entries.shuffled(using: &order) : interleaved(entries, &order)
                var stalled = 0
                var rounds = 0
                while !pending.isEmpty, stalled < 30, rounds < 400 {
                    rounds += 1
                    if n == 0 { pending.shuffle(using: &order) }
                    var unsent = rounds == 1 ? proofs.shuffled(using: &order) : []
                    var start = 0
                    while start < pending.count {
                        let end = min(pending.count, start + order.int(1...(n == 0 ? 3 : 12)))
                        try observer.ingest(Array(pending[start..<end]), into: group)
                        start = end
                        if order.chance(0.2), let proof = unsent.popLast() {
                            try observer.acceptForkProof(proof.0, proof.1, in: group)
                        }
                    }
                    for proof in unsent { try observer.acceptForkProof(proof.0, proof.1, in: group) }
                    // As a sync would, offer again whatever it does not hold: an entry it stored
                    // may have been dropped since, behind a cut that a later entry undid.
                    let held = ids(observer)
                    let left = entries.filter { !held.contains($0.id) }
                    stalled = left.count >= pending.count ? stalled + 1 : 0
                    pending = n == 0 ? left : interleaved(left, &order)
                }
                expect(
                    digest(observer) == digest(stores[r]),
                    "observer \(n + 1), given the \(entries.count) entries in another order, holds \(observer.summary(of: group).entries) "
                        + "(\(pending.count) never stored: \(whyNot(observer, pending)))")
                let diff = differences(observer.state(of: group), state(r))
                expect(diff.isEmpty, "observer \(n + 1) folds a different state from \(stores[r].pseudonym): \(diff)")
            }
        }
    }
}
