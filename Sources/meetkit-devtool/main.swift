import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitStore

/// A tool for tests that need a store driven from another process.
///
/// `append-loop DIR COUNT`: opens the store at DIR (passphrase from `MEETKIT_PASSPHRASE`) and
/// appends COUNT shares "crash-test N" to its only group, one at a time; after each append has
/// returned (and so is durable) it prints "ok N ENTRY-ID-HEX" and flushes. The crash test kills
/// it at random and then checks that every acknowledged entry survived.
///
/// `identity-seed DIR`: opens the store at DIR (passphrase from `MEETKIT_PASSPHRASE`) and prints
/// the member's Ed25519 seed as hex. For tests only: the interoperability tests give it to an
/// independent Secret Handshake implementation so that it can act as that member. The seed is
/// the member's whole identity; nothing outside tests should ever print it.

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("meetkit-devtool: \(message)\n".utf8))
    exit(1)
}

func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

let usage = "usage: meetkit-devtool append-loop DIR COUNT | identity-seed DIR"
let arguments = Array(CommandLine.arguments.dropFirst())

func openStore(_ path: String) throws -> Store {
    guard let passphrase = ProcessInfo.processInfo.environment["MEETKIT_PASSPHRASE"] else {
        fail("set MEETKIT_PASSPHRASE to unlock the store.")
    }
    var bytes = Array(passphrase.utf8)
    return try Store.open(at: DataDirectory(path: path), passphrase: SecretBytes(consuming: &bytes))
}

do {
    switch (arguments.first, arguments.count) {
    case ("append-loop", 3):
        guard let count = Int(arguments[2]), count >= 0 else { fail("COUNT must be a whole number; \(usage)") }
        let store = try openStore(arguments[1])
        let group = try store.resolveGroup(nil)
        for n in stride(from: 1, through: count, by: 1) {
            let entry = try store.append(.share(Share(text: "crash-test \(n)")), to: group, at: Date())
            say("ok \(n) \(entry.id.hex)")
        }
    case ("identity-seed", 2):
        let store = try openStore(arguments[1])
        say(Hex.encode(store.identity.seed.exposedCopy()))
    default:
        fail(usage)
    }
} catch let error as StoreError {
    fail(error.message)
} catch {
    fail("\(error)")
}
