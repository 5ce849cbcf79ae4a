import Foundation
import Glibc
import Logging
import MediaFormats
import MediaIngest

/// A pixel count written as an integer or with a unit: `100000000`, `"100MP"`, `"1.5 GP"`.
public struct PixelCount: OptionValue, Hashable {
    /// The number of pixels.
    public var pixels: Int

    public static var optionTypeName: String { "pixels" }
    public static var optionSchema: JSONValue {
        [
            "anyOf": [
                ["type": "integer", "minimum": 1],
                ["type": "string", "pattern": "^\\s*[0-9.]+\\s*([kKmMgG][pP]|[pP][xX])?\\s*$"],
            ]
        ]
    }
    public init(option input: OptionInput) throws {
        if let value = input.value.intValue, value > 0 {
            pixels = Int(value)
            return
        }
        guard let text = input.value.stringValue?.trimmingCharacters(in: .whitespaces).lowercased() else {
            throw input.typeMismatch(expected: "a pixel count like 100000000 or \"100MP\"")
        }
        let units: [(String, Double)] = [("gp", 1e9), ("mp", 1e6), ("kp", 1e3), ("px", 1), ("", 1)]
        for (unit, factor) in units where text.hasSuffix(unit) {
            if let number = Double(text.dropLast(unit.count).trimmingCharacters(in: .whitespaces)), number > 0 {
                pixels = Int(number * factor)
                return
            }
        }
        throw input.typeMismatch(expected: "a pixel count like 100000000 or \"100MP\"")
    }
    public var optionJSON: JSONValue { .int(Int64(pixels)) }
}
