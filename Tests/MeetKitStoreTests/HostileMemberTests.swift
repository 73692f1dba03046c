import Foundation
import MeetKitCore
import MeetKitCrypto
@testable import MeetKitStore
import MeetKitTestSupport
import Testing

/// Regression tests for the membership rules, one attack each, written as a member who holds
/// real keys and signs whatever headers they like (`HostileMember`). Each asserts what the
/// other members care about: who is in, who is admin, which keys are current, which bodies are
/// kept, and that the group goes on working afterwards.
@Suite struct HostileMemberTests {
    // MARK: - Helpers

    /// `keys` sealed to each of `recipients`, as a re-key carries them.
    static func seal(_ keys: EpochKeys, to recipients: [PublicKey]) throws -> [Rekey.Sealed] {
        var plain = keys.encoded()
        defer { SecretBytes.wipe(&plain) }
        return try recipients.map { Rekey.Sealed(recipient: $0, box: try SealedBox.seal(plain, to: $0.curve25519())) }
    }

    /// Fresh keys for `epoch` of `group`, of the attacker's own making.
    static func forgedKeys(_ group: GroupID, epoch: UInt32) -> EpochKeys {
        EpochKeys(group: group, epoch: epoch, contentKey: SecretBytes(randomCount: 32), networkKey: SecretBytes(randomCount: 32))
    }

    /// The entries of `store`'s log in `group`, by id.
    static func ids(_ store: Store, _ group: GroupID) -> Set<EntryID> { Set(store.log(of: group).map(\.entry.id)) }

    /// Syncs `a` and `b` both ways and hands each the fork proofs the other holds, as a node
    /// does over a live session (Node.swift: `serve(_:forkProofs:)`, `acceptForkProof`).
    static func exchange(_ g: EpochTests.Group, _ a: Int, _ b: Int) throws {
        for _ in 0..<2 {
            try g.sync(a, to: b)
            try g.sync(b, to: a)
            for (from, to) in [(a, b), (b, a)] {
                for fork in g[from].forks(in: g.group) {
                    try g[to].acceptForkProof(fork.entries.0, fork.entries.1, in: g.group)
                }
            }
        }
    }

    /// Everything Rob, an admin Ana has removed, writes to take the group back: all in his own
    /// feed with tiny Lamport clocks (so that they stand before Ana's removal in log order),
    /// written in epoch 0, the only one he holds.
    struct Takeover {
        let entries: [Entry]
        /// The content key of the epoch 1 Rob made up.
        let forgedContentKey: SecretBytes
    }

    static func takeover(
        by rob: HostileMember, cutting ana: PublicKey, before removal: Entry, others: [PublicKey], lamport base: UInt64 = 3
    ) throws -> Takeover {
        let group = rob.group
        let cutAna = [Rekey.Removal(member: ana, lastSequence: removal.header.sequence - 1)]
        let monthAgo = Int64(Date().timeIntervalSince1970 * 1000) - 30 * 86_400_000
        let five = forgedKeys(group, epoch: 5)
        let one = forgedKeys(group, epoch: 1)
        // A jump to epoch 5 with Rob's own keys, sealed to Cat and himself.
        let toFive = try rob.entry(
            .rekey(Rekey(epoch: 5, removed: cutAna, keys: try seal(five, to: [others[0], rob.key]))), lamport: base, epoch: 0)
        // A well-formed 0 → 1 re-key removing Ana, cutting her feed just before her removal of Rob.
        let toOne = try rob.entry(
            .rekey(Rekey(epoch: 1, removed: cutAna, keys: try seal(one, to: [rob.key] + others))),
            after: toFive.head, lamport: base + 1, epoch: 0)
        // Backdated retentions: 1 ms (out of range) and one hour (in range), both a month old.
        let oneMillisecond = try rob.entry(.retention(milliseconds: 1), after: toOne.head, lamport: base + 2, epoch: 0, timestamp: monthAgo)
        let oneHour = try rob.entry(
            .retention(milliseconds: 3_600_000), after: oneMillisecond.head, lamport: base + 3, epoch: 0, timestamp: monthAgo)
        // The last epoch there is: nothing could ever re-key after it.
        let last = try rob.entry(
            .rekey(Rekey(epoch: .max, removed: cutAna, keys: try seal(forgedKeys(group, epoch: .max), to: [others[0], rob.key]))),
            after: oneHour.head, lamport: base + 4, epoch: 0)
        return Takeover(entries: [toFive, toOne, oneMillisecond, oneHour, last], forgedContentKey: one.contentKey)
    }

