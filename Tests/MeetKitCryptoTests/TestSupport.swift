import MeetKitCrypto

// MARK: - Helpers shared by the crypto tests

/// A secret with the given bytes; tests use fixed keys so failures reproduce.
func secret(_ bytes: [UInt8]) -> SecretBytes {
    var copy = bytes
    return SecretBytes(consuming: &copy)
}

/// A secret of `count` bytes, all equal to `fill`.
func secret(repeating fill: UInt8, count: Int) -> SecretBytes {
    secret([UInt8](repeating: fill, count: count))
}

/// A signing key from a seed of 32 equal bytes.
func signingKey(_ fill: UInt8) throws -> SigningKey {
    try SigningKey(seed: secret(repeating: fill, count: SigningKey.seedLength))
}

/// `bytes` with bit `bit` (0 = least significant of byte 0) inverted.
func flippingBit(_ bit: Int, of bytes: [UInt8]) -> [UInt8] {
    var copy = bytes
    copy[bit / 8] ^= 1 << UInt8(bit % 8)
    return copy
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { byte in
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
    }.joined()
}

func bytes(hex text: String) -> [UInt8] {
    let chars = Array(text.utf8)
    return stride(from: 0, to: chars.count, by: 2).map { i in
        UInt8(String(decoding: chars[i...i + 1], as: UTF8.self), radix: 16)!
    }
}

extension SecretBytes {
    /// The bytes as an array, for comparisons in tests.
    var testBytes: [UInt8] { withBytes { Array($0) } }
}
