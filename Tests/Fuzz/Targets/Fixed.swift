import MeetKitCore
import MeetKitCrypto
import MeetKitProtocol

/// The keys every harness uses. Fixed, so that a saved input means the same thing on every run
/// and the fuzzer can reach what lies behind a MAC or a signature by replaying what it saw.
enum Fixed {
    static let networkKey = secret(0x01)
    static let boxKey = secret(0x02)
    static let boxNonce = [UInt8](repeating: 0x03, count: SecretBox.nonceLength)
    static let contentKey = secret(0x04)
    static let nonce = [UInt8](repeating: 0x05, count: AEAD.nonceLength)
    static let server = identity(0x06)
    static let client = identity(0x07)
    static let author = identity(0x08)
    static let serverSeed = [UInt8](repeating: 0x09, count: SecretHandshake.ephemeralSeedLength)
    static let clientSeed = [UInt8](repeating: 0x0a, count: SecretHandshake.ephemeralSeedLength)
    /// A group whose key the bundle harness tries first, so that a key that fails is passed over.
    static let otherGroup = GroupID(id(0x0b))
    /// The cast of the membership harness: member 0 founds its group, the others are admitted
    /// (or not) as the script says.
    static let members = (0..<6).map { identity(0x40 + UInt8($0)) }
    /// Invite secrets the membership harness invites with and proves admissions by.
    static let inviteSecrets = (0..<4).map { fill in
        var bytes = [UInt8](repeating: 0x50 + UInt8(fill), count: InviteCode.secretLength)
        return SecretBytes(consuming: &bytes)
    }

    /// The genesis of the group the entry and bundle harnesses use, written by `author`.
    static let genesis = authored(.genesis(name: "Fuzz"), group: nil, after: nil, lamport: 1)

    /// An entry of `author` with `content`, as the node would write it.
    static func authored(_ content: EntryContent, group: GroupID?, after head: FeedHead?, lamport: UInt64) -> Entry {
        do {
            return try Entry.create(
                content: content, group: group, after: head, lamport: lamport, timestamp: 1_700_000_000_000,
                epoch: 0, author: author, contentKey: contentKey, nonce: nonce)
        } catch {
            preconditionFailure("a fixed entry did not encode: \(error)")
        }
    }

    private static func secret(_ fill: UInt8) -> SecretBytes {
        var bytes = [UInt8](repeating: fill, count: 32)
        return SecretBytes(consuming: &bytes)
    }

    /// A made-up entry id, for links and references.
    static func id(_ fill: UInt8) -> EntryID {
        guard let id = EntryID(bytes: [UInt8](repeating: fill, count: EntryID.length)) else { preconditionFailure("32 bytes make an id") }
        return id
    }

    private static func identity(_ fill: UInt8) -> SigningKey {
        guard let key = try? SigningKey(seed: secret(fill)) else { preconditionFailure("a 32-byte seed makes a key") }
        return key
    }
}
