#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MeetKitCrypto

/// Where the passphrase comes from: `--passphrase-file`, else `MEETKIT_PASSPHRASE`, else a
/// prompt on the terminal with echo off. The passphrase is never printed or logged.
enum Passphrase {
    static func obtain(file: String?, confirm: Bool) throws -> SecretBytes {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CLIError("Cannot read the passphrase file \(file).")
            }
            var bytes = Array(data.split(separator: UInt8(ascii: "\n"), maxSplits: 1, omittingEmptySubsequences: false).first ?? [])
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            return SecretBytes(consuming: &bytes)
        }
        if let value = ProcessInfo.processInfo.environment["MEETKIT_PASSPHRASE"] {
            var bytes = Array(value.utf8)
            return SecretBytes(consuming: &bytes)
        }
        return confirm ? try prompt(twice: "Passphrase") : try prompt("Passphrase: ")
    }

    /// Asks for a passphrase twice on the terminal; the two must match.
    static func prompt(twice label: String) throws -> SecretBytes {
        let first = try prompt("\(label): ")
        let second = try prompt("\(label) again: ")
        guard first.isEqual(to: second) else { throw CLIError("The two passphrases differ; nothing was changed.") }
        return first
    }

    private static func prompt(_ text: String) throws -> SecretBytes {
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard tty >= 0 else {
            throw CLIError("No passphrase given: use --passphrase-file, set MEETKIT_PASSPHRASE, or run in a terminal.")
        }
        defer { close(tty) }
        var saved = termios()
        let isTerminal = tcgetattr(tty, &saved) == 0
        if isTerminal {
            var silent = saved
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(tty, TCSANOW, &silent)
        }
        defer {
            if isTerminal { tcsetattr(tty, TCSANOW, &saved) }
            _ = write(tty, "\n", 1)
        }
        _ = text.withCString { write(tty, $0, strlen($0)) }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while read(tty, &byte, 1) == 1, byte != UInt8(ascii: "\n") {
            if byte != UInt8(ascii: "\r") { bytes.append(byte) }
        }
        byte = 0
        return SecretBytes(consuming: &bytes)
    }
}
