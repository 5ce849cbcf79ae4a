import Foundation
import Logging
import MediaIngest
import Synchronization

extension DirectorySource {
    /// A depth-first walk kept as an explicit stack, advanced one event at a time.
    ///
    /// Each folder's names are read (and sorted) when the walk enters it, which is also when its sidecars are paired
    /// with their media (``FolderCompanions``): a sidecar is never an item of its own — it travels with its media's
    /// item, or is reported as an orphan — and the two halves of a Live Photo come out as one group.
    final class Walker: Sendable {
        struct Folder {
            var path: String
            var relative: String
            var depth: Int
            var names: [String]
            var next = 0
            var companions: FolderCompanions
        }

        struct State {
            var started = false
            var finished = false
            var realRoot = ""
            var stack: [Folder] = []
            var visited: Set<[UInt64]> = []
            var count = 0
            var bytes: Int64 = 0
            var nextListed = 0
            /// Events decided together with an earlier one (a sidecar's rejection beside its media), sent next.
            var pending: [SourceEvent] = []
            /// Live Photo candidates already decided, by folder path and stem.
            var livePhotos: [String: LivePhotoDecision] = [:]
            /// The companions of the folders a restricted listing (a watcher's batch) touched.
            var listedFolders: [String: FolderCompanions] = [:]
            /// The entries a restricted listing sent (a sidecar in the batch stands for its media: once).
            var listedSent: Set<String> = []
        }

        let source: DirectorySource
        let context: PipelineContext
        let cutoff: Double
        /// Only the stream's consumer calls ``next()``, one call at a time; the lock makes that safe regardless.
        private let state = Mutex(State())

        init(source: DirectorySource, context: PipelineContext, now: Date) {
            self.source = source
            self.context = context
            cutoff = now.timeIntervalSince1970 - source.minimumAge
        }

        /// The next event, or `nil` at the end (or after a stop request).
        /// - Throws: ``SourceError`` when the root cannot be read.
        func next() throws -> SourceEvent? {
            try state.withLock { state -> SourceEvent? in
                if !state.started {
                    state.started = true
                    try start(&state)
                }
                while true {
                    if context.control.isStopRequested { return nil }
                    if !state.pending.isEmpty { return state.pending.removeFirst() }
                    if let top = state.stack.indices.last {
                        let folder = state.stack[top]
                        guard folder.next < folder.names.count else {
                            state.stack.removeLast()
                            continue
                        }
                        state.stack[top].next += 1
                        if let event = entry(folder.names[folder.next], in: folder, state: &state) { return event }
                    } else if let listed = source.listed, state.nextListed < listed.count {
                        state.nextListed += 1
                        if let event = listedEntry(listed[state.nextListed - 1], state: &state) { return event }
                    } else {
                        break
                    }
                }
                if state.finished || context.control.isStopRequested { return nil }
                state.finished = true
                return .estimate(count: state.count, bytes: state.bytes)
            }
        }

        private func start(_ state: inout State) throws {
            let root = source.root
            do {
                let status = try FileStatus.of(root)
                guard status.kind == .directory else { throw SourceError.notAFolder(root) }
                state.realRoot = try DirectorySource.realPath(root)
            } catch let error as FileError {
                throw SourceError.unreadableRoot(root, error.reason)
            }
            if source.listed == nil { enter(directory: root, relative: "", depth: 0, state: &state) }
        }

        /// Pushes a folder's sorted names, unless it was visited already (a link loop) or cannot be read.
        private func enter(directory: String, relative: String, depth: Int, state: inout State) {
            if let status = try? FileStatus.of(directory) {
                guard state.visited.insert([status.device, status.inode]).inserted else {
                    // Links to folders are not walked (see `descend`): a bind mount of a folder inside the tree.
                    context.logger.warning(
                        "skipping a folder already walked (the same folder mounted twice in the tree)",
                        metadata: ["folder": "\(directory.displaySafe)"])
                    return
                }
            }
            do {
                // Every name, the ones that are not UTF-8 included (FileName's escapes sort after the others).
                let names = try FileSystem.names(in: directory).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                let companions = FolderCompanions(names: names, livePhotos: source.companions.livePhotos)
                state.stack.append(
                    Folder(path: directory, relative: relative, depth: depth, names: names, companions: companions))
            } catch {
                // Whatever is inside was not seen: a failure the exit code reports, every run until it is fixed.
                let reason = FileSystem.describe(error)
                context.problems.report(RunProblem(.unlistedFolder, path: directory, reason: reason))
                context.logger.error(
                    "cannot list folder: its files are not seen until it is fixed",
                    metadata: ["folder": "\(directory.displaySafe)", "reason": "\(reason)"])
            }
        }

