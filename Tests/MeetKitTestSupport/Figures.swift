import Foundation

/// The figures that the fault and attack tests measure (issue 7), gathered into one table by
/// `Tests/figures.sh`.
///
/// A test runs CI-sized by default. With `MEETKIT_LONG=1` in its environment it runs the long
/// version, which `Tests/figures.sh --long` does.
public enum Figures {
    /// Whether the long versions were asked for.
    public static var isLong: Bool { ProcessInfo.processInfo.environment["MEETKIT_LONG"] == "1" }

    /// `ci` normally, `long` in a long run.
    public static func sized<T>(ci: T, long: T) -> T { isLong ? long : ci }

    /// Records one figure: printed for whoever watches the test, and appended to the figures
    /// file, where the newest value of each (area, measure) is what the table shows.
    public static func record(_ area: String, _ measure: String, _ value: String) {
        let row = [area, measure, value, isLong ? "long" : "ci"]
            .map { $0.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ") }
            .joined(separator: "\t") + "\n"
        print("figure: \(area) | \(measure) | \(value)")
        guard let file = file else { return }
        let descriptor = open(file.path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        _ = Array(row.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }

    public static func record(_ area: String, _ measure: String, _ value: some BinaryInteger) {
        record(area, measure, String(value))
    }

    /// `MEETKIT_FIGURES` if set, otherwise `figures.tsv` in the build directory that holds the
    /// running test executable (`.build/`, or the scratch path it was built in).
    static var file: URL? {
        if let path = ProcessInfo.processInfo.environment["MEETKIT_FIGURES"] { return URL(fileURLWithPath: path) }
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        while directory.path != "/" {
            if directory.lastPathComponent.hasPrefix(".build") { return directory.appendingPathComponent("figures.tsv") }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }
}
