import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitStore
import Testing

/// What the store does for sync: invites, admission, and ingesting a peer's entries.
@Suite struct SyncStoreTests {
    /// A founder with a group and a second node admitted to it, both open.
    struct TwoMembers {
        let homes = (try! TemporaryHome(), try! TemporaryHome())
        let founder: Store
        let member: Store
        let group: GroupID

        init() throws {
            founder = try Fixture.create(homes.0, pseudonym: "Ana")
            member = try Fixture.create(homes.1, pseudonym: "Ben")
            group = try founder.createGroup(name: "Circle", at: Date())
            let code = try founder.createInvite(to: group, lifetime: 3_600, at: Date())
            let admission = try founder.admit(member.memberID, to: group, secret: code.secret, at: Date())
            #expect(admission.entry != nil)
            #expect(try member.acceptAdmission(sealedKeys: admission.sealedKeys, into: group) == group)
            try member.ingest(founder.entries(of: group, missingFrom: member.versionVector(of: group)), into: group)
        }
    }

    @Test func admittedMemberReadsEverythingAndConverges() throws {
        let pair = try TwoMembers()
        try pair.founder.append(.share(Share(text: "welcome")), to: pair.group, at: Date())
        try pair.member.append(.profile(pseudonym: "Ben"), to: pair.group, at: Date())
        try pair.member.ingest(pair.founder.entries(of: pair.group, missingFrom: pair.member.versionVector(of: pair.group)), into: pair.group)
        try pair.founder.ingest(pair.member.entries(of: pair.group, missingFrom: pair.founder.versionVector(of: pair.group)), into: pair.group)
        #expect(pair.founder.summary(of: pair.group).digest == pair.member.summary(of: pair.group).digest)
        #expect(pair.member.log(of: pair.group).allSatisfy { $0.content != nil })
        let state = pair.founder.state(of: pair.group)
        #expect(state.members == [pair.founder.memberID, pair.member.memberID])
        #expect(state.displayName(of: pair.member.memberID) == "Ben")
    }

    @Test func ingestingTwiceChangesNothing() throws {
        let pair = try TwoMembers()
        let all = pair.founder.entries(of: pair.group, missingFrom: VersionVector())
        #expect(try pair.member.ingest(all, into: pair.group).isEmpty)
        #expect(pair.member.entryCount == pair.founder.entryCount)
    }

    @Test func anInviteAdmitsOnePersonOnce() throws {
        let pair = try TwoMembers()
        let home = try TemporaryHome()
        let third = try Fixture.create(home, pseudonym: "Cy")
        let code = try pair.founder.createInvite(to: pair.group, lifetime: 3_600, at: Date())
        _ = try pair.founder.admit(third.memberID, to: pair.group, secret: code.secret, at: Date())
        // The same person again: the keys again, no second member-add.
        let again = try pair.founder.admit(third.memberID, to: pair.group, secret: code.secret, at: Date())
        #expect(again.entry == nil)
        // Someone else with the used code: refused.
        let otherHome = try TemporaryHome()
        let other = try Fixture.create(otherHome, pseudonym: "Di")
        let used = Fixture.storeError { _ = try pair.founder.admit(other.memberID, to: pair.group, secret: code.secret, at: Date()) }
        #expect(used?.message.contains("already been used") == true)
        // A made-up secret: refused.
        let unknown = Fixture.storeError {
            _ = try pair.founder.admit(other.memberID, to: pair.group, secret: SecretBytes(randomCount: 16), at: Date())
        }
        #expect(unknown?.message.contains("not one of this group's") == true)
    }

    @Test func anExpiredInviteIsRefused() throws {
        let pair = try TwoMembers()
        let home = try TemporaryHome()
        let late = try Fixture.create(home, pseudonym: "Late")
        let code = try pair.founder.createInvite(to: pair.group, lifetime: 60, at: Date())
        let error = Fixture.storeError {
            _ = try pair.founder.admit(late.memberID, to: pair.group, secret: code.secret, at: Date().addingTimeInterval(120))
        }
        #expect(error?.message.contains("expired") == true)
    }

    @Test func aNonMembersEntriesAreRefusedAndNothingIsStored() throws {
        let pair = try TwoMembers()
        let home = try TemporaryHome()
        let outsider = try Fixture.create(home, pseudonym: "Eve")
        // Eve somehow holds the content key and writes into the group's log.
        let forged = try Entry.create(
            content: .share(Share(text: "let me in")), group: pair.group, after: nil, lamport: 99, timestamp: 0, epoch: 0,
            author: outsider.identity, contentKey: SecretBytes(randomCount: 32), nonce: SecureRandom.bytes(24))
        let before = pair.founder.entryCount
        let report = try pair.founder.ingestReporting([forged], into: pair.group)
        #expect(report.stored.isEmpty)
        #expect(report.refused.count == 1 && report.refused[0].reason.contains("not a member"))
        #expect(pair.founder.entryCount == before)
    }

    /// A refusal is about one entry and what follows it in its feed: what came before it in the
    /// batch is still stored.
    @Test func aBatchWithOneBadEntryStoresTheOthers() throws {
        let pair = try TwoMembers()
        let good = try pair.member.append(.share(Share(text: "fine")), to: pair.group, at: Date())
        let gap = try Entry.create(
            content: .share(Share(text: "skips a number")), group: pair.group,
            after: FeedHead(sequence: 5, id: good.id, lamport: 90, epoch: 0), lamport: 100, timestamp: 0, epoch: 0,
            author: pair.member.identity, contentKey: SecretBytes(randomCount: 32), nonce: SecureRandom.bytes(24))
        let before = pair.founder.entryCount
        let report = try pair.founder.ingestReporting([good, gap], into: pair.group)
        #expect(report.stored.map(\.id) == [good.id])
        #expect(report.refused.map(\.id) == [gap.id])
        #expect(pair.founder.entryCount == before + 1)
    }

    @Test func admissionForAnotherGroupIsRefused() throws {
        let pair = try TwoMembers()
        let home = try TemporaryHome()
        let newcomer = try Fixture.create(home, pseudonym: "Fay")
        let code = try pair.founder.createInvite(to: pair.group, lifetime: 3_600, at: Date())
        let admission = try pair.founder.admit(newcomer.memberID, to: pair.group, secret: code.secret, at: Date())
        let wrong = GroupID(bytes: SecureRandom.bytes(32))!
        _ = Fixture.storeError { _ = try newcomer.acceptAdmission(sealedKeys: admission.sealedKeys, into: wrong) }
        // Sealed to someone else: refused.
        _ = Fixture.storeError { _ = try pair.member.acceptAdmission(sealedKeys: admission.sealedKeys, into: pair.group) }
    }

    @Test func inviteCodeRoundTripsAndRejectsDamage() throws {
        let pair = try TwoMembers()
        let code = try pair.founder.createInvite(to: pair.group, lifetime: 3_600, at: Date())
        let parsed = try #require(InviteCode(text: "  " + code.text + "\n"))
        #expect(parsed.group == pair.group && parsed.inviter == pair.founder.memberID && parsed.id == code.id)
        #expect(InviteCode(text: String(code.text.dropLast())) == nil)
        #expect(InviteCode(text: code.text + "A") == nil)
        #expect(InviteCode(text: code.text.replacingOccurrences(of: "mk1.", with: "mk2.")) == nil)
        // The secret is never in the log: only its hash.
        let invite = pair.founder.state(of: pair.group).invites[code.id]
        #expect(invite != nil)
    }
}
