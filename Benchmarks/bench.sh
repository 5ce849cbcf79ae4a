#!/usr/bin/env bash
# Benchmarks: MediaIngest stages against the tools users would script instead, on the same files, in the same
# invocation (hyperfine), so machine noise cancels and only ratios are reported. Not a test: nothing here asserts
# a timing. Writes a Markdown report to Benchmarks/results/latest.md.
#
#   Benchmarks/bench.sh [detect] [strip] [bigfile]     (default: all)
#
# Needs: hyperfine, exiftool, file, curl (`make bench` installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/Benchmarks/work
RESULTS=$ROOT/Benchmarks/results
REPORT=$RESULTS/latest.md
SCENARIOS=${*:-detect strip bigfile}
COPIES=${BENCH_COPIES:-40}
BIG_BYTES=${BENCH_BIG_BYTES:-2147483648}

swift build -c release --product ingest >/dev/null
swift build -c release --product wix-media-emulator >/dev/null
BIN=$(swift build -c release --show-bin-path)
mkdir -p "$WORK" "$RESULTS"
cores=$(nproc)
{
  echo "# MediaIngest benchmarks"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ) · $(uname -m) · ${cores} cores · $(swift --version 2>/dev/null | head -1)"
  echo "· $(file --version | head -1) · exiftool $(exiftool -ver) · release build. Ratios compare runs of the same"
  echo "job on the same files in the same invocation (hyperfine, mean of ≥3 runs); >1× means MediaIngest is faster."
  echo
} > "$REPORT"

# A file set: the corpus's images copied $COPIES times under distinct names (JPEG, PNG, WebP, GIF, HEIC, AVIF, TIFF).
make_set() { # $1 = folder, $2 = find expression
  rm -rf "$1"; mkdir -p "$1"
  local files
  set -f  # the expression's globs are find's, not the shell's
  files=$(find Tests/Fixtures/corpus/images -type f \( $2 \))
  set +f
  for i in $(seq 1 "$COPIES"); do
    echo "$files" | while read -r f; do
      cp "$f" "$1/${i}_$(basename "$f")"
    done
  done
}

pipeline() { # $1 = name, $2 = stages JSON (after the source); folder $WORK/$1-in
  mkdir -p "$WORK/pipelines"
  cat > "$WORK/pipelines/$1.json" <<JSON
{"name": "$1", "concurrency": ${3:-1}, "state": {"enabled": false},
 "stages": [{"kind": "source.directory", "with": {"path": "$WORK/$1-in"}}, $2]}
JSON
}

ratio() { # mean seconds of baseline / ours from hyperfine JSON: $1 json, $2 ours index, $3 baseline index
  python3 - "$@" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(f"{r[int(sys.argv[3])]['mean'] / r[int(sys.argv[2])]['mean']:.2f}×")
PY
}

table() { # $1 json, $2 files
  python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
n = int(sys.argv[2])
print("| command | mean s | files/s |")
print("|---|---|---|")
for x in r:
    print(f"| `{x['command'][:90]}` | {x['mean']:.3f} ± {x['stddev'] or 0:.3f} | {n / x['mean']:.0f} |")
PY
}

if [[ " $SCENARIOS " == *" detect "* ]]; then
  make_set "$WORK/detect-in" "-name *"
  n=$(ls "$WORK/detect-in" | wc -l)
  pipeline detect '{"kind": "detect.mime"}' 1
  pipeline detect2 '{"kind": "detect.mime"}' 2
  ln -sfn "$WORK/detect-in" "$WORK/detect2-in"
  hyperfine -N --warmup 1 --min-runs 3 --export-json "$WORK/detect.json" \
    "$BIN/ingest run detect --pipelines $WORK/pipelines --quiet" \
    "$BIN/ingest run detect2 --pipelines $WORK/pipelines --quiet" \
    "bash -c 'file --mime-type -b -- $WORK/detect-in/* >/dev/null'" >/dev/null
  {
    echo "## detect.mime vs \`file --mime-type -b\` ($n files, one process)"
    echo
    table "$WORK/detect.json" "$n"
    echo
    echo "- one worker: **$(ratio "$WORK/detect.json" 0 2)** the speed of \`file\` (goal ≥ 1×)"
    echo "- two workers: **$(ratio "$WORK/detect.json" 1 2)** (goal near 2× on two cores)"
    echo
  } >> "$REPORT"
fi

