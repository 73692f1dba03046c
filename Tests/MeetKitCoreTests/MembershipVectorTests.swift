import Foundation
import MeetKitCore
import MeetKitCrypto
import Testing

/// The membership vectors in Protocol/vectors/membership (layout in its README.md): in every
/// file, the entry under test takes effect (`yay/`), or is stored and takes no effect, or is
/// refused (`nay/`), for exactly the stated reason, and the state folded afterwards is the one
/// stated. `MEETKIT_WRITE_MEMBERSHIP_VECTORS=1 swift test --filter MembershipVectorTests`
/// rewrites them (and only them).
@Suite("Membership vectors")
struct MembershipVectorTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // MeetKitCoreTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // the package root
    static let directory = root.appendingPathComponent("Protocol/vectors/membership")

    /// Fold reasons no vector can show: they are recorded only for entries a node holds while
    /// the fold changes under them, or for entries that `Acceptance` refuses first.
    static let unreachableReasons: [String: String] = [
        "it was written under keys its epoch's re-key did not give": "the files give one key per epoch; HostileMemberTests shows it with real sealed keys",
        "it was written after its author's feed was cut": "such an entry is refused (afterCut), and removed where held",
        "the group has a genesis already": "another genesis founds another group, and is refused as wrong-group",
        "its author's feed was cut before it": "a re-key after its author's cut is refused (afterCut)",
    ]

    /// Rewrites the files once per test run when asked to; nil when nothing went wrong.
    static let writeFailure: String? = VectorFolder(directory: directory).rewriteIfAsked(by: "MEETKIT_WRITE_MEMBERSHIP_VECTORS") {
        try MembershipVectors.all().map { ($0.directory, $0.name, try $0.json()) }
    }

    /// The files of `yay` or `nay`, by name (without `.json`), sorted.
    static func files(in subdirectory: String) throws -> [(name: String, file: MembershipVectorFile)] {
        try VectorFolder(directory: directory).files(in: subdirectory, as: MembershipVectorFile.self).map { (String($0.name.dropLast(5)), $0.file) }
    }

    /// Records an issue for `verdict` unless it is `stated`; a known disagreement as a known issue.
    static func expect(_ verdict: MembershipVerdict, is stated: MembershipVerdict, _ name: String) {
        #expect(verdict == stated, "\(name)")
    }

    // MARK: Tests

    @Test func directoriesAreNotEmpty() throws {
        #expect(Self.writeFailure == nil)
        #expect(try Self.files(in: "yay").count >= 7)
        #expect(try Self.files(in: "nay").count >= 25)
    }

    @Test(arguments: ["yay", "nay"])
    func everyFileHasItsVerdict(_ subdirectory: String) throws {
        #expect(Self.writeFailure == nil)
        let files = try Self.files(in: subdirectory)
        try #require(!files.isEmpty)
        for (name, file) in files {
            let decoded = try file.decoded(name)
            #expect((file.reason == nil) == (subdirectory == "yay"), "\(name): a nay file states a reason, a yay file none")
            let stated: MembershipVerdict =
                if let reason = file.reason {
                    ["afterCut", "notAMember", "lamportTooFar", "membershipWithoutBody"].contains(reason)
                        ? .refused(reason) : .ineffective(reason)
                } else { .takesEffect }
            let (verdict, state) = MembershipCheck.judge(decoded.items, test: decoded.test)
            Self.expect(verdict, is: stated, name)
            let summary = MembershipState(state, items: decoded.items, names: decoded.names, labels: decoded.labels)
            #expect(summary == file.state, "\(name): state")
            // Every other entry is stored and takes effect: the entry under test is the point.
            let others = Set(state.ineffective.keys).subtracting([decoded.items[decoded.test].entry.id])
            #expect(others.isEmpty, "\(name): other entries took no effect: \(others.map { decoded.names[$0] ?? $0.hex })")
        }
    }

    @Test func everyReasonHasANayVector() throws {
        #expect(Self.writeFailure == nil)
        let reasons = Set(try Self.files(in: "nay").compactMap(\.file.reason))
        let refusals: Set = ["afterCut", "notAMember", "lamportTooFar", "membershipWithoutBody"]
        // Every reason GroupState gives, read from its source so that a new one needs a vector.
        let source = try String(contentsOf: Self.root.appendingPathComponent("Sources/MeetKitCore/GroupState.swift"), encoding: .utf8)
        let ineffective = Set(source.matches(of: #/(?:ignore\(entry, |return )"([^"\\]+)"/#).map { String($0.output.1) })
        #expect(ineffective.count >= 15, "the reasons are read from GroupState.swift")
        #expect(Set(Self.unreachableReasons.keys).isSubset(of: ineffective), "unreachable reasons that no longer exist")
        let expected = refusals.union(ineffective).subtracting(Self.unreachableReasons.keys)
        #expect(expected.subtracting(reasons).isEmpty, "no vector for \(expected.subtracting(reasons).sorted())")
        #expect(reasons.subtracting(expected).isEmpty, "unknown reasons \(reasons.subtracting(expected).sorted())")
    }

    /// The files are exactly what the generator writes: nothing hand-edited, nothing stale.
    @Test func filesMatchTheGenerator() throws {
        #expect(Self.writeFailure == nil)
        let generated = try MembershipVectors.all()
        for subdirectory in ["yay", "nay"] {
            let folder = Self.directory.appendingPathComponent(subdirectory)
            let onDisk = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") })
            let expected = Set(generated.filter { $0.directory == subdirectory }.map { "\($0.name).json" })
            #expect(onDisk == expected, "\(subdirectory): run with MEETKIT_WRITE_MEMBERSHIP_VECTORS=1 to regenerate")
        }
        for vector in generated {
            let url = Self.directory.appendingPathComponent("\(vector.directory)/\(vector.name).json")
            let matches = (try? String(contentsOf: url, encoding: .utf8)) == (try vector.json())
            #expect(matches, "\(vector.directory)/\(vector.name).json differs from the generator")
        }
    }

    /// The generated cases, checked in memory: the verdict the rules give, and for `yay` the
    /// effect the generator states.
    @Test func generatedCasesHaveTheirVerdict() throws {
        let vectors = try MembershipVectors.all()
        #expect(Set(vectors.map(\.name)).count == vectors.count, "names are unique")
        for vector in vectors {
            #expect(Set(vector.log.map(\.name)).count == vector.log.count, "\(vector.name): entry names are unique")
            let (verdict, _) = MembershipCheck.judge(try vector.items(), test: vector.testIndex)
            Self.expect(verdict, is: vector.verdict, vector.name)
            if let effect = vector.effect {
                let state = try vector.state()
                #expect(effect(state), "\(vector.name): effect, in \(state)")
            }
        }
    }
}

// MARK: - File format

struct MembershipVectorFile: Decodable {
    struct Item: Decodable {
        var name: String
        var entry: String
        var body: String?
    }

    var description: String
    var group: String
    var people: [String: String]
    var contentKeys: [String: String]
    var log: [Item]
    var test: String
    var reason: String?
    var state: MembershipState

    /// The log decoded and checked as the README says: every entry valid, of the group, in log
    /// order, each feed chained; contents opened under the key of their epoch.
    func decoded(_ file: String) throws -> (items: [LogItem], test: Int, names: [EntryID: String], labels: [PublicKey: String]) {
        let group = try #require(Hex.decode(group).flatMap(GroupID.init(bytes:)), "\(file): group")
        var keys: [UInt32: SecretBytes] = [:]
        for (epoch, hex) in contentKeys {
            var bytes = try #require(Hex.decode(hex), "\(file): content key")
            keys[try #require(UInt32(epoch), "\(file): epoch \(epoch)")] = SecretBytes(consuming: &bytes)
        }
        var labels: [PublicKey: String] = [:]
        for (label, hex) in people {
            labels[try PublicKey(bytes: try #require(Hex.decode(hex), "\(file): \(label)"))] = label
        }
        var items: [LogItem] = []
        var names: [EntryID: String] = [:]
        var heads: [PublicKey: FeedHead] = [:]
        for item in log {
            let wire = try #require(Hex.decode(item.entry), "\(file): \(item.name)")
            let body = try item.body.map { try #require(Hex.decode($0), "\(file): \(item.name) body") }
            let entry = try Entry(wire: wire, body: body)
            try entry.validateLink(after: heads[entry.header.author], in: group)
            heads[entry.header.author] = entry.head
            if let last = items.last { #expect(last.entry.position < entry.position, "\(file): \(item.name) is out of log order") }
            #expect(labels[entry.header.author] != nil, "\(file): \(item.name) by someone not in people")
            #expect(names.updateValue(item.name, forKey: entry.id) == nil, "\(file): \(item.name) twice")
            items.append(LogItem(entry: entry, content: try MembershipCheck.content(of: entry, keys: keys)))
        }
        #expect(Set(log.map(\.name)).count == log.count, "\(file): entry names are unique")
        let test = try #require(log.firstIndex { $0.name == self.test }, "\(file): no entry \(self.test)")
        return (items, test, names, labels)
    }
}
