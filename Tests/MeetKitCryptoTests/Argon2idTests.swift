import MeetKitCrypto
import Testing

@Suite("Argon2id")
struct Argon2idTests {
    /// libsodium's minimum limits: keeps the tests fast. Real keystores use `.moderate`.
    let cost = Argon2id.Cost(operations: 1, memoryBytes: 8192)
    let salt = [UInt8](repeating: 0x5a, count: Argon2id.saltLength)

    func derive(_ passphrase: String, salt: [UInt8]? = nil) throws -> [UInt8] {
        try Argon2id.deriveKey(
            length: 32, passphrase: secret(Array(passphrase.utf8)), salt: salt ?? self.salt, cost: cost
        ).testBytes
    }

    @Test func deterministic() throws {
        let a = try derive("correct horse battery staple")
        #expect(a.count == 32)
        #expect(a == (try derive("correct horse battery staple")))
    }

    @Test func otherPassphraseOrSaltDiffers() throws {
        let a = try derive("correct horse battery staple")
        #expect(a != (try derive("correct horse battery stapler")))
        #expect(a != (try derive("correct horse battery staple", salt: [UInt8](repeating: 0x5b, count: 16))))
    }

    @Test func emptyPassphraseWorks() throws {
        let empty = try derive("")
        #expect(empty.count == 32)
        #expect(empty != (try derive("a")))
    }

    @Test func costIsPartOfTheKey() throws {
        let passphrase = secret(Array("pass".utf8))
        let cheap = try Argon2id.deriveKey(length: 32, passphrase: passphrase, salt: salt, cost: cost)
        let dearer = try Argon2id.deriveKey(
            length: 32, passphrase: passphrase, salt: salt, cost: Argon2id.Cost(operations: 2, memoryBytes: 8192))
        #expect(cheap.testBytes != dearer.testBytes)
    }

    @Test func wrongSaltLengthIsRefused() {
        #expect(throws: CryptoError.invalidKeyLength(expected: 16, actual: 15)) {
            try derive("x", salt: [UInt8](repeating: 0, count: 15))
        }
    }

    @Test func limitsOutsideTheLibraryAreRefused() {
        #expect(Argon2id.Cost.interactive.isWithinLibraryLimits)
        #expect(Argon2id.Cost.moderate.isWithinLibraryLimits)
        #expect(cost.isWithinLibraryLimits)
        let absurd = [
            Argon2id.Cost(operations: 0, memoryBytes: 8192),
            Argon2id.Cost(operations: 17, memoryBytes: 8192),
            Argon2id.Cost(operations: 1, memoryBytes: 8191),
            Argon2id.Cost(operations: 1, memoryBytes: (1 << 30) + 1),
        ]
        for cost in absurd {
            #expect(!cost.isWithinLibraryLimits)
            #expect(throws: CryptoError.keyDerivationFailed) {
                try Argon2id.deriveKey(length: 32, passphrase: secret([1]), salt: salt, cost: cost)
            }
        }
    }
}
