import Foundation
import MediaIngest
import PipelineTesting
import Testing

/// A stage with one option of every kind, used to exercise decoding.
struct ProbeStage: Stage, StageDefinition {
    static let kind = "probe"
    static let phase = StagePhase.validate
    static let summary = "Test stage."

    enum Mode: String, OptionEnum { case strict, lenient }

    static let maxBytes = StageOption<ByteSize?>("maxBytes", doc: "A size.")
    static let mode = StageOption<Mode>("mode", default: .strict, doc: "An enumeration.")
    static let count = StageOption<Int>("count", default: 1, doc: "An integer.")
    static let label = StageOption<String>("label", doc: "A required string.")
    static let token = StageOption<Secret?>("token", doc: "A secret.")
    static let tags = StageOption<[String]>("tags", default: [], doc: "Strings.")
    static let options = [maxBytes.spec, mode.spec, count.spec, label.spec, token.spec, tags.spec]

    let values: (ByteSize?, Mode, Int, String, Secret?, [String])

    init(options: OptionValues, context: StageBuildContext) throws {
        values = (
            try options[Self.maxBytes], try options[Self.mode], try options[Self.count], try options[Self.label],
            try options[Self.token], try options[Self.tags]
        )
        if values.2 < 0 { throw options.error(Self.count, "expected 0 or more") }
    }

    func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome { .next(asset) }
}

struct ProbeSource: AssetSource, StageDefinition {
    static let kind = "probe.source"
    static let phase = StagePhase.source
    static let summary = "Test source."
    static let options: [OptionSpec] = []
    init(options: OptionValues, context: StageBuildContext) throws {}
    func items(context: PipelineContext) -> AsyncThrowingStream<SourceEvent, any Error> {
        AsyncThrowingStream { $0.finish() }
    }
}

func registry() -> StageRegistry {
    var registry = StageRegistry()
    registry.register(ProbeStage.self)
    registry.register(ProbeSource.self)
    registry.register(CollectingStage.self)
    return registry
}

func check(_ json: String, environment: [String: String] = [:], tolerate: Bool = false) -> PipelineBuilder.CheckResult {
    PipelineBuilder(registry: registry(), environment: environment, tolerateMissingEnvironment: tolerate)
        .check(data: Data(json.utf8), file: "/project/pipelines/sample.json", baseDirectory: "/project")
}

