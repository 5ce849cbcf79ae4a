import Foundation
import MediaIngest

extension RemoteSource: Diagnosable {
    /// rclone is installed (its version), the remote is in the config, and listing its root works (credentials
    /// accepted, the path exists): one `rclone rcd` for the checks, stopped after them.
    public func diagnose(_ context: DiagnosisContext) async -> [Diagnosis] {
        guard let executable = RcloneDaemon.findExecutable() else {
            return [
                Diagnosis(
                    "rclone", .fail, "rclone is not installed (or not on PATH)",
                    fix: "install it (Debian: apt-get install rclone), or set RCLONE_BINARY to its path"),
                Diagnosis("remote \(root)", .skip, "needs rclone"),
            ]
        }
        if let configPath, !FileManager.default.isReadableFile(atPath: configPath) {
            return [
                Diagnosis("rclone", .pass, executable),
                Diagnosis(
                    "remote \(root)", .fail, "\(configPath): cannot read the rclone config",
                    fix: "create it with `rclone config --config \(configPath)`, or fix source.remote's config"),
            ]
        }
        let daemon = RcloneDaemon(executable: executable, configPath: configPath, logger: context.logger)
        // Stopped before the answer: an rcd left running would outlive `ingest doctor`.
        let results = await check(with: daemon.client, executable: executable)
        await daemon.close()
        return results
    }

    private func check(with client: RcloneClient, executable: String) async -> [Diagnosis] {
        var results: [Diagnosis] = []
        do {
            let version = try await client.call("core/version", [:])
            results.append(Diagnosis("rclone", .pass, "\(version["version"]?.stringValue ?? "?") at \(executable)"))
        } catch {
            return [
                Diagnosis("rclone", .fail, "\(error)", fix: "run `rclone rcd` by hand to see why it does not start")
            ]
        }
        do {
            let listing = try await client.call(
                "operations/list",
                ["fs": .string(root), "remote": "", "opt": ["noMimeType": true, "noModTime": true]],
                as: RemoteListing.Listing.self)
            let objects = listing.list.filter { !$0.isDir }.count
            let folders = listing.list.count - objects
            results.append(
                Diagnosis(
                    "remote \(root)", .pass,
                    "lists: \(objects) object\(objects == 1 ? "" : "s") and \(folders) folder\(folders == 1 ? "" : "s") at its root"
                ))
        } catch let error as RcloneError {
            results.append(
                Diagnosis(
                    "remote \(root)", .fail, error.message,
                    fix: error.message.contains("didn't find section")
                        ? "add the remote with `rclone config\(configPath.map { " --config \($0)" } ?? "")`"
                        : "check the remote's credentials and path with `rclone lsf \(root)`"))
        } catch {
            results.append(Diagnosis("remote \(root)", .fail, "\(error)"))
        }
        return results
    }
}