    /// What every member must still see after Rob's takeover attempt.
    static func expectAnaStillLeads(
        _ g: EpochTests.Group, at i: Int, removal: Entry, takeover: Takeover, share: Entry,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let (ana, rob) = (g[0].memberID, g[1].memberID)
        let state = g.state(i)
        #expect(state.founder == ana, sourceLocation: sourceLocation)
        #expect(state.isMember(ana), "Ana must still be a member at \(i)", sourceLocation: sourceLocation)
        #expect(state.isAdmin(ana), "Ana must still be an admin at \(i)", sourceLocation: sourceLocation)
        #expect(state.epoch == 1, sourceLocation: sourceLocation)
        #expect(state.epochSources[1] == removal.id, "epoch 1's keys must be Ana's at \(i)", sourceLocation: sourceLocation)
        #expect(!state.isMember(rob) && !state.isAdmin(rob), sourceLocation: sourceLocation)
        #expect(state.removed[rob]?.epoch == 1, sourceLocation: sourceLocation)
        #expect(state.cuts[ana] == nil, "Ana's feed must not be cut at \(i)", sourceLocation: sourceLocation)
        #expect(state.retention == 0, sourceLocation: sourceLocation)
        #expect(ids(g[i], g.group).isDisjoint(with: takeover.entries.map(\.id)), sourceLocation: sourceLocation)
        // No share body is erased: the two-hour-old share outlives an expiry pass.
        try g[i].dropExpiredBodies(at: Date())
        let item = g[i].log(of: g.group).first { $0.entry.id == share.id }
        #expect(item?.entry.body != nil, "the old share lost its body at \(i)", sourceLocation: sourceLocation)
        #expect(item?.content == .share(Share(text: "said two hours ago")), sourceLocation: sourceLocation)
    }

    // MARK: - 1. A removed admin takes the group back

    /// Ana founds a group of four, makes Rob an admin, shares (two hours ago), and removes Rob;
    /// the members `heardBy` sync after the removal.
    static func robRemoved(heardBy: [Int]) throws -> (EpochTests.Group, share: Entry, removal: Entry) {
        let g = try EpochTests.Group(["Ana", "Rob", "Cat", "Dee"])
        try g[0].grantAdmin(g[1].memberID, in: g.group, at: Date())
        let share = try g[0].append(.share(Share(text: "said two hours ago")), to: g.group, at: Date(timeIntervalSinceNow: -7_200))
        try g.syncAll()
        let removal = try g[0].remove(g[1].memberID, from: g.group, at: Date())
        try g.syncAll(heardBy)
        return (g, share, removal)
    }

    /// Ana (founder) made Rob an admin, then removed him. Rob, holding only epoch 0, writes a
    /// re-key to epoch 5 with his own keys, a well-formed 0 → 1 re-key removing Ana (her feed cut
    /// before her removal of him), backdated retentions, and a re-key to the last epoch, all with
    /// tiny Lamport clocks, and delivers them in an epoch-0 bundle to Cat, who has heard of his
    /// removal. Ana still leads, epoch 1 is still hers, no body is erased, and Rob reads nothing new.
    @Test func aRemovedAdminCannotTakeTheGroupBack() throws {
        let (g, share, removal) = try Self.robRemoved(heardBy: [0, 2, 3])
        let (cat, dee) = (g[2].memberID, g[3].memberID)

        let hostile = HostileMember(g[1], in: g.group)
        #expect(hostile.epochsHeld == [0])
        let takeover = try Self.takeover(by: hostile, cutting: g[0].memberID, before: removal, others: [cat, dee])
        for victim in [2, 0] {
            let report = try hostile.deliver(takeover.entries, to: g[victim], epoch: 0)
            #expect(report.stored.isEmpty, "victim \(victim) stored Rob's entries after his cut")
        }
        try g.syncAll([0, 2, 3])
        for i in [0, 2, 3] {
            try Self.expectAnaStillLeads(g, at: i, removal: removal, takeover: takeover, share: share)
        }
        #expect(g.digest(0) == g.digest(2) && g.digest(2) == g.digest(3))

        // Cat writes in epoch 1 with Ana's keys, not the ones Rob made up.
        let catShare = try g[2].append(.share(Share(text: "Cat, epoch 1")), to: g.group, at: Date())
        #expect(catShare.header.epoch == 1)
        #expect(try catShare.openContent(contentKey: takeover.forgedContentKey) == nil)

        // Ana can still remove someone, and Rob cannot read what she writes next.
        let second = try g[0].remove(dee, from: g.group, at: Date())
        let after = try g[0].append(.share(Share(text: "after Rob and Dee")), to: g.group, at: Date())
        #expect(after.header.epoch == 2)
        try g.syncAll([0, 2])
        #expect(g.state(2).epochSources[2] == second.id)
        #expect(g[2].log(of: g.group).first { $0.entry.id == after.id }?.content == .share(Share(text: "after Rob and Dee")))
        try g.sync(0, to: 1)
        let atRob = g[1].log(of: g.group).first { $0.entry.id == after.id }
        // Rob's store may not hold it at all: it refuses Ana's re-key of epoch 1 → 2, which it
        // cannot read, and the rest of her feed with it. Either way he cannot read it.
        #expect(atRob?.content == nil)
        #expect(HostileMember(g[1], in: g.group).epochsHeld == [0])
    }

