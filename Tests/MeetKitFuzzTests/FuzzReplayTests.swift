import Foundation
import MeetKitFuzzTargets
import Testing

/// Every saved fuzz input, replayed through its harness as an ordinary test: the seed corpus
/// must run without a trap, and each saved crash (fixed since) must now be refused with an
/// error, unless the fix made it a valid input (`FuzzFiles.validAfterFix`).
@Suite struct FuzzReplayTests {
    @Test(arguments: FuzzTarget.allCases)
    func corpusRuns(_ target: FuzzTarget) throws {
        let inputs = try FuzzFiles.inputs(in: "corpus", target)
        #expect(!inputs.isEmpty, "no seed corpus for \(target)")
        for (_, bytes) in inputs { _ = target.run(bytes) }
    }

    @Test(arguments: FuzzTarget.allCases)
    func crashesAreRefused(_ target: FuzzTarget) throws {
        for (name, bytes) in try FuzzFiles.inputs(in: "crashes", target) {
            let outcome = target.run(bytes)
            let path = "\(target)/\(name)"
            #expect(!outcome.isAccepted || FuzzFiles.validAfterFix[path] != nil, "crashes/\(path) is accepted")
        }
    }

    /// The seeds reach the end of each harness: at least one of them is accepted, so the fuzzer
    /// starts past the MACs and signatures rather than in front of them.
    @Test(arguments: FuzzTarget.allCases)
    func someSeedIsAccepted(_ target: FuzzTarget) {
        #expect(target.seeds().contains { target.run($0.bytes).isAccepted })
    }

    /// The committed corpus is what the seed generator writes (`meetkit-fuzz seeds`).
    @Test(arguments: FuzzTarget.allCases)
    func corpusHoldsTheSeeds(_ target: FuzzTarget) throws {
        let saved = Dictionary(uniqueKeysWithValues: try FuzzFiles.inputs(in: "corpus", target))
        for seed in target.seeds() {
            #expect(saved[seed.name] == seed.bytes, "corpus/\(target)/\(seed.name) differs from its seed: run meetkit-fuzz seeds Tests/Fuzz/corpus")
        }
    }
}

/// The saved inputs under Tests/Fuzz.
enum FuzzFiles {
    /// Saved crashes whose inputs are valid: the fix made them run, not fail. Each names its
    /// fix and the test that reproduces it.
    static let validAfterFix = [
        "entry/share-timestamp-overflow":
            "GroupState.dropReason: timestamp + retention overflowed (FuzzFindingsTests.shareTimestampedAtTheEndOfTimeNeverExpires)",
    ]

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz")

    /// The inputs in `Tests/Fuzz/<kind>/<target>/`, by file name; README and .gitkeep are not inputs.
    static func inputs(in kind: String, _ target: FuzzTarget) throws -> [(String, [UInt8])] {
        let folder = directory.appendingPathComponent(kind).appendingPathComponent(target.rawValue)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { !$0.hasPrefix(".") && $0 != "README.md" }
            .sorted()
        return try names.map { ($0, Array(try Data(contentsOf: folder.appendingPathComponent($0)))) }
    }
}
