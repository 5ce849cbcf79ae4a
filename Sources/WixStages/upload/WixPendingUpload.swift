import Foundation
import IngestStages
import MediaIngest

/// An upload to Wix that has begun and has no answer yet: checkpointed before the first byte goes (or the import is
/// requested), so a crash, a kill or an interrupted run leaves the next attempt enough to look for the file at Wix
/// instead of sending it twice (``Asset/Recovery/values``).
public struct WixPendingUpload: AssetValueKey {
    public struct Value: Codable, Sendable, Hashable {
        /// When the first attempt began.
        public var startedAt: Date
        /// The name the file gets at Wix (`displayName`).
        public var fileName: String
        /// The bytes sent (0 for an import: Wix fetches them).
        public var size: Int64
        /// The folder (`parentFolderId`) and the path below it (`filePath`, expanded).
        public var folderID: String?
        public var folderPath: String?

        public init(startedAt: Date, fileName: String, size: Int64, folderID: String? = nil, folderPath: String? = nil)
        {
            self.startedAt = startedAt
            self.fileName = fileName
            self.size = size
            self.folderID = folderID
            self.folderPath = folderPath
        }
    }

    public static let name = "wix.pendingUpload"
    public static let isCheckpointed = true
    public static let isReported = false
}
