import Glibc

/// How a stripped copy is made from its source: the source's byte ranges in order, each copied, dropped or
/// replaced. Formats whose metadata sits in a small header before or after gigabytes of media data (ISO BMFF,
/// QuickTime) are stripped by planning first (reading only the header boxes) and then writing the plan: the media
/// data is copied in bounded chunks — or by the kernel, with `copy_file_range`, when nobody needs to see the bytes —
/// so memory does not grow with the file.
public struct SplicePlan: Sendable, Hashable {
    /// One piece of the output.
    public enum Step: Sendable, Hashable {
        /// Source bytes copied unchanged.
        case copy(Range<Int64>)
        /// Source bytes left out (still read when the source is being observed, so a source hash sees every byte).
        case drop(Range<Int64>)
        /// New bytes.
        case insert([UInt8])
        /// `count` zero bytes.
        case zeros(Int64)
    }

    /// The steps; the source ranges of `copy` and `drop` steps cover the source exactly once, in order.
    public private(set) var steps: [Step] = []
    /// Where the source ends.
    public let sourceLength: Int64

    /// `true` when the output is the source unchanged.
    public var isIdentity: Bool {
        steps.allSatisfy { if case .copy = $0 { return true } else { return false } }
    }

    /// The length of the output.
    public var outputLength: Int64 {
        steps.reduce(0) { total, step in
            switch step {
            case .copy(let range): return total + (range.upperBound - range.lowerBound)
            case .drop: return total
            case .insert(let bytes): return total + Int64(bytes.count)
            case .zeros(let count): return total + count
            }
        }
    }

    /// Builds the plan for `sourceLength` bytes with `edits` (non-overlapping source ranges and what replaces them).
    /// - Throws: ``FormatError/malformed(_:)`` when two edits overlap or one reaches past the end.
    init(sourceLength: Int64, edits: [Edit]) throws {
        self.sourceLength = sourceLength
        var cursor: Int64 = 0
        for edit in edits.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) {
            guard edit.range.lowerBound >= cursor else {
                throw FormatError.malformed(
                    "\(edit.what) overlaps other data it does not own (bytes \(edit.range.lowerBound)…)")
            }
            guard edit.range.upperBound <= sourceLength else {
                throw FormatError.malformed(
                    "\(edit.what) reaches past the end of the file (byte \(edit.range.upperBound) of \(sourceLength))")
            }
            if edit.range.lowerBound > cursor { append(.copy(cursor..<edit.range.lowerBound)) }
            if !edit.range.isEmpty { append(.drop(edit.range)) }
            for piece in edit.replacement { append(piece) }
            cursor = edit.range.upperBound
        }
        if cursor < sourceLength { append(.copy(cursor..<sourceLength)) }
    }

    private mutating func append(_ step: Step) {
        switch (steps.last, step) {
        case (.copy(let previous)?, .copy(let next)) where previous.upperBound == next.lowerBound:
            steps[steps.count - 1] = .copy(previous.lowerBound..<next.upperBound)
        case (.drop(let previous)?, .drop(let next)) where previous.upperBound == next.lowerBound:
            steps[steps.count - 1] = .drop(previous.lowerBound..<next.upperBound)
        case (.zeros(let previous)?, .zeros(let next)):
            steps[steps.count - 1] = .zeros(previous + next)
        case (_, .insert([])), (_, .zeros(0)):
            break
        default:
            steps.append(step)
        }
    }

    /// One change to the source: the bytes of `range` are replaced by `replacement` (nothing, to remove them).
    struct Edit {
        var range: Range<Int64>
        var replacement: [Step]
        /// What the edit does, for errors ("the Exif item 44").
        var what: String

        /// Zeroes `range` in place.
        static func erase(_ range: Range<Int64>, _ what: String) -> Edit {
            Edit(range: range, replacement: [.zeros(range.upperBound - range.lowerBound)], what: what)
        }

        /// Replaces `range` with `bytes`.
        static func replace(_ range: Range<Int64>, with bytes: [UInt8], _ what: String) -> Edit {
            Edit(range: range, replacement: [.insert(bytes)], what: what)
        }

        /// Replaces a whole box with a `free` box of the same length and a zeroed payload (nothing after it moves).
        static func blank(_ range: Range<Int64>, _ what: String) -> Edit {
            let length = range.upperBound - range.lowerBound
            let header = BoxNode.freeHeader(length: length)
            return Edit(range: range, replacement: [.insert(header), .zeros(length - Int64(header.count))], what: what)
        }
    }
}

extension SplicePlan {
    /// Writes the output.
    /// - Parameters:
    ///   - source: the bytes the plan was made from.
    ///   - output: where the stripped copy goes.
    ///   - observe: when given, sees every source byte once, in order (a source hash); the source is then read
    ///     through user space even where the kernel could copy it.
    ///   - checkpoint: called between chunks; throw from it to stop (cancellation).
    /// - Throws: ``FormatError/io(_:)``, ``FormatError/truncated(_:)`` when the source shrank, or what `checkpoint` throws.
    public func write(
        from source: some ByteSource, to output: inout some ByteWriter,
        observe: ((UnsafeRawBufferPointer) -> Void)? = nil,
        checkpoint: () throws -> Void = {}
    ) throws {
        let chunk = 1 << 20
        func read(_ range: Range<Int64>, _ body: ([UInt8]) throws -> Void) throws {
            var offset = range.lowerBound
            while offset < range.upperBound {
                try checkpoint()
                let length = Int(min(Int64(chunk), range.upperBound - offset))
                let bytes = try source.bytes(at: offset, count: length)
                guard bytes.count == length else {
                    throw FormatError.truncated(
                        "file is shorter than when it was read (ends before byte \(range.upperBound))")
                }
                if let observe { bytes.withUnsafeBytes(observe) }
                try body(bytes)
                offset += Int64(length)
            }
        }
        for step in steps {
            switch step {
            case .copy(let range):
                if observe == nil {
                    try output.copy(range, from: source, checkpoint: checkpoint)
                } else {
                    try read(range) { try output.write($0) }
                }
            case .drop(let range):
                if observe != nil { try read(range) { _ in } }
            case .insert(let bytes):
                try output.write(bytes)
            case .zeros(let count):
                let block = [UInt8](repeating: 0, count: Int(min(Int64(chunk), count)))
                var left = count
                while left > 0 {
                    try checkpoint()
                    let take = Int(min(Int64(block.count), left))
                    try block.withUnsafeBytes { try output.write(UnsafeRawBufferPointer(rebasing: $0[..<take])) }
                    left -= Int64(take)
                }
            }
        }
    }
}

extension ByteWriter {
    /// Appends the bytes of `range` of `source`, read in 1 MiB chunks. Writers that can do better (a file the kernel
    /// copies into) provide their own.
    public mutating func copy(_ range: Range<Int64>, from source: some ByteSource, checkpoint: () throws -> Void) throws
    {
        try copyThroughMemory(range, from: source, checkpoint: checkpoint)
    }

    mutating func copyThroughMemory(
        _ range: Range<Int64>, from source: some ByteSource, checkpoint: () throws -> Void
    ) throws {
        var offset = range.lowerBound
        while offset < range.upperBound {
            try checkpoint()
            let length = Int(min(Int64(1 << 20), range.upperBound - offset))
            let bytes = try source.bytes(at: offset, count: length)
            guard bytes.count == length else {
                throw FormatError.truncated(
                    "file is shorter than when it was read (ends before byte \(range.upperBound))")
            }
            try write(bytes)
            offset += Int64(length)
        }
    }
}
