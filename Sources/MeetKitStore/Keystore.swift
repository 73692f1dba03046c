import MeetKitCore
import MeetKitCrypto

/// The member's long-term secrets, sealed under the passphrase (Protocol/storage.md §Keystore).
///
/// Layout: magic (16) ‖ version (1) ‖ Argon2id operations (8) ‖ memory (8) ‖ salt (16) ‖
/// nonce (24) ‖ XChaCha20-Poly1305(seed ‖ store key) (80). Everything before the ciphertext
/// is its associated data, so the cost parameters cannot be altered unnoticed.
struct Keystore {
    static let magic = Array("MEETKIT-KEYSTORE".utf8)
    static let version: UInt8 = 1
    static let secretsLength = SigningKey.seedLength + 32
    static let encodedLength = 16 + 1 + 8 + 8 + Argon2id.saltLength + AEAD.nonceLength + secretsLength + AEAD.tagLength

    /// The member's Ed25519 identity.
    let identity: SigningKey
    /// Random key that seals everything in the database.
    let storeKey: SecretBytes

    init(identity: SigningKey, storeKey: SecretBytes) {
        self.identity = identity
        self.storeKey = storeKey
    }

    /// The keystore file's bytes, sealed under `passphrase`.
    func sealed(passphrase: SecretBytes, cost: Argon2id.Cost) throws -> [UInt8] {
        var secrets = identity.seed.exposedCopy() + storeKey.exposedCopy()
        defer { SecretBytes.wipe(&secrets) }
        return try PassphraseSeal.seal(secrets, magic: Self.magic, version: Self.version, passphrase: passphrase, cost: cost)
    }

    /// Opens a keystore file. Throws `damagedKeystore` for a file that is not a keystore and
    /// `wrongPassphrase` when the passphrase does not open it.
    static func unseal(_ bytes: [UInt8], passphrase: SecretBytes, path: String) throws -> Keystore {
        guard bytes.count == encodedLength else {
            throw StoreError(.damagedKeystore, "The keystore \(path) is damaged; restore it from a backup.")
        }
        var secrets = try PassphraseSeal.open(
            bytes, magic: magic, version: version, passphrase: passphrase, what: "the keystore \(path)")
        defer { SecretBytes.wipe(&secrets) }
        var seed = Array(secrets[0..<SigningKey.seedLength])
        var store = Array(secrets[SigningKey.seedLength...])
        return Keystore(
            identity: try SigningKey(seed: SecretBytes(consuming: &seed)),
            storeKey: SecretBytes(consuming: &store))
    }
}

/// Secrets sealed under a passphrase: the keystore, and an identity backup.
///
/// magic (16) ‖ version (1) ‖ Argon2id operations (8) ‖ memory (8) ‖ salt (16) ‖ nonce (24) ‖
/// XChaCha20-Poly1305(secrets). Everything before the ciphertext is its associated data, so
/// the cost parameters cannot be altered unnoticed.
enum PassphraseSeal {
    static func seal(_ secrets: [UInt8], magic: [UInt8], version: UInt8, passphrase: SecretBytes, cost: Argon2id.Cost) throws -> [UInt8] {
        let salt = SecureRandom.bytes(Argon2id.saltLength)
        let nonce = SecureRandom.bytes(AEAD.nonceLength)
        let key = try Argon2id.deriveKey(length: AEAD.keyLength, passphrase: passphrase, salt: salt, cost: cost)
        var w = ByteWriter()
        w.write(magic)
        w.write(version)
        w.write(cost.operations)
        w.write(UInt64(cost.memoryBytes))
        w.write(salt)
        w.write(nonce)
        let prefix = w.bytes
        w.write(AEAD.seal(secrets, associatedData: prefix, nonce: nonce, key: key))
        return w.bytes
    }

    /// The secrets; `damagedKeystore` for bytes that are not such a file, `wrongPassphrase`
    /// when the passphrase does not open them. `what` names the file in the message.
    static func open(_ bytes: [UInt8], magic: [UInt8], version: UInt8, passphrase: SecretBytes, what: String) throws -> [UInt8] {
        let damaged = StoreError(.damagedKeystore, "\(what.prefix(1).uppercased() + what.dropFirst()) is damaged; restore it from a backup.")
        var r = ByteReader(bytes)
        guard r.readBytes(magic.count) == magic else { throw damaged }
        guard r.readUInt8() == version else {
            throw StoreError(.damagedKeystore, "\(what.prefix(1).uppercased() + what.dropFirst()) was written by a newer MeetKit; upgrade MeetKit to open it.")
        }
        guard let operations = r.readUInt64(), let memory = r.readUInt64(), memory <= UInt64(Int.max),
              let salt = r.readBytes(Argon2id.saltLength), let nonce = r.readBytes(AEAD.nonceLength),
              r.remaining >= AEAD.tagLength
        else { throw damaged }
        let cost = Argon2id.Cost(operations: operations, memoryBytes: Int(memory))
        guard cost.isWithinLibraryLimits else { throw damaged }
        let prefix = Array(bytes[0..<r.offset])
        let ciphertext = Array(bytes[r.offset...])
        let key = try Argon2id.deriveKey(length: AEAD.keyLength, passphrase: passphrase, salt: salt, cost: cost)
        guard let secrets = AEAD.open(ciphertext, associatedData: prefix, nonce: nonce, key: key) else {
            throw StoreError(.wrongPassphrase, "The passphrase is wrong for \(what).")
        }
        return secrets
    }
}

extension Store {
    /// Seals the keystore under `new` (Protocol/storage.md §Keystore). The log is sealed under
    /// the store key, which the keystore holds and which does not change, so nothing else is
    /// rewritten; the old keystore is replaced atomically. No other meetkit may be using the
    /// directory (a running node must be stopped first).
    public static func changePassphrase(
        at directory: DataDirectory, from current: SecretBytes, to new: SecretBytes, cost: Argon2id.Cost = .moderate
    ) throws {
        guard new.count >= 8 else { throw StoreError(.weakPassphrase, "Choose a passphrase of at least 8 characters.") }
        guard FileSystem.exists(directory.keystore) else {
            throw StoreError(.notInitialized, "No MeetKit node in \(directory.path); run 'meetkit init --name NAME' first.")
        }
        let lock: DirectoryLock
        do { lock = try DirectoryLock(path: directory.lock, timeout: .seconds(2)) } catch let error as StoreError where error.code == .busy {
            throw StoreError(.busy, "\(directory.path) is in use (is 'meetkit run' running there?); stop it, then change the passphrase.")
        }
        let keystore = try Keystore.unseal(try FileSystem.read(directory.keystore), passphrase: current, path: directory.keystore)
        try FileSystem.writeAtomically(try keystore.sealed(passphrase: new, cost: cost), to: directory.keystore)
        withExtendedLifetime(lock) {}
    }
}
