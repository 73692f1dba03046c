import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitStore
import Testing

/// A thief with the data directory learns no names, no content, no keys and no ids
/// (threat model: "a thief with a lost device"; Protocol/storage.md §Database).
@Suite struct AtRestTests {
    @Test func nothingReadableInAnyFileWhileOpenOrAfterClose() throws {
        let home = try TemporaryHome()
        let pseudonym = "Zebediah"
        let groupName = "Tuesday Circle Unique"
        let topic = "Quokka Gratitude Topic"
        let texts = [
            "I finally called my sister about the lighthouse marmalade",
            "Ninety days without the blue armchair habit",
            String(repeating: "long-share-filler-Xylophone ", count: 400),  // spans overflow pages
        ]
        let note = "Narwhal accountability note"

        var needles: [(String, [UInt8])] = [
            ("pseudonym", Array(pseudonym.utf8)),
            ("group name", Array(groupName.utf8)),
            ("topic", Array(topic.utf8)),
            ("note", Array(note.utf8)),
            ("passphrase", Array(Fixture.passphraseText.utf8)),
        ]
        for (n, text) in texts.enumerated() {
            needles.append(("share \(n)", Array(text.utf8)))
            // A distinctive slice as well, in case a text were stored split across pages.
            needles.append(("share \(n) slice", Array(text.utf8.prefix(24))))
        }

        let group: GroupID
        do {
            let store = try Store.create(
                at: home.directory, passphrase: Fixture.passphrase(), pseudonym: pseudonym, cost: Fixture.cost)
            group = try store.createGroup(name: groupName, at: Date())
            let meeting = try store.append(.meetingOpen(topic: topic), to: group, at: Date())
            var ids = [meeting.id]
            for text in texts {
                ids.append(try store.append(.share(Share(text: text, meeting: meeting.id)), to: group, at: Date()).id)
            }
            let checkIn = CheckIn(mood: 2, note: note, milestoneDays: 90, meeting: meeting.id)
            ids.append(try store.append(.checkIn(checkIn), to: group, at: Date()).id)

            needles += [
                ("member key", store.memberID.bytes),
                ("member key hex", Array(store.memberID.hex.utf8)),
                ("member key HEX", Array(store.memberID.hex.uppercased().utf8)),
                ("fingerprint", Array(store.memberID.fingerprint.utf8)),
                ("identity seed", store.identity.seed.exposedCopy()),
                ("group id", group.bytes),
                ("group id hex", Array(group.hex.utf8)),
                ("group id HEX", Array(group.hex.uppercased().utf8)),
            ]
            for id in ids { needles.append(("entry id \(id.short)", id.bytes)) }

            // While the store is open, the latest writes sit in the WAL.
            let wal = home.directory.database + "-wal"
            #expect((Bytes.fileSize(wal) ?? 0) > 0, "the WAL should hold the recent writes while the store is open")
            let whileOpen = try Self.scan(home, for: needles)
            #expect(whileOpen.files.contains("log.sqlite-wal"))
            #expect(whileOpen.files.contains("log.sqlite-shm"))
            #expect(whileOpen.hits.isEmpty, "plaintext found while open: \(whileOpen.hits)")
        }

        let afterClose = try Self.scan(home, for: needles)
        #expect(afterClose.files.contains("log.sqlite"))
        #expect(afterClose.files.contains("keystore"))
        #expect(afterClose.hits.isEmpty, "plaintext found after close: \(afterClose.hits)")

        // The scan would have found them: the store does hold this content.
        let reopened = try Fixture.open(home)
        let shared = reopened.log(of: group).compactMap { item -> String? in
            if case .share(let share)? = item.content { return share.text } else { return nil }
        }
        #expect(shared == texts)
    }

    /// Every regular file under the data directory, and which needles each contains.
    static func scan(_ home: TemporaryHome, for needles: [(String, [UInt8])]) throws -> (files: [String], hits: [String]) {
        var files: [String] = []
        var hits: [String] = []
        let enumerator = try #require(FileManager.default.enumerator(atPath: home.path))
        while let relative = enumerator.nextObject() as? String {
            let path = home.file(relative)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            files.append(relative)
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            for (label, needle) in needles where Bytes.contains(data, needle) {
                hits.append("\(label) in \(relative)")
            }
        }
        return (files, hits)
    }
}
