import Foundation

/// The `state` block, the order warnings and the name rule.
extension PipelineBuilder {
    func decodeState(
        _ value: JSONValue?, name: String, baseDirectory: String, resolver: ReferenceResolver,
        errors: inout [ConfigError],
        warnings: inout [ConfigWarning]
    ) -> StateSettings? {
        var settings = StateSettings.defaults(pipelineName: name, baseDirectory: baseDirectory)
        guard
            let values = OptionValues.decodeOptions(
                value, specs: StateSettings.specs, at: .root.appending("state"), resolver: resolver, errors: &errors,
                warnings: &warnings)
        else { return value == nil ? settings : nil }
        do {
            settings.enabled = try values[StateSettings.enabledOption]
            if let ledger = try values[StateSettings.ledgerOption] { settings.ledger = ledger }
            if let lock = try values[StateSettings.lockOption] {
                settings.lockPath = lock.path
            } else if case .postgres = settings.ledger {
                // Several hosts share the project folder (an NFS inbox): each host's runs lock their own file.
                settings.lockPath = PathResolution.resolve(
                    ".ingest/\(name)@\(HostIdentity.current.name).lock", against: baseDirectory)
            }
            settings.passwordFile = try values[StateSettings.passwordFileOption]?.path
            settings.lease = try values[StateSettings.leaseOption].duration
            settings.maxAttempts = try values[StateSettings.maxAttemptsOption]
            settings.dedupe = try values[StateSettings.dedupeOption]
        } catch let error as ConfigError {
            errors.append(error)
            return nil
        } catch {
            return nil
        }
        if settings.lease < .seconds(1) {
            errors.append(values.error(StateSettings.leaseOption, "expected at least 1s"))
            return nil
        }
        if settings.maxAttempts < 1 {
            errors.append(
                values.error(StateSettings.maxAttemptsOption, "expected at least 1, got \(settings.maxAttempts)"))
            return nil
        }
        return settings
    }

    static func orderWarnings(stages: [Pipeline.Component<any Stage>], firstIndex: Int) -> [ConfigWarning] {
        var warnings: [ConfigWarning] = []
        var detectSeen = false
        var uploadSeen: String?
        for (offset, stage) in stages.enumerated() {
            // Sources come first in the file, so a processing stage's index there is offset by their count.
            let path = JSONPath.root.appending("stages").appending(index: firstIndex + offset).appending("kind")
            if stage.phase == .detect { detectSeen = true }
            if stage.condition?.mime != nil || stage.condition?.notMime != nil, !detectSeen {
                warnings.append(
                    ConfigWarning(
                        at: path,
                        "\"\(stage.name)\" has a \"when\" on the MIME type but no detect stage runs before it; it will never match"
                    ))
            }
            if let upload = uploadSeen, [.detect, .strip, .validate, .transform, .inspect].contains(stage.phase) {
                warnings.append(
                    ConfigWarning(
                        at: path,
                        "\"\(stage.name)\" (\(stage.phase.rawValue)) runs after \"\(upload)\"; it cannot change what was uploaded"
                    ))
            }
            if stage.phase == .upload { uploadSeen = stage.name }
        }
        return warnings
    }

    static func isValidName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 100
            && text.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0))
            }
    }
}

extension Pipeline {
    /// Notes on the stage order where it changes what a stage judges, for `ingest check` (not warnings: both orders
    /// are sound).
    public var orderNotes: [String] {
        var notes: [String] = []
        var rewriters: [String] = []
        for stage in stages {
            if stage.phase == .strip || stage.phase == .transform { rewriters.append(stage.name) }
            if stage.phase == .validate, !rewriters.isEmpty {
                let earlier = rewriters.map { "\"\($0)\"" }.joined(separator: ", ")
                notes.append(
                    "\"\(stage.name)\" runs after \(earlier): it judges the rewritten copy's size, type and pixels, "
                        + "and reads the source file again for what the rewrite removed (an appended archive, code in "
                        + "metadata, a metadata bomb), so those are still rejected and the source is quarantined")
            }
        }
        return notes
    }
}
