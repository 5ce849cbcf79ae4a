/// A strict JSON parser (RFC 8259) for pipeline files: errors say the line and column, and a key written twice in
/// one object is an error naming its JSON path — where Foundation's decoders silently keep the last value, which
/// turns a pasted option into a setting nobody sees.
///
/// Integers stay integers (``JSONValue/int(_:)``) when they have no fraction or exponent and fit 64 bits.
public struct JSONParser {
    /// Why the text is not JSON, and where.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// One line: what was expected or found.
        public var message: String
        /// 1-based line and column (in characters) of the problem.
        public var line: Int
        public var column: Int
        /// The path of the value being read, when known (`stages[1].with`).
        public var path: JSONPath

        public var description: String { "line \(line), column \(column): \(message)" }
    }

    private let bytes: [UInt8]
    private var index = 0
    private let maximumDepth = 512

    /// Parses a whole document.
    /// - Throws: ``Failure``.
    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        // A UTF-8 byte-order mark is tolerated (some editors write one).
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.index = 3 }
        parser.skipWhitespace()
        guard parser.index < bytes.count else {
            throw parser.failure("the file is empty (expected a JSON object)", path: .root)
        }
        let value = try parser.value(path: .root, depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else {
            throw parser.failure("unexpected \(parser.describeNext()) after the end of the document", path: .root)
        }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func failure(_ message: String, path: JSONPath, at position: Int? = nil) -> Failure {
        let position = min(position ?? index, bytes.count)
        var line = 1
        var lineStart = 0
        for offset in 0..<position where bytes[offset] == 0x0A {
            line += 1
            lineStart = offset + 1
        }
        let column = String(decoding: bytes[lineStart..<position], as: UTF8.self).count + 1
        return Failure(message: message, line: line, column: column, path: path)
    }

    private func describeNext() -> String {
        guard index < bytes.count else { return "end of file" }
        let byte = bytes[index]
        if (0x21..<0x7F).contains(byte) { return "\"\(Character(UnicodeScalar(byte)))\"" }
        return "byte 0x\(String(byte, radix: 16))"
    }

    private mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    private mutating func value(path: JSONPath, depth: Int) throws -> JSONValue {
        guard depth < maximumDepth else { throw failure("nested more than \(maximumDepth) levels deep", path: path) }
        guard index < bytes.count else {
            throw failure("the file ends where a value was expected (cut off?)", path: path)
        }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(path: path, depth: depth)
        case UInt8(ascii: "["): return try array(path: path, depth: depth)
        case UInt8(ascii: "\""): return .string(try string(path: path))
        case UInt8(ascii: "t"): return try literal("true", .bool(true), path: path)
        case UInt8(ascii: "f"): return try literal("false", .bool(false), path: path)
        case UInt8(ascii: "n"): return try literal("null", .null, path: path)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number(path: path)
        default: throw failure("unexpected \(describeNext()) where a value was expected", path: path)
        }
    }

    private mutating func literal(_ word: String, _ value: JSONValue, path: JSONPath) throws -> JSONValue {
        let expected = Array(word.utf8)
        guard bytes.count - index >= expected.count, Array(bytes[index..<(index + expected.count)]) == expected else {
            throw failure("unexpected \(describeNext()) where a value was expected", path: path)
        }
        index += expected.count
        return value
    }

    private mutating func object(path: JSONPath, depth: Int) throws -> JSONValue {
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count else {
                throw failure("the file ends inside an object (a missing \"}\"?)", path: path)
            }
            guard bytes[index] == UInt8(ascii: "\"") else {
                throw failure("expected a key in double quotes, found \(describeNext())", path: path)
            }
            let keyStart = index
            let key = try string(path: path)
            guard members[key] == nil else {
                throw failure(
                    "duplicate key \"\(key)\" in \(path == .root ? "the top-level object" : path.description) (the first one would be ignored)",
                    path: path.appending(key), at: keyStart)
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw failure("expected \":\" after the key \"\(key)\", found \(describeNext())", path: path)
            }
            index += 1
            skipWhitespace()
            members[key] = try value(path: path.appending(key), depth: depth + 1)
            skipWhitespace()
            guard index < bytes.count else {
                throw failure("the file ends inside an object (a missing \"}\"?)", path: path)
            }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    throw failure("a comma before \"}\" (trailing commas are not JSON)", path: path)
                }
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else {
                throw failure("expected \",\" or \"}\" after a value, found \(describeNext())", path: path)
            }
            index += 1
            return .object(members)
        }
    }

    private mutating func array(path: JSONPath, depth: Int) throws -> JSONValue {
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try value(path: path.appending(index: elements.count), depth: depth + 1))
            skipWhitespace()
            guard index < bytes.count else {
                throw failure("the file ends inside an array (a missing \"]\"?)", path: path)
            }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    throw failure("a comma before \"]\" (trailing commas are not JSON)", path: path)
                }
                continue
            }
            guard bytes[index] == UInt8(ascii: "]") else {
                throw failure("expected \",\" or \"]\" after a value, found \(describeNext())", path: path)
            }
            index += 1
            return .array(elements)
        }
    }

    private mutating func string(path: JSONPath) throws -> String {
        let start = index
        index += 1
        var scalars = String.UnicodeScalarView()
        var runStart = index
        func flush(_ parser: JSONParser, upTo end: Int) throws {
            guard let run = String(validating: parser.bytes[runStart..<end], as: UTF8.self) else {
                throw parser.failure("a string that is not valid UTF-8", path: path, at: runStart)
            }
            scalars.append(contentsOf: run.unicodeScalars)
        }
        while true {
            guard index < bytes.count else {
                throw failure("the file ends inside a string (a missing closing quote?)", path: path, at: start)
            }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                try flush(self, upTo: index)
                index += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                try flush(self, upTo: index)
                index += 1
                guard index < bytes.count else { throw failure("the file ends inside a string", path: path) }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try hex4(path: path)
                    if (0xD800..<0xDC00).contains(code) {
                        guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"),
                            bytes[index + 1] == UInt8(ascii: "u")
                        else {
                            throw failure("an unpaired surrogate escape in a string", path: path)
                        }
                        index += 2
                        let low = try hex4(path: path)
                        guard (0xDC00..<0xE000).contains(low) else {
                            throw failure("an unpaired surrogate escape in a string", path: path)
                        }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else {
                        throw failure("an invalid \\u escape in a string", path: path)
                    }
                    scalars.append(scalar)
                default:
                    throw failure(
                        "an invalid escape \"\\\(Character(UnicodeScalar(escape)))\" in a string", path: path,
                        at: index - 2)
                }
                runStart = index
            case 0x00..<0x20:
                throw failure(
                    "a control character (0x\(String(byte, radix: 16))) inside a string: write it as an escape such as \\n",
                    path: path)
            default:
                index += 1
            }
        }
    }

    private mutating func hex4(path: JSONPath) throws -> UInt32 {
        guard bytes.count - index >= 4 else { throw failure("a \\u escape needs four hex digits", path: path) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw failure("a \\u escape needs four hex digits", path: path)
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private mutating func number(path: JSONPath) throws -> JSONValue {
        let start = index
        var integral = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits(_ parser: inout JSONParser) -> Int {
            let begin = parser.index
            while parser.index < parser.bytes.count,
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.index])
            { parser.index += 1 }
            return parser.index - begin
        }
        let whole = index
        guard digits(&self) > 0 else { throw failure("a number needs digits", path: path, at: start) }
        if bytes[whole] == UInt8(ascii: "0"), index - whole > 1 {
            throw failure("a number with a leading zero", path: path, at: start)
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard digits(&self) > 0 else {
                throw failure("a number needs digits after the decimal point", path: path, at: start)
            }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            integral = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits(&self) > 0 else {
                throw failure("a number needs digits in its exponent", path: path, at: start)
            }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if integral, let value = Int64(text) { return .int(value) }
        guard let value = Double(text) else { throw failure("\(text) is not a number", path: path, at: start) }
        return .double(value)
    }
}