    /// The same attack, but Dee receives Rob's entries before she hears of his removal. With
    /// tiny Lamport clocks Rob's entries stand before he was made admin; with clocks just past
    /// Ana's removal (as if written concurrently) Rob is, to Dee, still an admin, but his 0 → 1
    /// re-key removing Ana takes no effect even so: an admin never removes a more senior one, so
    /// it cannot cut Ana's feed and keep out her removal of him. When that arrives, Dee ends
    /// where everyone else does.
    @Test(arguments: [false, true])
    func aRemovedAdminsReKeyArrivingFirstStillLosesToTheFounder(concurrent: Bool) throws {
        let (g, share, removal) = try Self.robRemoved(heardBy: [0, 2])
        let (cat, dee) = (g[2].memberID, g[3].memberID)

        let hostile = HostileMember(g[1], in: g.group)
        let takeover = try Self.takeover(
            by: hostile, cutting: g[0].memberID, before: removal, others: [cat, dee],
            lamport: concurrent ? removal.header.lamport + 1 : 3)
        let report = try hostile.deliver(takeover.entries, to: g[3], epoch: 0)
        #expect(report.refused.isEmpty, "before the removal, Dee has no reason to refuse Rob's entries")
        // Even before Dee hears of Rob's removal, his re-key removing Ana does nothing.
        // (With tiny clocks the re-key stands before Rob was an admin, or a member, depending on
        // how the keys drawn for this run sort; either way it does nothing.)
        let reason = g.state(3).ineffective[takeover.entries[1].id]
        if concurrent {
            #expect(reason == "it removes an admin more senior than its author")
        } else {
            #expect(reason == "its author is not an admin here" || reason == "its author is not a member here", "\(String(describing: reason))")
        }
        #expect(g.state(3).isAdmin(g[0].memberID) && g.state(3).cuts[g[0].memberID] == nil)
        try g.syncAll([0, 2, 3])
        for i in [0, 2, 3] {
            try Self.expectAnaStillLeads(g, at: i, removal: removal, takeover: takeover, share: share)
        }
        #expect(g.digest(3) == g.digest(0), "Dee must converge with Ana and Cat")
        let deeShare = try g[3].append(.share(Share(text: "Dee, epoch 1")), to: g.group, at: Date())
        try g.sync(3, to: 0)
        #expect(g[0].log(of: g.group).first { $0.entry.id == deeShare.id }?.content == .share(Share(text: "Dee, epoch 1")))
    }

    // MARK: - 2. A puppet without an invite

    /// Ben, a plain member, admits a puppet of his own: once with no invite, once with an
    /// invite id read from the log but no proof, once with a proof made from a secret of his own.
    /// The puppet is a member nowhere, what it signs is refused, the real invite still works, and
    /// the next re-key seals nothing to it.
    @Test func aMemberCannotAdmitAPuppetWithoutTheInvitesSecret() throws {
        let g = try EpochTests.Group(["Ana", "Ben", "Cat"])
        let code = try g[0].createInvite(to: g.group, lifetime: 3_600, at: Date())
        try g.syncAll()
        let inviteID = try #require(g.state(1).invites.keys.first { $0 == code.id })

        let puppet = SigningKey.generate()
        let ben = HostileMember(g[1], in: g.group)
        let noInvite = try ben.entry(.memberAdd(MemberAdd(member: puppet.publicKey, invite: nil)))
        let noProof = try ben.entry(
            .memberAdd(MemberAdd(member: puppet.publicKey, invite: inviteID)), after: noInvite.head,
            lamport: noInvite.header.lamport + 1)
        let wrongProof = try ben.entry(
            .memberAdd(MemberAdd(
                member: puppet.publicKey, invite: inviteID,
                proof: InviteCode.proof(secret: SecretBytes(randomCount: InviteCode.secretLength), group: g.group, member: puppet.publicKey))),
            after: noProof.head, lamport: noProof.header.lamport + 1)
        let adds = [noInvite, noProof, wrongProof]

        // What the puppet signs, with the epoch-0 content key Ben gave it.
        let contentKey = try #require(g[1].keys[g.group]?.sets(of: 0).first?.contentKey)
        let puppetShare = Entry.sign(
            EntryHeader(
                kind: .share, group: g.group, author: puppet.publicKey, sequence: 1, previous: nil,
                lamport: wrongProof.header.lamport + 1, timestamp: Int64(Date().timeIntervalSince1970 * 1000), epoch: 0,
                bodyLength: 0, bodyHash: nil),
            plaintext: try EntryContent.share(Share(text: "I am a member too")).encoded(), author: puppet,
            contentKey: contentKey, nonce: SecureRandom.bytes(AEAD.nonceLength))

        for victim in [0, 2] {
            try ben.deliver(adds, to: g[victim], epoch: 0)
            let state = g.state(victim)
            #expect(state.ineffective[noInvite.id] == "it names no invite of this group")
            #expect(state.ineffective[noProof.id] == "it does not prove that its author holds the invite")
            #expect(state.ineffective[wrongProof.id] == "it does not prove that its author holds the invite")
            let report = try ben.deliver([puppetShare], to: g[victim], epoch: 0)
            #expect(report.stored.isEmpty)
            #expect(report.refused.map(\.id) == [puppetShare.id])
        }
        try g.syncAll()
        for i in 0..<3 {
            let state = g.state(i)
            #expect(!state.isMember(puppet.publicKey), "the puppet is a member at \(i)")
            #expect(!state.keyHolders.contains(puppet.publicKey))
            #expect(state.invites[code.id]?.usedBy == nil, "the invite was burnt at \(i)")
            #expect(!Self.ids(g[i], g.group).contains(puppetShare.id))
        }
        #expect(g.digest(0) == g.digest(1) && g.digest(1) == g.digest(2))

        // The invite still admits the person it was meant for.
        let danHome = try TemporaryHome()
        let dan = try Fixture.create(danHome, pseudonym: "Dan")
        let admission = try g[0].admit(dan.memberID, to: g.group, secret: code.secret, at: Date())
        _ = try dan.acceptAdmission(sealedKeys: admission.sealedKeys, into: g.group)
        try dan.ingest(g[0].entries(of: g.group, missingFrom: dan.versionVector(of: g.group)), into: g.group)
        #expect(dan.state(of: g.group).isMember(dan.memberID))

        // Ana removes Cat: the new keys go to Ana, Ben and Dan, and to no puppet.
        let rekey = try g[0].remove(g[2].memberID, from: g.group, at: Date())
        guard case .rekey(let content)? = g[0].log(of: g.group).first(where: { $0.entry.id == rekey.id })?.content else {
            Issue.record("Ana cannot read her own re-key")
            return
        }
        #expect(Set(content.keys.map(\.recipient)) == [g[0].memberID, g[1].memberID, dan.memberID])
    }