@Suite("Pipeline configuration")
struct ConfigurationTests {
    @Test("a valid pipeline builds with defaults and resolved options")
    func validPipeline() throws {
        let result = check(
            #"""
            {"name": "photos", "concurrency": 3, "stages": [
              {"kind": "probe.source"},
              {"kind": "probe", "with": {"label": "x", "maxBytes": "25MB", "mode": "lenient", "tags": "one"}}
            ]}
            """#)
        #expect(result.errors.isEmpty)
        let pipeline = try #require(result.pipeline)
        #expect(pipeline.name == "photos")
        #expect(pipeline.concurrency == 3)
        #expect(pipeline.baseDirectory == "/project")
        #expect(pipeline.state.ledgerPath == "/project/.ingest/photos.sqlite")
        let probe = try #require(pipeline.stages.first?.value as? ProbeStage)
        #expect(probe.values.0 == ByteSize(25_000_000))
        #expect(probe.values.1 == .lenient)
        #expect(probe.values.2 == 1)
        #expect(probe.values.5 == ["one"])
    }

    @Test("every mistake is reported at once, each with its JSON path")
    func collectsAllErrors() {
        let result = check(
            #"""
            {"nmae": "x", "concurrency": 0, "stages": [
              {"kind": "probe.source"},
              {"kind": "probe", "with": {"maxBytes": "25 parsecs", "mode": "strickt", "count": 1.5}},
              {"kind": "prob", "with": {}},
              {"kind": "probe", "with": {"label": "y", "labl": 1}}
            ]}
            """#)
        let text = result.errors.map(\.description)
        #expect(result.pipeline == nil)
        #expect(text.contains(#"nmae: unknown key "nmae" (did you mean "name"?)"#))
        #expect(text.contains("concurrency: expected an integer from 1 to 256, got 0"))
        #expect(text.contains(#"stages[1].with.maxBytes: expected a size like "25MB", got "25 parsecs""#))
        #expect(
            text.contains(
                #"stages[1].with.mode: expected one of "strict", "lenient", got "strickt" (did you mean "strict"?)"#))
        #expect(text.contains("stages[1].with.count: expected an integer, got 1.5"))
        #expect(text.contains { $0.hasPrefix(#"stages[1].with.label: missing required option "label""#) })
        #expect(text.contains(#"stages[2].kind: unknown stage kind "prob" (did you mean "probe"?)"#))
        #expect(text.contains(#"stages[3].with.labl: unknown option "labl" (did you mean "label"?)"#))
        #expect(text.contains { $0.hasPrefix(#"stages[3].kind: stage kind "probe" appears twice"#) })
        #expect(result.errors.count == 9, "\(text)")
    }

    @Test("a stage's own semantic check reports at the option's path")
    func semanticError() {
        let result = check(
            #"{"stages": [{"kind": "probe.source"}, {"kind": "probe", "with": {"label": "x", "count": -2}}]}"#)
        #expect(result.errors.map(\.description) == ["stages[1].with.count: expected 0 or more"])
    }

    @Test("syntax errors name the problem")
    func syntaxError() {
        let result = check(#"{"stages": [ {"kind": "probe.source"}, ]"#)
        #expect(result.errors.count == 1)
        #expect(
            result.errors[0].description
                == #"stages: not valid JSON at line 1, column 40: a comma before "]" (trailing commas are not JSON)"#)
    }

    @Test("sources come first and a pipeline needs one")
    func sourceOrder() {
        let missing = check(#"{"stages": [{"kind": "probe", "with": {"label": "x"}}]}"#)
        #expect(
            missing.errors.map(\.description).contains { $0.hasPrefix("stages: a pipeline needs a source stage first") }
        )
        let late = check(#"{"stages": [{"kind": "probe", "with": {"label": "x"}}, {"kind": "probe.source"}]}"#)
        #expect(
            late.errors.map(\.description).contains(
                #"stages[1].kind: source "probe.source" must come before the processing stages"#))
        let none = check(#"{"stages": []}"#)
        #expect(none.errors.map(\.description) == ["stages: a pipeline needs at least a source stage"])
    }

    @Test("environment references resolve; missing ones are errors at run time and warnings for check")
    func environmentReferences() throws {
        let json = #"""
            {"stages": [{"kind": "probe.source"},
              {"kind": "probe", "with": {"label": "${WHO}-${MISSING:-fallback}", "count": {"env": "COUNT"}, "token": {"env": "TOKEN"}}}]}
            """#
        let ok = check(json, environment: ["WHO": "me", "COUNT": "7", "TOKEN": "s3cr3t"])
        let probe = try #require(ok.pipeline?.stages.first?.value as? ProbeStage)
        #expect(probe.values.3 == "me-fallback")
        #expect(probe.values.2 == 7)
        #expect(probe.values.4?.revealed == "s3cr3t")
        #expect("\(probe.values.4!)" == "<redacted>")
        #expect(probe.values.4?.origin == "environment variable TOKEN")

        let missing = check(json, environment: ["WHO": "me", "COUNT": "7"])
        #expect(
            missing.errors.map(\.description) == [
                #"stages[1].with.token: environment variable TOKEN is not set (export TOKEN=… or add "default")"#
            ])

        let tolerated = check(json, environment: ["WHO": "me", "COUNT": "7"], tolerate: true)
        #expect(tolerated.errors.isEmpty)
        #expect(
            tolerated.warnings.map(\.description).contains(
                "stages[1].with.token: not checked: environment variable TOKEN not set here"))
    }

    @Test("secrets are never taken literally unless the user insists")
    func secretsRefuseLiterals() throws {
        let literal = check(
            #"{"stages": [{"kind": "probe.source"}, {"kind": "probe", "with": {"label": "x", "token": "abc"}}]}"#)
        #expect(
            literal.errors.first?.description.hasPrefix(
                "stages[1].with.token: secrets are not written in pipeline files") == true)
        let insisted = check(
            #"{"stages": [{"kind": "probe.source"}, {"kind": "probe", "with": {"label": "x", "token": {"insecureLiteral": "abc"}}}]}"#
        )
        let probe = try #require(insisted.pipeline?.stages.first?.value as? ProbeStage)
        #expect(probe.values.4?.revealed == "abc")
    }

    @Test("secrets can come from a file")
    func secretFromFile() throws {
        let directory = TemporaryDirectory()
        try "from-file\n".write(toFile: directory.file("key"), atomically: true, encoding: .utf8)
        let result = PipelineBuilder(registry: registry(), environment: [:]).check(
            data: Data(
                #"{"stages": [{"kind": "probe.source"}, {"kind": "probe", "with": {"label": "x", "token": {"file": "key"}}}]}"#
                    .utf8),
            file: "p.json", baseDirectory: directory.path)
        let probe = try #require(result.pipeline?.stages.first?.value as? ProbeStage)
        #expect(probe.values.4?.revealed == "from-file")
        let unreadable = check(
            #"{"stages": [{"kind": "probe.source"}, {"kind": "probe", "with": {"label": "x", "token": {"file": "nope"}}}]}"#
        )
        #expect(
            unreadable.errors.map(\.description) == [
                "stages[1].with.token.file: cannot read /project/nope: No such file or directory"
            ])
    }

    @Test("when conditions, state blocks and stage names decode")
    func blocks() throws {
        let result = check(
            #"""
            {"state": {"maxAttempts": 3, "dedupe": "content", "ledger": "state/x.sqlite"},
             "stages": [{"kind": "probe.source"},
                        {"kind": "probe", "name": "first", "when": {"mime": ["image/*"]}, "with": {"label": "a"}},
                        {"kind": "probe", "name": "second", "with": {"label": "b"}}]}
            """#)
        #expect(result.errors.isEmpty, "\(result.errors)")
        let pipeline = try #require(result.pipeline)
        #expect(pipeline.state.maxAttempts == 3)
        #expect(pipeline.state.dedupe == .content)
        #expect(pipeline.state.ledgerPath == "/project/state/x.sqlite")
        #expect(pipeline.stages.map(\.name) == ["first", "second"])
        #expect(pipeline.stages[0].condition?.mime == [MIMEPattern("image/*")!])
        #expect(result.warnings.map(\.description).contains { $0.contains("no detect stage runs before it") })
        let bad = check(#"{"state": {"maxAttempts": 0, "dedup": true}, "stages": [{"kind": "probe.source"}]}"#)
        #expect(
            Set(bad.errors.map(\.description)) == [
                "state.maxAttempts: expected at least 1, got 0",
                #"state.dedup: unknown option "dedup" (did you mean "dedupe"?)"#,
            ])
    }

    @Test("the JSON Schema covers every kind and option")
    func schema() throws {
        let schema = PipelineSchema.make(registry: registry())
        let stage = try #require(schema["properties"]?["stages"]?["items"])
        #expect(stage["properties"]?["kind"]?["enum"] == ["probe.source", "probe", "test.collect"])
        let variants = try #require(stage["allOf"]?.arrayValue)
        let probe = try #require(variants.first { $0["if"]?["properties"]?["kind"]?["const"] == "probe" })
        let with = try #require(probe["then"]?["properties"]?["with"])
        #expect(with["required"] == ["label"])
        #expect(with["properties"]?["maxBytes"] != nil)
        #expect(with["additionalProperties"] == false)
    }
}