        /// The event for one folder entry, or `nil` when it yields none (skipped, a folder entered, a sidecar that
        /// travels with its media).
        func entry(_ name: String, in folder: Folder, state: inout State) -> SourceEvent? {
            if source.skipsHidden && name.hasPrefix(".") { return nil }
            let pairing = folder.companions.pairing
            let relativePath = folder.relative.isEmpty ? name : folder.relative + "/" + name
            if pairing.sidecarNames.contains(name) {
                // A sidecar with media goes with it; one without is reported (never uploaded), if the globs take it.
                guard let reason = pairing.orphans[name], isIncluded(relativePath) else { return nil }
                return orphan(name, in: folder, reason: reason, state: &state)
            }
            if pairing.unpairedJSON.contains(name), isIncluded(relativePath),
                source.companions.isTakeoutOrphan(folder.path + "/" + name)
            {
                return orphan(
                    name, in: folder, reason: "Google Takeout metadata with no media file beside it",
                    state: &state)
            }
            if let stem = folder.companions.candidateStem[name], source.companions.livePhotos != .off {
                return livePhoto(stem: stem, name: name, in: folder, state: &state)
            }
            return withSidecars(media(name, in: folder, state: &state), name: name, in: folder, state: &state)
        }

        /// The path of `name` relative to the root.
        func relative(_ name: String, in folder: Folder) -> String {
            folder.relative.isEmpty ? name : folder.relative + "/" + name
        }

        /// Whether the include and exclude globs take a path.
        func isIncluded(_ relativePath: String) -> Bool {
            (source.includes.isEmpty || source.includes.contains { $0.matches(relativePath) })
                && !source.excludes.contains { $0.matches(relativePath) }
        }

        /// An orphan sidecar's rejection (after the checks every entry gets: a link leaving the root, a FIFO…).
        private func orphan(_ name: String, in folder: Folder, reason: String, state: inout State) -> SourceEvent? {
            let path = folder.path + "/" + name
            let relative = folder.relative.isEmpty ? name : folder.relative + "/" + name
            switch inspect(path, relative: relative, state: &state) {
            case .skip: return nil
            case .rejected(let event): return event
            case .regular(let status):
                return .rejected(
                    SourceItem(
                        origin: .file(path: path, root: source.root, relativePath: relative), size: status.size,
                        modificationDate: status.modificationDate),
                    Rejection(.orphanSidecar, reason + "; not uploaded"))
            }
        }

        /// A media event with the sidecars of its name attached (or held back, with them, for a later run).
        private func withSidecars(
            _ event: SourceEvent?, name: String, in folder: Folder, state: inout State
        ) -> SourceEvent? {
            guard case .item(var item)? = event, let matches = folder.companions.pairing.sidecars[name] else {
                return event
            }
            let (events, deferral) = source.companions.attach(
                matches, to: &item, folder: folder.path, relativeFolder: folder.relative, root: source.root,
                cutoff: source.minimumAge > 0 ? cutoff : nil,
                inspect: { path, relative in inspect(path, relative: relative, state: &state) })
            state.pending += events
            if let deferral {
                state.count -= 1
                state.bytes -= item.size ?? 0
                return .deferred(path: item.origin.displayPath, reason: deferral)
            }
            return .item(item)
        }