    // MARK: - 3. A Lamport clock at the end of time

    /// Ben signs a share with Lamport 2^64 − 1 (and others past `maximumLamport` and past the
    /// reach): each is refused on its own, and the clock of the victim's log is untouched, so
    /// Ana still writes, still admits, and Ben's later honest entries still cross.
    @Test func aLamportClockAtTheEndOfTimeIsRefusedAndTheLogGoesOn() throws {
        let g = try EpochTests.Group(["Ana", "Ben"])
        let ben = HostileMember(g[1], in: g.group)
        let held = try #require(g[0].logs[g.group]?.maxLamport)
        for lamport in [UInt64.max, GroupState.maximumLamport + 1, GroupState.lamportLimit(after: ben.head) + 1] {
            let far = try ben.entry(.share(Share(text: "from the end of time")), lamport: lamport)
            let report = try ben.deliver([far], to: g[0], epoch: 0)
            #expect(report.stored.isEmpty, "Lamport \(lamport) was stored")
            #expect(report.refused.map(\.id) == [far.id], "Lamport \(lamport) was not refused")
            #expect(!Self.ids(g[0], g.group).contains(far.id))
        }
        #expect(g[0].logs[g.group]?.maxLamport == held)

        let share = try g[0].append(.share(Share(text: "still writing")), to: g.group, at: Date())
        #expect(share.header.lamport == held + 1)
        let code = try g[0].createInvite(to: g.group, lifetime: 3_600, at: Date())
        let cyHome = try TemporaryHome()
        let cy = try Fixture.create(cyHome, pseudonym: "Cy")
        let admission = try g[0].admit(cy.memberID, to: g.group, secret: code.secret, at: Date())
        #expect(admission.entry != nil)
        #expect(g.state(0).isMember(cy.memberID))

        let honest = try g[1].append(.share(Share(text: "Ben, on time")), to: g.group, at: Date())
        try g.syncAll()
        #expect(g[0].log(of: g.group).first { $0.entry.id == honest.id }?.content == .share(Share(text: "Ben, on time")))
        #expect(g.digest(0) == g.digest(1))
    }

    /// Dan climbs as far as the reach allows, and only Ana receives it; Ben then climbs as far
    /// again on top of it. Whether Ben's entry is too far is judged within Ben's own feed, so Ana
    /// (who holds Dan's climb) and Cy (who does not) refuse it alike, and the group does not
    /// split over what each happens to hold. Ana, whose own feed is far behind the climb, still
    /// writes (as far ahead as her feed may go), and Cy stores it.
    @Test func aClimbingClockIsJudgedWithinItsAuthorsFeedSoEveryNodeAgrees() throws {
        let g = try EpochTests.Group(["Ana", "Ben", "Cy", "Dan"])
        for _ in 0..<3 { _ = try g[3].append(.share(Share(text: "Dan, earlier")), to: g.group, at: Date()) }
        try g.syncAll()
        let dan = HostileMember(g[3], in: g.group)
        let climb = try dan.entry(.share(Share(text: "far ahead")), lamport: GroupState.lamportLimit(after: dan.head))
        #expect(try dan.deliver([climb], to: g[0], epoch: 0).stored.map(\.id) == [climb.id])

        let ben = HostileMember(g[1], in: g.group)
        let further = try ben.entry(.share(Share(text: "further still")), lamport: climb.header.lamport + GroupState.lamportReach)
        for victim in [0, 2] {
            let report = try ben.deliver([further], to: g[victim], epoch: 0)
            #expect(report.refused.map(\.id) == [further.id], "\(g[victim].pseudonym) stored Ben's climb")
        }

        let ana = try g[0].append(.share(Share(text: "Ana, after the climb")), to: g.group, at: Date())
        try g.sync(0, to: 2)
        #expect(Self.ids(g[2], g.group).contains(ana.id))
        #expect(Self.ids(g[2], g.group).contains(climb.id))
        #expect(g.digest(0) == g.digest(2))
    }

    // MARK: - 4. A full group

    /// A re-key for the largest group seals keys to 250 members and must still fit in one body;
    /// a larger one is refused as too long, never trapped on.
    @Test func aReKeyForTheLargestGroupFitsInOneBody() throws {
        func rekey(_ count: Int) -> EntryContent {
            .rekey(Rekey(epoch: 1, removed: [], keys: (0..<count).map { _ in
                Rekey.Sealed(recipient: SigningKey.generate().publicKey, box: Array(repeating: 7, count: Rekey.boxLength))
            }))
        }
        let largest = rekey(GroupState.maximumMembers)
        let plain = try largest.encoded()
        #expect(AEAD.nonceLength + plain.count + AEAD.tagLength <= Int(EntryHeader.maximumBodyLength))
        let group = try #require(GroupID(bytes: SecureRandom.bytes(32)))
        let entry = try Entry.create(
            content: largest, group: group, after: nil, lamport: 1, timestamp: 0, epoch: 0, author: SigningKey.generate(),
            contentKey: SecretBytes(randomCount: 32), nonce: SecureRandom.bytes(AEAD.nonceLength))
        #expect(entry.header.bodyLength <= EntryHeader.maximumBodyLength)
        #expect(throws: Never.self) { try Entry(wire: entry.wire, body: entry.body) }

        #expect(throws: ContentError.tooLong("sealed keys", maximum: Int(UInt16.max))) { try rekey(400).encoded() }
    }

