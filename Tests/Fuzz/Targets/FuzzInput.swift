/// The fuzzer's bytes read as a script: each read takes what it needs from the front and
/// gets less (or zeros, for integers) once the input runs out, so every input is a valid script.
struct FuzzInput {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { offset == bytes.count }

    /// The next byte, or nil at the end: the loop condition of a script.
    mutating func next() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func byte() -> UInt8 { next() ?? 0 }

    /// A big-endian integer from the next bytes, missing bytes read as zero.
    mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_: T.Type = T.self) -> T {
        (0..<MemoryLayout<T>.size).reduce(T(0)) { value, _ in value << 8 | T(byte()) }
    }

    /// Up to `count` bytes: fewer at the end of the input.
    mutating func bytes(_ count: Int) -> [UInt8] {
        let end = min(offset + max(count, 0), bytes.count)
        defer { offset = end }
        return Array(bytes[offset..<end])
    }

    /// Exactly `count` bytes, padded with zeros at the end of the input.
    mutating func padded(_ count: Int) -> [UInt8] {
        let taken = bytes(count)
        return taken + [UInt8](repeating: 0, count: count - taken.count)
    }

    mutating func rest() -> [UInt8] { bytes(bytes.count - offset) }
}
