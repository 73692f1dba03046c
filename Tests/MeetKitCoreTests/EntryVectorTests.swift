import Foundation
import MeetKitCore
import MeetKitCrypto
import Testing

/// The entry vectors in Protocol/vectors/entries (layout in its README.md): every `yay/` file is
/// accepted and opens to its stated content, every `nay/` file is rejected for exactly its
/// stated reason. `MEETKIT_WRITE_VECTORS=1 swift test --filter EntryVectorTests` rewrites them.
@Suite("Entry vectors")
struct EntryVectorTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // MeetKitCoreTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // the package root
        .appendingPathComponent("Protocol/vectors/entries")

    /// Rewrites the files once per test run when asked to; nil when nothing went wrong.
    static let writeFailure: String? = VectorFolder(directory: directory).rewriteIfAsked(by: "MEETKIT_WRITE_VECTORS") {
        try EntryVectors.all().map { ($0.directory, $0.name, $0.json) }
    }

    /// The files of `yay` or `nay`, by name, sorted.
    static func files(in subdirectory: String) throws -> [(name: String, file: VectorFile)] {
        try VectorFolder(directory: directory).files(in: subdirectory, as: VectorFile.self)
    }

    // MARK: Tests

    @Test func directoriesAreNotEmpty() throws {
        #expect(Self.writeFailure == nil)
        #expect(try Self.files(in: "yay").count >= 7)
        #expect(try Self.files(in: "nay").count >= 22)
    }

    @Test func everyYayIsAccepted() throws {
        #expect(Self.writeFailure == nil)
        let vectors = try Self.files(in: "yay")
        try #require(!vectors.isEmpty)
        for (name, file) in vectors {
            let (wire, body, group, previous) = try file.bytes(name)
            let key = try #require(file.contentKey.flatMap(Hex.decode), "\(name): contentKey")
            #expect(file.reason == nil, "\(name): a yay vector states no reason")
            try expectPreviousIsValid(previous, name)

            let result = check(wire: wire, body: body, previous: previous, group: group)
            guard case .success(let entry) = result else {
                Issue.record("\(name): rejected as \(result.failure?.code ?? "?")")
                continue
            }
            let stated = try file.content.map { try $0.entryContent(name) }
            var contentKey = key
            #expect(try entry.openContent(contentKey: SecretBytes(consuming: &contentKey)) == stated, "\(name): content")
            #expect((body == nil) == (stated == nil), "\(name): content is null exactly when the body is")
        }
    }

    @Test func everyNayIsRejectedForItsReason() throws {
        #expect(Self.writeFailure == nil)
        let vectors = try Self.files(in: "nay")
        try #require(!vectors.isEmpty)
        for (name, file) in vectors {
            let (wire, body, group, previous) = try file.bytes(name)
            let reason = try #require(file.reason, "\(name): reason")
            #expect(file.content == nil, "\(name): a nay vector states no content")
            try expectPreviousIsValid(previous, name)

            let result = check(wire: wire, body: body, previous: previous, group: group)
            #expect(result.failure?.code == reason, "\(name)")
            if previous == nil {
                // Checkers that run link checks only when `previous` is given agree on these files.
                #expect(throws: EntryError.self, "\(name): fails before the link checks") { try Entry(wire: wire, body: body) }
            }
        }
    }

    @Test func everyReasonHasANayVector() throws {
        #expect(Self.writeFailure == nil)
        let reasons = Set(try Self.files(in: "nay").compactMap(\.file.reason))
        let codes = Set(EntryErrorTests.everyError.map(\.code))
        #expect(codes.subtracting(reasons).isEmpty, "no vector for \(codes.subtracting(reasons).sorted())")
        #expect(reasons.subtracting(codes).isEmpty, "unknown reasons \(reasons.subtracting(codes).sorted())")
    }

    /// The files are exactly what the generator writes: nothing hand-edited, nothing stale.
    @Test func filesMatchTheGenerator() throws {
        #expect(Self.writeFailure == nil)
        let generated = try EntryVectors.all()
        for subdirectory in ["yay", "nay"] {
            let folder = Self.directory.appendingPathComponent(subdirectory)
            let onDisk = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") })
            let expected = Set(generated.filter { $0.directory == subdirectory }.map { "\($0.name).json" })
            #expect(onDisk == expected, "\(subdirectory): run with MEETKIT_WRITE_VECTORS=1 to regenerate")
        }
        for vector in generated {
            let url = Self.directory.appendingPathComponent("\(vector.directory)/\(vector.name).json")
            let matches = (try? String(contentsOf: url, encoding: .utf8)) == vector.json
            #expect(matches, "\(vector.directory)/\(vector.name).json differs from the generator")
        }
    }

    /// The generated cases, checked in memory with the exact error (payload included).
    @Test func generatedCasesHaveTheirOutcome() throws {
        let vectors = try EntryVectors.all()
        #expect(Set(vectors.map { "\($0.directory)/\($0.name)" }).count == vectors.count, "names are unique")
        for vector in vectors {
            if let previous = vector.previous {
                #expect(throws: Never.self, "\(vector.name): previous") { try Entry(wire: previous, body: nil) }
            }
            let result = check(wire: vector.wire, body: vector.body, previous: vector.previous, group: vector.group)
            switch (vector.outcome, result) {
            case (.accept(let key, let content), .success(let entry)):
                #expect(try entry.openContent(contentKey: key) == content, "\(vector.name)")
            case (.reject(let expected), .failure(let error)):
                #expect(error == expected, "\(vector.name)")
            case (.accept, .failure(let error)):
                Issue.record("\(vector.name): rejected as \(error)")
            case (.reject(let expected), .success):
                Issue.record("\(vector.name): accepted, expected \(expected)")
            }
        }
    }

    private func expectPreviousIsValid(_ previous: [UInt8]?, _ name: String) throws {
        guard let previous else { return }
        #expect(throws: Never.self, "\(name): previous must itself be valid") { try Entry(wire: previous, body: nil) }
    }
}

