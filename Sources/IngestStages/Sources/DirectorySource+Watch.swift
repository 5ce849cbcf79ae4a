import Foundation
import MediaIngest

/// `ingest watch` over a `source.directory`: events are filtered by the source's own rules, and each batch lists only
/// the files that settled, through the same walker (so globs, hidden files, links and `minAge` decide as in a run).
extension DirectorySource: WatchableSource {
    public var watchedRoot: String { root }

    public var settleSeconds: Double { minimumAge }

    public var listsEverything: Bool { listed == nil }

    public func mayTake(relativePath: String, isDirectory: Bool) -> Bool {
        let components = relativePath.split(separator: "/").map(String.init)
        guard !components.isEmpty else { return true }
        if skipsHidden && components.contains(where: { $0.hasPrefix(".") }) { return false }
        let folders = isDirectory ? components : Array(components.dropLast())
        for end in folders.indices {
            let folder = folders[...end].joined(separator: "/")
            if excludes.contains(where: { DirectorySource.prunes($0, directory: folder) }) { return false }
        }
        if let depthLimit, folders.count > depthLimit { return false }
        if isDirectory { return true }
        // A sidecar's arrival lists its media again, whatever the globs say of the sidecar itself.
        if let last = components.last, SidecarPairing.kind(ofName: last) != nil {
            return !excludes.contains(where: { $0.matches(relativePath) })
        }
        if !includes.isEmpty && !includes.contains(where: { $0.matches(relativePath) }) { return false }
        return !excludes.contains(where: { $0.matches(relativePath) })
    }

    public func restricted(to relativePaths: [String]) -> any AssetSource {
        // Once each, and not again under a folder that is listed itself (the folder's walk takes it).
        let unique = Set(relativePaths)
        let kept = unique.filter { path in
            var ancestor = Substring(path)
            while let slash = ancestor.lastIndex(of: "/") {
                ancestor = ancestor[..<slash]
                if unique.contains(String(ancestor)) { return false }
            }
            return true
        }
        var copy = self
        copy.listed = kept.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return copy
    }
}
