import MeetKitCore
import MeetKitCrypto
import Testing

@Suite("Group state")
struct GroupStateTests {
    /// The entries of a small group in log order, with their contents.
    struct Log {
        var items: [LogItem] = []
        var ash = FeedWriter(author: Fixtures.founder, group: nil)
        var bo: FeedWriter
        var lamport: UInt64 = 0

        init() throws {
            let genesis = try ash.append(.genesis(name: "Tuesday Hall Group"), lamport: 1)
            items.append(LogItem(entry: genesis, content: .genesis(name: "Tuesday Hall Group")))
            bo = FeedWriter(author: Fixtures.member, group: genesis.group)
            lamport = 1
            // Ash invites Bo and admits him with the invite's proof.
            let secret = SecretBytes(randomCount: InviteCode.secretLength)
            let id = InviteCode.id(ofSecret: secret)
            try ash(.invite(Invite(id: id, expires: .max)))
            let proof = InviteCode.proof(secret: secret, group: genesis.group, member: Fixtures.member.publicKey)
            try ash(.memberAdd(MemberAdd(member: Fixtures.member.publicKey, invite: id, proof: proof)))
        }

        @discardableResult
        mutating func ash(_ content: EntryContent) throws -> Entry {
            lamport += 1
            let entry = try ash.append(content, lamport: lamport)
            items.append(LogItem(entry: entry, content: content))
            return entry
        }

        @discardableResult
        mutating func bo(_ content: EntryContent, readable: Bool = true) throws -> Entry {
            lamport += 1
            let entry = try bo.append(content, lamport: lamport)
            items.append(LogItem(entry: entry, content: readable ? content : nil))
            return entry
        }
    }

    @Test func genesisNamesTheGroupAndItsFounder() throws {
        let state = GroupState(items: try Log().items)
        #expect(state.name == "Tuesday Hall Group")
        #expect(state.founder == Fixtures.founder.publicKey)
        #expect(state.meetings.isEmpty)
        #expect(state.openMeeting == nil)
    }

    @Test func emptyLog() {
        let state = GroupState(items: [])
        #expect(state.name == nil)
        #expect(state.founder == nil)
        #expect(state.pseudonyms.isEmpty)
    }

    @Test func pseudonymsFollowTheLatestProfile() throws {
        var log = try Log()
        try log.ash(.profile(pseudonym: "Ash"))
        try log.bo(.profile(pseudonym: "Bo"))
        try log.bo(.profile(pseudonym: "Bo R."))
        let state = GroupState(items: log.items)
        #expect(state.pseudonyms == [Fixtures.founder.publicKey: "Ash", Fixtures.member.publicKey: "Bo R."])
        #expect(state.displayName(of: Fixtures.member.publicKey) == "Bo R.")
        #expect(state.displayName(of: Fixtures.outsider.publicKey) == Fixtures.outsider.publicKey.fingerprint)
    }

    @Test func meetingsOpenAndClose() throws {
        var log = try Log()
        let first = try log.ash(.meetingOpen(topic: "Step one"))
        try log.bo(.share(Share(text: "hello", meeting: first.id)))
        let second = try log.bo(.meetingOpen(topic: nil))
        var state = GroupState(items: log.items)
        #expect(state.meetings.map(\.id) == [first.id, second.id])
        #expect(state.openMeeting?.id == second.id)

        let close = try log.bo(.meetingClose(meeting: second.id))
        state = GroupState(items: log.items)
        #expect(state.openMeeting?.id == first.id)
        let closed = try #require(state.meetings.last)
        #expect(!closed.isOpen)
        #expect(closed.closedBy == Fixtures.member.publicKey)
        #expect(closed.closedAt == close.header.timestamp)
        #expect(closed.openedBy == Fixtures.member.publicKey)
        #expect(closed.openedAt == second.header.timestamp)
        #expect(closed.topic == nil)

        try log.ash(.meetingClose(meeting: first.id))
        state = GroupState(items: log.items)
        #expect(state.openMeeting == nil)
        #expect(state.meetings.allSatisfy { !$0.isOpen })
        #expect(state.meetings.first?.topic == "Step one")
    }

    @Test func closingTwiceKeepsTheFirstClose() throws {
        var log = try Log()
        let meeting = try log.ash(.meetingOpen(topic: "t"))
        let firstClose = try log.bo(.meetingClose(meeting: meeting.id))
        try log.ash(.meetingClose(meeting: meeting.id))
        let closed = try #require(GroupState(items: log.items).meetings.first)
        #expect(closed.closedBy == Fixtures.member.publicKey)
        #expect(closed.closedAt == firstClose.header.timestamp)
    }

    @Test func closingAnUnknownMeetingChangesNothing() throws {
        var log = try Log()
        let meeting = try log.ash(.meetingOpen(topic: "t"))
        try log.bo(.meetingClose(meeting: EntryID(bytes: [UInt8](repeating: 5, count: 32))!))
        let state = GroupState(items: log.items)
        #expect(state.openMeeting?.id == meeting.id)
    }

    @Test func unreadableEntriesAreSkipped() throws {
        var log = try Log()
        try log.bo(.profile(pseudonym: "Bo"), readable: false)
        try log.bo(.meetingOpen(topic: "hidden"), readable: false)
        try log.bo(.checkIn(CheckIn(mood: 3)))
        let state = GroupState(items: log.items)
        #expect(state.pseudonyms.isEmpty)
        #expect(state.meetings.isEmpty)
    }

    @Test func foldingTheSameLogGivesTheSameState() throws {
        var log = try Log()
        try log.ash(.profile(pseudonym: "Ash"))
        let meeting = try log.bo(.meetingOpen(topic: "t"))
        try log.ash(.meetingClose(meeting: meeting.id))
        let a = GroupState(items: log.items)
        let b = GroupState(items: log.items)
        #expect(a.meetings == b.meetings)
        #expect(a.pseudonyms == b.pseudonyms)
        #expect(a.name == b.name)
    }
}
