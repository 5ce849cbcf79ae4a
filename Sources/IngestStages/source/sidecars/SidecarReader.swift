import Foundation
import MediaIngest

/// Reads a sidecar for `sidecars: "attach"`: at most `sidecarMaxBytes`, through a descriptor opened without following
/// a final link and refusing anything but a regular file, then parsed by its kind — Takeout JSON with the strict JSON
/// parser, XMP and AAE only after any DTD or entity declaration has been refused (no entity is ever expanded).
enum SidecarReader {
    /// Why a sidecar cannot be used. A verdict about its bytes is a rejection of the sidecar (its media goes on
    /// without it); trouble reading it holds its media back for a later run.
    enum Problem: Error, Sendable {
        case tooLarge(Int64, limit: Int64)
        case malformed(String)
        case notRegular(String)
        case unreadable(String)
    }

    /// The values of one sidecar.
    static func read(_ sidecar: Sidecar, limit: Int64) throws(Problem) -> SidecarValues {
        let bytes = try contents(of: sidecar.path, limit: limit)
        switch sidecar.kind {
        case .takeout: return try takeout(bytes)
        case .xmp: return try XMPSidecar.values(bytes)
        case .aae: return try aae(bytes)
        case .livePhotoVideo: return SidecarValues()
        }
    }

    /// The file's bytes, if it is a regular file of at most `limit` bytes (checked on the open descriptor).
    static func contents(of path: String, limit: Int64) throws(Problem) -> [UInt8] {
        do {
            let file = try ReadableFile(path: path)
            let size = try file.status().size
            guard size <= limit else { throw Problem.tooLarge(size, limit: limit) }
            return try file.read(count: Int(size), at: 0)
        } catch let problem as Problem {
            throw problem
        } catch let error as FileError where error.isNotRegularFile {
            throw .notRegular(error.reason)
        } catch {
            throw .unreadable(FileSystem.describe(error))
        }
    }

    // MARK: Google Takeout

    static func takeout(_ bytes: [UInt8]) throws(Problem) -> SidecarValues {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch let failure as JSONParser.Failure {
            throw .malformed("not JSON (\(failure))")
        } catch {
            throw .malformed("not JSON")
        }
        guard root.objectValue != nil else { throw .malformed("not a JSON object (\(root.kindDescription))") }
        var values = SidecarValues()
        values.title = root["title"]?.stringValue.flatMap(nonEmpty)
        values.description = root["description"]?.stringValue.flatMap(nonEmpty)
        if let stamp = root["photoTakenTime"]?["timestamp"],
            let seconds = stamp.stringValue.flatMap(Double.init)
                ?? stamp.doubleValue, seconds > 0
        {
            values.captureTime = ISO8601.string(from: Date(timeIntervalSince1970: seconds))
        }
        for key in ["geoData", "geoDataExif"] where values.location == nil {
            guard let geo = root[key], let latitude = geo["latitude"]?.doubleValue,
                let longitude = geo["longitude"]?.doubleValue,
                latitude != 0 || longitude != 0, abs(latitude) <= 90, abs(longitude) <= 180
            else { continue }
            values.location = .init(latitude: latitude, longitude: longitude, altitude: geo["altitude"]?.doubleValue)
        }
        values.people = (root["people"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue.flatMap(nonEmpty) }
        return values
    }

    // MARK: Apple AAE

    /// The one DOCTYPE an AAE (an XML property list) may carry; its external DTD is never fetched.
    static let plistDoctype = "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\""

    static func aae(_ bytes: [UInt8]) throws(Problem) -> SidecarValues {
        if !bytes.starts(with: Array("bplist".utf8)) {
            try XMPSidecar.refuseDeclarations(bytes, allowing: plistDoctype)
        }
        let plist: Any
        do {
            plist = try PropertyListSerialization.propertyList(from: Data(bytes), options: [], format: nil)
        } catch {
            throw .malformed("not a property list")
        }
        guard let dictionary = plist as? [String: Any] else { throw .malformed("not a property list dictionary") }
        guard dictionary["adjustmentFormatIdentifier"] != nil || dictionary["adjustmentData"] != nil else {
            throw .malformed("a property list without Apple's adjustment keys")
        }
        var values = SidecarValues()
        if let date = dictionary["adjustmentTimestamp"] as? Date {
            values.editedAt = ISO8601.string(from: date)
        } else if let text = dictionary["adjustmentTimestamp"] as? String {
            values.editedAt = text
        }
        values.editor = (dictionary["adjustmentEditorBundleID"] as? String).flatMap(nonEmpty)
        return values
    }

    static func nonEmpty(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : String(trimmed.prefix(2000))
    }
}

extension SidecarReader.Problem: CustomStringConvertible {
    var description: String {
        switch self {
        case .tooLarge(let size, let limit): return "\(size) bytes, over the \(limit)-byte limit for a sidecar"
        case .malformed(let reason), .notRegular(let reason), .unreadable(let reason): return reason
        }
    }

    /// The rejection of the sidecar, for verdicts; `nil` for trouble that may pass (an I/O error).
    var rejection: Rejection? {
        switch self {
        case .tooLarge: return Rejection(.sidecarTooLarge, "sidecar of \(description)")
        case .malformed(let reason): return Rejection(.sidecarMalformed, "sidecar is \(reason)")
        case .notRegular(let reason): return Rejection(.notRegularFile, "sidecar: \(reason)")
        case .unreadable: return nil
        }
    }
}
