import Foundation
import Logging
import MediaIngest
import NIOHTTP1

/// One file for Import File: the URL Wix fetches, and where and how it lands.
public struct ImportRequest: Sendable {
    public var url: String
    public var options: UploadOptions

    public init(url: String, options: UploadOptions) {
        self.url = url
        self.options = options
    }
}

extension WixMediaClient {
    /// Imports `url` (Import File) exactly once: the POST is not repeated blindly after a lost answer (Wix's Import File
    /// is not idempotent) — the folder is searched for a file imported from this URL since `since` first
    /// (``findImported(url:options:since:)``), and only when there is none is the POST sent again.
    public func importOnce(url: String, options: UploadOptions, since: Date) async throws -> FileDescriptor {
        var attempt = 1
        while true {
            do {
                let file = try await importFile(url: url, options: options, retrying: false)
                _ = memory.claim(file.id)
                return file
            } catch let error as WixClientError where error.isRetryable && !error.isPacingHint {
                if let found = try await findImported(url: url, options: options, since: since) {
                    logger.info(
                        "the import arrived although its answer did not; not importing again",
                        metadata: ["url": "\(url)", "wixId": "\(found.id)"])
                    return found
                }
                guard attempt < retry.maxAttempts else { throw error }
                guard budget.take(kind: error.failureCode.rawValue, detail: "import of \(url): \(error)") else {
                    throw WixClientError.budgetExhausted(summary: budget.summary)
                }
                try await Task.sleep(for: retry.delay(afterAttempt: attempt, retryAfter: error.retryAfter))
                attempt += 1
            }
        }
    }

    /// The file an import of `url` made since `since` (10 minutes' clock skew allowed) in the folder `options` name:
    /// its `sourceUrl` is the URL, it has the same privacy, is not in the trash and not claimed by another asset of
    /// this run. Looks twice, ``RetryPolicy/listingLag`` apart, before it answers `nil`.
    public func findImported(url: String, options: UploadOptions, since: Date) async throws -> FileDescriptor? {
        for look in 0..<2 {
            if look > 0 { try await Task.sleep(for: retry.listingLag) }
            guard let folder = try await lookupFolder(options) else { continue }
            let found = try await firstRecentFile(in: folder, since: since) { file in
                guard file.raw["sourceUrl"]?.stringValue == url, !file.isTrashed, !file.isFailed,
                    file.isPrivate == options.isPrivate, memory.claim(file.id)
                else { return nil }
                return file
            }
            if let found { return found }
        }
        return nil
    }
}

extension WixMediaClient {
    /// One ImportFileRequest (§4): the upload fields, with `displayName` for `fileName` and no `sizeInBytes`.
    static func importBody(_ request: ImportRequest) throws -> JSONValue {
        guard case .object(var body) = request.options.generateBody(resumable: false) else {
            throw WixClientError.malformedResponse("request")
        }
        body["url"] = .string(request.url)
        body["displayName"] = body.removeValue(forKey: "fileName")
        body.removeValue(forKey: "sizeInBytes")
        return .object(body)
    }

    /// `POST /site-media/v1/bulk/files/import-v2` (Bulk Import File, at most 100 requests): sent once (imports are not
    /// idempotent; throttling aside), each request answered on its own — a descriptor, or Wix's error for that item.
    public func bulkImport(_ requests: [ImportRequest]) async throws -> [Result<FileDescriptor, WixClientError>] {
        guard !requests.isEmpty else { return [] }
        let items = try requests.map(Self.importBody)
        let reply = try await api(
            .POST, "/site-media/v1/bulk/files/import-v2",
            body: ["importFileRequests": .array(items), "returnEntity": .bool(true)], retrying: false)
        var results = [Result<FileDescriptor, WixClientError>](
            repeating: .failure(.malformedResponse("Bulk Import File did not answer for this item")),
            count: requests.count)
        for result in reply["results"]?.arrayValue ?? [] {
            let metadata = result["itemMetadata"]
            guard let index = metadata?["originalIndex"]?.intValue.map({ Int($0) }), results.indices.contains(index)
            else { continue }
            if metadata?["success"]?.boolValue == true, let item = result["item"] {
                results[index] = Result { try FileDescriptor(json: item) }.mapError {
                    $0 as? WixClientError ?? .malformedResponse("\($0)")
                }
            } else {
                let error = metadata?["error"]
                results[index] = .failure(
                    .http(
                        status: 400, code: error?["code"]?.stringValue,
                        message: error?["description"]?.stringValue ?? "refused by Bulk Import File", retryAfter: nil,
                        host: .api))
            }
        }
        return results
    }

    /// Imports many URLs exactly once, 100 a call: after a call whose answer was lost (or failed in a way that may
    /// pass), each URL is looked for by its source URL (``findImported(url:options:since:)``) and only the ones not
    /// found are sent again.
    public func importAllOnce(
        _ requests: [ImportRequest], since: Date
    ) async throws
        -> [Result<FileDescriptor, WixClientError>]
    {
        var results = [Result<FileDescriptor, WixClientError>?](repeating: nil, count: requests.count)
        for start in stride(from: 0, to: requests.count, by: 100) {
            var open = Array(start..<min(requests.count, start + 100))
            var attempt = 1
            while !open.isEmpty {
                do {
                    for (index, result) in zip(open, try await bulkImport(open.map { requests[$0] })) {
                        if case .success(let file) = result { _ = memory.claim(file.id) }
                        results[index] = result
                    }
                    open = []
                } catch let error as WixClientError where error.isRetryable && !error.isPacingHint {
                    var still: [Int] = []
                    for index in open {
                        if let found = try await findImported(
                            url: requests[index].url, options: requests[index].options, since: since)
                        {
                            results[index] = .success(found)
                        } else {
                            still.append(index)
                        }
                    }
                    open = still
                    guard !open.isEmpty else { break }
                    guard attempt < retry.maxAttempts else {
                        for index in open { results[index] = .failure(error) }
                        break
                    }
                    guard budget.take(kind: error.failureCode.rawValue, detail: "bulk import: \(error)") else {
                        throw WixClientError.budgetExhausted(summary: budget.summary)
                    }
                    try await Task.sleep(for: retry.delay(afterAttempt: attempt, retryAfter: error.retryAfter))
                    attempt += 1
                }
            }
        }
        return results.map { $0 ?? .failure(.malformedResponse("no answer for this import")) }
    }
}
