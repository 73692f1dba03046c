import MeetKitCore
import MeetKitCrypto
import MeetKitProtocol

/// Bundle files. The first byte picks the mode:
///
/// - bit 0 clear: the rest is a bundle file, opened with two groups' keys: refused unless the
///   fuzzer forges the AEAD.
/// - bit 0 set: the rest is the plaintext (group id ‖ entries), sealed by the harness as
///   `BundleFile.seal` would, so that `open` parses it; its entries are then verified. A
///   plaintext that parses must be the one encoding of what it holds.
///
/// Refused: `open` threw, or an entry in it does not verify.
enum BundleTarget {
    private static let magic = BundleFile.magic
    private static let key = BLAKE2b.deriveSecret(from: Fixed.networkKey, context: "meetkit-bundle-key-v1")
    private static let keys: [(group: GroupID, key: SecretBytes)] = [(Fixed.otherGroup, Fixed.contentKey), (Fixed.genesis.group, Fixed.networkKey)]

    static func run(_ input: [UInt8]) -> FuzzOutcome {
        var script = FuzzInput(input)
        let flags = script.byte()
        let rest = script.rest()
        let file = flags & 1 == 0 ? rest : sealed(rest)
        do {
            let (group, raw) = try BundleFile.open(file, keys: keys)
            if flags & 1 != 0 {
                let canonical = group.bytes + WireMessage.entries(raw).encoded().dropFirst()
                precondition(canonical == rest, "a bundle's plaintext is not the encoding of what it holds")
            }
            for entry in raw { _ = try Entry(wire: entry.wire, body: entry.body) }
        } catch {
            return .refused(error)
        }
        return .accepted
    }

    static func seeds() -> [(name: String, bytes: [UInt8])] {
        let group = Fixed.genesis.group
        let share = Fixed.authored(.share(Share(text: "hi")), group: group, after: Fixed.genesis.head, lamport: 2)
        let entries = [Fixed.genesis, share]
        let plaintext = { (list: [Entry]) in group.bytes + WireMessage.entries(list.map(RawEntry.init)).encoded().dropFirst() }
        return [
            ("file", [0] + BundleFile.seal(entries, group: group, networkKey: Fixed.networkKey, nonce: Fixed.nonce)),
            ("file-empty", [0] + BundleFile.seal([], group: group, networkKey: Fixed.networkKey, nonce: Fixed.nonce)),
            ("file-other-group", [0] + BundleFile.seal(entries, group: group, networkKey: Fixed.boxKey, nonce: Fixed.nonce)),
            ("not-a-bundle", [0] + Array("MKB2".utf8) + [UInt8](repeating: 0, count: 40)),
            ("plaintext", [1] + plaintext(entries)),
            ("plaintext-empty", [1] + plaintext([])),
            ("plaintext-without-body", [1] + group.bytes + WireMessage.entries([RawEntry(share.droppingBody())]).encoded().dropFirst()),
            ("plaintext-wrong-group", [1] + Fixed.otherGroup.bytes + [0, 0, 0, 0]),
        ]
    }

    /// `plaintext` sealed as a bundle of the fixed group.
    private static func sealed(_ plaintext: [UInt8]) -> [UInt8] {
        magic + Fixed.nonce + AEAD.seal(plaintext, associatedData: magic, nonce: Fixed.nonce, key: key)
    }
}