    /// A store admits members up to `maximumMembers` and refuses the next with a clear error;
    /// removing one (a re-key to the 249 who remain) makes room again.
    @Test func admitRefusesBeyondTheLargestGroupAndARemovalMakesRoom() throws {
        let home = try TemporaryHome()
        let ana = try Fixture.create(home)
        let group = try ana.createGroup(name: "Circle", at: Date())
        var admitted: [PublicKey] = []
        while ana.state(of: group).members.count < GroupState.maximumMembers {
            let code = try ana.createInvite(to: group, lifetime: 3_600, at: Date())
            let member = SigningKey.generate().publicKey
            _ = try ana.admit(member, to: group, secret: code.secret, at: Date())
            admitted.append(member)
        }
        #expect(ana.state(of: group).members.count == GroupState.maximumMembers)
        let code = try ana.createInvite(to: group, lifetime: 3_600, at: Date())
        let error = Fixture.storeError { _ = try ana.admit(SigningKey.generate().publicKey, to: group, secret: code.secret, at: Date()) }
        #expect(error?.code == .notPermitted)
        #expect(error?.message.contains("full") == true, "\(String(describing: error))")

        let rekey = try ana.remove(admitted[0], from: group, at: Date())
        #expect(rekey.header.bodyLength <= EntryHeader.maximumBodyLength)
        #expect(ana.state(of: group).epoch == 1)
        let late = SigningKey.generate().publicKey
        _ = try ana.admit(late, to: group, secret: code.secret, at: Date())
        #expect(ana.state(of: group).isMember(late))
    }

    // MARK: - 5. Redacting who belongs

    /// Ana redacts the genesis and her own re-key (forged, since `Store.redact` refuses): neither
    /// takes effect and the bodies stay. A membership entry delivered without its body is
    /// refused, and a member who joins later still syncs the whole log. After Ben's store is
    /// reopened the admins, epoch and members are what they were, and Ben still writes.
    @Test func membershipEntriesCannotBeRedactedOrDeliveredWithoutTheirBodies() throws {
        let anaHome = try TemporaryHome()
        let benHome = try TemporaryHome()
        let ana = try Fixture.create(anaHome, pseudonym: "Ana")
        var ben: Store? = try Fixture.create(benHome, pseudonym: "Ben")
        let group = try ana.createGroup(name: "Circle", at: Date())
        for member in [ben!.memberID, SigningKey.generate().publicKey] {
            let code = try ana.createInvite(to: group, lifetime: 3_600, at: Date())
            let admission = try ana.admit(member, to: group, secret: code.secret, at: Date())
            if member == ben!.memberID { _ = try ben!.acceptAdmission(sealedKeys: admission.sealedKeys, into: group) }
        }
        let cat = ana.state(of: group).members[2]
        let rekey = try ana.remove(cat, from: group, at: Date())
        func syncBen(from store: Store) throws {
            try ben!.ingest(store.entries(of: group, missingFrom: ben!.versionVector(of: group)), into: group)
        }
        try syncBen(from: ana)
        let genesis = try #require(ana.log(of: group).first { $0.entry.header.kind == .genesis }?.entry)
        #expect(Fixture.storeError { try ana.redact(genesis.id, in: group, at: Date()) }?.code == .notPermitted)
        #expect(Fixture.storeError { try ana.redact(rekey.id, in: group, at: Date()) }?.code == .notPermitted)

        // The forged redactions are stored at Ben's and take no effect.
        let hostile = HostileMember(ana, in: group)
        let redactGenesis = try hostile.entry(.redaction(entry: genesis.id))
        let redactRekey = try hostile.entry(.redaction(entry: rekey.id), after: redactGenesis.head, lamport: redactGenesis.header.lamport + 1)
        // Planted in Ana's own log too, so that her later entries follow them in her feed.
        try hostile.plant([redactGenesis, redactRekey])
        try hostile.deliver([redactGenesis, redactRekey], to: ben!, epoch: 1)
        let before = ben!.state(of: group)
        #expect(before.ineffective[redactGenesis.id] != nil)
        #expect(before.ineffective[redactRekey.id] != nil)
        #expect(before.redacted.isEmpty)
        #expect(before.admins == [ana.memberID] && before.epoch == 1 && before.epochSources[1] == rekey.id)
        try ben!.dropExpiredBodies(at: Date())
        #expect(ben!.log(of: group).first { $0.entry.id == genesis.id }?.content == .genesis(name: "Circle"))
        #expect(ben!.log(of: group).first { $0.entry.id == rekey.id }?.entry.body != nil)

        // An invite delivered without its body is refused; the whole one arrives later.
        let danHome = try TemporaryHome()
        let dan = try Fixture.create(danHome, pseudonym: "Dan")
        let code = try ana.createInvite(to: group, lifetime: 3_600, at: Date())
        let invite = try #require(ana.log(of: group).last { $0.entry.header.kind == .invite }?.entry)
        let report = try hostile.deliver([invite.droppingBody()], to: ben!, epoch: 1)
        #expect(report.stored.isEmpty)
        #expect(report.refused.map(\.id) == [invite.id])
        #expect(!Self.ids(ben!, group).contains(invite.id))

        let admission = try ana.admit(dan.memberID, to: group, secret: code.secret, at: Date())
        _ = try dan.acceptAdmission(sealedKeys: admission.sealedKeys, into: group)
        try syncBen(from: ana)
        #expect(ben!.state(of: group).isMember(dan.memberID))
        // Dan syncs from Ben alone and holds what Ana holds.
        try dan.ingest(ben!.entries(of: group, missingFrom: dan.versionVector(of: group)), into: group)
        try ana.ingest(ben!.entries(of: group, missingFrom: ana.versionVector(of: group)), into: group)
        #expect(dan.summary(of: group).digest == ana.summary(of: group).digest)
        #expect(dan.state(of: group).isMember(dan.memberID))
        let hello = try dan.append(.share(Share(text: "Dan says hello")), to: group, at: Date())
        try syncBen(from: dan)
        #expect(ben!.log(of: group).first { $0.entry.id == hello.id }?.content == .share(Share(text: "Dan says hello")))

        // Reopened, Ben's store folds the same state, keeps the bodies, and still writes.
        let held = ben!.state(of: group)
        let digest = ben!.summary(of: group).digest
        ben = nil  // releases the lock
        ben = try Fixture.open(benHome)
        let after = ben!.state(of: group)
        #expect(after.admins == held.admins && after.admins == [ana.memberID])
        #expect(after.epoch == 1 && after.epochSources[1] == rekey.id)
        #expect(after.members == held.members && after.members == [ana.memberID, ben!.memberID, dan.memberID])
        #expect(after.name == "Circle")
        #expect(after.redacted.isEmpty)
        #expect(ben!.summary(of: group).digest == digest)
        let log = ben!.log(of: group)
        #expect(log.first { $0.entry.id == genesis.id }?.content == .genesis(name: "Circle"))
        #expect(log.first { $0.entry.id == rekey.id }?.entry.body != nil)
        #expect(log.first { $0.entry.id == hello.id }?.content == .share(Share(text: "Dan says hello")), "Ben lost epoch 1's keys")
        #expect(throws: Never.self) { try ben!.append(.share(Share(text: "Ben, after reopening")), to: group, at: Date()) }
    }

