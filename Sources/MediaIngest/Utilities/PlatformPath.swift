import MediaFormats

extension String {
    /// Calls `body` with this path's original bytes as a C string: a name that is not UTF-8 is held in a `String`
    /// by `MediaFormats.FileName`'s escapes, and every system call on a path goes through here to get its bytes
    /// back.
    public func withPlatformPath<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try FileName.withPlatformPath(self, body)
    }
}

extension String {
    /// This file name as a media library should show it: a byte that is not UTF-8 read as Latin-1 (`café` from an
    /// old camera card arrives as `café`); any other name unchanged (`MediaFormats.FileName.presentable(_:)`).
    public var presentableFileName: String { FileName.presentable(self) }
}
