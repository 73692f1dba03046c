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

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("meetkit-devtool: \(message)\n".utf8))
    exit(1)
}

func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

let usage = "usage: meetkit-devtool append-loop DIR COUNT"
let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 3, arguments[0] == "append-loop" else { fail(usage) }
guard let count = Int(arguments[2]), count >= 0 else { fail("COUNT must be a whole number; \(usage)") }
guard let passphrase = ProcessInfo.processInfo.environment["MEETKIT_PASSPHRASE"] else {
    fail("set MEETKIT_PASSPHRASE to unlock the store.")
}

do {
    var bytes = Array(passphrase.utf8)
    let store = try Store.open(at: DataDirectory(path: arguments[1]), passphrase: SecretBytes(consuming: &bytes))
    let group = try store.resolveGroup(nil)
    for n in stride(from: 1, through: count, by: 1) {
        let entry = try store.append(.share(Share(text: "crash-test \(n)")), to: group, at: Date())
        say("ok \(n) \(entry.id.hex)")
    }
} catch let error as StoreError {
    fail(error.message)
} catch {
    fail("\(error)")
}
