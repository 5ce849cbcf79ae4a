import Foundation

/// A number of bytes written the way people write it: `25MB`, `1.5 GiB`, `250KB`, `10M`, or a plain integer.
///
/// `KB`, `MB`, `GB`, `TB` are decimal (1 MB = 1,000,000 bytes, as Wix writes its limits);
/// `KiB`, `MiB`, `GiB`, `TiB` and the bare `K`, `M`, `G`, `T` are binary (1 M = 1,048,576 bytes, as rclone reads them).
public struct ByteSize: OptionValue, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The number of bytes.
    public var bytes: Int64

    /// Creates a size of `bytes` bytes.
    public init(_ bytes: Int64) { self.bytes = bytes }

    /// `n` decimal megabytes.
    public static func megabytes(_ n: Int64) -> ByteSize { ByteSize(n * 1_000_000) }
    /// `n` binary mebibytes.
    public static func mebibytes(_ n: Int64) -> ByteSize { ByteSize(n * 1_048_576) }

    /// Parses a size such as `25MB` or `1.5 GiB`; `nil` when the text is not a size.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var numberEnd = trimmed.startIndex
        while numberEnd < trimmed.endIndex,
            trimmed[numberEnd].isNumber || trimmed[numberEnd] == "." || trimmed[numberEnd] == "_"
        {
            numberEnd = trimmed.index(after: numberEnd)
        }
        let numberText = trimmed[..<numberEnd].replacingOccurrences(of: "_", with: "")
        guard let number = Double(numberText), number >= 0 else { return nil }
        let unit = trimmed[numberEnd...].trimmingCharacters(in: .whitespaces)
        let multipliers: [String: Double] = [
            "": 1, "b": 1, "byte": 1, "bytes": 1,
            "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
            "kib": 1024, "mib": 1_048_576, "gib": 1_073_741_824, "tib": 1_099_511_627_776,
            "k": 1024, "m": 1_048_576, "g": 1_073_741_824, "t": 1_099_511_627_776,
        ]
        guard let multiplier = multipliers[unit.lowercased()] else { return nil }
        let value = (number * multiplier).rounded()
        guard value < 9.0e18 else { return nil }
        self.bytes = Int64(value)
    }

    public static var optionTypeName: String { "size" }
    public static var optionSchema: JSONValue {
        [
            "anyOf": [
                ["type": "integer", "minimum": 0],
                [
                    "type": "string",
                    "pattern": "^\\s*[0-9][0-9_]*(\\.[0-9]+)?\\s*([kKmMgGtT]i?[bB]?|[bB]|bytes?)?\\s*$",
                ],
            ]
        ]
    }

    public init(option input: OptionInput) throws {
        if let integer = input.value.intValue {
            guard integer >= 0 else { throw input.error("expected a size like \"25MB\", got a negative number") }
            self.bytes = integer
            return
        }
        guard let text = input.value.stringValue, let size = ByteSize(parsing: text) else {
            throw input.typeMismatch(expected: "a size like \"25MB\"")
        }
        self = size
    }

    public var optionJSON: JSONValue { .string(description) }

    /// The size in the largest unit that divides it, e.g. `25MB`, `10MiB`, `1234B`; decimal units first.
    public var description: String {
        let units: [(String, Int64)] = [
            ("TB", 1_000_000_000_000), ("TiB", 1_099_511_627_776), ("GB", 1_000_000_000),
            ("GiB", 1_073_741_824), ("MB", 1_000_000), ("MiB", 1_048_576), ("KB", 1000), ("KiB", 1024),
        ]
        for (name, size) in units where bytes >= size && bytes % size == 0 { return "\(bytes / size)\(name)" }
        return "\(bytes)B"
    }

    /// A rounded human form for reports: `1.2 MB`, `512 B`.
    public var humanReadable: String { ByteSize.format(bytes) }

    /// Formats a byte count with three significant digits in decimal units: `512 B`, `5.79 kB`, `31.2 MB`, `338 kB`.
    public static func format(_ bytes: Int64) -> String {
        let value = Double(bytes)
        if value < 1000 { return "\(bytes) B" }
        for (index, unit) in ["kB", "MB", "GB", "TB", "PB"].enumerated() {
            let scaled = value / pow(1000, Double(index + 1))
            if scaled < 999.5 || unit == "PB" {
                let format = scaled < 9.995 ? "%.2f %@" : (scaled < 99.95 ? "%.1f %@" : "%.0f %@")
                return String(format: format, scaled, unit)
            }
        }
        return "\(bytes) B"
    }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let integer = try? container.decode(Int64.self) {
            self.bytes = integer
        } else {
            let text = try container.decode(String.self)
            guard let parsed = ByteSize(parsing: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a size like \"25MB\"")
            }
            self = parsed
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(bytes)
    }
}

/// A length of time written as `30s`, `5m`, `1h30m`, `250ms`, `2d`, or a number of seconds.
public struct DurationValue: OptionValue, Hashable, Comparable, CustomStringConvertible {
    /// The duration in seconds.
    public var seconds: Double

    /// Creates a duration of `seconds` seconds.
    public init(seconds: Double) { self.seconds = seconds }

    /// The same duration as a Swift `Duration`.
    public var duration: Duration { .milliseconds(Int64((seconds * 1000).rounded())) }

    /// Parses `1h30m`, `90s`, `250ms`, `2.5s`, `1d`; `nil` when the text is not a duration.
    public init?(parsing text: String) {
        let text = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !text.isEmpty else { return nil }
        if let plain = Double(text) {
            guard plain >= 0 else { return nil }
            self.seconds = plain
            return
        }
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        var total = 0.0
        var rest = Substring(text)
        while !rest.isEmpty {
            let numberEnd = rest.firstIndex { !($0.isNumber || $0 == ".") } ?? rest.endIndex
            guard let number = Double(rest[..<numberEnd]) else { return nil }
            rest = rest[numberEnd...]
            guard
                let (unit, factor) = units.first(where: {
                    rest.hasPrefix($0.0) && !(($0.0 == "m") && rest.hasPrefix("ms"))
                })
            else {
                return nil
            }
            total += number * factor
            rest = rest.dropFirst(unit.count)
        }
        self.seconds = total
    }

    public static var optionTypeName: String { "duration" }
    public static var optionSchema: JSONValue {
        [
            "anyOf": [
                ["type": "number", "minimum": 0],
                ["type": "string", "pattern": "^\\s*([0-9.]+(ms|s|m|h|d))+\\s*$|^\\s*[0-9.]+\\s*$"],
            ]
        ]
    }

    public init(option input: OptionInput) throws {
        if let number = input.value.doubleValue {
            guard number >= 0 else { throw input.error("expected a duration like \"30s\", got a negative number") }
            self.seconds = number
            return
        }
        guard let text = input.value.stringValue, let value = DurationValue(parsing: text) else {
            throw input.typeMismatch(expected: "a duration like \"30s\" or \"5m\"")
        }
        self = value
    }

    public var optionJSON: JSONValue { .string(description) }

    public var description: String {
        if seconds < 1, seconds > 0 { return "\(Int((seconds * 1000).rounded()))ms" }
        var remaining = Int(seconds.rounded())
        if Double(remaining) != seconds { return "\(seconds)s" }
        if remaining == 0 { return "0s" }
        var text = ""
        for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] where remaining >= size {
            text += "\(remaining / size)\(unit)"
            remaining %= size
        }
        return text
    }

    public static func < (lhs: DurationValue, rhs: DurationValue) -> Bool { lhs.seconds < rhs.seconds }
}
