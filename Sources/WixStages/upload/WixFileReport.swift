import MediaIngest

/// What the manifest, the run report and `exec` programs show under `facts.wix`: the file Wix holds, how it got
/// there and what Wix says of it. Reported, not checkpointed (the ledger keeps the ``TargetRecord`` itself).
public struct WixFileReport: AssetValueKey {
    public struct Value: Codable, Sendable, Hashable {
        /// The Wix file id.
        public var fileId: String
        /// How the bytes went: `put`, `tus`, `import`, `found` / `recovered` (an earlier attempt's file), `duplicate`.
        public var `protocol`: String
        /// Wix's `operationStatus` (`READY`, `PENDING`, `FAILED`).
        public var operationStatus: String
        /// Hex digests and size of the bytes sent, when the stage streamed them itself.
        public var md5: String?
        public var sha256: String?
        public var sentBytes: Int64?
        /// The content hash Wix reports (undocumented, shown as Wix gives it).
        public var wixHash: String?
        /// HTTP attempts the upload took (absent when none was made in this run).
        public var attempts: Int?
        /// How an existing file was recognised as this one (`dedupe: "skip"`): `externalId`, `md5`…
        public var matchedBy: String?

        /// The report of `target`, a Wix ``TargetRecord``; `attempts` 0 is left out.
        public init(_ target: TargetRecord, attempts: Int, matchedBy: String? = nil) {
            fileId = target.id
            self.protocol = target.method ?? "?"
            operationStatus = target.status
            md5 = target.sentMD5
            sha256 = target.sentSHA256
            sentBytes = target.sentBytes
            wixHash = target.reportedHash
            self.attempts = attempts > 0 ? attempts : nil
            self.matchedBy = matchedBy
        }
    }

    public static let name = "wix"
}
