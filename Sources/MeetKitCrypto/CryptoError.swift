/// Failures of the cryptographic primitives. Verification failures are reported as `false`
/// or `nil` by the primitives; callers turn them into errors that say what failed.
public enum CryptoError: Error, Equatable, Sendable {
    case invalidKeyLength(expected: Int, actual: Int)
    case weakPublicKey
    case keyDerivationFailed
    case sealFailed
}
