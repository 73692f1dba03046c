import ArgumentParser
import Foundation
import MeetKit
import MeetKitCore

struct ExportCommand: ParsableCommand, EngineCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the entries another member's node lacks to a bundle file (for a USB stick).",
        discussion: """
            The bundle is encrypted for the group (Protocol/bundles.md): a stranger who finds
            the stick learns nothing from it. Without --since it holds everything; with the
            vector the other member's 'meetkit status --vector' printed, only what they lack.
            They apply it with 'meetkit import FILE'.
            """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var selection: GroupOption

    @Argument(help: "The bundle file to write.")
    var file: String

    @Option(name: .long, help: "The other node's version vector (mkv1.…, from 'meetkit status --vector').")
    var since: String?

    func validate() throws {
        if let since, VersionVector(text: since) == nil {
            throw ValidationError("--since must be the mkv1.… text that 'meetkit status --vector' prints.")
        }
    }

    func request() throws -> Request {
        // The node's working directory may be another.
        .export(file: URL(fileURLWithPath: file).standardizedFileURL.path, since: since, group: selection.group)
    }

    func render(_ response: Response) throws -> String {
        let exported = try expect(response, \.exported)
        return "Wrote \(exported.entries) entries (\(Output.size(exported.bytes))) to \(file)."
    }
}

struct ImportCommand: ParsableCommand, EngineCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Apply a bundle file written by 'meetkit export' on another member's node.",
        discussion: """
            Every entry gets exactly the checks of a network sync; entries already held are
            skipped, so importing twice changes nothing. A damaged, truncated or foreign bundle
            is refused and nothing is stored.
            """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var output: JSONFlag

    @Argument(help: "The bundle file to read.")
    var file: String

    func request() throws -> Request { .importBundle(file: URL(fileURLWithPath: file).standardizedFileURL.path) }

    func render(_ response: Response) throws -> String {
        let imported = try expect(response, \.imported)
        if output.json { return try Output.jsonText(imported) }
        let held = imported.entries - imported.new - imported.refused
        var line = "Imported \(imported.new) new entries into \(imported.name.map(Output.safe) ?? "the group") "
            + "(\(held) of the \(imported.entries) were already here"
        line += imported.refused > 0 ? "; \(imported.refused) refused, and nothing else changed)." : ")."
        if imported.afterCut > 0 {
            line += " \(imported.afterCut) of them were written after their author's feed was cut (a removal or a fork)."
        }
        // One sentence each; the entries' contents are never printed.
        return ([line] + imported.reasons).joined(separator: "\n")
    }
}

/// Writes a file (a backup) so that a crash leaves the old file or the whole new one, showing
/// progress on a terminal for large ones.
enum AtomicFile {
    static func write(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".partial"
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: temporary)
        else { throw CLIError("Cannot write \(path).") }
        do {
            let progress = Progress(label: "Writing", total: bytes.count, threshold: 4 << 20)
            let chunk = 1 << 20
            for start in stride(from: 0, to: bytes.count, by: chunk) {
                try handle.write(contentsOf: bytes[start..<min(start + chunk, bytes.count)])
                progress.advance(to: min(start + chunk, bytes.count))
            }
            try handle.synchronize()
            try handle.close()
            progress.finish()
            guard rename(temporary, path) == 0 else { throw CLIError("Cannot write \(path).") }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error as? CLIError ?? CLIError("Cannot write \(path): \(error.localizedDescription)")
        }
    }
}

/// A one-line progress bar on stderr, drawn only on a terminal and only for large work.
final class Progress {
    private let label: String
    private let total: Int
    private let shown: Bool
    private var drawn = -1

    /// Shown when `total` (entries, bytes) is at least `threshold`.
    init(label: String, total: Int, threshold: Int) {
        self.label = label
        self.total = total
        shown = isatty(STDERR_FILENO) == 1 && total >= threshold
    }

    func advance(to done: Int) {
        guard shown, total > 0 else { return }
        let percent = done * 100 / total
        guard percent != drawn else { return }
        drawn = percent
        let bar = String(repeating: "#", count: percent / 4).padding(toLength: 25, withPad: " ", startingAt: 0)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(percent)%".utf8))
    }

    func finish() {
        if shown { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
