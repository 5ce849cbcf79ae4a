import Foundation

/// JSON text that is safe to print: Foundation's encoder escapes only C0 controls, so a file name's `DEL`, C1
/// controls (U+009B is a terminal's CSI), bidirectional overrides and line separators would reach a terminal, a log
/// collector or a JavaScript reader as they are. Every JSON output (`--json`, `report --json`, the manifest, the
/// reports the ledger keeps) goes through ``escaping(_:)``: those characters become `\u` escapes — the same text to
/// any JSON reader, safe bytes on a terminal.
///
/// A file name's byte that is not UTF-8 (`MediaFormats.FileName`: U+10FF00 + the byte) is written as its surrogate
/// pair, `\udbff\udfe9` for 0xE9: ASCII, and the byte is the low surrogate's last two hex digits.
public enum SafeJSON {
    /// `data` (JSON text from an encoder) with the characters above written as `\u` escapes.
    ///
    /// Safe on any encoder output: outside strings JSON text is ASCII, so every byte sequence replaced is inside a
    /// string, where a `\u` escape means the same character.
    public static func escaping(_ data: Data) -> Data {
        guard data.contains(where: { $0 == 0x7F || $0 == 0xC2 || $0 == 0xD8 || $0 == 0xE2 || $0 == 0xF4 }) else {
            return data
        }
        let bytes = [UInt8](data)
        var output = [UInt8]()
        output.reserveCapacity(bytes.count + 16)
        var index = 0
        func escape(_ unit: UInt32) {
            let hex = String(unit, radix: 16)
            output += Array(("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
        }
        while index < bytes.count {
            let byte = bytes[index]
            let next = index + 1 < bytes.count ? bytes[index + 1] : 0
            let third = index + 2 < bytes.count ? bytes[index + 2] : 0
            switch byte {
            case 0x7F:
                escape(0x7F)
                index += 1
            case 0xC2 where (0x80...0x9F).contains(next):  // C1 controls
                escape(UInt32(next))
                index += 2
            case 0xD8 where next == 0x9C:  // U+061C arabic letter mark
                escape(0x061C)
                index += 2
            case 0xE2 where next == 0x80 && [0x8E, 0x8F, 0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE].contains(third),
                0xE2 where next == 0x81 && (0xA6...0xA9).contains(third):
                // U+200E/F marks, U+2028/9 separators, U+202A–E embeddings and overrides, U+2066–9 isolates.
                escape(0x2000 + (UInt32(next) - 0x80) * 0x40 + UInt32(third) - 0x80)
                index += 3
            case 0xF4 where next == 0x8F && (third == 0xBE || third == 0xBF) && index + 3 < bytes.count:
                // U+10FF80–U+10FFFF: a file name's raw byte (FileName's escapes).
                let scalar = 0x10FF00 + (UInt32(third) - 0xBC) * 0x40 + UInt32(bytes[index + 3]) - 0x80
                let offset = scalar - 0x10000
                escape(0xD800 + (offset >> 10))
                escape(0xDC00 + (offset & 0x3FF))
                index += 4
            default:
                output.append(byte)
                index += 1
            }
        }
        return Data(output)
    }
}
