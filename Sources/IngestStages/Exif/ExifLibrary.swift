import Foundation

/// Facts about the libexif library in use.
enum ExifLibrary {
    /// The file name of the loaded libexif shared object, e.g. `libexif.so.12.3.4`, read from `/proc/self/maps`
    /// (libexif has no version function; the file name carries its ABI version).
    static var sharedObjectName: String? {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return nil }
        for line in maps.split(separator: "\n") where line.contains("libexif.so") {
            guard let path = line.split(separator: " ", omittingEmptySubsequences: true).last else { continue }
            let resolved = (try? FileManager.default.destinationOfSymbolicLink(atPath: String(path))) ?? String(path)
            return (resolved as NSString).lastPathComponent
        }
        return nil
    }
}
