import CustomStages
import IngestCLI

// The `ingest` executable: the built-in stages plus the in-repo custom stages (Sources/CustomStages).
await IngestCommand.main(registering: { registry in
    registry.registerCustomStages()
})