    /// Not an attack: the end of the test above, alone. A member who learns an epoch's keys
    /// from a re-key received by sync must still hold them after reopening.
    @Test func keysFromAReKeyReceivedBySyncSurviveReopening() throws {
        let anaHome = try TemporaryHome()
        let benHome = try TemporaryHome()
        let ana = try Fixture.create(anaHome, pseudonym: "Ana")
        var ben: Store? = try Fixture.create(benHome, pseudonym: "Ben")
        let group = try ana.createGroup(name: "Circle", at: Date())
        let code = try ana.createInvite(to: group, lifetime: 3_600, at: Date())
        _ = try ben!.acceptAdmission(
            sealedKeys: try ana.admit(ben!.memberID, to: group, secret: code.secret, at: Date()).sealedKeys, into: group)
        let other = SigningKey.generate().publicKey
        _ = try ana.admit(other, to: group, secret: try ana.createInvite(to: group, lifetime: 3_600, at: Date()).secret, at: Date())
        try ana.remove(other, from: group, at: Date())
        try ben!.ingest(ana.entries(of: group, missingFrom: ben!.versionVector(of: group)), into: group)
        #expect(HostileMember(ben!, in: group).epochsHeld == [0, 1])
        ben = nil  // releases the lock
        ben = try Fixture.open(benHome)
        #expect(HostileMember(ben!, in: group).epochsHeld == [0, 1])
        #expect(throws: Never.self) { try ben!.append(.share(Share(text: "after reopening")), to: group, at: Date()) }
    }

    // MARK: - 6. Equivocation

