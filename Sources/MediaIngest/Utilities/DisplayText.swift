import MediaFormats

/// The one escaping rule for text from outside — file names, reasons quoting them, server messages — that reaches
/// a terminal, a log line or the human report: control characters, `DEL`, C1 controls and Unicode bidirectional
/// overrides are shown as escapes (`\n`, `\r`, `\t`, `\x1b`, `\u{202e}`), and a backslash as `\\`, so a name can
/// neither forge a log line nor move the cursor, change colours or reorder what is shown. A byte of a file name
/// that is not UTF-8 (`MediaFormats.FileName`) is shown as the byte: `caf\xe9`. JSON outputs (`--json`, the
/// manifest, the ledger) keep the exact text, with ``SafeJSON``'s escapes.
public enum DisplayText {
    /// `text` with everything that could act on a terminal or split a line escaped (unchanged when nothing needs it).
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            if let byte = FileName.escapedByte(scalar) {  // a name's byte that is not UTF-8
                result += "\\x" + String(byte, radix: 16)
                continue
            }
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\\": result += "\\\\"
            default:
                let hex = String(scalar.value, radix: 16)
                result += scalar.value < 0x100 ? "\\x" + (hex.count == 1 ? "0" + hex : hex) : "\\u{" + hex + "}"
            }
        }
        return result
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x5C: return true  // C0, DEL, C1, backslash
        // Bidi marks, embeddings, overrides, isolates.
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069, 0x061C: return true
        case 0x10FF80...0x10FFFF: return true  // a file name's byte that is not UTF-8
        default: return false
        }
    }
}

extension String {
    /// The text as ``DisplayText/escaped(_:)`` shows it.
    public var displaySafe: String { DisplayText.escaped(self) }
}
