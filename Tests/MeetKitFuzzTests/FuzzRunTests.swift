import Foundation
import MeetKitFuzzTargets
import MeetKitTestSupport
import Testing

/// A libFuzzer run of every target inside `swift test`, so that CI fuzzes every change: a few
/// seconds a target (five minutes with MEETKIT_LONG=1), after building the sanitizer binary in
/// `.build-fuzz/sanitizer` (about a minute cold). Any crash fails the test and is saved under
/// `Tests/Fuzz/crashes/`.
@Suite struct FuzzRunTests {
    @Test(
        .enabled(if: FuzzRun.toolchainHasLibFuzzer, "this Swift toolchain has no libFuzzer (libclang_rt.fuzzer), so nothing can be fuzzed"),
        .timeLimit(.minutes(Figures.sized(ci: 10, long: 45))))
    func everyTargetRunsWithoutACrash() throws {
        let seconds = Figures.sized(ci: 10, long: 300)
        let (status, output) = try FuzzRun.script(["--seconds", String(seconds)])
        for target in FuzzTarget.allCases {
            let line = output.split(separator: "\n").first { $0.hasPrefix("fuzz: \(target.rawValue) inputs ") }
            let fields = line?.split(separator: " ") ?? []
            guard fields.count == 8, let inputs = Int(fields[3]), let crashes = Int(fields[5]), let coverage = Int(fields[7]) else {
                Issue.record("no result for \(target) in:\n\(output)")
                continue
            }
            Figures.record("fuzz", "\(target) inputs, code edges reached", "\(inputs), \(coverage)")
            Figures.record("fuzz", "\(target) crashes", crashes)
            #expect(inputs > 0, "\(target) ran no input")
            // Without coverage feedback libFuzzer only mutates blindly (as it once did here).
            #expect(coverage > 100, "\(target) reached only \(coverage) code edges")
            #expect(crashes == 0, "\(target) crashed: see Tests/Fuzz/crashes/\(target)/")
        }
        #expect(status == 0, "fuzz.sh failed:\n\(output)")
    }
}

enum FuzzRun {
    static let scriptFile = FuzzFiles.directory.appendingPathComponent("fuzz.sh")

    /// True when the `swift` on PATH ships libFuzzer's runtime (lib/clang/VERSION/lib/OS/).
    static var toolchainHasLibFuzzer: Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let files = FileManager.default
        for directory in path.split(separator: ":") {
            let swift = URL(fileURLWithPath: String(directory)).appendingPathComponent("swift")
            guard files.isExecutableFile(atPath: swift.path) else { continue }
            let clang = swift.resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("lib/clang")
            let runtimes = ((try? files.contentsOfDirectory(atPath: clang.path)) ?? []).flatMap { version in
                let lib = clang.appendingPathComponent(version).appendingPathComponent("lib")
                return ((try? files.contentsOfDirectory(atPath: lib.path)) ?? []).flatMap { os in
                    (try? files.contentsOfDirectory(atPath: lib.appendingPathComponent(os).path)) ?? []
                }
            }
            return runtimes.contains { $0.hasPrefix("libclang_rt.fuzzer-") }
        }
        return false
    }

    /// Runs fuzz.sh with `arguments`; its exit status and what it printed, both streams.
    static func script(_ arguments: [String]) throws -> (Int32, String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("meetkit-fuzz-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [scriptFile.path] + arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOf: log, encoding: .utf8))
    }
}
