import Foundation
import Testing

/// `meetkit verify` also reports files in the data directory that are not MeetKit's.
@Suite struct VerifyTests {
    @Test func orphanedFilesAreNamedAndLeftAlone() throws {
        try withSession { s in
            try s.setUpGroup()
            let clean = try s.succeed(["verify", "--json"]).stdout
            #expect(clean.contains("\"orphanedFiles\" : [\n\n  ]") || clean.contains("\"orphanedFiles\" : []"), "\(clean)")
            for name in ["keystore.tmp", "notes.txt"] {
                #expect(FileManager.default.createFile(atPath: s.home + "/" + name, contents: Data("x".utf8)))
            }
            let text = try s.succeed(["verify"]).stdout
            #expect(text.contains("Not MeetKit's, left alone: keystore.tmp, notes.txt"), "\(text)")
            #expect(FileManager.default.fileExists(atPath: s.home + "/keystore.tmp"))
            let json = try s.succeed(["verify", "--json"]).stdout
            #expect(json.contains("keystore.tmp") && json.contains("notes.txt"), "\(json)")
        }
    }
}
