import IngestCLI
import MinimumSize

// The same CLI as `ingest` — run, check, stages, schema, status, schedule — with one more stage.
await IngestCommand.main(registering: { registry in
    registry.register(MinimumSizeStage.self)
})
