import CZlib

/// zlib inflation with a cap: how large compressed metadata becomes, without ever holding more than a small buffer.
enum Inflate {
    /// The number of bytes `compressed` inflates to, counting at most `cap + 1` (so a bomb stops early).
    /// Returns `nil` when the data is not a valid zlib stream.
    static func inflatedSize(of compressed: [UInt8], cap: Int) -> Int? {
        var stream = z_stream()
        guard czlib_inflate_init(&stream) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var total = 0
        var output = [UInt8](repeating: 0, count: 65_536)
        return compressed.withUnsafeBytes { input -> Int? in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(input.count)
            while true {
                let status = output.withUnsafeMutableBytes { buffer -> Int32 in
                    stream.next_out = buffer.bindMemory(to: Bytef.self).baseAddress
                    stream.avail_out = uInt(buffer.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                total += output.count - Int(stream.avail_out)
                if total > cap { return total }
                switch status {
                case Z_STREAM_END: return total
                case Z_OK: if stream.avail_in == 0 && stream.avail_out != 0 { return total }
                case Z_BUF_ERROR: return total
                default: return nil
                }
            }
        }
    }
}
