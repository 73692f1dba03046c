import MeetKitCore
import MeetKitCrypto
import Testing

@testable import MeetKitProtocol

/// The bundle file format (Protocol/bundles.md): only the group's key opens it, and any
/// truncation or change is refused as a whole.
@Suite("Bundle files")
struct BundleFileTests {
    static let networkKey = Support.secret(repeating: 3)
    static let group = GroupID(bytes: [UInt8](repeating: 9, count: 32))!

    static func bundle(count: Int = 3) throws -> (bytes: [UInt8], entries: [Entry]) {
        let author = Support.signingKey(4)
        var entries: [Entry] = []
        for n in 0..<count {
            entries.append(try Entry.create(
                content: .share(Share(text: "entry \(n)")), group: group, after: entries.last?.head, lamport: UInt64(n + 1),
                timestamp: 0, epoch: 0, author: author, contentKey: Support.secret(repeating: 5), nonce: SecureRandom.bytes(24)))
        }
        return (BundleFile.seal(entries, group: group, networkKey: networkKey, nonce: SecureRandom.bytes(24)), entries)
    }

    @Test func itOpensUnderTheGroupsKeyToTheSameEntries() throws {
        let (bytes, entries) = try Self.bundle()
        let other = (GroupID(bytes: [UInt8](repeating: 1, count: 32))!, Support.secret(repeating: 8))
        let opened = try BundleFile.open(bytes, keys: [other, (Self.group, Self.networkKey)])
        #expect(opened.group == Self.group)
        #expect(opened.entries == entries.map(RawEntry.init))
        // Nothing of the entries is readable in the file.
        for entry in entries { #expect(!bytes.contains(subsequence: entry.header.author.bytes.prefix(16))) }
    }

    @Test func everyTruncationIsRefused() throws {
        let (bytes, _) = try Self.bundle()
        for length in 0..<bytes.count {
            #expect(throws: BundleFile.Failure.self) { try BundleFile.open(Array(bytes.prefix(length)), keys: [(Self.group, Self.networkKey)]) }
        }
    }

    @Test func everyChangedByteIsRefused() throws {
        let (bytes, _) = try Self.bundle(count: 1)
        for index in bytes.indices {
            var changed = bytes
            changed[index] ^= 0x40
            #expect(throws: BundleFile.Failure.self) { try BundleFile.open(changed, keys: [(Self.group, Self.networkKey)]) }
        }
    }

    @Test func anotherGroupsBundleAndAnythingElseAreNamedAsSuch() throws {
        let (bytes, _) = try Self.bundle()
        #expect(throws: BundleFile.Failure.notForYou) { try BundleFile.open(bytes, keys: [(Self.group, Support.secret(repeating: 6))]) }
        #expect(throws: BundleFile.Failure.notABundle) { try BundleFile.open(Array("hello, world".utf8), keys: [(Self.group, Self.networkKey)]) }
    }
}

extension Array where Element == UInt8 {
    fileprivate func contains(subsequence: ArraySlice<UInt8>) -> Bool {
        guard count >= subsequence.count else { return false }
        return (0...(count - subsequence.count)).contains { self[$0..<$0 + subsequence.count].elementsEqual(subsequence) }
    }
}
