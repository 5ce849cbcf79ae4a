import Crypto
import Foundation
import Logging
import MediaIngest

extension RemoteSource {
    /// Streams the object into a work file, hashing as it goes; the copy must match the listing (size, and the hash
    /// when there is one) or it is thrown away and the asset fails `remote_changed`.
    public func fetch(_ asset: Asset, context: StageContext) async throws -> Asset {
        guard case .remote(_, let root, let relative) = asset.origin else { return asset }
        let path = try context.makeWorkFile(named: asset.origin.fileName, sizeHint: asset.size)
        // Only the hash the listing gave is computed (the stages hash what they store themselves).
        let listed = asset.values[RemoteObject.self]
        var md5 = listed?.hash?.hasPrefix("md5:") == true ? Insecure.MD5() : nil
        var sha1 = listed?.hash?.hasPrefix("sha1:") == true ? SHA1Digest() : nil
        let written: Int64
        do {
            written = try await client(context.pipeline).download(fs: root, remote: relative, to: path) { bytes in
                md5?.update(bufferPointer: bytes)
                sha1?.update(bytes)
            }
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
            let got =
                hash.hasPrefix("md5:")
                ? "md5:" + (md5.map { FileHashing.hex($0.finalize()) } ?? "") : "sha1:" + (sha1?.hex ?? "")
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
        if destination.hasPrefix("/") || destination.hasPrefix(":") || RemoteName.prefix(of: destination) != nil {
            return destination
        }
        if let remote = RemoteName.prefix(of: sourceRoot) { return remote + destination }
        return destination
    }

    /// `relative`, or `name (1).ext`, `name (2).ext`… when the archive holds that name already.
    static func freeName(for relative: String, in folder: String, client: RcloneClient) async throws -> String {
        let url = URL(fileURLWithPath: "/" + relative)
        let stem = url.deletingPathExtension().lastPathComponent
        let ext = url.pathExtension
        let parent = (relative as NSString).deletingLastPathComponent
        for index in 0..<1000 {
            let name =
                index == 0
                ? relative
                : (parent.isEmpty ? "" : parent + "/") + "\(stem) (\(index))"
                    + (ext.isEmpty ? "" : "." + ext)
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
