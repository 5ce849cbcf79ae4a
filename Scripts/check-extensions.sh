#!/usr/bin/env bash
# The extension paths, proven end to end (run by `make test`, hence by CI):
#   1. `swift package new-stage Demo` scaffolds a stage that builds, that `ingest stages` lists as `demo`, and whose
#      generated test passes. The generated files are removed afterwards; the tree is restored even on failure.
#   2. `swift package check-pipelines` builds ingest and checks every pipeline in pipelines/.
#   3. The external package in Examples/ExternalStage builds against this checkout, lists its own stage and runs its
#      pipeline over the bundled samples, where that stage rejects the small images.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
quiet() { grep -v -e "found 1 file(s) which are unhandled" -e "CMakeLists.txt$" || true; }

echo "== 1. swift package new-stage Demo"
registration=Sources/CustomStages/CustomStages.swift
generated=(Sources/CustomStages/DemoStage.swift Tests/CustomStagesTests/DemoStageTests.swift)
for file in "${generated[@]}"; do
    if [ -e "$file" ]; then echo "$file exists already; remove it first" >&2; exit 1; fi
done
backup=$(mktemp)
cp "$registration" "$backup"
restore() { rm -f "${generated[@]}"; cp "$backup" "$registration"; rm -f "$backup"; }
trap restore EXIT
$SWIFT package --allow-writing-to-package-directory new-stage Demo 2>&1 | quiet
$SWIFT build --product ingest 2>&1 | quiet | tail -1
if ! .build/debug/ingest stages | grep -qE '^  demo$'; then
    echo "ingest stages does not list the scaffolded stage \"demo\"" >&2
    exit 1
fi
echo "ingest stages lists: demo"
$SWIFT build --build-tests 2>&1 | quiet | tail -1
$SWIFT test --skip-build --filter DemoStageTests 2>&1 | grep -E "✔ Test run|✘|error" 
restore
trap - EXIT

echo "== 2. swift package check-pipelines"
$SWIFT package check-pipelines 2>&1 | quiet

echo "== 3. Examples/ExternalStage: an outside package with its own stage"
# It builds in this checkout's .build: the dependency graph compiled above serves it too, so only its own two targets
# compile (a .build of its own would compile every dependency again — minutes of CI for nothing it proves).
scratch="$PWD/.build"
(
    cd Examples/ExternalStage
    $SWIFT build --scratch-path "$scratch" 2>&1 | quiet | tail -1
    "$scratch/debug/my-ingest" stages | grep -E '^  example\.min-size$'
    rm -rf output .ingest
    "$scratch/debug/my-ingest" run demo
    python3 - <<'PY'
import json
lines = [json.loads(line) for line in open("output/manifest.jsonl")]
rejected = sorted(l["path"] for l in lines if l["status"] == "rejected" and l["code"] == "image_too_small")
done = [l for l in lines if l["status"] == "done"]
assert rejected == ["animated_dispose.gif", "exif_orient6.webp"], rejected
assert len(done) == 6, [l["path"] for l in done]
print("example pipeline: 6 done, 2 rejected by example.min-size")
PY
)
