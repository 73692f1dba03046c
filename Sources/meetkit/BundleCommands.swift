import ArgumentParser
import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitProtocol
import MeetKitStore

/// A command whose `file` argument names a path: made absolute before the command line is
/// handed to a running node, whose working directory may be another.
protocol TakesFilePath {
    var file: String { get }
}

struct ExportCommand: ParsableCommand, NodeCommand, TakesFilePath {
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

    func run() throws {
        let store = try node.openStore()
        let group = try store.resolveGroup(selection.group)
        guard let networkKey = store.networkKeys().first(where: { $0.group == group })?.key else {
            throw CLIError("You hold no key of this group.")
        }
        let entries = store.entries(of: group, missingFrom: since.flatMap(VersionVector.init(text:)) ?? VersionVector())
        let bytes = BundleFile.seal(entries, group: group, networkKey: networkKey, nonce: SecureRandom.bytes(AEAD.nonceLength))
        try AtomicFile.write(bytes, to: file)
        Output.line("Wrote \(entries.count) entries (\(Output.size(bytes.count))) to \(file).")
    }
}

struct ImportCommand: ParsableCommand, NodeCommand, TakesFilePath {
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

    func run() throws {
        let store = try node.openStore()
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CLIError("Cannot read \(file).")
        }
        let opened: (group: GroupID, entries: [RawEntry])
        do {
            opened = try BundleFile.open([UInt8](data), keys: store.handshakeKeys().map { ($0.group, $0.key) })
        } catch {
            throw CLIError("\(file) cannot be imported: \(error). Nothing was changed.")
        }
        var entries: [Entry] = []
        entries.reserveCapacity(opened.entries.count)
        let progress = Progress(label: "Checking", total: opened.entries.count, threshold: 20_000)
        for (index, raw) in opened.entries.enumerated() {
            do {
                entries.append(try Entry(wire: raw.wire, body: raw.body))
            } catch {
                throw CLIError("\(file) cannot be imported: entry \(index + 1) is invalid (\(error.explanation)). Nothing was changed.")
            }
            progress.advance(to: index + 1)
        }
        progress.finish()
        let report = try store.ingestReporting(entries, into: opened.group)
        let (fresh, refused) = (report.stored.count, report.refused.count + report.afterCut.count)
        let name = store.summary(of: opened.group).name.map(Output.safe) ?? "the group"
        if output.json {
            return try Output.json([
                "group": opened.group.hex, "entries": "\(entries.count)", "new": "\(fresh)", "refused": "\(refused)",
            ])
        }
        let held = entries.count - fresh - refused
        var line = "Imported \(fresh) new entries into \(name) (\(held) of the \(entries.count) were already here"
        line += refused > 0 ? "; \(refused) refused, and nothing else changed)." : ")."
        if !report.afterCut.isEmpty {
            line += " \(report.afterCut.count) of them were written after their author's feed was cut (a removal or a fork)."
        }
        Output.line(line)
        // One sentence each; the entries' contents are never printed.
        for refusal in report.refused.prefix(5) { Output.line(refusal.reason) }
    }
}

/// Writes a file (a bundle, a backup) so that a crash leaves the old file or the whole new one, showing progress
/// on a terminal for large ones.
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
