import Foundation
import Glibc
import Logging
import MediaFormats
import MediaIngest

extension ValidateStage {
    /// Copies (or moves) a rejected file into the quarantine folder with a `.reason.json` beside it.
    func quarantineFile(_ asset: Asset, rejection: Rejection, folder: String, context: StageContext) throws -> String {
        guard let source = asset.origin.path else { return "" }
        var relative = asset.displayPath
        if relative.hasPrefix("/") || relative.contains("..") { relative = (source as NSString).lastPathComponent }
        var destination = PathResolution.resolve(relative, against: folder)
        if FileSystem.exists(destination) {
            let url = URL(fileURLWithPath: destination)
            destination =
                url.deletingPathExtension().path + "-" + context.pipeline.runID
                + (url.pathExtension.isEmpty ? "" : "." + url.pathExtension)
        }
        try FileSystem.createDirectory((destination as NSString).deletingLastPathComponent)
        var method: String
        do {
            switch rules.quarantineMode {
            case .copy:
                method = try FileCloning.duplicate(
                    from: source, to: destination, allowHardLink: true, maxCopyBytes: rules.quarantineMaxBytes?.bytes
                ).rawValue
            case .move:
                do {
                    try FileSystem.rename(source, to: destination)
                    method = "move"
                } catch let error as FileError where error.code == EXDEV {
                    method = try FileCloning.duplicate(
                        from: source, to: destination, allowHardLink: false,
                        maxCopyBytes: rules.quarantineMaxBytes?.bytes
                    ).rawValue
                    FileSystem.removeFile(source)
                }
            }
        } catch let refused as CopyRefused {
            // Too big to copy: the reason file alone says what happened, and the source stays where it is.
            method = "not copied: \(refused)"
        }
        let reason: JSONValue = [
            "code": .string(rejection.code.rawValue), "reason": .string(rejection.reason), "stage": .string(Self.kind),
            "pipeline": .string(context.pipeline.pipelineName), "run": .string(context.pipeline.runID),
            "source": .string(source),
            "mime": asset.mime.map { .string($0.mime) } ?? .null, "time": .string(ISO8601.string(from: Date())),
            "details": .object(rejection.details), "mode": .string(rules.quarantineMode.rawValue),
            "method": .string(method),
        ]
        try FileSystem.writeAtomically(Data(reason.jsonText(pretty: true).utf8), to: destination + ".reason.json")
        return destination
    }
}
