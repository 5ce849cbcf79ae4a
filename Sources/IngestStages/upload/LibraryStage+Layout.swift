import Foundation
import MediaIngest

extension LibraryStage {
    /// With a `layout`: the bytes go to the rendered path (`name (1).ext`, `name (2).ext`… when it is taken — linked
    /// into place, so two writers never overwrite each other), and the content index (`files/<2 hex>/<SHA-256>.json`)
    /// points to them. Bytes the index already holds, still there at their size, are not stored again.
    /// Returns where the bytes are and whether they were there already.
    func placeByLayout(
        _ temporary: String, layout: LayoutTemplate, size: Int64, sha256: String, descriptorPath: String,
        asset: Asset, pipeline: String
    ) throws -> (path: String, duplicate: Bool) {
        if let data = FileManager.default.contents(atPath: descriptorPath),
            let descriptor = try? JSONDecoder().decode(JSONValue.self, from: data),
            let url = descriptor["url"]?.stringValue, let stored = URL(string: url)?.path,
            (try? FileStatus.of(stored))?.size == size
        {
            FileSystem.removeFile(temporary)
            return (stored, true)
        }
        let wanted = libraryPath + "/" + layout.render(asset, sha256: sha256, pipeline: pipeline)
        let folder = (wanted as NSString).deletingLastPathComponent
        try FileSystem.createDirectory(folder)
        for index in 0..<10_000 {
            let candidate = NumberedName.candidate(wanted, index)
            if try FileSystem.renameNoReplace(temporary, to: candidate) {
                FileSystem.syncDirectory(folder)
                return (candidate, false)
            }
        }
        throw FileError(path: wanted, operation: "find a free name in the library for", code: EEXIST)
    }
}