        /// A still and a video of one stem: one Live Photo when their content identifiers match (a group, or the
        /// still with the video as its companion under `still-only`), else two ordinary files.
        private func livePhoto(stem: String, name: String, in folder: Folder, state: inout State) -> SourceEvent? {
            let key = folder.path + "/" + stem
            guard let candidate = folder.companions.livePhotoCandidates[stem] else {
                return withSidecars(media(name, in: folder, state: &state), name: name, in: folder, state: &state)
            }
            switch state.livePhotos[key] {
            case .pair?:
                return nil  // the first half's entry sent both
            case .separate?:
                return withSidecars(media(name, in: folder, state: &state), name: name, in: folder, state: &state)
            case .deferred(let reason)?:
                return .deferred(path: relative(name, in: folder), reason: reason)
            case nil:
                break
            }
            let stillEvent = media(candidate.still, in: folder, state: &state)
            let videoEvent = media(candidate.video, in: folder, state: &state)
            var deferral: String?
            for (event, other) in [(stillEvent, videoEvent), (videoEvent, stillEvent)] {
                guard case .deferred(let path, let reason)? = event, case .item(let item)? = other else { continue }
                state.count -= 1
                state.bytes -= item.size ?? 0
                deferral = "its Live Photo partner \(path) was \(reason)"
            }
            if let deferral {
                state.livePhotos[key] = .deferred(deferral)
                return .deferred(path: relative(name, in: folder), reason: deferral)
            }
            guard case .item(var still)? = stillEvent, case .item(var video)? = videoEvent,
                case .pair = source.companions.decideLivePhoto(
                    still: folder.path + "/" + candidate.still, video: folder.path + "/" + candidate.video)
            else {
                // Not one Live Photo: each half as it is (this entry now, the other when the walk reaches it).
                state.livePhotos[key] = .separate
                for event in [stillEvent, videoEvent] {
                    if case .item(let item)? = event {
                        state.count -= 1
                        state.bytes -= item.size ?? 0
                    }
                }
                return withSidecars(media(name, in: folder, state: &state), name: name, in: folder, state: &state)
            }
            state.livePhotos[key] = .pair(still: candidate.still, video: candidate.video)
            // A sidecar of either half that holds it back (too young, unreadable now) holds both back.
            func heldBack(_ event: SourceEvent?) -> SourceEvent? {
                if case .deferred(_, let reason)? = event {
                    state.livePhotos[key] = .deferred(reason)
                    return .deferred(path: relative(name, in: folder), reason: reason)
                }
                return nil
            }
            let attachedStill = withSidecars(.item(still), name: candidate.still, in: folder, state: &state)
            guard case .item(let stillWithSidecars)? = attachedStill else {
                state.count -= 1
                state.bytes -= video.size ?? 0
                return heldBack(attachedStill)
            }
            still = stillWithSidecars
            if source.companions.livePhotos == .stillOnly {
                state.count -= 1
                state.bytes -= video.size ?? 0
                if case .file(let path, _, let relative) = video.origin {
                    still.sidecars.append(
                        Sidecar(kind: .livePhotoVideo, path: path, relativePath: relative, size: video.size ?? 0))
                }
                return .item(still)
            }
            let attachedVideo = withSidecars(.item(video), name: candidate.video, in: folder, state: &state)
            guard case .item(let videoWithSidecars)? = attachedVideo else {
                state.count -= 1
                state.bytes -= still.size ?? 0
                return heldBack(attachedVideo)
            }
            video = videoWithSidecars
            still.group = AssetGroup(kind: .livePhoto, role: "still", pairedBy: "contentIdentifier")
            video.group = AssetGroup(kind: .livePhoto, role: "video", pairedBy: "contentIdentifier")
            return .group([still, video])
        }

