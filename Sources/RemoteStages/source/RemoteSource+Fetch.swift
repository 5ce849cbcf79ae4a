import Crypto
import Foundation
import IngestStages
import Logging
import MediaIngest

extension RemoteSource {
    /// Has rclone copy the object into a work file (`operations/copyfile`: one read of the object, streamed to disk by
    /// rclone, which checks its own transfer); the copy must then match the *listing* (size, and the hash when there
    /// is one) or it is thrown away and the asset fails `remote_changed` — the object changed since it was listed.
    public func fetch(_ asset: Asset, context: StageContext) async throws -> Asset {
        guard case .remote(_, let root, let relative) = asset.origin else { return asset }
        // A plain name for the copy: rclone's local backend would turn the symbols it shows for control characters
        // (␊) back into the characters.
        let ext =
            asset.sourceExtension.unicodeScalars.allSatisfy { $0.isASCII && CharacterSet.alphanumerics.contains($0) }
            ? asset.sourceExtension : ""
        let path = try context.makeWorkFile(named: "object" + (ext.isEmpty ? "" : "." + ext), sizeHint: asset.size)
        // Only the hash the listing gave is computed (the stages hash what they store themselves).
        let listed = asset.values[RemoteObject.self]
        let written: Int64
        do {
            try? FileSystem.removeItem(path)
            _ = try await client(context.pipeline).call(
                "operations/copyfile",
                [
                    "srcFs": .string(root), "srcRemote": .string(relative),
                    "dstFs": .string((path as NSString).deletingLastPathComponent),
                    "dstRemote": .string((path as NSString).lastPathComponent),
                ])
            written = try FileStatus.of(path).size
        } catch let error as RcloneError where error.isNotFound && relative.contains("\u{FFFD}") {
            // rclone's JSON cannot carry a name that is not UTF-8: it lists it with U+FFFD, and that name leads
            // nowhere. A verdict about the entry, until someone renames it.
            try? FileSystem.removeItem(path)
            throw NameNotUTF8(location: asset.origin.remoteLocation ?? relative)
        } catch {
            try? FileSystem.removeItem(path)
            throw error
        }
        var problem: String?
        if let size = asset.size, size != written {
            problem = "listed with \(size) bytes, \(written) downloaded"
        } else if let hash = listed?.hash {
            let got = try Self.hash(ofFileAt: path, like: hash)
            if got != hash { problem = "listed with \(hash), downloaded \(got)" }
        }
        if let problem {
            try? FileSystem.removeItem(path)
            throw RemoteChanged(location: asset.origin.remoteLocation ?? relative, detail: problem)
        }
        downloads.add(written)
        var asset = asset
        asset.contentPath = path
        asset.size = written
        asset.sourceSize = written
        context.logger.debug("fetched", metadata: ["bytes": "\(written)"])
        return asset
    }

    /// `md5:…` or `sha1:…` of the file, the kind `listed` is.
    static func hash(ofFileAt path: String, like listed: String) throws -> String {
        let file = try ReadableFile(path: path)
        var md5 = listed.hasPrefix("md5:") ? Insecure.MD5() : nil
        var sha1 = md5 == nil ? SHA1Digest() : nil
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try file.read(into: buffer)
            if count == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<count])
            md5?.update(bufferPointer: chunk)
            sha1?.update(chunk)
        }
        return md5.map { "md5:" + FileHashing.hex($0.finalize()) } ?? "sha1:" + (sha1?.hex ?? "")
    }

    /// Moves the object to `destination` (`remote:path`, or a path on the source's remote; its relative path kept,
    /// never overwriting) or deletes it (`nil`).
    public func archive(_ asset: Asset, to destination: String?, context: StageContext) async throws -> String? {
        guard case .remote(_, let root, let relative) = asset.origin else { return nil }
        let rc = try client(context.pipeline)
        guard let destination else {
            _ = try await rc.call("operations/deletefile", ["fs": .string(root), "remote": .string(relative)])
            return nil
        }
        let folder = Self.archiveFolder(destination, sourceRoot: root)
        let placed = try await Self.freeName(for: relative, in: folder, client: rc)
        _ = try await rc.call(
            "operations/movefile",
            [
                "srcFs": .string(root), "srcRemote": .string(relative), "dstFs": .string(folder),
                "dstRemote": .string(placed),
            ])
        return RemoteListing.join(folder, placed)
    }

    /// `other:Archive` as written; `Archive/2026` on the source's own remote (`dropbox:` + `Archive/2026`); an
    /// absolute path as it is.
    static func archiveFolder(_ destination: String, sourceRoot: String) -> String {
        if destination.hasPrefix("/") || RemoteName.names(destination) { return destination }
        if let remote = RemoteName.prefix(of: sourceRoot) { return remote + destination }
        return destination
    }

    /// `relative`, or `name (1).ext`, `name (2).ext`… when the archive holds that name already.
    static func freeName(for relative: String, in folder: String, client: RcloneClient) async throws -> String {
        for index in 0..<1000 {
            let name = NumberedName.candidate(relative, index)
            let answer = try await client.call(
                "operations/stat", ["fs": .string(folder), "remote": .string(name), "opt": ["noMimeType": true]])
            if answer["item"] == nil || answer["item"] == .null { return name }
        }
        throw RcloneError(method: "operations/stat", status: 409, message: "no free name for \(relative) in \(folder)")
    }
}

/// The object downloaded is not the one the listing described: it changed between the listing and the download.
struct RemoteChanged: Error, AssetFailureDescribing {
    var location: String
    var detail: String
    var failureCode: AssetFailure.Code { "remote_changed" }
    var failureMessage: String {
        "\(location.displaySafe) changed while it was read (\(detail)); nothing was kept, the next run lists it again"
    }
}

/// SHA-1 over a stream (some backends — B2, OneDrive's — list SHA-1 and not MD5): a check of what rclone listed,
/// never an identity of ours.
struct SHA1Digest {
    private var hasher = Insecure.SHA1()
    mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }
    var hex: String { FileHashing.hex(hasher.finalize()) }
}

/// An object whose name is not UTF-8: rclone lists it with U+FFFD in place of the bytes it cannot put in JSON, and
/// cannot read it back by that name.
struct NameNotUTF8: Error, AssetRejecting {
    var location: String
    var rejection: Rejection {
        Rejection(
            "name_not_utf8",
            "\(location.displaySafe): its name is not UTF-8, and rclone cannot read it back by the name it lists; rename it at the remote"
        )
    }
}
