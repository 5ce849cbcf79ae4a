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

extension DirectorySource.Walker {
    /// The event for one entry of a restricted listing: the rules a walk applies on its way down (hidden and
    /// excluded folders, maxDepth, folders reached through links leaving the root) first, then the entry's own.
    func listedEntry(_ relativePath: String, state: inout State) -> SourceEvent? {
        let components = relativePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else { return nil }
        let parents = Array(components.dropLast())
        if source.skipsHidden && parents.contains(where: { $0.hasPrefix(".") }) { return nil }
        for end in parents.indices {
            let folder = parents[...end].joined(separator: "/")
            if source.excludes.contains(where: { DirectorySource.prunes($0, directory: folder) }) { return nil }
        }
        if let limit = source.depthLimit, parents.count > limit { return nil }
        let parentRelative = parents.joined(separator: "/")
        let parentPath = parents.isEmpty ? source.root : source.root + "/" + parentRelative
        if !parents.isEmpty {
            // A folder on the way that is (or sits behind) a link leaving the root is never descended into.
            guard let real = try? DirectorySource.realPath(parentPath),
                real == state.realRoot || real.hasPrefix(state.realRoot + "/"),
                source.followsLinks || real == state.realRoot + "/" + parentRelative
            else { return nil }
        }
        // The folder's other names decide what this entry is (a sidecar, half of a Live Photo).
        let companions =
            state.listedFolders[parentPath]
            ?? FolderCompanions(
                names: (try? FileSystem.names(in: parentPath)) ?? [],
                livePhotos: source.companions.livePhotos)
        state.listedFolders[parentPath] = companions
        let folder = Folder(
            path: parentPath, relative: parentRelative, depth: parents.count, names: [], companions: companions)
        var name = components[components.count - 1]
        // A sidecar that settled stands for its media: listing the media again attaches it (or, when the media is
        // done already, the ledger skips it).
        if companions.pairing.sidecarNames.contains(name), companions.pairing.orphans[name] == nil,
            let owner = companions.pairing.sidecars.first(where: { $0.value.contains { $0.name == name } })?.key
        {
            name = owner
        }
        guard state.listedSent.insert(parentPath + "/" + name).inserted else { return nil }
        return entry(name, in: folder, state: &state)
    }
}