    /// Eve signs two entries at sequence 2: a member-add to Ana, a share to Ben. Once Ana and Ben
    /// sync, both quarantine Eve's feed just before the fork (her first entry is kept, neither
    /// branch is), they agree on the log, and what others write afterwards crosses both ways.
    @Test func anEquivocatingMemberIsCutBeforeTheForkOnBothSides() throws {
        let g = try EpochTests.Group(["Ana", "Ben", "Eve"])
        let eve = g[2].memberID
        let first = try g[2].append(.share(Share(text: "Eve, honestly")), to: g.group, at: Date())
        try g.syncAll()
        let hostile = HostileMember(g[2], in: g.group)
        let toAna = try hostile.entry(.memberAdd(MemberAdd(member: SigningKey.generate().publicKey, invite: nil)))
        let toBen = try hostile.entry(.share(Share(text: "Eve, to Ben only")))
        #expect(toAna.header.sequence == 2 && toBen.header.sequence == 2)
        #expect(try hostile.deliver([toAna], to: g[0], epoch: 0).stored.map(\.id) == [toAna.id])
        #expect(try hostile.deliver([toBen], to: g[1], epoch: 0).stored.map(\.id) == [toBen.id])

        func expectQuarantined(_ stage: String, sourceLocation: SourceLocation = #_sourceLocation) {
            for i in [0, 1] {
                #expect(g[i].forks(in: g.group).map(\.author) == [eve], "\(stage): no fork at \(i)", sourceLocation: sourceLocation)
                #expect(g[i].forks(in: g.group).first?.sequence == 2, sourceLocation: sourceLocation)
                #expect(g.state(i).cuts[eve] == 1, "\(stage): Eve's feed not cut at 1 at \(i)", sourceLocation: sourceLocation)
                let held = Self.ids(g[i], g.group)
                #expect(held.contains(first.id), sourceLocation: sourceLocation)
                #expect(!held.contains(toAna.id) && !held.contains(toBen.id), "\(stage): a branch is kept at \(i)", sourceLocation: sourceLocation)
            }
            #expect(g.digest(0) == g.digest(1), "\(stage): Ana and Ben disagree", sourceLocation: sourceLocation)
        }

        // Ana and Ben sync, as nodes do: entries each lacks, and every fork proof held.
        try Self.exchange(g, 0, 1)
        expectQuarantined("after Ana and Ben sync")

        // However it is found, the proof settles both sides. Eve's other branch reaches Ana too.
        _ = try? hostile.deliver([toBen], to: g[0], epoch: 0)
        try Self.exchange(g, 0, 1)
        expectQuarantined("once Ana holds both branches")

        // Others' later entries still cross both ways; Eve's do not.
        let fromAna = try g[0].append(.share(Share(text: "Ana, later")), to: g.group, at: Date())
        let fromBen = try g[1].append(.share(Share(text: "Ben, later")), to: g.group, at: Date())
        let fromEve = try g[2].append(.share(Share(text: "Eve, later")), to: g.group, at: Date())
        try Self.exchange(g, 0, 1)
        try g.sync(2, to: 0)
        try g.sync(2, to: 1)
        for i in [0, 1] {
            let held = Self.ids(g[i], g.group)
            #expect(held.contains(fromAna.id) && held.contains(fromBen.id), "later entries did not cross at \(i)")
            #expect(!held.contains(fromEve.id))
        }
        #expect(g.digest(0) == g.digest(1))
    }

    /// Eve forks her feed twice: at the place after her honest entry (Ben sees both branches)
    /// and one place later (Ana sees both). Each learns its own fork first and the other's
    /// proof later; both keep the earlier fork, so both cut Eve's feed after her honest entry,
    /// and they hold the same log.
    @Test func ofTwoForksInOneFeedEveryNodeKeepsTheEarlier() throws {
        let g = try EpochTests.Group(["Ana", "Ben", "Eve"])
        let eve = g[2].memberID
        let hostile = HostileMember(g[2], in: g.group)
        _ = try g[2].append(.share(Share(text: "Eve, honestly")), to: g.group, at: Date())
        try g.syncAll()
        let honest = try #require(hostile.head).sequence
        let early = try hostile.entry(.share(Share(text: "Eve, early")))
        let earlyOther = try hostile.entry(.share(Share(text: "Eve, early, again")))
        let late = try hostile.entry(.share(Share(text: "Eve, late")), after: early.head, lamport: early.header.lamport + 1)
        let lateOther = try hostile.entry(.share(Share(text: "Eve, late, again")), after: early.head, lamport: early.header.lamport + 1)
        _ = try hostile.deliver([early, late], to: g[0], epoch: 0)
        _ = try hostile.deliver([lateOther], to: g[0], epoch: 0)
        _ = try hostile.deliver([earlyOther], to: g[1], epoch: 0)
        _ = try hostile.deliver([early], to: g[1], epoch: 0)
        #expect(g[0].forks(in: g.group).map(\.sequence) == [honest + 2])
        #expect(g[1].forks(in: g.group).map(\.sequence) == [honest + 1])

        try Self.exchange(g, 0, 1)
        for i in [0, 1] {
            #expect(g[i].forks(in: g.group).map(\.sequence) == [honest + 1], "\(g[i].pseudonym) keeps another fork")
            #expect(g.state(i).cuts[eve] == honest)
            #expect(!Self.ids(g[i], g.group).contains(early.id))
        }
        #expect(g.digest(0) == g.digest(1))
        // A later proof changes nothing.
        #expect(try g[1].acceptForkProof(late, lateOther, in: g.group) == false)
        #expect(g[1].forks(in: g.group).map(\.sequence) == [honest + 1])
    }

    // MARK: - 7. A private check-in re-posted

