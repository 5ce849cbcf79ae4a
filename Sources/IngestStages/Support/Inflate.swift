import CZlib

/// zlib inflation with a cap: compressed metadata is measured or expanded without ever trusting its claims.
enum Inflate {
    /// The number of bytes `compressed` inflates to, counting at most `cap + 1` (so a bomb stops early).
    /// Returns `nil` when the data is not a valid zlib stream.
    static func inflatedSize(of compressed: [UInt8], cap: Int) -> Int? {
        var total = 0
        let complete = run(compressed, cap: cap) { total += $0.count }
        return complete ? total : nil
    }

    /// The inflated bytes, or `nil` when the data is invalid or inflates beyond `cap`.
    static func inflate(_ compressed: [UInt8], cap: Int) -> [UInt8]? {
        var output: [UInt8] = []
        guard run(compressed, cap: cap, { output.append(contentsOf: $0) }), output.count <= cap else { return nil }
        return output
    }

    /// Feeds the inflated output to `sink` block by block; stops once more than `cap` bytes came out.
    /// Returns `false` for invalid data.
    private static func run(_ compressed: [UInt8], cap: Int, _ sink: (UnsafeRawBufferPointer) -> Void) -> Bool {
        var stream = z_stream()
        guard czlib_inflate_init(&stream) == Z_OK else { return false }
        defer { inflateEnd(&stream) }
        var produced = 0
        var output = [UInt8](repeating: 0, count: 65_536)
        return compressed.withUnsafeBytes { input -> Bool in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(input.count)
            while true {
                let status = output.withUnsafeMutableBytes { buffer -> Int32 in
                    stream.next_out = buffer.bindMemory(to: Bytef.self).baseAddress
                    stream.avail_out = uInt(buffer.count)
                    let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    let count = buffer.count - Int(stream.avail_out)
                    sink(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                    produced += count
                    return status
                }
                if produced > cap { return true }
                switch status {
                case Z_STREAM_END: return true
                case Z_OK: if stream.avail_in == 0 && stream.avail_out != 0 { return true }
                case Z_BUF_ERROR: return true
                default: return false
                }
            }
        }
    }
}
