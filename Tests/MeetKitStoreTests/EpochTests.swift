import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitStore
import MeetKitTestSupport
import Testing

/// Roles, removal and re-keying between stores (Protocol/epochs.md); the node-level test
/// (Tests/MeetKitNodeTests/RemovalTests.swift) proves the same with running nodes.
@Suite struct EpochTests {
    /// A group of `names.count` members, each with a store of their own, all in sync; the
    /// first founded it.
    final class Group {
        let homes: [TemporaryHome]
        let stores: [Store]
        let group: GroupID

        init(_ names: [String]) throws {
            homes = try names.map { _ in try TemporaryHome() }
            stores = try zip(homes, names).map { try Fixture.create($0, pseudonym: $1) }
            group = try stores[0].createGroup(name: "Circle", at: Date())
            for store in stores.dropFirst() {
                let code = try stores[0].createInvite(to: group, lifetime: 3_600, at: Date())
                let admission = try stores[0].admit(store.memberID, to: group, secret: code.secret, at: Date())
                _ = try store.acceptAdmission(sealedKeys: admission.sealedKeys, into: group)
            }
            try syncAll()
        }

        subscript(_ index: Int) -> Store { stores[index] }

        /// `to` takes what `from` serves it, as a sync session does.
        func sync(_ from: Int, to: Int) throws {
            let vector = stores[to].versionVector(of: group)
            try stores[to].ingest(
                stores[from].headsToCompare(of: group, with: vector) + stores[from].entries(of: group, missingFrom: vector), into: group)
        }

        /// Everyone in `members` syncs with everyone else in it, twice round.
        func syncAll(_ members: [Int]? = nil) throws {
            let members = members ?? Array(stores.indices)
            for _ in 0..<2 { for a in members { for b in members where a != b { try sync(a, to: b) } } }
        }

        func digest(_ index: Int) -> [UInt8] { stores[index].summary(of: group).digest }
        func state(_ index: Int) -> GroupState { stores[index].state(of: group) }
    }

    @Test func onlyAdminsInviteRemoveAndGrantAndEveryNodeRefusesANonAdminsReKey() throws {
        let g = try Group(["Ana", "Ben", "Cy"])
        #expect(g.state(0).admins == [g[0].memberID])
        for attempt in [
            { _ = try g[1].createInvite(to: g.group, lifetime: 60, at: Date()) },
            { try g[1].remove(g[2].memberID, from: g.group, at: Date()) },
            { try g[1].grantAdmin(g[1].memberID, in: g.group, at: Date()) },
        ] as [() throws -> Void] {
            let error = Fixture.storeError(attempt)
            #expect(error?.code == .notPermitted, "\(String(describing: error))")
        }

        // Ben writes a re-key anyway, around the check, and hands it to the others in a
        // bundle: it is a non-admin's, and takes no effect on any node.
        let ben = HostileMember(g[1], in: g.group)
        let forged = try ben.entry(.rekey(Rekey(
            epoch: 1, removed: [Rekey.Removal(member: g[2].memberID, lastSequence: 0)],
            keys: [Rekey.Sealed(recipient: g[1].memberID, box: try SealedBox.seal(
                EpochKeys(group: g.group, epoch: 1, contentKey: SecretBytes(randomCount: 32), networkKey: SecretBytes(randomCount: 32)).encoded(),
                to: g[1].memberID.curve25519()))])))
        for other in [0, 2] {
            try ben.deliver([forged], to: g[other], epoch: 0)
            let state = g.state(other)
            #expect(state.ineffective[forged.id] == "its author is not an admin here")
            #expect(state.epoch == 0)
            #expect(state.isMember(g[2].memberID))
            #expect(state.cuts.isEmpty)
        }
        #expect(g.digest(0) == g.digest(2))

        // Made an admin, Cy may invite, and the others accept it.
        let fresh = try Group(["Ana", "Ben", "Cy"])
        try fresh[0].grantAdmin(fresh[2].memberID, in: fresh.group, at: Date())
        try fresh.syncAll()
        _ = try fresh[2].createInvite(to: fresh.group, lifetime: 60, at: Date())
        try fresh.syncAll()
        #expect(fresh.state(1).admins == [fresh[0].memberID, fresh[2].memberID])
        #expect(fresh.digest(0) == fresh.digest(1))
    }

