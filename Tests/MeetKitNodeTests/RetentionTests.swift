import Foundation
import MeetKitCore
import MeetKitCrypto
@testable import MeetKitStore
import GRDB
import MeetKitTestSupport
import Testing

/// Expiry and redaction with running nodes (Protocol/retention.md): the bodies are gone from
/// every member's files, the signed headers stay, and `verify` still passes.
@Suite(.serialized) struct RetentionTests {
    @Test func expiredAndRedactedBodiesLeaveEveryNodesFilesAndTheLogStillVerifies() throws {
        try withCluster { cluster in
            let (ana, ben, anaNode) = try cluster.anaFoundsAndBenJoins()
            var benNode = try ben.run(peers: [anaNode.port])
            try ana.succeed(["share", "Gone soon.", "--expires", "4s"])
            try ana.succeed(["share", "Kept."])
            try ben.succeed(["share", "Ben will take this back."])
            let synced = try eventually(timeout: .seconds(10)) {
                try ana.shareTexts().contains("Ben will take this back.") && ben.shareTexts().contains("Gone soon.")
            }
            #expect(synced)

            // With the nodes stopped, read the two bodies' ciphertext from the stores, and check
            // that a search of the files finds it (so that finding nothing later means something).
            #expect(anaNode.process.stop() && benNode.process.stop())
            var samples: [String: [(String, [UInt8])]] = [:]
            for member in [ana, ben] {
                samples[member.name] = try Self.ciphertextSamples(of: ["Gone soon.", "Ben will take this back."], in: member, cluster)
                for (text, sample) in samples[member.name] ?? [] {
                    #expect(try Self.filesContain(sample, in: member.home), "\(text): not found in \(member.name)'s files")
                }
            }

            // After the expiry, the nodes start again and drop the expired share's body; Ben
            // redacts his share, and Ana's node drops it as the redaction arrives.
            Thread.sleep(forTimeInterval: 4.5)
            let anaAgain = try ana.run()
            benNode = try ben.run(peers: [anaAgain.port])
            let benShare = try #require(try ben.succeed(["log", "--json"]).array().first { $0["text"] as? String == "Ben will take this back." })
            let redacted = try ben.succeed(["redact", try #require(benShare["id"] as? String)])
            #expect(redacted.stdout.contains("Redacted entry"), "\(redacted)")
            let dropped = try eventually(timeout: .seconds(10)) {
                try ana.succeed(["log", "--json"]).array().filter { $0["dropped"] as? String != nil }.count == 2
            }
            #expect(dropped, "Ana's node did not drop both bodies")
            #expect(anaAgain.process.stop() && benNode.process.stop())

            for member in [ana, ben] {
                for (text, sample) in samples[member.name] ?? [] {
                    #expect(try !Self.filesContain(sample, in: member.home), "\(text): still in \(member.name)'s files")
                }
                let verify = try member.succeed(["verify"])
                #expect(verify.stdout.contains("Verified"), "\(verify)")
                let log = try member.succeed(["log"]).stdout
                #expect(log.contains("Ana: share (expired; its text is no longer kept)"), "\(log)")
                #expect(log.contains("share (redacted by its author)"), "\(log)")
                #expect(log.contains("Kept."), "\(log)")
                #expect(!log.contains("Gone soon.") && !log.contains("take this back"), "\(log)")
            }
        }
    }

    /// 32 bytes from the middle of each share's body (nonce ‖ ciphertext), read from `member`'s
    /// store with its passphrase.
    /// Bytes of each text's body as `member`'s files hold it: sealed again under the store key.
    static func ciphertextSamples(of texts: [String], in member: Member, _ cluster: Cluster) throws -> [(String, [UInt8])] {
        var passphrase = Array(cluster.passphrase.utf8)
        let store = try Store.open(at: DataDirectory(path: member.home), passphrase: SecretBytes(consuming: &passphrase))
        let group = try store.resolveGroup(nil)
        let items = store.log(of: group)
        return try texts.map { text in
            let item = try #require(items.first { if case .share(let share)? = $0.content { share.text == text } else { false } })
            let feed = store.atRest.feedTag(group: group, author: item.entry.header.author)
            let sealed = try store.read { db in
                try Data.fetchOne(db, sql: "SELECT body FROM entries WHERE feed = ? AND sequence = ?", arguments: [Data(feed), Int64(item.entry.header.sequence)])
            }
            let body = [UInt8](try #require(sealed))
            return (text, Array(body[24..<56]))
        }
    }

    /// Whether any file in `directory` holds `bytes`.
    static func filesContain(_ bytes: [UInt8], in directory: String) throws -> Bool {
        let needle = Data(bytes)
        return try FileManager.default.contentsOfDirectory(atPath: directory).contains { name in
            let path = directory + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                let data = FileManager.default.contents(atPath: path)
            else { return false }
            return data.range(of: needle) != nil
        }
    }
}
