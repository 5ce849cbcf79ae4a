import Foundation

/// Facts about the libexif library in use.
enum ExifLibrary {
    /// The file name of the loaded libexif shared object, e.g. `libexif.so.12.3.4`, read from `/proc/self/maps`
    /// (libexif has no version function; the file name carries its ABI version).
    static var sharedObjectName: String? {
        // Read to the end: /proc files report a size of 0, so a read sized by the file's length gets nothing.
        guard let data = FileHandle(forReadingAtPath: "/proc/self/maps")?.readDataToEndOfFile() else { return nil }
        let maps = String(decoding: data, as: UTF8.self)
        for line in maps.split(separator: "\n") where line.contains("libexif.so") {
            guard let path = line.split(separator: " ", omittingEmptySubsequences: true).last else { continue }
            let resolved = (try? FileManager.default.destinationOfSymbolicLink(atPath: String(path))) ?? String(path)
            return (resolved as NSString).lastPathComponent
        }
        return nil
    }
}
