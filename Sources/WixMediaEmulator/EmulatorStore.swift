import Crypto
import Foundation
import Glibc
import _CryptoExtras

/// A stored file: the descriptor's fields plus what the emulator needs to answer for it.
struct StoredFile: Sendable, Codable, Hashable {
    var id: String
    var displayName: String
    var parentFolderId: String
    var mimeType: String
    var mediaType: String
    var hash: String
    var sha256: String
    var sizeInBytes: Int64
    var isPrivate: Bool
    var labels: [String]
    var siteId: String
    var createdDate: Date
    var updatedDate: Date
    var sourceUrl: String?
    var width: Int?
    var height: Int?
    var state: String
    /// When processing ends; `nil` while an import is still fetching.
    var readyAt: Date?
    /// What processing ends with: `READY` or `FAILED`.
    var outcome: String
    var failureReason: String?
    var externalOrigin: String?
    var externalIds: [String]?
    /// The blob's file name under `blobs/`.
    var blob: String?
    /// `true` once the File Ready / File Failed webhook was delivered (or no webhook is configured).
    var notified: Bool

    /// `PENDING`, `READY` or `FAILED` at `now`.
    func operationStatus(at now: Date) -> String {
        guard let readyAt, now >= readyAt else { return "PENDING" }
        return outcome
    }
}

/// A folder in the emulated Media Manager.
struct StoredFolder: Sendable, Codable, Hashable {
    var id: String
    var displayName: String
    var parentFolderId: String
    var createdDate: Date
    var updatedDate: Date
    var state: String
}

/// A tus upload in progress: its bytes are in `partial/<id>`.
struct TusUpload: Sendable, Codable, Hashable {
    var id: String
    var token: String
    var length: Int64
    var metadata: [String: String]
    var createdDate: Date
    var finalizedFileId: String?
}