// MARK: - File format

/// One vector file as decoded from JSON.
extension VectorFile {
    /// The hex fields as bytes: the wire form, body, group and previous entry.
    func bytes(_ name: String) throws -> (wire: [UInt8], body: [UInt8]?, group: GroupID, previous: [UInt8]?) {
        (
            try #require(Hex.decode(entry), "\(name): entry"),
            try body.map { try #require(Hex.decode($0), "\(name): body") },
            try #require(Hex.decode(group).flatMap(GroupID.init(bytes:)), "\(name): group"),
            try previous.map { try #require(Hex.decode($0), "\(name): previous") }
        )
    }
}

struct VectorFile: Decodable {
    var description: String
    var entry: String
    var body: String?
    var previous: String?
    var group: String
    var contentKey: String?
    var content: Content?
    var reason: String?

    struct Content: Decodable {
        var kind: String
        var name: String?
        var pseudonym: String?
        var topic: String?
        var meeting: String?
        var text: String?
        var mood: UInt8?
        var note: String?
        var milestoneDays: UInt32?
        var wantsSupport: Bool?
        var invite: String?
        var expires: Int64?
        var member: String?

        /// The content this object states; fails the test when it is malformed.
        func entryContent(_ file: String) throws -> EntryContent {
            let meetingID = try meeting.map { try #require(EntryID(hex: $0), "\(file): meeting") }
            switch kind {
            case "genesis": return .genesis(name: try #require(name, "\(file): name"))
            case "profile": return .profile(pseudonym: try #require(pseudonym, "\(file): pseudonym"))
            case "meeting-open": return .meetingOpen(topic: topic)
            case "meeting-close": return .meetingClose(meeting: try #require(meetingID, "\(file): meeting"))
            case "share": return .share(Share(text: try #require(text, "\(file): text"), meeting: meetingID))
            case "check-in":
                return .checkIn(CheckIn(
                    mood: try #require(mood, "\(file): mood"), note: note, milestoneDays: milestoneDays,
                    wantsSupport: try Self.required(wantsSupport, "\(file): wantsSupport"), meeting: meetingID))
            case "invite":
                return .invite(Invite(
                    id: try #require(invite.flatMap(Hex.decode), "\(file): invite"),
                    expires: try #require(expires, "\(file): expires")))
            case "member-add":
                let key = try #require(member.flatMap(Hex.decode), "\(file): member")
                return .memberAdd(MemberAdd(member: try PublicKey(bytes: key), invite: invite.flatMap(Hex.decode)))
            default:
                Issue.record("\(file): unknown content kind \(kind)")
                throw VectorFileError.malformed(file)
            }
        }

        private static func required<T>(_ value: T?, _ what: String) throws -> T {
            guard let value else {
                Issue.record("\(what) is missing")
                throw VectorFileError.malformed(what)
            }
            return value
        }
    }
}

enum VectorFileError: Error {
    case malformed(String)
}
