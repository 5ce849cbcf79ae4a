import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import MediaIngest
import NIOCore
import NIOHTTP1

/// What `hash` means on the site this client talks to, as this run's answered uploads showed it. Wix does not say
/// which algorithm `hash` is; an upload whose answer arrived shows it: the MD5 of the bytes sent, or something else.
public enum HashReading: String, Sendable, Hashable {
    /// Not seen yet: a `hash` proves nothing.
    case unknown
    /// Every answered upload's `hash` was the MD5 of the bytes sent: a listed `hash` identifies content.
    case md5
    /// An answered upload's `hash` was not the MD5 of the bytes sent: `hash` never identifies content.
    case opaque

    /// The reading after one more answered upload: one disagreement makes it opaque for good.
    func learning(reported: String, sentMD5: String?) -> HashReading {
        guard let sentMD5, !reported.isEmpty, self != .opaque else { return self }
        return reported.lowercased() == sentMD5.lowercased() ? .md5 : .opaque
    }
}

/// How a file at Wix relates to the bytes an upload sent.
enum ContentProof: Sendable, Equatable {
    /// Shown to hold exactly these bytes (by a `hash` proven to be MD5, or by downloading it).
    case ours
    /// Shown to hold other bytes.
    case other
    /// Cannot be shown either way (private, not served yet, no URL): never adopted.
    case unproven(String)
}

extension WixMediaClient {
    /// The file an upload whose answer was lost put at Wix, if it is there: a file in the target folder with the name
    /// and size sent, changed since the attempt began, of the same privacy, not in the trash, not claimed by another
    /// asset of this run — and **proven to hold these bytes**: by its `hash` where this run saw that `hash` is the
    /// MD5 of what was sent, or else by downloading it and comparing the SHA-256. A same-named file of the same size
    /// with other bytes (two cameras' `IMG_0001.JPG`) is never adopted; a file that cannot be proven ours (a private
    /// one, one not served yet) is not adopted either: the caller sends again, since a possible duplicate can be
    /// repaired and a lost file cannot.
    ///
    /// Wix's listings are not promised to be read-your-writes, and folders named by `filePath` appear during the
    /// upload: a lookup that finds nothing of ours looks once more after ``RetryPolicy/listingLag`` before it
    /// concludes. Only documented sorts are used (`updatedDate`, newest first). A copy of ours that ended FAILED is
    /// deleted on the way (the upload goes again).
    ///
    /// - Parameter looks: 2 after an answer that never came (the listing may not show the file yet); 1 after an error
    ///   the server answered with (a 5xx), where the upload most likely failed and a second listing is mostly cost.
    public func findUploaded(_ job: UploadJob, looks: Int = 2) async throws -> FileDescriptor? {
        var identity = job.contentSHA256.map { ContentIdentity(sha256: $0, md5: nil) }
        for look in 0..<max(1, looks) {
            if look > 0 {
                logger.debug(
                    "nothing of ours listed yet; looking again after the listing lag",
                    metadata: ["file": "\(job.options.fileName)", "wait": "\(retry.listingLag)"])
                try await Task.sleep(for: retry.listingLag)
            }
            if let found = try await lookOnce(for: job, identity: &identity) {
                return found
            }
        }
        return nil
    }

    /// The SHA-256 (and, once needed, the MD5) of the bytes an upload sends.
    struct ContentIdentity {
        var sha256: String
        var md5: String?
    }

    private func lookOnce(
        for job: UploadJob, identity: inout ContentIdentity?
    ) async throws -> FileDescriptor? {
        // A folder the upload itself created is not in a listing taken before it: a miss looks again.
        guard let folder = try await lookupFolder(job.options) else { return nil }
        return try await firstRecentFile(in: folder, since: job.startedAt) { file in
            guard isCandidate(file, for: job) else { return nil }
            var known = try identity ?? ContentIdentity(sha256: FileHashing.sha256(ofFileAt: job.path))
            let proof = try await prove(file, holds: job, identity: &known)
            identity = known
            switch proof {
            case .ours where file.isFailed:
                // Our copy, but processing failed: it is no use to anyone; the upload goes again.
                try? await deleteFiles(ids: [file.id], permanent: true)
                logger.info(
                    "the upload whose answer was lost ended FAILED at Wix; deleted it",
                    metadata: ["file": "\(job.options.fileName)", "wixId": "\(file.id)"])
                return nil
            case .ours:
                return memory.claim(file.id) ? file : nil
            case .other:
                return nil
            case .unproven(let why):
                logger.warning(
                    "a file of this name and size is at Wix but cannot be shown to hold these bytes; sending again (a possible duplicate, never a loss)",
                    metadata: ["file": "\(job.options.fileName)", "wixId": "\(file.id)", "reason": "\(why)"])
                return nil
            }
        }
    }