    @Test func aRemovedMemberHoldsNoKeyOfTheNewEpochAndAnOfflineMemberCatchesUp() throws {
        let g = try Group(["Ana", "Ben", "Cy", "Dan"])
        // Dan is away. Ana removes Cy, then shares.
        try g[0].remove(g[2].memberID, from: g.group, at: Date())
        let share = try g[0].append(.share(Share(text: "said after Cy left")), to: g.group, at: Date())
        #expect(share.header.epoch == 1)
        try g.syncAll([0, 1])
        #expect(g.state(1).members == [g[0].memberID, g[1].memberID, g[3].memberID])
        #expect(g[1].log(of: g.group).last?.content == .share(Share(text: "said after Cy left")))

        // Cy's store, given the new entries with Cy's own keys, reads none of the new epoch.
        try g.sync(0, to: 2)
        let atCy = g[2].log(of: g.group).filter { $0.entry.header.epoch >= 1 }
        #expect(!atCy.isEmpty && atCy.allSatisfy { $0.content == nil })
        #expect(HostileMember(g[2], in: g.group).epochsHeld == [0])
        // Nor may Cy write into the group any more.
        #expect(Fixture.storeError { try g[2].append(.share(Share(text: "still here?")), to: g.group, at: Date()) }?.code == .notPermitted)

        // Dan comes back holding only epoch 0 keys, syncs with Ben, and reads everything.
        try g.sync(1, to: 3)
        #expect(g.digest(3) == g.digest(0))
        #expect(g[3].summary(of: g.group).epoch == 1)
        #expect(g[3].log(of: g.group).allSatisfy { $0.content != nil })
        // The network key changed with the epoch.
        let keys = g[3].handshakeKeys()
        #expect(keys.count == 2)
        #expect(keys[0].onlyMembers == nil)
        #expect(keys[1].onlyMembers == Set([g[0].memberID, g[1].memberID, g[3].memberID]))
    }

    @Test func everythingARemovedMemberWritesAfterTheCutIsRefusedWhateverItsEpoch() throws {
        let g = try Group(["Ana", "Ben", "Cy"])
        let early = try g[2].append(.share(Share(text: "written before the removal")), to: g.group, at: Date())
        try g.syncAll()
        try g[0].remove(g[2].memberID, from: g.group, at: Date())
        try g.syncAll([0, 1])
        #expect(g.state(1).cuts[g[2].memberID] == early.header.sequence)
        // Written by Cy before the removal reached Cy (epoch 0): after the cut, so refused.
        let late = try g[2].append(.share(Share(text: "written before I heard")), to: g.group, at: Date())
        let digest = g.digest(1)
        try g.sync(2, to: 1)
        #expect(!g[1].log(of: g.group).contains { $0.entry.id == late.id })
        #expect(g[1].log(of: g.group).contains { $0.entry.id == early.id })
        // One claiming the new epoch (Cy holds no key of it, so made with any key): refused too.
        let after = try HostileMember(g[2], in: g.group).entry(
            .share(Share(text: "I am still here")), lamport: late.header.lamport + 10, epoch: 1,
            contentKey: SecretBytes(randomCount: 32))
        let report = try g[1].ingestReporting([after], into: g.group)
        #expect(report.stored.isEmpty)
        #expect(g.digest(1) == digest)
        // Cy's own store, once it hears of the removal, drops what it wrote after the cut.
        try g.sync(0, to: 2)
        #expect(!g[2].log(of: g.group).contains { $0.entry.id == late.id })
    }

