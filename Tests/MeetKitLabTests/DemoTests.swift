import Foundation
import MeetKitTestSupport
import Testing

/// Examples/meeting.sh, the README's first command, run with the built meetkit: four members
/// on four lab hosts find each other by DNS-SD, meet, and one catches up by bundle.
@Suite("The demo", .enabled(if: Lab.isSupported), .timeLimit(Lab.timeLimit))
struct DemoTests {
    @Test func theMeetingDemoRunsToTheEnd() throws {
        let script = Lab.repository.appendingPathComponent("Examples/meeting.sh")
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("meetkit-demo-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: output) }
        #expect(FileManager.default.createFile(atPath: output.path, contents: nil))
        let log = try FileHandle(forWritingTo: output)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path]
        var environment = ProcessInfo.processInfo.environment
        environment["MEETKIT"] = try BuiltProducts.executable("meetkit").path
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try process.run()
        process.waitUntilExit()
        try log.close()
        let text = try String(contentsOf: output, encoding: .utf8)
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("Joined Tuesday Circle"), "\(text)")
        #expect(text.contains("Checked in privately, for Ana"))
        #expect(text.contains("Cy checked in privately (for Ana)"))
        #expect(text.contains("Imported 6 new entries into Tuesday Circle"))
        #expect(text.contains("0 of 6 names and texts readable (expected 0)."))
        #expect(!text.contains("Cravings at night again.\n      "), "Ben's log shows what Cy said to Ana")
    }
}
