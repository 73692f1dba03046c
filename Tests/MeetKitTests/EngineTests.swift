import Foundation
import MeetKit
import MeetKitCore
import MeetKitCrypto
import MeetKitStore
import Testing

/// The engine's rules, called as an embedding program calls them, and its requests and
/// responses carried the way the control socket carries them (as JSON).
@Suite struct EngineTests {
    /// A node with one group, in a directory removed at the end.
    final class Home {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("meetkit-engine-\(UUID().uuidString)")
        let engine: Engine

        init() throws {
            var passphrase = Array("correct horse battery staple".utf8)
            engine = try Engine.create(
                at: DataDirectory(path: root.appendingPathComponent("home").path), passphrase: SecretBytes(consuming: &passphrase),
                pseudonym: "Ana", cost: .interactive)
            _ = try engine.createGroup(name: "Circle")
        }

        deinit { try? FileManager.default.removeItem(at: root) }

        /// Another member's identity: only its key is needed to admit it.
        struct Member {
            let key = SigningKey.generate().publicKey
        }

        /// `request` as the node receives it, answered, and the answer as the client reads it.
        func carried(_ request: Request) async throws -> Result<Response, EngineError> {
            let line = try JSONEncoder().encode(Control.Envelope(request))
            let answer = await Control.answer(Array(line)) { request in Result { () throws(EngineError) in try engine.perform(request) } }
            let reply = try JSONDecoder().decode(Control.Reply.self, from: Data(answer))
            #expect(reply.version == Control.version)
            if let response = reply.response { return .success(response) }
            return .failure(try #require(reply.error))
        }
    }

    @Test func sharesAndCheckInsBelongToTheOpenMeetingAndOnlyOneIsOpen() throws {
        let home = try Home()
        let engine = home.engine
        let outside = try engine.share("before the meeting")
        #expect(outside.meeting == nil)
        let opened = try engine.openMeeting(topic: "Hope")
        #expect(throws: EngineError.self) { try engine.openMeeting(topic: "Another") }
        do {
            _ = try engine.openMeeting()
        } catch {
            #expect(error.code == .meetingAlreadyOpen)
        }
        let share = try engine.share("in the meeting", expiresIn: 7_200_000)
        let checkIn = try engine.checkIn(mood: 4, note: "steady", days: 30, wantsSupport: true)
        #expect(share.meeting == opened.id && checkIn.meeting == opened.id)
        #expect(share.expires != nil)
        let closed = try engine.closeMeeting()
        #expect(closed.meeting == opened.id && closed.shares == 1 && closed.checkins == 1)
        do {
            _ = try engine.closeMeeting()
            Issue.record("a second close was accepted")
        } catch {
            #expect(error.code == .noOpenMeeting)
        }

        let log = try engine.log()
        #expect(log.entries.map(\.kind) == ["genesis", "profile", "share", "meeting-open", "share", "check-in", "meeting-close"])
        #expect(log.entries.first { $0.id == share.id }?.text == "in the meeting")
        #expect(log.meetings.map(\.id) == [opened.id])
        #expect(log.digest == (try engine.status()).digest)
    }

    /// The log shown by meeting, by time and by count; the digest and total stay the whole
    /// log's, and a filter naming no meeting, or a limit below 1, is refused.
    @Test func theLogIsFilteredByMeetingTimeAndCount() throws {
        let home = try Home()
        let engine = home.engine
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        _ = try engine.share("before", now: start)
        let first = try engine.openMeeting(topic: "One", now: start.addingTimeInterval(60))
        _ = try engine.share("in one", now: start.addingTimeInterval(120))
        _ = try engine.closeMeeting(now: start.addingTimeInterval(180))
        let second = try engine.openMeeting(topic: "Two", now: start.addingTimeInterval(3_600))
        _ = try engine.share("in two", now: start.addingTimeInterval(3_660))
        _ = try engine.checkIn(mood: 3, now: start.addingTimeInterval(3_720))

        let whole = try engine.log(now: start.addingTimeInterval(4_000))
        func texts(_ filter: LogFilter) throws -> [String] {
            let view = try engine.log(filter: filter, now: start.addingTimeInterval(4_000))
            #expect(view.digest == whole.digest && view.total == whole.entries.count)
            return view.entries.map { $0.text ?? $0.kind }
        }
        #expect(try texts(LogFilter(meeting: "latest")) == ["meeting-open", "in two", "check-in"])
        #expect(try texts(LogFilter(meeting: String(first.id.prefix(8)))) == ["meeting-open", "in one", "meeting-close"])
        #expect(try texts(LogFilter(meeting: second.id.uppercased())) == ["meeting-open", "in two", "check-in"])
        #expect(try texts(LogFilter(since: Int64(start.addingTimeInterval(3_650).timeIntervalSince1970 * 1000))) == ["in two", "check-in"])
        #expect(try texts(LogFilter(limit: 2)) == ["in two", "check-in"])
        #expect(try texts(LogFilter(meeting: "latest", limit: 1)) == ["check-in"])
        for (filter, code) in [
            (LogFilter(meeting: "0000000000"), EngineError.Code.unknownEntry), (LogFilter(meeting: "abc"), .unknownEntry),
            (LogFilter(limit: 0), .outOfRange), (LogFilter(limit: -3), .outOfRange),
        ] {
            do {
                _ = try engine.log(filter: filter)
                Issue.record("\(filter) was shown")
            } catch {
                #expect(error.code == code)
            }
        }
    }

