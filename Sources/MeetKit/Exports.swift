// What a program that embeds MeetKit needs besides the engine's own types: where a node lives,
// and a passphrase held in memory that is wiped after use. `import MeetKit` is enough.
@_exported import struct MeetKitCore.GroupID
@_exported import enum MeetKitCrypto.Argon2id
@_exported import class MeetKitCrypto.SecretBytes
@_exported import struct MeetKitStore.DataDirectory
