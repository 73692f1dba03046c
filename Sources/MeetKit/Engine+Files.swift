import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitProtocol
import MeetKitStore

// Bundles for a USB stick (Protocol/bundles.md), and checking the node's files.

/// A bundle just written.
public struct Exported: Codable, Sendable, Equatable {
    public let file: String
    public let entries: Int
    public let bytes: Int
}

/// A bundle just applied: how many entries it held, how many were new, how many were refused
/// (and of those, how many stood after their author's feed was cut), and why, one sentence
/// each for the first few (never an entry's content).
public struct Imported: Codable, Sendable, Equatable {
    public let group: String
    public let name: String?
    public let entries: Int
    public let new: Int
    public let refused: Int
    public let afterCut: Int
    public let reasons: [String]
}

/// What `verify` checked, and files in the data directory that are not MeetKit's.
public struct Verified: Codable, Sendable, Equatable {
    public let entries: Int
    public let bodies: Int
    public let feeds: Int
    public let groups: Int
    public let orphanedFiles: [String]
}

extension Engine {
    /// Writes the entries a node with version vector `since` lacks (everything, without it) to
    /// the bundle `file`, sealed for the group; a crash leaves the old file or the whole new one.
    public func export(to file: String, since: String? = nil, group selector: String? = nil) throws(EngineError) -> Exported {
        let group = try group(selector)
        var vector = VersionVector()
        if let since {
            guard let parsed = VersionVector(text: since) else {
                throw EngineError(.malformedRequest, "That is not a version vector (mkv1.…).")
            }
            vector = parsed
        }
        guard let networkKey = store.networkKeys().first(where: { $0.group == group })?.key else {
            throw EngineError(.notPermitted, "You hold no key of this group.")
        }
        let entries = store.entries(of: group, missingFrom: vector)
        let bytes = BundleFile.seal(entries, group: group, networkKey: networkKey, nonce: SecureRandom.bytes(AEAD.nonceLength))
        try writeAtomically(bytes, to: file)
        return Exported(file: file, entries: entries.count, bytes: bytes.count)
    }

    /// Applies the bundle `file`: every entry gets exactly the checks of a network sync. A
    /// damaged, truncated or foreign bundle, or one with an invalid entry, is refused whole and
    /// nothing is stored.
    public func importBundle(from file: String) throws(EngineError) -> Imported {
        guard let data = FileManager.default.contents(atPath: file) else { throw EngineError(.io, "Cannot read \(file).") }
        let opened: (group: GroupID, entries: [RawEntry])
        do {
            opened = try BundleFile.open([UInt8](data), keys: store.handshakeKeys().map { ($0.group, $0.key) })
        } catch {
            throw EngineError(.invalidBundle, "\(file) cannot be imported: \(error). Nothing was changed.")
        }
        var entries: [Entry] = []
        entries.reserveCapacity(opened.entries.count)
        for (index, raw) in opened.entries.enumerated() {
            do {
                entries.append(try Entry(wire: raw.wire, body: raw.body))
            } catch {
                throw EngineError(
                    .invalidBundle, "\(file) cannot be imported: entry \(index + 1) is invalid (\(error.explanation)). Nothing was changed.")
            }
            progress?("Checking", index + 1, opened.entries.count)
        }
        let report = try EngineError.catching { try store.ingestReporting(entries, into: opened.group) }
        return Imported(
            group: opened.group.hex, name: store.summary(of: opened.group).name, entries: entries.count, new: report.stored.count,
            refused: report.refused.count + report.afterCut.count, afterCut: report.afterCut.count,
            reasons: report.refused.prefix(5).map(\.reason))
    }

    /// What belongs in a data directory (Protocol/storage.md §Data directory).
    static let knownFiles: Set<String> = ["keystore", "lock", "log.sqlite", "log.sqlite-wal", "log.sqlite-shm", "control.sock"]

    /// Re-checks every signature, hash chain and body hash, and the database's integrity;
    /// names files in the data directory that are not MeetKit's, without touching them.
    public func verify() throws(EngineError) -> Verified {
        let verified = try EngineError.catching { try store.verify() }
        let orphans = ((try? FileManager.default.contentsOfDirectory(atPath: store.directory.path)) ?? [])
            .filter { !Self.knownFiles.contains($0) }.sorted()
        return Verified(
            entries: verified.entries, bodies: verified.bodies, feeds: verified.feeds, groups: verified.groups, orphanedFiles: orphans)
    }

    /// Writes `bytes` to `path` through a temporary file that is synced and renamed into place.
    private func writeAtomically(_ bytes: [UInt8], to path: String) throws(EngineError) {
        let temporary = path + ".partial"
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: temporary)
        else { throw EngineError(.io, "Cannot write \(path).") }
        do {
            let chunk = 1 << 20
            for start in stride(from: 0, to: bytes.count, by: chunk) {
                try handle.write(contentsOf: bytes[start..<min(start + chunk, bytes.count)])
                progress?("Writing", min(start + chunk, bytes.count), bytes.count)
            }
            try handle.synchronize()
            try handle.close()
            guard rename(temporary, path) == 0 else { throw EngineError(.io, "Cannot write \(path).") }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error as? EngineError ?? EngineError(.io, "Cannot write \(path): \(error.localizedDescription)")
        }
    }
}
