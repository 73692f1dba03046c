import Foundation

/// The package's built executables, for tests that run them as child processes.
public enum BuiltProducts {
    /// The built executable `name`: found in the first ancestor directory of this test
    /// executable that holds it (`.build/debug/` for `swift test`).
    public static func executable(_ name: String) throws -> URL {
        let starts = [
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")).map(URL.init(fileURLWithPath:)),
            URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL,
        ].compactMap { $0 }
        for start in starts {
            var directory = start.deletingLastPathComponent()
            while directory.path != "/" {
                let candidate = directory.appendingPathComponent(name)
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                   FileManager.default.isExecutableFile(atPath: candidate.path) {
                    return candidate
                }
                directory = directory.deletingLastPathComponent()
            }
        }
        throw Missing(name: name)
    }

    public struct Missing: Error, CustomStringConvertible {
        public let name: String
        public var description: String { "\(name) was not found next to the test executable; run 'swift build' first." }
    }
}