    /// Ben, a reader of Ana's private check-in, posts it again as his own: once as it is, once
    /// with the message key sealed to Dan as well. Neither copy opens for anyone, Dan included;
    /// Ana's original still opens for its readers only.
    @Test func aPrivateCheckInRepostedByAReaderOpensForNoOne() throws {
        let g = try EpochTests.Group(["Ana", "Ben", "Cat", "Dan"])
        let checkIn = CheckIn(mood: 1, note: "Only for Ben and Cat.", wantsSupport: true)
        let original = try g[0].appendPrivateCheckIn(checkIn, readers: [g[1].memberID, g[2].memberID], to: g.group, at: Date())
        try g.syncAll()
        guard case .privateCheckIn(let sealed)? = g[1].log(of: g.group).first(where: { $0.entry.id == original.id })?.content else {
            Issue.record("Ben's store does not hold the private check-in as such")
            return
        }
        #expect(g[1].open(sealed, in: original.header) == checkIn)

        // Ben opens the message key (he is a reader) and seals it to Dan too.
        let box = try #require(sealed.readers.first { $0.recipient == g[1].memberID }?.box)
        var messageKey = try #require(SealedBox.open(
            box, publicKey: try g[1].memberID.curve25519(), secretKey: g[1].identity.curve25519SecretKey()))
        defer { SecretBytes.wipe(&messageKey) }
        var widened = sealed
        widened.readers.append(Rekey.Sealed(recipient: g[3].memberID, box: try SealedBox.seal(messageKey, to: g[3].memberID.curve25519())))

        let hostile = HostileMember(g[1], in: g.group)
        let copy = try hostile.entry(.privateCheckIn(sealed))
        let widenedCopy = try hostile.entry(.privateCheckIn(widened), after: copy.head, lamport: copy.header.lamport + 1)
        try hostile.plant([copy, widenedCopy])
        try g.syncAll()

        for i in 0..<4 {
            let log = g[i].log(of: g.group)
            for (entry, name) in [(copy, "copy"), (widenedCopy, "widened copy")] {
                guard case .privateCheckIn(let posted)? = log.first(where: { $0.entry.id == entry.id })?.content else {
                    Issue.record("member \(i) does not hold Ben's \(name)")
                    continue
                }
                #expect(g[i].open(posted, in: entry.header) == nil, "the \(name) opens for member \(i)")
            }
        }
        #expect(g[0].open(sealed, in: original.header) == checkIn)
        #expect(g[2].open(sealed, in: original.header) == checkIn)
        #expect(g[3].open(sealed, in: original.header) == nil)
    }
}

// MARK: - Seniority

extension HostileMemberTests {
    /// Admins rank by seniority, the founder first: a junior admin cannot remove a senior one
    /// (the command says so and writes nothing), while the senior removes the junior.
    @Test func aJuniorAdminCannotRemoveTheFounder() throws {
        let g = try EpochTests.Group(["Ana", "Ben", "Cy"])
        try g[0].grantAdmin(g[1].memberID, in: g.group, at: Date())
        try g.syncAll()
        let digest = g.digest(1)
        let error = Fixture.storeError { try g[1].remove(g[0].memberID, from: g.group, at: Date()) }
        #expect(error?.code == .notPermitted)
        #expect(error?.message.contains("only a more senior admin can remove them") == true, "\(String(describing: error))")
        #expect(g.digest(1) == digest)
        #expect(g.state(1).outranks(g[0].memberID, g[1].memberID))
        // Concurrently, Ben removes Cy and Ana removes Ben: Ana's removal cuts Ben's feed before
        // his re-key, which therefore falls; Cy stays.
        let bens = try g[1].remove(g[2].memberID, from: g.group, at: Date())
        try g[0].remove(g[1].memberID, from: g.group, at: Date())
        try g.syncAll([0, 1])
        for i in [0, 1] {
            #expect(g.state(i).members == [g[0].memberID, g[2].memberID])
            #expect(g.state(i).epoch == 1)
            #expect(!g[i].log(of: g.group).contains { $0.entry.id == bens.id }, "Ben's re-key, after his cut, is kept at \(i)")
        }
        #expect(g.digest(0) == g.digest(1))
    }
}

// MARK: - Keys of a re-key that did not give its epoch its keys

extension HostileMemberTests {
    /// Two admins re-key at once, each removing someone; each then writes an invite under its
    /// own new keys. Only one re-key gives epoch 1 its keys (the first in log order); the other
    /// admin's invite was written under keys some members never hold, so it decides nothing on
    /// any node, whether or not that node can read it, and every node agrees.
    @Test func aMembershipEntryUnderKeysTheEpochsReKeyDidNotGiveTakesNoEffectAnywhere() throws {
        let g = try EpochTests.Group(["Ana", "Ben", "Cy", "Dan", "Eve"])
        try g[0].grantAdmin(g[1].memberID, in: g.group, at: Date())
        try g.syncAll()
        let fromAna = try g[0].remove(g[2].memberID, from: g.group, at: Date())
        let fromBen = try g[1].remove(g[3].memberID, from: g.group, at: Date())
        _ = try g[0].createInvite(to: g.group, lifetime: 3_600, at: Date())
        _ = try g[1].createInvite(to: g.group, lifetime: 3_600, at: Date())
        let anaInvite = try #require(g[0].log(of: g.group).last { $0.entry.header.kind == .invite }?.entry)
        let benInvite = try #require(g[1].log(of: g.group).last { $0.entry.header.kind == .invite }?.entry)
        try g.syncAll([0, 1, 4])
        let source = try #require(g.state(0).epochSources[1])
        #expect([fromAna.id, fromBen.id].contains(source))
        let (kept, fallen) = source == fromAna.id ? (anaInvite, benInvite) : (benInvite, anaInvite)
        for i in [0, 1, 4] {
            let state = g.state(i)
            #expect(state.epochSources[1] == source)
            #expect(state.ineffective[kept.id] == nil)
            #expect(state.ineffective[fallen.id] == "it was written under keys its epoch's re-key did not give")
            #expect(g.digest(i) == g.digest(0))
        }
    }
}
