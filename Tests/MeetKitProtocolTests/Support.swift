import Foundation
import MeetKitCore
import MeetKitCrypto
import Testing

@testable import MeetKitProtocol

/// Shared helpers: vectors on disk, keys from hex, fixed seeds.
enum Support {
    /// Protocol/vectors/ in this package, found from this file's path.
    static let vectorsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // MeetKitProtocolTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // the package root
        .appendingPathComponent("Protocol/vectors")

    static func bytes(_ hex: String) throws -> [UInt8] {
        try #require(Hex.decode(hex), "not hex: \(hex)")
    }

    static func secret(_ hex: String) throws -> SecretBytes {
        var raw = try bytes(hex)
        return SecretBytes(consuming: &raw)
    }

    static func secret(repeating byte: UInt8, count: Int = 32) -> SecretBytes {
        var raw = [UInt8](repeating: byte, count: count)
        return SecretBytes(consuming: &raw)
    }

    static func signingKey(_ byte: UInt8) -> SigningKey {
        // A 32-byte seed always makes a valid key.
        try! SigningKey(seed: secret(repeating: byte))
    }

    static func seed(_ byte: UInt8) -> [UInt8] {
        [UInt8](repeating: byte, count: 32)
    }
}