    /// Out-of-range input from any front end is refused by the engine with a code, and
    /// nothing is written.
    @Test func badInputIsRefusedWithACodeAndNothingIsWritten() async throws {
        let home = try Home()
        let engine = home.engine
        let before = try engine.status().entries
        for (request, code) in [
            (Request.checkIn(mood: 0, note: nil, days: nil, wantsSupport: false, readers: [], group: nil), EngineError.Code.outOfRange),
            (.checkIn(mood: 9, note: nil, days: nil, wantsSupport: false, readers: [], group: nil), .outOfRange),
            (.checkIn(mood: 3, note: nil, days: nil, wantsSupport: false, readers: ["Nobody"], group: nil), .unknownMember),
            (.share(text: "x", expiresIn: .max, group: nil), .outOfRange),
            (.share(text: "x", expiresIn: -5, group: nil), .outOfRange),
            (.redact(entry: "abc", group: nil), .unknownEntry),
            (.redact(entry: "0000000000", group: nil), .unknownEntry),
            (.closeMeeting(group: nil), .noOpenMeeting),
            (.share(text: "x", expiresIn: nil, group: "No such group"), .unknownGroup),
        ] {
            #expect(throws: EngineError.self) { try engine.perform(request) }
            if case .failure(let error) = try await home.carried(request) {
                #expect(error.code == code, "\(request)")
            } else {
                Issue.record("\(request) was carried out")
            }
        }
        #expect(try engine.status().entries == before)
    }

    /// Invites, removal, admins and retention through the engine: a removal begins the next
    /// epoch, a second admin is recorded, and retention outside its range is refused with
    /// nothing written.
    @Test func theGroupsRulesHoldThroughTheEngine() async throws {
        let home = try Home()
        let engine = home.engine
        let invited = try engine.invite(lifetime: 3_600_000)
        #expect(invited.code.hasPrefix("mk1.") && invited.name == "Circle")
        let group = try engine.group(nil)
        // A second member, admitted with the code as a joining node would be.
        let other = Home.Member()
        let code = try #require(InviteCode(text: invited.code))
        let admission = try engine.store.admit(other.key, to: group, secret: code.secret, at: Date())
        #expect(admission.entry != nil)
        let made = try engine.makeAdmin(other.key.hex)
        #expect(made.member == other.key.hex && made.epoch == nil)
        #expect(try engine.members().first { $0.member == other.key.hex }?.admin == true)
        let removed = try engine.remove(other.key.fingerprint)
        #expect(removed.epoch == 1 && engine.store.state(of: group).epoch == 1)
        #expect(try engine.members().map(\.name) == ["Ana"])

        let before = try engine.status().entries
        for milliseconds: Int64 in [-1, 1, 3_599_999, .max] {
            if case .failure(let error) = try await home.carried(.setRetention(milliseconds: milliseconds, group: nil)) {
                #expect(error.code == .outOfRange)
            } else {
                Issue.record("a retention of \(milliseconds) ms was set")
            }
        }
        for lifetime: Int64 in [0, -1, .max] {
            #expect(throws: EngineError.self) { try engine.invite(lifetime: lifetime) }
        }
        #expect(try engine.status().entries == before)
        #expect(try engine.setRetention(86_400_000).milliseconds == 86_400_000)
        #expect(engine.store.state(of: group).retention == 86_400_000)
    }

    /// Every request and response survives the trip as JSON, and a write made through it is
    /// in the log.
    @Test func requestsAndResponsesTravelAsJSON() async throws {
        let home = try Home()
        guard case .success(.written(let written)) = try await home.carried(.share(text: "carried", expiresIn: nil, group: "Circle")) else {
            Issue.record("the share was not written")
            return
        }
        guard case .success(.log(let log)) = try await home.carried(.log(group: nil, filter: nil)) else {
            Issue.record("no log came back")
            return
        }
        #expect(log.entries.last?.id == written.id && log.entries.last?.text == "carried")
        guard case .success(.members(let members)) = try await home.carried(.members(group: nil)) else {
            Issue.record("no members came back")
            return
        }
        #expect(members.map(\.name) == ["Ana"] && members[0].founder && members[0].admin && members[0].you)
        guard case .success(.status(let status)) = try await home.carried(.status(group: nil)) else {
            Issue.record("no status came back")
            return
        }
        #expect(status.entries == 3 && status.groups.count == 1)
    }

    /// A request of another version, and lines that are not requests, get one clear error
    /// each; nothing is carried out.
    @Test func anotherVersionOrAMalformedLineGetsAnError() async throws {
        let home = try Home()
        let engine = home.engine
        let before = try engine.status().entries
        let share = String(decoding: try JSONEncoder().encode(Request.share(text: "x", expiresIn: nil, group: nil)), as: UTF8.self)
        for (line, code) in [
            ("{\"version\":2,\"request\":\(share)}", EngineError.Code.unsupportedVersion),
            ("{\"version\":0,\"request\":\(share)}", .unsupportedVersion),
            ("{\"request\":\(share)}", .malformedRequest),
            ("{\"version\":1,\"request\":{\"launch\":{}}}", .malformedRequest),
            ("{\"version\":1}", .malformedRequest),
            ("not json at all", .malformedRequest),
            ("", .malformedRequest),
        ] {
            let answer = await Control.answer(Array(line.utf8)) { request in Result { () throws(EngineError) in try engine.perform(request) } }
            let reply = try JSONDecoder().decode(Control.Reply.self, from: Data(answer))
            #expect(reply.response == nil && reply.error?.code == code, "\(line)")
            #expect(reply.error?.message.isEmpty == false)
        }
        #expect(try engine.status().entries == before)
    }
}
