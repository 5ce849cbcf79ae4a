import Foundation
import PackagePlugin

/// `swift package new-stage Watermark [--kind watermark] [--phase transform]`: scaffolds a custom stage in
/// `Sources/CustomStages/`, registers it in `CustomStages.swift` and adds a test in `Tests/CustomStagesTests/`.
@main
struct NewStage: CommandPlugin {
    static let phases = ["detect", "inspect", "strip", "validate", "transform", "upload", "confirm", "post"]

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func performCommand(context: PluginContext, arguments: [String]) async throws {
        var extractor = ArgumentExtractor(arguments)
        let phase = extractor.extractOption(named: "phase").last ?? "transform"
        let explicitKind = extractor.extractOption(named: "kind").last
        let names = extractor.remainingArguments
        guard names.count == 1, let name = names.first else {
            throw Failure(
                description:
                    "usage: swift package --allow-writing-to-package-directory new-stage NAME [--kind KIND] [--phase PHASE]"
            )
        }
        let typeName = name.prefix(1).uppercased() + name.dropFirst()
        guard typeName.range(of: "^[A-Z][A-Za-z0-9]*$", options: .regularExpression) != nil else {
            throw Failure(
                description: "\"\(name)\" is not a Swift type name: use letters and digits, like Watermark or AddLabels"
            )
        }
        let baseName = typeName.hasSuffix("Stage") && typeName != "Stage" ? String(typeName.dropLast(5)) : typeName
        let kind = explicitKind ?? Self.kebabCase(baseName)
        guard kind.range(of: "^[a-z][a-z0-9]*([.-][a-z0-9]+)*$", options: .regularExpression) != nil else {
            throw Failure(
                description:
                    "\"\(kind)\" is not a stage kind: lower-case words joined by - or ., like watermark or route.by-type"
            )
        }
        guard Self.phases.contains(phase) else {
            throw Failure(description: "unknown phase \"\(phase)\"; use one of \(Self.phases.joined(separator: ", "))")
        }

        let root = context.package.directoryURL
        let sources = root.appending(path: "Sources/CustomStages")
        let tests = root.appending(path: "Tests/CustomStagesTests")
        let registration = sources.appending(path: "CustomStages.swift")
        let stageFile = sources.appending(path: "\(baseName)Stage.swift")
        let testFile = tests.appending(path: "\(baseName)StageTests.swift")
        let manager = FileManager.default
        for file in [stageFile, testFile] where manager.fileExists(atPath: file.path) {
            throw Failure(description: "\(file.path) exists already; choose another name or remove it")
        }
        guard var registry = try? String(contentsOf: registration, encoding: .utf8) else {
            throw Failure(description: "cannot read \(registration.path)")
        }
        let marker = "// new-stage: registrations above this line"
        guard let markerRange = registry.range(of: marker) else {
            throw Failure(
                description:
                    "\(registration.path) has no \"\(marker)\" line; add `register(\(baseName)Stage.self)` to registerCustomStages() yourself"
            )
        }
        let lineStart =
            registry[..<markerRange.lowerBound].lastIndex(of: "\n").map { registry.index(after: $0) }
            ?? registry.startIndex
        let indent = String(registry[lineStart..<markerRange.lowerBound])
        registry.insert(contentsOf: "\(indent)register(\(baseName)Stage.self)\n", at: lineStart)

        try manager.createDirectory(at: tests, withIntermediateDirectories: true)
        try Self.stageSource(type: "\(baseName)Stage", kind: kind, phase: phase).write(
            to: stageFile, atomically: true, encoding: .utf8)
        try Self.testSource(type: "\(baseName)Stage", kind: kind).write(to: testFile, atomically: true, encoding: .utf8)
        try registry.write(to: registration, atomically: true, encoding: .utf8)
        print(
            """
            Created \(stageFile.path)
            Created \(testFile.path)
            Registered \(baseName)Stage in \(registration.path)

            Next: swift build && .build/debug/ingest stages   (lists "\(kind)")
                  swift test --filter \(baseName)StageTests
                  then use {"kind": "\(kind)"} in a pipeline.
            """)
    }

    /// `AddLabels` → `add-labels`.
    static func kebabCase(_ name: String) -> String {
        var result = ""
        for (index, character) in name.enumerated() {
            if character.isUppercase, index > 0 { result.append("-") }
            result.append(Character(character.lowercased()))
        }
        return result
    }

    static func stageSource(type: String, kind: String, phase: String) -> String {
        """
        import Foundation
        import IngestStages
        import Logging
        import MediaIngest

        /// `\(kind)`: describe what the stage does, for whom, and what it adds to the asset.
        ///
        /// The contract (see README, "Writing a stage"): `process` runs concurrently for different assets, so keep no
        /// mutable state; return `.reject` for a verdict about the file, throw for trouble a later run may not meet;
        /// never modify the source file (write changed bytes to `context.makeWorkFile(named:)`).
        public struct \(type): Stage, StageDefinition {
            public static let kind = "\(kind)"
            public static let phase = StagePhase.\(phase)
            public static let summary = "Describe the stage in one line for `ingest stages`."

            /// An example option; replace it with yours. Options are typed, documented and checked when the pipeline loads.
            static let maxBytes = StageOption<ByteSize?>("maxBytes", doc: "Reject files larger than this.")
            public static let options = [maxBytes.spec]

            let limit: Int64?

            public init(options: OptionValues, context: StageBuildContext) throws {
                limit = try options[Self.maxBytes]?.bytes
            }

            public func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
                var asset = asset
                if let limit, let size = asset.size, size > limit {
                    return .reject(asset, Rejection(.tooLarge, "\\(asset.displayPath) is \\(size) bytes, over \\(limit)"))
                }
                asset.facts[Self.kind] = ["checked": true]
                context.logger.debug("checked", metadata: ["file": "\\(asset.displayPath)"])
                return .next(asset)
            }
        }

        """
    }

    static func testSource(type: String, kind: String) -> String {
        """
        import CustomStages
        import MediaIngest
        import PipelineTesting
        import Testing
        import TestSupport

        @Suite("\(kind)")
        struct \(type)Tests {
            func harness(_ options: [String: JSONValue] = [:]) throws -> StageHarness<\(type)> {
                StageHarness(try \(type)(options: .decode(options, specs: \(type).options), context: StageHarness<\(type)>.buildContext()))
            }

            @Test("passes a corpus file and records a fact")
            func passes() async throws {
                let harness = try harness()
                defer { harness.cleanUp() }
                let outcome = try await harness.process(file: Corpus.path("images/png/iccp.png"))
                #expect(outcome.asset?.facts["\(kind)"]?["checked"] == true)
            }

            @Test("rejects files over maxBytes")
            func rejects() async throws {
                let harness = try harness(["maxBytes": "1KB"])
                defer { harness.cleanUp() }
                let outcome = try await harness.process(file: Corpus.path("images/jpeg/gps_Apple_iPhone_4.jpg"))
                #expect(outcome.rejection?.code == .tooLarge)
            }
        }

        """
    }
}
