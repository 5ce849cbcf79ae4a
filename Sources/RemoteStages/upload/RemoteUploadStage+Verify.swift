import Foundation
import IngestStages
import MediaIngest

extension RemoteUploadStage {
    /// `wanted`, or `stem (1).ext`, `stem (2).ext`… — the first name that is free at the remote and not reserved by
    /// another worker, or that already holds these bytes (same size and MD5, where the backend gives one): then
    /// nothing is copied. The name comes back reserved.
    func freeName(
        _ wanted: String, size: Int64, md5: String, client: RcloneClient
    ) async throws -> (
        name: String, existing: Bool
    ) {
        for index in 0..<1000 {
            let name = NumberedName.candidate(wanted, index)
            guard reserved.reserve(name) else { continue }
            guard let item = try await stat(name, client: client) else { return (name, false) }
            if item.size == size, let hash = item.hashes?["md5"], hash.lowercased() == md5 { return (name, true) }
            reserved.release(name)
        }
        throw RcloneError(method: "operations/stat", status: 409, message: "no free name for \(wanted) in \(root)")
    }

    /// Proves the copy: its size, and its MD5 (else SHA-1) where the backend gives one. A copy that disagrees is
    /// removed, and the asset fails `remote_verify_failed`. Returns what proved it.
    func verify(_ name: String, size: Int64, md5: String, client: RcloneClient) async throws -> String {
        guard let item = try await stat(name, client: client) else {
            throw RemoteVerifyFailed(location: RemoteListing.join(root, name), detail: "not there after the copy")
        }
        var problem: String?
        var proof = "size"
        if item.size != size {
            problem = "\(item.size ?? -1) bytes there, \(size) sent"
        } else if let remoteMD5 = item.hashes?["md5"], !remoteMD5.isEmpty {
            proof = "md5"
            if remoteMD5.lowercased() != md5 { problem = "MD5 \(remoteMD5) there, \(md5) sent" }
        }
        if let problem {
            _ = try? await client.call("operations/deletefile", ["fs": .string(root), "remote": .string(name)])
            throw RemoteVerifyFailed(location: RemoteListing.join(root, name), detail: problem)
        }
        return proof
    }

    /// The object at `name` with its MD5 where the backend has one, or `nil` when there is none.
    func stat(_ name: String, client: RcloneClient) async throws -> RemoteListing.Listing.Entry? {
        struct Answer: Decodable, Sendable { var item: RemoteListing.Listing.Entry? }
        let answer = try await client.call(
            "operations/stat",
            [
                "fs": .string(root), "remote": .string(name),
                "opt": ["noMimeType": true, "showHash": true, "hashTypes": ["md5"]],
            ],
            as: Answer.self)
        return answer.item
    }
}

/// The copy at the remote is not the bytes sent.
struct RemoteVerifyFailed: Error, AssetFailureDescribing {
    var location: String
    var detail: String
    var failureCode: AssetFailure.Code { "remote_verify_failed" }
    var failureMessage: String {
        "\(location.displaySafe): \(detail); the copy was removed, the next run sends it again"
    }
}