    @Test func concurrentRemovalsByTwoAdminsConvergeToOneEpochThatNeitherRemovedMemberHolds() throws {
        let g = try Group(["Ana", "Ben", "Cy", "Dan", "Eve"])
        try g[0].grantAdmin(g[1].memberID, in: g.group, at: Date())
        try g.syncAll()

        // Partitioned: Ana removes Cy while Ben removes Dan; both begin epoch 1.
        try g[0].remove(g[2].memberID, from: g.group, at: Date())
        try g[1].remove(g[3].memberID, from: g.group, at: Date())
        // Healed: the three who remain sync; the admin with the smaller key re-keys once more.
        try g.syncAll([0, 1, 4])
        let rekeyer = [0, 1].first { g[$0].memberID == min(g[0].memberID, g[1].memberID) }!
        #expect(g.state(rekeyer).needsRekey)
        let follow = try #require(try g[rekeyer].resolveConcurrentRekey(in: g.group, at: Date()))
        #expect(try g[1 - rekeyer].resolveConcurrentRekey(in: g.group, at: Date()) == nil)
        try g.syncAll([0, 1, 4])

        for i in [0, 1, 4] {
            let state = g.state(i)
            #expect(state.epoch == 2)
            #expect(!state.needsRekey)
            #expect(state.members == [g[0].memberID, g[1].memberID, g[4].memberID])
            #expect(state.keyHolders == [g[0].memberID, g[1].memberID, g[4].memberID])
            #expect(g.digest(i) == g.digest(0))
        }
        // Epoch 2's keys went to the three who remain, and to neither removed member, whose
        // stores cannot even read the re-key that began it.
        guard case .rekey(let rekey)? = g[0].log(of: g.group).first(where: { $0.entry.id == follow.id })?.content else {
            Issue.record("the follow-up re-key is not readable at Ana's")
            return
        }
        #expect(Set(rekey.keys.map(\.recipient)) == [g[0].memberID, g[1].memberID, g[4].memberID])
        for removed in [2, 3] {
            _ = try? g.sync(0, to: removed)
            #expect(HostileMember(g[removed], in: g.group).epochsHeld.allSatisfy { $0 < 2 })
        }
        let share = try g[4].append(.share(Share(text: "epoch 2")), to: g.group, at: Date())
        #expect(share.header.epoch == 2)
    }

    /// Ana admits a newcomer in epoch 0 while Ben, not yet knowing of it, removes Dan: epoch 1's
    /// keys are not sealed to the newcomer, and every later re-key is written under keys it
    /// lacks, so no sync can give them to it. An admin's fresh invite gets it the keys again
    /// (and writes nothing): it reads what it could not, folds what the others fold, and writes.
    @Test func aMemberAConcurrentReKeyLeftWithoutKeysGetsThemByJoiningAgain() throws {
        let g = try Group(["Ana", "Ben", "Cy", "Dan"])
        try g[0].grantAdmin(g[1].memberID, in: g.group, at: Date())
        try g.syncAll()
        let home = try TemporaryHome()
        let new = try Fixture.create(home, pseudonym: "New")
        let first = try g[0].createInvite(to: g.group, lifetime: 3_600, at: Date())
        let admitted = try g[0].admit(new.memberID, to: g.group, secret: first.secret, at: Date())
        _ = try new.acceptAdmission(sealedKeys: admitted.sealedKeys, into: g.group)
        try g[1].remove(g[3].memberID, from: g.group, at: Date())
        func syncWithNew() throws {
            try g.syncAll([0, 1, 2])
            for i in [0, 1, 2] {
                try new.ingest(g[i].entries(of: g.group, missingFrom: new.versionVector(of: g.group)), into: g.group)
                try g[i].ingest(new.entries(of: g.group, missingFrom: g[i].versionVector(of: g.group)), into: g.group)
            }
        }
        try syncWithNew()
        #expect(g.state(0).needsRekey)
        for i in [0, 1] { _ = try g[i].resolveConcurrentRekey(in: g.group, at: Date()) }
        try syncWithNew()
        #expect(g.state(0).epoch == 2)
        #expect(!g.state(0).needsRekey)
        #expect(HostileMember(new, in: g.group).epochsHeld == [0])
        #expect(throws: StoreError.self) { try new.append(.share(Share(text: "not yet")), to: g.group, at: Date()) }

        let code = try g[0].createInvite(to: g.group, lifetime: 3_600, at: Date())
        try syncWithNew()
        let before = g[0].summary(of: g.group).entries
        let admission = try g[0].admit(new.memberID, to: g.group, secret: code.secret, at: Date())
        #expect(admission.entry == nil)
        #expect(g[0].summary(of: g.group).entries == before)
        _ = try new.acceptAdmission(sealedKeys: admission.sealedKeys, into: g.group)
        #expect(HostileMember(new, in: g.group).epochsHeld == [0, 1, 2])
        #expect(new.summary(of: g.group).digest == g.digest(0))
        #expect(new.state(of: g.group).epoch == 2)
        #expect(new.state(of: g.group).members == g.state(0).members)
        let share = try new.append(.share(Share(text: "back with the group")), to: g.group, at: Date())
        try g[2].ingest([share], into: g.group)
        #expect(g[2].log(of: g.group).first { $0.entry.id == share.id }?.content == .share(Share(text: "back with the group")))
        // The invite is still there for someone new; a removed member cannot use it for keys.
        #expect(throws: StoreError.self) { try g[0].admit(g[3].memberID, to: g.group, secret: code.secret, at: Date()) }
    }
}
