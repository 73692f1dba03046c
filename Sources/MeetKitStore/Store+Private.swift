import Foundation
import MeetKitCore
import MeetKitCrypto

/// Private check-ins (Protocol/entries.md §Private check-ins): readable by the members named and
/// by the author; every other member stores and forwards them without being able to read them.
extension Store {
    /// Writes `checkIn` so that only `readers` and this member can read it.
    @discardableResult
    public func appendPrivateCheckIn(_ checkIn: CheckIn, readers: [PublicKey], to group: GroupID, at time: Date) throws -> Entry {
        let state = self.state(of: group)
        for reader in readers where !state.isMember(reader) {
            throw StoreError(.unknownMember, "\(reader.fingerprint) is not a member of this group.")
        }
        var plain: [UInt8]
        do { plain = try EntryContent.checkIn(checkIn).encoded() } catch {
            throw StoreError(.invalidContent, "Nothing was written: \(error.explanation).")
        }
        defer { SecretBytes.wipe(&plain) }
        let messageKey = SecretBytes(randomCount: AEAD.keyLength)
        let nonce = SecureRandom.bytes(AEAD.nonceLength)
        // Bound to this member and the place the entry will take in their feed.
        let sequence = (logs[group]?.heads[memberID]?.sequence ?? 0) + 1
        let associatedData = PrivateCheckIn.associatedData(group: group, author: memberID, sequence: sequence)
        let ciphertext = nonce + AEAD.seal(plain, associatedData: associatedData, nonce: nonce, key: messageKey)
        var key = messageKey.exposedCopy()
        defer { SecretBytes.wipe(&key) }
        var sealed: [Rekey.Sealed] = []
        for reader in Set(readers + [memberID]).sorted() {
            do {
                sealed.append(Rekey.Sealed(recipient: reader, box: try SealedBox.seal(key, to: reader.curve25519())))
            } catch {
                throw StoreError(.invalidEntry, "\(reader.fingerprint)'s key cannot receive sealed messages.")
            }
        }
        let content = PrivateCheckIn(readers: sealed, ciphertext: ciphertext, meeting: checkIn.meeting)
        return try append(.privateCheckIn(content), to: group, at: time)
    }

    /// The check-in inside `privateCheckIn`, carried by the entry `header` heads, if this member
    /// is one of its readers and it was written by that entry's author.
    public func open(_ privateCheckIn: PrivateCheckIn, in header: EntryHeader) -> CheckIn? {
        guard let box = privateCheckIn.readers.first(where: { $0.recipient == memberID })?.box,
            let publicKey = try? memberID.curve25519(),
            var key = SealedBox.open(box, publicKey: publicKey, secretKey: identity.curve25519SecretKey()), key.count == AEAD.keyLength
        else { return nil }
        return privateCheckIn.open(messageKey: SecretBytes(consuming: &key), header: header)
    }
}