    /// The folder an upload or import named (`parentFolderId`, then `filePath` below it), listed again on a miss;
    /// `nil` when it does not exist, so nothing can be in it.
    func lookupFolder(_ options: UploadOptions) async throws -> String? {
        let parent = options.parentFolderId ?? "media-root"
        guard let path = options.filePath, !path.isEmpty else { return parent }
        return try await folderID(path: path, under: parent, refreshOnMiss: true)
    }

    /// The first file `match` accepts among those of `folder` changed since `since` (less 10 minutes' clock skew),
    /// newest change first — `updatedDate`, the sort Wix documents — over at most 3 pages. A file last changed before
    /// that was created before it too, so the walk stops there.
    func firstRecentFile(
        in folder: String, since: Date, _ match: (FileDescriptor) async throws -> FileDescriptor?
    ) async throws -> FileDescriptor? {
        let earliest = since.addingTimeInterval(-600)
        var cursor: String?
        for _ in 0..<3 {
            let page = try await listFiles(parentFolderId: folder, limit: 100, cursor: cursor, sortField: "updatedDate")
            for file in page.files {
                if let changed = file.updatedDate ?? file.createdDate, changed < earliest { return nil }
                if let found = try await match(file) { return found }
            }
            guard let next = page.next else { return nil }
            cursor = next
        }
        return nil
    }

    /// Name, size (when Wix knows it), privacy and place: a file that might be the upload's.
    private func isCandidate(_ file: FileDescriptor, for job: UploadJob) -> Bool {
        guard !file.isTrashed, file.isPrivate == job.options.isPrivate, !memory.isClaimed(file.id) else {
            return false
        }
        if let size = file.sizeInBytes, size != 0, size != job.size { return false }
        return Self.sameName(file.displayName, UploadOptions.sanitizedFileName(job.options.fileName))
    }

    /// Wix may show a name other than the one sent (an import sample appends the extension): the same name, or the
    /// same name up to its extension.
    static func sameName(_ shown: String, _ sent: String) -> Bool {
        if shown == sent { return true }
        func stem(_ name: String) -> Substring {
            guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return Substring(name) }
            return name[..<dot]
        }
        return stem(shown) == stem(sent)
    }

    /// Whether `file` holds the bytes of `job`: by `hash` when this run proved it is the MD5, else by download.
    func prove(
        _ file: FileDescriptor, holds job: UploadJob, identity: inout ContentIdentity
    ) async throws
        -> ContentProof
    {
        if memory.hashReading == .md5, !file.hash.isEmpty {
            if identity.md5 == nil {
                let both = try FileHashing.sha256AndMD5(ofFileAt: job.path)
                identity = ContentIdentity(sha256: both.sha256, md5: both.md5)
            }
            return file.hash.lowercased() == identity.md5 ? .ours : .other
        }
        guard let url = file.url, !url.isEmpty else { return .unproven("Wix gives no URL for it") }
        guard let digest = try await downloadDigest(url, limit: job.size) else {
            return .unproven("its URL does not serve the bytes (private, or still processing)")
        }
        return digest.size == job.size && digest.sha256 == identity.sha256 ? .ours : .other
    }

    /// The size and SHA-256 of what `url` serves (streamed, at most `limit + 1` bytes read); `nil` when it does not
    /// serve the file (a private file's 403, a 404 while processing, a broken connection).
    func downloadDigest(_ url: String, limit: Int64) async throws -> (size: Int64, sha256: String)? {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        do {
            return try await slots.withPermit {
                let response = try await http.execute(request, deadline: .now() + .hours(1))
                guard response.status.code == 200 else {
                    _ = try? await response.body.collect(upTo: 1 << 20)
                    return nil
                }
                var hasher = SHA256()
                var size: Int64 = 0
                for try await chunk in response.body {
                    try Task.checkCancellation()
                    size += Int64(chunk.readableBytes)
                    // Longer than what was sent: not ours (and no reason to read a huge file to the end).
                    if size > limit { return (size, "") }
                    chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                }
                return (size, FileHashing.hex(hasher.finalize()))
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            logger.debug("could not download a file to compare", metadata: ["url": "\(url)", "error": "\(error)"])
            return nil
        }
    }
}
