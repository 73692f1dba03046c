import Foundation

/// Printing: text for people, JSON for programs.
enum Output {
    static func line(_ text: String = "") {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func json<T: Encodable>(_ value: T) throws {
        line(try jsonText(value))
    }

    static func jsonText<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data(("meetkit: " + message + "\n").utf8))
        exit(1)
    }

    /// Text from other members, made safe for a terminal: control characters (which could
    /// move the cursor or recolour the screen) become U+FFFD; newlines and tabs stay.
    static func safe(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { scalar in
            if scalar == "\n" || scalar == "\t" { return scalar }
            let isControl = scalar.properties.generalCategory == .control
            let isBidiOverride = (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
            return isControl || isBidiOverride ? "\u{FFFD}" : scalar
        }))
    }

    static func iso(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date(milliseconds))
    }

    static func date(_ milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// "Fri 27 Nov 19:02" in the local time zone.
    static func shortTime(_ milliseconds: Int64) -> String {
        format(milliseconds, "EEE d MMM HH:mm")
    }

    /// "19:02" in the local time zone.
    static func clockTime(_ milliseconds: Int64) -> String {
        format(milliseconds, "HH:mm")
    }

    /// "532 bytes", "14.2 KB", "40.1 MB".
    static func size(_ bytes: Int) -> String {
        if bytes < 1_000 { return "\(bytes) bytes" }
        if bytes < 1_000_000 { return String(format: "%.1f KB", Double(bytes) / 1_000) }
        return String(format: "%.1f MB", Double(bytes) / 1_000_000)
    }

    /// "30d", "12h", "45m", "20s": the largest unit that divides it.
    static func duration(_ milliseconds: Int64) -> String {
        let seconds = milliseconds / 1000
        for (unit, size) in [("d", Int64(86_400)), ("h", 3_600), ("m", 60)] where seconds % size == 0 && seconds >= size {
            return "\(seconds / size)\(unit)"
        }
        return "\(seconds)s"
    }

    /// "19:02:07" in the local time zone.
    static func clockTime(_ date: Date) -> String {
        format(Int64(date.timeIntervalSince1970 * 1000), "HH:mm:ss")
    }

    private static func format(_ milliseconds: Int64, _ pattern: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB")
        formatter.dateFormat = pattern
        return formatter.string(from: date(milliseconds))
    }
}