/// The emulator's state, kept on disk one JSON file per object (so a restart with the same folder keeps
/// everything, and a mutation rewrites one small file, not the whole state).
actor EmulatorStore {
    let directory: String
    private(set) var files: [String: StoredFile] = [:]
    private(set) var folders: [String: StoredFolder] = [:]
    private(set) var uploads: [String: TusUpload] = [:]
    private var patching: Set<String> = []
    /// The running digest of each tus upload's received bytes (in memory: after a restart, finalize re-hashes).
    private var tusDigests: [String: BlobDigest] = [:]
    /// The HMAC secret upload tokens are signed with (kept across restarts).
    nonisolated let signingKeyBytes: [UInt8]
    /// The signing key as CryptoKit wants it (`SymmetricKey` is not `Sendable`, so the actor keeps the bytes).
    nonisolated var signingKey: SymmetricKey { SymmetricKey(data: signingKeyBytes) }

    static let rootFolders = ["media-root", "trash-root", "visitor-uploads"]

    init(directory: String) throws {
        self.directory = directory
        let manager = FileManager.default
        for folder in ["files", "folders", "tus", "blobs", "partial"] {
            try manager.createDirectory(atPath: directory + "/" + folder, withIntermediateDirectories: true)
        }
        let keyPath = directory + "/signing-key"
        if let existing = try? String(contentsOfFile: keyPath, encoding: .utf8),
            let data = Data(base64Encoded: existing.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32
        {
            signingKeyBytes = Array(data)
        } else {
            let key = SymmetricKey(size: .bits256)
            try Self.writeAtomically(Data(key.withUnsafeBytes { Data($0) }.base64EncodedString().utf8), to: keyPath)
            signingKeyBytes = key.withUnsafeBytes { Array($0) }
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var files: [String: StoredFile] = [:]
        var folders: [String: StoredFolder] = [:]
        var uploads: [String: TusUpload] = [:]
        for name in (try? manager.contentsOfDirectory(atPath: directory + "/files")) ?? [] where name.hasSuffix(".json")
        {
            if let data = manager.contents(atPath: directory + "/files/" + name),
                let file = try? decoder.decode(StoredFile.self, from: data)
            {
                files[file.id] = file
            }
        }
        for name in (try? manager.contentsOfDirectory(atPath: directory + "/folders")) ?? []
        where name.hasSuffix(".json") {
            if let data = manager.contents(atPath: directory + "/folders/" + name),
                let folder = try? decoder.decode(StoredFolder.self, from: data)
            {
                folders[folder.id] = folder
            }
        }
        for name in (try? manager.contentsOfDirectory(atPath: directory + "/tus")) ?? [] where name.hasSuffix(".json") {
            if let data = manager.contents(atPath: directory + "/tus/" + name),
                let upload = try? decoder.decode(TusUpload.self, from: data)
            {
                uploads[upload.id] = upload
            }
        }
        self.files = files
        self.folders = folders
        self.uploads = uploads
    }

    /// The RSA key webhooks are signed with (RS256, as Wix signs them with its app key), made on first use and kept
    /// in `<data>/webhook-key.pem`; receivers verify with its public half (`GET /_emulator/webhook-public-key`).
    func webhookKey() throws -> _RSA.Signing.PrivateKey {
        if let webhookSigningKey { return webhookSigningKey }
        let path = directory + "/webhook-key.pem"
        let key: _RSA.Signing.PrivateKey
        if let pem = try? String(contentsOfFile: path, encoding: .utf8) {
            key = try _RSA.Signing.PrivateKey(pemRepresentation: pem)
        } else {
            key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            try Self.writeAtomically(Data(key.pemRepresentation.utf8), to: path)
        }
        webhookSigningKey = key
        return key
    }

    private var webhookSigningKey: _RSA.Signing.PrivateKey?

    // MARK: Files

    func file(_ id: String) -> StoredFile? { files[id] }

    func put(_ file: StoredFile) throws {
        files[file.id] = file
        try persist(file, to: "files/\(Self.safeName(file.id)).json")
    }

    func allFiles() -> [StoredFile] { Array(files.values) }

    /// Deletes a file: for good (descriptor and bytes), or to the trash (`parentFolderId: trash-root`; as Wix keeps
    /// trashed files, its status and `state: OK` stay).
    func delete(_ id: String, permanently: Bool, now: Date) throws {
        guard var file = files[id] else { return }
        if permanently {
            files.removeValue(forKey: id)
            try? FileManager.default.removeItem(atPath: directory + "/files/\(Self.safeName(id)).json")
            if let blob = file.blob { try? FileManager.default.removeItem(atPath: blobPath(blob)) }
            return
        }
        // As Wix keeps it: READY, `state: OK`, only its folder is the trash.
        file.parentFolderId = "trash-root"
        file.updatedDate = now
        try put(file)
    }

    /// Marks a single-use upload token as used; `false` when it was used before (kept in memory: a restart forgets).
    func useToken(_ id: String) -> Bool { usedTokens.insert(id).inserted }

    // MARK: Folders

    func folderExists(_ id: String) -> Bool { Self.rootFolders.contains(id) || folders[id] != nil }

    func folder(_ id: String) -> StoredFolder? { folders[id] }

    func allFolders() -> [StoredFolder] { Array(folders.values) }

    /// Creates a folder; `nil` when `unique` and the parent already holds one of that name (compared without case
    /// when `caseInsensitive`).
    func createFolder(
        displayName: String, parent: String, now: Date, unique: Bool, caseInsensitive: Bool = false
    ) throws -> StoredFolder? {
        if unique,
            folders.values.contains(where: {
                $0.parentFolderId == parent && Self.sameName($0.displayName, displayName, caseInsensitive)
                    && $0.state == "OK"
            })
        {
            return nil
        }
        return try createFolder(displayName: displayName, parent: parent, now: now)
    }

    /// Creates a folder.
    func createFolder(displayName: String, parent: String, now: Date) throws -> StoredFolder {
        let folder = StoredFolder(
            id: Self.hexID(), displayName: displayName, parentFolderId: parent, createdDate: now, updatedDate: now,
            state: "OK")
        folders[folder.id] = folder
        try persist(folder, to: "folders/\(folder.id).json")
        return folder
    }

    /// Deletes a folder with everything under it: to the trash (the folder's state `DELETED`, its files in
    /// `trash-root`), or for good.
    func deleteFolder(_ id: String, permanently: Bool, now: Date) throws {
        guard var folder = folders[id] else { return }
        for child in folders.values where child.parentFolderId == id {
            try deleteFolder(child.id, permanently: permanently, now: now)
        }
        for file in files.values where file.parentFolderId == id {
            if permanently {
                try delete(file.id, permanently: true, now: now)
            } else {
                try delete(file.id, permanently: false, now: now)
            }
        }
        if permanently {
            folders.removeValue(forKey: id)
            try? FileManager.default.removeItem(atPath: directory + "/folders/\(id).json")
            return
        }
        folder.state = "DELETED"
        folder.updatedDate = now
        folders[id] = folder
        try persist(folder, to: "folders/\(folder.id).json")
    }

    /// The folder at `path` (`/videos/2024/december`) under `parent`, creating missing folders.
    func folder(forPath path: String, under parent: String, now: Date, caseInsensitive: Bool = false) throws -> String {
        var current = parent
        for name in path.split(separator: "/").map(String.init) where !name.isEmpty {
            if let existing = folders.values.first(where: {
                $0.parentFolderId == current && Self.sameName($0.displayName, name, caseInsensitive) && $0.state == "OK"
            }) {
                current = existing.id
            } else {
                current = try createFolder(displayName: name, parent: current, now: now).id
            }
        }
        return current
    }

    /// Two folder names are one: equal, or equal but for case under `caseInsensitiveFolderNames`.
    static func sameName(_ a: String, _ b: String, _ caseInsensitive: Bool) -> Bool {
        caseInsensitive ? a.lowercased() == b.lowercased() : a == b
    }

    // MARK: Tus uploads

    func upload(_ id: String) -> TusUpload? { uploads[id] }

    func upload(forToken token: String) -> TusUpload? { uploads.values.first { $0.token == token } }

    func put(_ upload: TusUpload) throws {
        uploads[upload.id] = upload
        try persist(upload, to: "tus/\(upload.id).json")
    }

    func removeUpload(_ id: String) {
        uploads.removeValue(forKey: id)
        tusDigests.removeValue(forKey: id)
        try? FileManager.default.removeItem(atPath: directory + "/tus/\(id).json")
        try? FileManager.default.removeItem(atPath: partialPath(id))
    }

    /// Marks an upload as receiving a PATCH; `false` when one is already in progress.
    func beginPatch(_ id: String) -> Bool { patching.insert(id).inserted }

    func endPatch(_ id: String) { patching.remove(id) }

    /// The digest of a tus upload's bytes so far, when the emulator saw them all arrive.
    func tusDigest(_ id: String) -> BlobDigest? { tusDigests[id] }

    func setTusDigest(_ id: String, _ digest: BlobDigest?) { tusDigests[id] = digest }

    private var usedTokens: Set<String> = []

    // MARK: Admin

    /// Deletes everything (tests).
    func reset() throws {
        files = [:]
        folders = [:]
        uploads = [:]
        for folder in ["files", "folders", "tus", "blobs", "partial"] {
            let path = directory + "/" + folder
            try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
    }

    // MARK: Paths

    nonisolated func blobPath(_ name: String) -> String { directory + "/blobs/" + Self.safeName(name) }
    nonisolated func partialPath(_ name: String) -> String { directory + "/partial/" + Self.safeName(name) }

    // MARK: Helpers

    private func persist(_ value: some Encodable, to relative: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        try Self.writeAtomically(try encoder.encode(value), to: directory + "/" + relative)
    }

    static func writeAtomically(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp-\(UUID().uuidString)"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw CocoaError(
                .fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot write \(path): \(reason)"])
        }
    }

    /// 32 lower-case hex characters, like Wix folder ids and the hex part of file ids.
    static func hexID() -> String {
        UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    /// A file id safe to use as a file name.
    static func safeName(_ id: String) -> String {
        String(id.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." || $0 == "~" ? $0 : "_" })
    }
}
