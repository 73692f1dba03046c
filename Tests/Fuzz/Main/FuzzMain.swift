import Foundation
import MeetKitFuzzTargets

#if MEETKIT_FUZZ
// Built by Tests/Fuzz/fuzz.sh with -sanitize=fuzzer: libFuzzer supplies `main` and calls this
// for every input, on the target named by MEETKIT_FUZZ_TARGET.

private let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["MEETKIT_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("MEETKIT_FUZZ_TARGET must be one of: \(FuzzTarget.names)\n".utf8))
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    _ = target.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
/// Without the sanitizers: replays saved inputs, and writes the seed corpus.
@main
enum MeetKitFuzz {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        switch (arguments.first, arguments.count) {
        case ("replay", 3...):
            guard let target = FuzzTarget(rawValue: arguments[1]) else { fail("unknown target '\(arguments[1])'") }
            for path in arguments.dropFirst(2) {
                guard let input = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
                print("\(path): \(target.run(Array(input)))")
            }
        case ("seeds", 2):
            let root = URL(fileURLWithPath: arguments[1])
            for target in FuzzTarget.allCases {
                let directory = root.appendingPathComponent(target.rawValue)
                do {
                    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                    for seed in target.seeds() { try Data(seed.bytes).write(to: directory.appendingPathComponent(seed.name)) }
                } catch {
                    fail("cannot write \(directory.path): \(error)")
                }
            }
        default:
            fail("usage: meetkit-fuzz replay TARGET FILE... | meetkit-fuzz seeds DIRECTORY\ntargets: \(FuzzTarget.names)")
        }
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(2)
    }
}
#endif

extension FuzzTarget {
    static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
