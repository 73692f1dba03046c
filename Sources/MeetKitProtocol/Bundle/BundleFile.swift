import MeetKitCore
import MeetKitCrypto

/// A bundle: entries carried between nodes in a file, on a USB stick say (Protocol/bundles.md).
///
/// ```
/// "MKB1" (4) ‖ nonce (24) ‖ XChaCha20-Poly1305(bundle key, nonce, AD = "MKB1",
///                                              group id (32) ‖ entries as in an entries message)
/// bundle key = BLAKE2b-256(key = the group's network key, "meetkit-bundle-key-v1")
/// ```
///
/// A stranger learns only that it is a MeetKit bundle, and about how much it holds; the group
/// is found by the key that opens it. Any truncation or change fails the AEAD as a whole.
public enum BundleFile {
    public static let magic = Array("MKB1".utf8)
    static let overhead = magic.count + AEAD.nonceLength + AEAD.tagLength

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notABundle
        case notForYou
        case malformed

        public var description: String {
            switch self {
            case .notABundle: "it is not a MeetKit bundle"
            case .notForYou: "it opens under none of your groups' keys: it is for another group, damaged or truncated, or made after a re-key you have not received"
            case .malformed: "its contents are malformed"
            }
        }
    }

    /// The bundle of `entries` of `group`, sealed under `networkKey` with `nonce` (24 fresh
    /// random bytes).
    public static func seal(_ entries: [Entry], group: GroupID, networkKey: SecretBytes, nonce: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.write(group.bytes)
        RawEntry.write(entries.map(RawEntry.init), to: &w)
        return magic + nonce + AEAD.seal(w.bytes, associatedData: magic, nonce: nonce, key: key(networkKey))
    }

    /// The group and entries of `bytes`, opened with whichever of `keys` opens it. The entries
    /// are not verified yet: `Entry(wire:body:)` does that, as for entries from the network.
    public static func open(
        _ bytes: [UInt8], keys: [(group: GroupID, key: SecretBytes)]
    ) throws(Failure) -> (group: GroupID, entries: [RawEntry]) {
        guard bytes.count >= overhead, Array(bytes.prefix(magic.count)) == magic else { throw .notABundle }
        let nonce = Array(bytes[magic.count..<magic.count + AEAD.nonceLength])
        let sealed = Array(bytes[(magic.count + AEAD.nonceLength)...])
        for (group, networkKey) in keys {
            guard let plain = AEAD.open(sealed, associatedData: magic, nonce: nonce, key: key(networkKey)) else { continue }
            var r = ByteReader(plain)
            guard r.readBytes(32) == group.bytes, let entries = RawEntry.read(from: &r) else { throw .malformed }
            return (group, entries)
        }
        throw .notForYou
    }

    private static func key(_ networkKey: SecretBytes) -> SecretBytes {
        BLAKE2b.deriveSecret(from: networkKey, context: "meetkit-bundle-key-v1")
    }
}