        /// What a source makes of one path by the rules every entry gets: links followed only inside the root,
        /// rejected when they lead out or are broken; only regular files read.
        func inspect(_ path: String, relative: String, state: inout State) -> Inspected {
            guard var status = try? FileStatus.of(path, followLinks: false) else { return .skip }
            let entry = SourceItem(
                origin: .file(path: path, root: source.root, relativePath: relative), size: status.size,
                modificationDate: status.modificationDate)
            if status.kind == .symbolicLink {
                guard source.followsLinks else { return .skip }
                guard let target = try? DirectorySource.realPath(path), let targetStatus = try? FileStatus.of(path)
                else {
                    return .rejected(.rejected(entry, Rejection(.unreadable, "broken symbolic link")))
                }
                // Nothing is read through a rejected link: the asset it becomes has no content to open.
                guard target == state.realRoot || target.hasPrefix(state.realRoot + "/") else {
                    return .rejected(
                        .rejected(
                            entry,
                            Rejection(.outsideRoot, "symbolic link leads outside \(source.root) (to \(target))")))
                }
                status = targetStatus
            }
            switch status.kind {
            case .regular: return .regular(status)
            case .directory: return .skip
            case .symbolicLink, .other:
                return .rejected(
                    .rejected(
                        entry, Rejection(.notRegularFile, "\(status.kindDescription): only regular files are read")))
            }
        }

        /// The event for one media entry, or `nil` when it yields none (skipped, or a folder entered).
        private func media(_ name: String, in folder: Folder, state: inout State) -> SourceEvent? {
            let path = folder.path + "/" + name
            let relativePath = folder.relative.isEmpty ? name : folder.relative + "/" + name
            guard let status = try? FileStatus.of(path, followLinks: false) else { return nil }
            if status.kind == .directory
                || (status.kind == .symbolicLink && source.followsLinks
                    && (try? FileStatus.of(path))?.kind == .directory)
            {
                return descend(
                    name, path: path, relativePath: relativePath, isLink: status.kind == .symbolicLink, in: folder,
                    state: &state)
            }
            // Entries that are not taken are rejected with their own identity (the link's or the entry's size and
            // time), so the ledger remembers the verdict and later runs skip them until they change.
            switch inspect(path, relative: relativePath, state: &state) {
            case .skip:
                return nil
            case .rejected(let event):
                if case .rejected(_, let rejection) = event, rejection.code != .notRegularFile {
                    return event  // a broken link or one leaving the root, whatever the globs say
                }
                return isIncluded(relativePath) ? event : nil
            case .regular(let found):
                guard isIncluded(relativePath) else { return nil }
                if source.minimumAge > 0 && found.modificationDate.timeIntervalSince1970 > cutoff {
                    return .deferred(
                        path: relativePath,
                        reason: "modified less than \(DurationValue(seconds: source.minimumAge)) ago")
                }
                state.count += 1
                state.bytes += found.size
                return .item(
                    SourceItem(
                        origin: .file(path: path, root: source.root, relativePath: relativePath), size: found.size,
                        modificationDate: found.modificationDate,
                        facts: ["source.mtimeNs": .int(found.modificationNanoseconds)]))
            }
        }

        /// Enters a folder (or a link to one inside the root), unless the excludes or maxDepth stop the walk there.
        private func descend(
            _ name: String, path: String, relativePath: String, isLink: Bool, in folder: Folder, state: inout State
        ) -> SourceEvent? {
            if case .rejected(let event) = inspect(path, relative: relativePath, state: &state) { return event }
            // A link to a folder inside the root (one leading out was just rejected): that folder is walked under its
            // own path, so its files are listed once, by their real names, whichever of the two the walk meets first.
            if isLink {
                context.logger.debug(
                    "not walking a link to a folder inside the root: its files are listed under their own path",
                    metadata: ["link": "\(relativePath.displaySafe)"])
                return nil
            }
            if source.excludes.contains(where: { DirectorySource.prunes($0, directory: relativePath) }) {
                return nil
            }
            if let limit = source.depthLimit, folder.depth >= limit {
                context.logger.debug("not descending: deeper than maxDepth", metadata: ["folder": "\(relativePath)"])
                return nil
            }
            if !(name as NSString).pathExtension.isEmpty {
                context.logger.debug(
                    "descending into a folder whose name looks like a file's", metadata: ["folder": "\(relativePath)"])
            }
            enter(directory: path, relative: relativePath, depth: folder.depth + 1, state: &state)
            return nil
        }
    }
}
