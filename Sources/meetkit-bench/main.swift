// meetkit-bench: MeetKit's speed, as ratios to this machine's own Ed25519 verify rate
// measured in the same run. Run it in release mode:
//
//     swift run -c release meetkit-bench [--entries N]
//
// It prints figures and never fails on them: speed is checked by reading the table, not by
// timed tests that flake on a busy machine.
import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitStore

let arguments = CommandLine.arguments
let entryCount = arguments.firstIndex(of: "--entries").flatMap { Int(arguments[$0 + 1]) } ?? 5_000
let clock = ContinuousClock()

/// Operations per second of `body`, run `count` times; the best of three rounds.
func rate(_ count: Int, _ body: (Int) throws -> Void) rethrows -> Double {
    var best = 0.0
    for _ in 0..<3 {
        let elapsed = try clock.measure { for i in 0..<count { try body(i) } }
        best = max(best, Double(count) / seconds(elapsed))
    }
    return best
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func row(_ name: String, _ value: Double, _ unit: String, baseline: Double? = nil) {
    let ratio = baseline.map { String(format: "%6.2f", value / $0) } ?? "     -"
    print(name.padding(toLength: 50, withPad: " ", startingAt: 0)
        + String(format: "%12.0f", value) + " " + unit.padding(toLength: 10, withPad: " ", startingAt: 0) + ratio)
}

// MARK: Baseline

let key = SigningKey.generate()
let message = SecureRandom.bytes(32)
let signature = key.sign(message)
let rawVerify = rate(20_000) { _ in precondition(key.publicKey.isValidSignature(signature, for: message)) }

// MARK: Entries in memory

let contentKey = SecretBytes(randomCount: 32)
let group = GroupID(bytes: SecureRandom.bytes(32))!
var entries: [Entry] = []
var head: FeedHead?
for i in 0..<entryCount {
    let entry = try Entry.create(
        content: .share(Share(text: "Share number \(i): " + String(repeating: "x", count: 200))), group: group,
        after: head, lamport: UInt64(i + 1), timestamp: 1_800_000_000_000, epoch: 0, author: key,
        contentKey: contentKey, nonce: SecureRandom.bytes(24))
    entries.append(entry)
    head = entry.head
}
let wires = entries.map { ($0.wire, $0.body) }
let nonce = SecureRandom.bytes(AEAD.nonceLength)
let createRate = try rate(2_000) { i in
    _ = try Entry.create(
        content: .share(Share(text: "bench \(i)")), group: group, after: head, lamport: 1, timestamp: 0, epoch: 0,
        author: key, contentKey: contentKey, nonce: nonce)
}
let verifyRate = try rate(wires.count) { i in _ = try Entry(wire: wires[i].0, body: wires[i].1) }
let openRate = try rate(entries.count) { i in _ = try entries[i].openContent(contentKey: contentKey) }

// MARK: The store on disk

let directory = DataDirectory(path: NSTemporaryDirectory() + "meetkit-bench-\(getpid())")
defer { try? FileManager.default.removeItem(atPath: directory.path) }
var passphraseBytes = Array("benchmark passphrase".utf8)
let passphrase = SecretBytes(consuming: &passphraseBytes)
let kdfTime = try clock.measure {
    _ = try Argon2id.deriveKey(length: 32, passphrase: passphrase, salt: SecureRandom.bytes(16), cost: .moderate)
}
var store: Store? = try Store.create(at: directory, passphrase: passphrase, pseudonym: "Bench", cost: .interactive)
let storeGroup = try store!.createGroup(name: "Bench", at: Date())
let appendElapsed = try clock.measure {
    for i in 0..<entryCount {
        try store!.append(.share(Share(text: "Share number \(i): " + String(repeating: "x", count: 200))), to: storeGroup, at: Date())
    }
}
let appendRate = Double(entryCount) / seconds(appendElapsed)
let storeVerifyElapsed = try clock.measure { _ = try store!.verify() }
store = nil
let interactiveKDF = try clock.measure {
    _ = try Argon2id.deriveKey(length: 32, passphrase: passphrase, salt: SecureRandom.bytes(16), cost: .interactive)
}
let reopenElapsed = try clock.measure { store = try Store.open(at: directory, passphrase: passphrase) }
let logElapsed = clock.measure { _ = store!.log(of: storeGroup) }
let databaseBytes = (try? FileManager.default.attributesOfItem(atPath: directory.database)[.size] as? Int) ?? 0

// MARK: Report

print("MeetKit benchmark: \(entryCount) entries of ~240 bytes of text, \(ProcessInfo.processInfo.activeProcessorCount) cores")
print("ratio = figure / raw Ed25519 verify rate measured in this run")
print("")
print("figure".padding(toLength: 50, withPad: " ", startingAt: 0) + "       value unit       ratio")
row("raw Ed25519 verify, 32 B (baseline)", rawVerify, "/s", baseline: rawVerify)
row("entry create (sign + encrypt)", createRate, "/s", baseline: rawVerify)
row("entry verify (decode + signature + body hash)", verifyRate, "/s", baseline: rawVerify)
row("entry body decrypt + decode", openRate, "/s", baseline: rawVerify)
row("durable append (one commit each, FULL sync)", appendRate, "/s", baseline: rawVerify)
row("meetkit verify over the store", Double(entryCount + 2) / seconds(storeVerifyElapsed), "entries/s", baseline: rawVerify)
row("store open: load \(entryCount + 2) entries", Double(entryCount + 2) / seconds(reopenElapsed - interactiveKDF), "entries/s", baseline: rawVerify)
row("log: decrypt and order the group's entries", Double(entryCount + 2) / seconds(logElapsed), "entries/s", baseline: rawVerify)
print("")
print(String(format: "passphrase unlock (Argon2id moderate)       %8.0f ms", seconds(kdfTime) * 1000))
print(String(format: "database size                               %8.0f bytes/entry", Double(databaseBytes) / Double(entryCount + 2)))
