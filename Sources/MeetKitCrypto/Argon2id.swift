import CSodium

/// Passphrase-based key derivation with Argon2id (libsodium `crypto_pwhash`).
public enum Argon2id {
    public static let saltLength = Int(crypto_pwhash_SALTBYTES)

    /// Cost parameters; stored next to the salt so they can be raised later.
    public struct Cost: Hashable, Sendable {
        public var operations: UInt64
        public var memoryBytes: Int

        public init(operations: UInt64, memoryBytes: Int) {
            self.operations = operations
            self.memoryBytes = memoryBytes
        }

        /// libsodium's INTERACTIVE limits: about 60 ms and 64 MiB.
        public static let interactive = Cost(
            operations: UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE), memoryBytes: Int(crypto_pwhash_MEMLIMIT_INTERACTIVE))
        /// libsodium's MODERATE limits: about 0.4 s and 256 MiB.
        public static let moderate = Cost(
            operations: UInt64(crypto_pwhash_OPSLIMIT_MODERATE), memoryBytes: Int(crypto_pwhash_MEMLIMIT_MODERATE))

        /// Whether libsodium accepts these limits; guards against a forged keystore header
        /// asking for absurd memory.
        public var isWithinLibraryLimits: Bool {
            operations >= UInt64(crypto_pwhash_OPSLIMIT_MIN) && operations <= 16
                && memoryBytes >= Int(crypto_pwhash_MEMLIMIT_MIN) && memoryBytes <= 1 << 30
        }
    }

    /// A key of `length` bytes derived from `passphrase` and `salt`.
    public static func deriveKey(length: Int, passphrase: SecretBytes, salt: [UInt8], cost: Cost) throws -> SecretBytes {
        Sodium.ensureReady()
        guard salt.count == saltLength else { throw CryptoError.invalidKeyLength(expected: saltLength, actual: salt.count) }
        guard cost.isWithinLibraryLimits else { throw CryptoError.keyDerivationFailed }
        var status: Int32 = -1
        let key = SecretBytes(count: length) { out in
            passphrase.withBytes { p in
                let pointer = p.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
                var empty: CChar = 0
                status = crypto_pwhash(
                    out, UInt64(length), pointer ?? withUnsafePointer(to: &empty) { $0 }, UInt64(p.count), salt,
                    cost.operations, cost.memoryBytes, crypto_pwhash_ALG_ARGON2ID13)
            }
        }
        guard status == 0 else { throw CryptoError.keyDerivationFailed }
        return key
    }
}