if [[ " $SCENARIOS " == *" strip "* ]]; then
  make_set "$WORK/strip-in" "-name *.jpg -o -name *.png -o -name *.webp"
  n=$(ls "$WORK/strip-in" | wc -l)
  pipeline strip '{"kind": "strip.metadata", "with": {"onUnsupported": "pass"}}' "$cores"
  rm -rf "$WORK/strip-copy"
  hyperfine -N --warmup 1 --min-runs 3 --export-json "$WORK/strip.json" \
    --prepare "bash -c 'rm -rf $WORK/strip-copy && cp -r $WORK/strip-in $WORK/strip-copy'" \
    "$BIN/ingest run strip --pipelines $WORK/pipelines --quiet" \
    "bash -c 'exiftool -q -q -all= -tagsfromfile @ -orientation -icc_profile -overwrite_original $WORK/strip-copy >/dev/null || true'" \
    "bash -c 'exiftool -q -q -all= -overwrite_original $WORK/strip-copy >/dev/null || true'" >/dev/null
  {
    echo "## strip.metadata vs exiftool ($n JPEG/PNG/WebP files)"
    echo
    table "$WORK/strip.json" "$n"
    echo
    echo "- vs \`exiftool -all= -tagsfromfile @ -orientation -icc_profile\` (the same job): **$(ratio "$WORK/strip.json" 0 1)** (goal ≥ 50×)"
    echo "- vs \`exiftool -all=\`: **$(ratio "$WORK/strip.json" 0 2)** (goal ≥ 5×)"
    echo
  } >> "$REPORT"
fi

if [[ " $SCENARIOS " == *" bigfile "* ]]; then
  big="$WORK/big-in/big.bin"
  mkdir -p "$WORK/big-in"
  [ -f "$big" ] && [ "$(stat -c %s "$big")" = "$BIG_BYTES" ] || head -c "$BIG_BYTES" /dev/urandom > "$big"
  port=$((20000 + RANDOM % 20000))
  rm -rf "$WORK/emulator"
  "$BIN/wix-media-emulator" --port "$port" --data "$WORK/emulator" --log-level warning >/dev/null &
  emulator=$!
  trap 'kill $emulator 2>/dev/null || true' EXIT
  sleep 1
  base="http://127.0.0.1:$port"
  pipeline big "{\"kind\": \"upload.wix\", \"with\": {\"baseURL\": \"$base\", \"siteId\": \"emulator-site-id\", \"apiKey\": {\"insecureLiteral\": \"emulator-api-key\"}, \"verify\": false}}" 1
  cat > "$WORK/curl-put.sh" <<SH
#!/usr/bin/env bash
url=\$(curl -sf -X POST $base/site-media/v1/files/generate-upload-url -H 'Authorization: emulator-api-key' -H 'wix-site-id: emulator-site-id' -H 'Content-Type: application/json' -d '{"mimeType":"application/zip","fileName":"big.zip"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["uploadUrl"])')
curl -sf -X PUT "\$url?filename=big.zip" -H 'Content-Type: application/zip' -T "$big" >/dev/null
SH
  chmod +x "$WORK/curl-put.sh"
  hyperfine -N --min-runs 2 --export-json "$WORK/big.json" \
    "$BIN/ingest run big --pipelines $WORK/pipelines --quiet" "$WORK/curl-put.sh" >/dev/null
  rss=$( { /usr/bin/time -f "%M" "$BIN/ingest" run big --pipelines "$WORK/pipelines" --quiet >/dev/null; } 2>&1 | tail -1)
  emulator_rss=$(grep VmHWM /proc/$emulator/status | awk '{print $2}')
  mb=$((BIG_BYTES / 1000000))
  {
    echo "## Big file: $((BIG_BYTES / 1048576)) MiB through upload.wix (tus, 8 MiB chunks) vs \`curl -T\` (one PUT), same emulator"
    echo
    python3 - "$WORK/big.json" "$mb" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]; mb = int(sys.argv[2])
print("| command | mean s | MB/s |"); print("|---|---|---|")
for x in r: print(f"| `{x['command'][:90]}` | {x['mean']:.2f} | {mb / x['mean']:.0f} |")
PY
    echo
    echo "- throughput: **$(ratio "$WORK/big.json" 0 1)** of curl's (goal ≥ 0.5×); ingest peak RSS **$((rss / 1024)) MiB** (goal ≤ 128 MiB; GNU time %M)"
    echo "- emulator peak RSS over the whole scenario: $((emulator_rss / 1024)) MiB"
    echo
  } >> "$REPORT"
fi

echo "report: $REPORT"
cat "$REPORT"
