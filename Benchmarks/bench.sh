#!/usr/bin/env bash
# Benchmarks: MediaIngest stages against the tools users would script instead, on the same files, in the same
# invocation (hyperfine), so machine noise cancels and only ratios are reported. Not a test: nothing here asserts
# a timing. Writes a Markdown report to Benchmarks/results/latest.md.
#
#   Benchmarks/bench.sh [detect] [strip] [heic] [mov] [mp4s] [bigfile] [bandwidth] [e2e] [latency] [pacing] [faults] [scale] [library] [watch] [fleet] [dedupe] [remote]  (default: all)
#
# Needs: hyperfine, exiftool, file, curl, ffmpeg, GNU time, and Pillow + piexif for Benchmarks/generate.py (`make
# bench` installs them). Environment: BENCH_COPIES (corpus copies for detect/strip/heic, 40), BENCH_BIG_BYTES (2 GiB),
# BENCH_MOV_BYTES (1 GiB), BENCH_MP4_FILES (200), BENCH_E2E_FILES (2000), BENCH_SCALE ("1000 5000 20000"),
# BENCH_LEDGER_FILES (10000), BENCH_WATCH_FILES (500), BENCH_WATCH_IDLE (idle seconds for the watcher's CPU, 600),
# BENCH_FLEET_FILES (20000: PostgreSQL vs SQLite), BENCH_WORKER_FILES (1200: 1, 2 and 4 workers). fleet needs postgresql.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/Benchmarks/work
RESULTS=$ROOT/Benchmarks/results
REPORT=$RESULTS/latest.md
SCENARIOS=${*:-detect strip heic mov mp4s bigfile bandwidth e2e latency pacing faults scale library watch fleet dedupe remote}
COPIES=${BENCH_COPIES:-40}
BIG_BYTES=${BENCH_BIG_BYTES:-2147483648}
E2E_FILES=${BENCH_E2E_FILES:-2000}
SCALE_SIZES=${BENCH_SCALE:-1000 5000 20000}
LEDGER_FILES=${BENCH_LEDGER_FILES:-10000}
LIBRARY_FILES=${BENCH_LIBRARY_FILES:-200000}
MOV_BYTES=${BENCH_MOV_BYTES:-1073741824}
MP4_FILES=${BENCH_MP4_FILES:-200}
LATENCY_FILES=${BENCH_LATENCY_FILES:-2000}
PACING_FILES=${BENCH_PACING_FILES:-500}
FAULT_FILES=${BENCH_FAULT_FILES:-1000}
WATCH_FILES=${BENCH_WATCH_FILES:-500}
WATCH_IDLE=${BENCH_WATCH_IDLE:-600}
FLEET_FILES=${BENCH_FLEET_FILES:-20000}
WORKER_FILES=${BENCH_WORKER_FILES:-1200}
DEDUPE_FILES=${BENCH_DEDUPE_FILES:-2000}
BANDWIDTH=${BENCH_BANDWIDTH:-20000000}
REMOTE_FILES=${BENCH_REMOTE_FILES:-2000}

swift build -c release --product ingest >/dev/null
swift build -c release --product wix-media-emulator >/dev/null
BIN=$(swift build -c release --show-bin-path)
mkdir -p "$WORK" "$RESULTS/sections"
cores=$(nproc)
MACHINE="$(uname -m) · ${cores} cores · $(swift --version 2>/dev/null | head -1) · $(file --version | head -1) · exiftool $(exiftool -ver) · $(ffmpeg -version | head -1 | cut -d' ' -f1-3)"

# Each scenario writes its own section (Benchmarks/results/sections/NAME.md, stamped with its date); latest.md is put
# together from all sections at the end, so running a subset refreshes those sections and keeps the others.
section() { # $1 = scenario name; the section's text comes on stdin
  { echo "<!-- $1: $(date -u +%Y-%m-%dT%H:%MZ) · $MACHINE -->"; cat; } > "$RESULTS/sections/$1.md"
}

# Links the first $2 files of folder $1 into folder $3 (hard links: no copies), unless it holds that many already.
link_subset() {
  local pool=$1 count=$2 dir=$3 names
  [ "$(ls "$dir" 2>/dev/null | wc -l)" = "$count" ] && return
  rm -rf "$dir"; mkdir -p "$dir"
  mapfile -t names < <(ls "$pool")
  for name in "${names[@]:0:$count}"; do ln "$pool/$name" "$dir/$name"; done
}

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


# One emulator for the scenarios that upload (release build, data under $WORK/emulator), stopped on exit.
EMULATOR_PID=""
EXTRA_PIDS=()
PG_DIR=""
# One exit trap for everything a scenario starts: emulators, and the fleet's PostgreSQL server.
cleanup() {
  kill $EMULATOR_PID "${EXTRA_PIDS[@]}" 2>/dev/null || true
  if [ -n "$PG_DIR" ]; then Scripts/test-postgres.sh stop "$PG_DIR"; fi
}
trap cleanup EXIT
start_emulator() {
  [ -n "$EMULATOR_PID" ] && return
  port=$((20000 + RANDOM % 20000))
  rm -rf "$WORK/emulator"
  "$BIN/wix-media-emulator" --port "$port" --data "$WORK/emulator" --log-level warning >/dev/null &
  EMULATOR_PID=$!
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 50); do curl -sf "$base/_emulator/health" >/dev/null && break; sleep 0.1; done
  CONNECTION="\"baseURL\": \"$base\", \"siteId\": \"emulator-site-id\", \"apiKey\": {\"insecureLiteral\": \"emulator-api-key\"}"
  RESET="curl -sf -X POST $base/_emulator/reset -o /dev/null"
}

# Another emulator with its own flags (its own data folder and port); sets EXTRA_BASE. Stopped on exit.
start_extra_emulator() { # $1 = name, rest = flags
  local name=$1; shift
  local port=$((20000 + RANDOM % 20000))
  rm -rf "$WORK/emulator-$name"
  "$BIN/wix-media-emulator" --port "$port" --data "$WORK/emulator-$name" --log-level warning "$@" >/dev/null &
  EXTRA_PIDS+=($!)
  EXTRA_BASE="http://127.0.0.1:$port"
  for _ in $(seq 1 50); do curl -sf "$EXTRA_BASE/_emulator/health" >/dev/null && break; sleep 0.1; done
}

# `/usr/bin/time` around a command: its peak RSS (the largest process of the tree) is appended to $WORK/rss-$1.txt.
timed() { # $1 = label, rest = command
  local label=$1; shift
  rm -f "$WORK/rss-$label.txt"
  echo "/usr/bin/time -f %M -a -o $WORK/rss-$label.txt $*"
}

# A hyperfine result as a table: files/s, MB/s, peak RSS per command. $1 json, $2 files, $3 bytes, rest = rss labels.
report_table() {
  python3 - "$WORK" "$@" <<'PY'
import json, sys
work, path, files, size, labels = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
results = json.load(open(path))["results"]
print("| command | mean s | files/s | MB/s | peak RSS |")
print("|---|---|---|---|---|")
for index, result in enumerate(results):
    rss = "–"
    if index < len(labels):
        try:
            values = [int(line) for line in open(f"{work}/rss-{labels[index]}.txt") if line.strip().isdigit()]
            rss = f"{max(values) / 1024:.0f} MiB" if values else "–"
        except OSError:
            pass
    command = result["command"].split(" -a -o ")[-1].split(" ", 1)[-1] if "/usr/bin/time" in result["command"] else result["command"]
    command = command.replace(work + "/", "").replace(work.rsplit("/Benchmarks/", 1)[0] + "/.build/x86_64-unknown-linux-gnu/release/", "")
    print(f"| `{command[:90]}` | {result['mean']:.2f} ± {result['stddev'] or 0:.2f} | {files / result['mean']:.0f} | {size / 1e6 / result['mean']:.1f} | {rss} |")
PY
}

if [[ " $SCENARIOS " == *" detect "* ]]; then
  SCENARIO=detect
  make_set "$WORK/detect-in" "-name *"
  n=$(ls "$WORK/detect-in" | wc -l)
  pipeline detect '{"kind": "detect.mime"}' 1
  pipeline detect2 '{"kind": "detect.mime"}' 2
  ln -sfn "$WORK/detect-in" "$WORK/detect2-in"
  bytes=$(du -sbL "$WORK/detect-in" | cut -f1)
  hyperfine -N --warmup 1 --min-runs 3 --export-json "$WORK/detect.json" \
    "$(timed detect1 "$BIN/ingest" run detect --pipelines "$WORK/pipelines" --quiet)" \
    "$(timed detect2 "$BIN/ingest" run detect2 --pipelines "$WORK/pipelines" --quiet)" \
    "$(timed detectfile bash -c "'file --mime-type -b -- $WORK/detect-in/* >/dev/null'")" >/dev/null
  {
    echo "## detect.mime vs \`file --mime-type -b\` ($n corpus files, one process)"
    echo
    report_table "$WORK/detect.json" "$n" "$bytes" detect1 detect2 detectfile
    echo
    echo "- one worker: **$(ratio "$WORK/detect.json" 0 2)** the speed of \`file\` (goal ≥ 1×)"
    echo "- two workers: **$(ratio "$WORK/detect.json" 1 2)** (goal near 2× on two cores)"
    echo
  } | section "$SCENARIO"
fi

if [[ " $SCENARIOS " == *" strip "* ]]; then
  SCENARIO=strip
  make_set "$WORK/strip-in" "-name *.jpg -o -name *.png -o -name *.webp"
  n=$(ls "$WORK/strip-in" | wc -l)
  pipeline strip '{"kind": "strip.metadata", "with": {"onUnsupported": "pass"}}' "$cores"
  rm -rf "$WORK/strip-copy"
  bytes=$(du -sb "$WORK/strip-in" | cut -f1)
  hyperfine -N --warmup 1 --min-runs 3 --export-json "$WORK/strip.json" \
    --prepare "bash -c 'rm -rf $WORK/strip-copy && cp -r $WORK/strip-in $WORK/strip-copy'" \
    "$(timed strip "$BIN/ingest" run strip --pipelines "$WORK/pipelines" --quiet)" \
    "$(timed stripexif bash -c "'exiftool -q -q -all= -tagsfromfile @ -orientation -icc_profile -overwrite_original $WORK/strip-copy >/dev/null || true'")" \
    "$(timed stripall bash -c "'exiftool -q -q -all= -overwrite_original $WORK/strip-copy >/dev/null || true'")" >/dev/null
  {
    echo "## strip.metadata vs exiftool ($n JPEG/PNG/WebP corpus files, $cores workers)"
    echo
    report_table "$WORK/strip.json" "$n" "$bytes" strip stripexif stripall
    echo
    echo "- vs \`exiftool -all= -tagsfromfile @ -orientation -icc_profile\` (the same job): **$(ratio "$WORK/strip.json" 0 1)** (goal ≥ 50×)"
    echo "- vs \`exiftool -all=\`: **$(ratio "$WORK/strip.json" 0 2)** (goal ≥ 5×)"
    echo
  } | section "$SCENARIO"
fi

if [[ " $SCENARIOS " == *" heic "* ]]; then
  SCENARIO=heic
  make_set "$WORK/heic-in" "-name *.heic -o -name *.HEIC -o -name *.heif -o -name *.avif"
  n=$(ls "$WORK/heic-in" | wc -l)
  pipeline heic '{"kind": "strip.metadata"}' "$cores"
  bytes=$(du -sb "$WORK/heic-in" | cut -f1)
  hyperfine -N --warmup 1 --min-runs 3 --export-json "$WORK/heic.json" \
    --prepare "bash -c 'rm -rf $WORK/heic-copy && cp -r $WORK/heic-in $WORK/heic-copy'" \
    "$(timed heic "$BIN/ingest" run heic --pipelines "$WORK/pipelines" --quiet)" \
    "$(timed heicexif bash -c "'exiftool -q -q -all= -tagsfromfile @ -orientation -icc_profile -overwrite_original $WORK/heic-copy >/dev/null || true'")" >/dev/null
  {
    echo "## strip.metadata vs exiftool on HEIC/HEIF/AVIF ($n corpus files: iPhone and Android HEICs with GPS, AVIFs; $cores workers)"
    echo
    report_table "$WORK/heic.json" "$n" "$bytes" heic heicexif
    echo
    echo "- vs \`exiftool -all= -tagsfromfile @ -orientation -icc_profile\`: **$(ratio "$WORK/heic.json" 0 1)** (goal ≥ 20×)"
    echo
  } | section "$SCENARIO"
fi

# An iPhone-like MOV (H.264 + AAC from the corpus, looped with -c copy, moov last) of about $1 bytes with location,
# make and model in QuickTime keys and user data, at $2.
make_movie() {
  local want=$1 out=$2 source=Tests/Fixtures/corpus/video/gps_iphone.mov
  [ -f "$out" ] && [ "$(stat -c %s "$out")" -ge $((want * 9 / 10)) ] && return
  local loops=$((want / $(stat -c %s "$source")))
  ffmpeg -nostdin -v error -y -stream_loop "$loops" -i "$source" -map 0:v -map 0:a -c copy -movflags use_metadata_tags \
    -metadata "com.apple.quicktime.location.ISO6709=+32.0929+034.8620+028.516/" -metadata "com.apple.quicktime.make=Apple" \
    -metadata "com.apple.quicktime.model=iPhone 15" -metadata "location=+32.0929+034.8620/" "$out"
}

if [[ " $SCENARIOS " == *" mov "* ]]; then
  SCENARIO=mov
  mkdir -p "$WORK/mov-in" "$WORK/mov-out"
  make_movie "$MOV_BYTES" "$WORK/mov-in/big.mov"
  size=$(stat -c %s "$WORK/mov-in/big.mov")
  pipeline mov '{"kind": "strip.metadata"}' 1
  hyperfine -N --warmup 1 --min-runs 3 --export-json "$WORK/mov.json" --prepare "rm -f $WORK/mov-out/big.mov" \
    "$(timed mov "$BIN/ingest" run mov --pipelines "$WORK/pipelines" --quiet)" \
    "$(timed movffmpeg ffmpeg -nostdin -v error -y -i "$WORK/mov-in/big.mov" -map 0 -map_metadata -1 -c copy "$WORK/mov-out/big.mov")" >/dev/null
  {
    echo "## strip.metadata vs \`ffmpeg -map_metadata -1 -c copy\` (what mat2 runs): one $((size / 1048576)) MiB MOV"
    echo
    echo "H.264 + AAC looped from the corpus's iPhone MOV, moov last, location/make/model in QuickTime keys and user data."
    echo
    report_table "$WORK/mov.json" 1 "$size" mov movffmpeg
    echo
    echo "- vs ffmpeg: **$(ratio "$WORK/mov.json" 0 1)** (goal ≥ 1×); ingest peak RSS $(python3 -c "import sys; v=[int(l) for l in open('$WORK/rss-mov.txt') if l.strip().isdigit()]; print(f'**{max(v)//1024} MiB**')") (goal ≤ 64 MiB)"
    echo
  } | section "$SCENARIO"
fi

if [[ " $SCENARIOS " == *" mp4s "* ]]; then
  SCENARIO=mp4s
  in="$WORK/mp4s-in"
  if [ "$(ls "$in" 2>/dev/null | wc -l)" != "$MP4_FILES" ]; then
    rm -rf "$in"; mkdir -p "$in"
    make_movie 20000000 "$WORK/phone.mp4"
    # Distinct files (each its own make/model), as a phone's camera roll would be.
    for i in $(seq 1 "$MP4_FILES"); do
      ffmpeg -nostdin -v error -y -i "$WORK/phone.mp4" -map 0 -c copy -movflags use_metadata_tags -metadata "com.apple.quicktime.model=Phone $i" "$in/clip$i.mp4"
    done
  fi
  bytes=$(du -sb "$in" | cut -f1)
  pipeline mp4s '{"kind": "strip.metadata"}' "$cores"
  cat > "$WORK/ffmpeg-each.sh" <<SH
#!/usr/bin/env bash
# One ffmpeg per file, two at a time (one per core), as a shell loop over a folder would run it.
rm -rf "$WORK/mp4s-out" && mkdir -p "$WORK/mp4s-out"
ls "$in" | xargs -P $cores -I{} ffmpeg -nostdin -v error -y -i "$in/{}" -map 0 -map_metadata -1 -c copy "$WORK/mp4s-out/{}"
SH
  chmod +x "$WORK/ffmpeg-each.sh"
  hyperfine -N --warmup 1 --min-runs 3 --export-json "$WORK/mp4s.json" \
    "$(timed mp4s "$BIN/ingest" run mp4s --pipelines "$WORK/pipelines" --quiet)" \
    "$(timed mp4sffmpeg "$WORK/ffmpeg-each.sh")" >/dev/null
  {
    echo "## strip.metadata vs ffmpeg per file: $MP4_FILES phone-sized MP4s ($((bytes / MP4_FILES / 1000000)) MB each, $cores workers / $cores parallel ffmpegs)"
    echo
    report_table "$WORK/mp4s.json" "$MP4_FILES" "$bytes" mp4s mp4sffmpeg
    echo
    echo "- vs ffmpeg: **$(ratio "$WORK/mp4s.json" 0 1)** (goal ≥ 5×)"
    echo
  } | section "$SCENARIO"
fi

if [[ " $SCENARIOS " == *" bigfile "* ]]; then
  SCENARIO=bigfile
  big="$WORK/big-in/big.bin"
  mkdir -p "$WORK/big-in"
  [ -f "$big" ] && [ "$(stat -c %s "$big")" = "$BIG_BYTES" ] || head -c "$BIG_BYTES" /dev/urandom > "$big"
  start_emulator
  emulator=$EMULATOR_PID
  pipeline big "{\"kind\": \"upload.wix\", \"with\": {\"baseURL\": \"$base\", \"siteId\": \"emulator-site-id\", \"apiKey\": {\"insecureLiteral\": \"emulator-api-key\"}, \"verify\": false}}" 1
  cat > "$WORK/curl-put.sh" <<SH
#!/usr/bin/env bash
url=\$(curl -sf -X POST $base/site-media/v1/files/generate-upload-url -H 'Authorization: emulator-api-key' -H 'wix-site-id: emulator-site-id' -H 'Content-Type: application/json' -d '{"mimeType":"application/zip","fileName":"big.zip"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["uploadUrl"])')
curl -sf -X PUT "\$url?filename=big.zip" -H 'Content-Type: application/zip' -T "$big" >/dev/null
SH
  chmod +x "$WORK/curl-put.sh"
  hyperfine -N --min-runs 3 --prepare "$RESET" --export-json "$WORK/big.json" \
    "$BIN/ingest run big --pipelines $WORK/pipelines --quiet" "$WORK/curl-put.sh" >/dev/null
  rss=$( { /usr/bin/time -f "%M" "$BIN/ingest" run big --pipelines "$WORK/pipelines" --quiet >/dev/null; } 2>&1 | tail -1)
  emulator_rss=$(grep VmHWM /proc/$emulator/status | awk '{print $2}')
  mb=$((BIG_BYTES / 1000000))
  {
    echo "## Big file: $((BIG_BYTES / 1048576)) MiB through upload.wix (tus, 64 MiB PATCHes, SHA-256 while streaming) vs \`curl -T\` (one PUT), same emulator"
    echo
    python3 - "$WORK/big.json" "$mb" "$BIN" "$WORK" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]; mb = int(sys.argv[2])
print("| command | mean s | MB/s |"); print("|---|---|---|")
for x in r: print(f"| `{x['command'].replace(sys.argv[3] + '/', '').replace(sys.argv[4] + '/', '')}` | {x['mean']:.2f} | {mb / x['mean']:.0f} |")
PY
    echo
    echo "- throughput: **$(ratio "$WORK/big.json" 0 1)** of curl's (goal ≥ 0.9×); ingest peak RSS **$((rss / 1024)) MiB** (goal ≤ 64 MiB; GNU time %M)"
    echo "- emulator peak RSS over the whole scenario: $((emulator_rss / 1024)) MiB"
    echo
  } | section "$SCENARIO"
fi

if [[ " $SCENARIOS " == *" bandwidth "* ]]; then
  SCENARIO=bandwidth
  # maxBytesPerSecond: the 2 GiB file through upload.wix (tus) held to BANDWIDTH bytes/s — how close the achieved rate
  # comes to the limit — and what the option costs when off: the run without it, and with a limit far above the link
  # (the limiter's path taken, never binding), against curl -T of the same file.
  big="$WORK/big-in/big.bin"
  mkdir -p "$WORK/big-in"
  [ -f "$big" ] && [ "$(stat -c %s "$big")" = "$BIG_BYTES" ] || head -c "$BIG_BYTES" /dev/urandom > "$big"
  start_emulator
  connection="\"baseURL\": \"$base\", \"siteId\": \"emulator-site-id\", \"apiKey\": {\"insecureLiteral\": \"emulator-api-key\"}, \"verify\": false"
  ln -sfn "$WORK/big-in" "$WORK/bwoff-in"; ln -sfn "$WORK/big-in" "$WORK/bwhigh-in"; ln -sfn "$WORK/big-in" "$WORK/bwlimit-in"
  pipeline bwoff "{\"kind\": \"upload.wix\", \"with\": {$connection}}" 1
  pipeline bwhigh "{\"kind\": \"upload.wix\", \"with\": {$connection, \"maxBytesPerSecond\": \"100GB\"}}" 1
  pipeline bwlimit "{\"kind\": \"upload.wix\", \"with\": {$connection, \"maxBytesPerSecond\": $BANDWIDTH}}" 1
  cat > "$WORK/curl-put.sh" <<SH
#!/usr/bin/env bash
url=\$(curl -sf -X POST $base/site-media/v1/files/generate-upload-url -H 'Authorization: emulator-api-key' -H 'wix-site-id: emulator-site-id' -H 'Content-Type: application/json' -d '{"mimeType":"application/zip","fileName":"big.zip"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["uploadUrl"])')
curl -sf -X PUT "\$url?filename=big.zip" -H 'Content-Type: application/zip' -T "$big" >/dev/null
SH
  chmod +x "$WORK/curl-put.sh"
  hyperfine -N --warmup 1 --min-runs 3 --prepare "$RESET" --export-json "$WORK/bandwidth-off.json" \
    "$BIN/ingest run bwoff --pipelines $WORK/pipelines --quiet" \
    "$BIN/ingest run bwhigh --pipelines $WORK/pipelines --quiet" "$WORK/curl-put.sh" >/dev/null
  hyperfine -N --runs 1 --prepare "$RESET" --export-json "$WORK/bandwidth-limit.json" \
    "$BIN/ingest run bwlimit --pipelines $WORK/pipelines --quiet" >/dev/null
  python3 - "$WORK/bandwidth-off.json" "$WORK/bandwidth-limit.json" "$BIG_BYTES" "$BANDWIDTH" <<'PY' | section "$SCENARIO"
import json, sys
off, limited = (json.load(open(p))["results"] for p in sys.argv[1:3])
size, limit = int(sys.argv[3]), int(sys.argv[4])
print(f"## Bandwidth: {size / 1048576:.0f} MiB through upload.wix (tus) with `maxBytesPerSecond`")
print()
print("| run | mean s | MB/s |")
print("|---|---|---|")
for label, r in (("no limit (the option off)", off[0]), ("`maxBytesPerSecond: \"100GB\"` (the limiter's path, never binding)", off[1]),
                 ("`curl -T`, one PUT", off[2]), (f"`maxBytesPerSecond: {limit}`", limited[0])):
    print(f"| {label} | {r['mean']:.2f} | {size / 1e6 / r['mean']:.1f} |")
print()
achieved = size / limited[0]["mean"]
print(f"- limited to {limit / 1e6:.0f} MB/s: **{achieved / 1e6:.2f} MB/s**, {100 * (achieved - limit) / limit:+.2f} % of the limit (goal within ±5 %; the whole run, start-up and the finalize included)")
print(f"- off: **{off[2]['mean'] / off[0]['mean']:.2f}×** curl's throughput; the limiter's path when it never binds: **{off[0]['mean'] / off[1]['mean']:.3f}×** the run without it (goal: costs nothing)")
print()
PY
fi

if [[ " $SCENARIOS " == *" e2e "* ]]; then
  SCENARIO=e2e
  # 2,000 camera-like JPEGs through the whole Wix pipeline vs the shell script a user would write with file(1),
  # exiftool (batch) and curl (generate + PUT per file), and vs the same client with the other stages off.
  start_emulator
  in="$WORK/e2e-in"
  if [ "$(ls "$in" 2>/dev/null | wc -l)" != "$E2E_FILES" ]; then
    rm -rf "$in"
    python3 Benchmarks/generate.py "$in" --count "$E2E_FILES" --profile realistic
  fi
  n=$E2E_FILES
  bytes=$(du -sb "$in" | cut -f1)
  pipeline e2e "{\"kind\": \"detect.mime\"},
    {\"kind\": \"strip.metadata\", \"with\": {\"keep\": [\"orientation\", \"icc\"]}},
    {\"kind\": \"validate\", \"with\": {\"profile\": \"wix\"}},
    {\"kind\": \"upload.wix\", \"with\": {$CONNECTION}},
    {\"kind\": \"wix.await-ready\", \"with\": {$CONNECTION, \"pollInterval\": \"200ms\"}},
    {\"kind\": \"report.manifest\", \"with\": {\"path\": \"$WORK/e2e-manifest.jsonl\"}}" 4
  pipeline e2eupload "{\"kind\": \"upload.wix\", \"with\": {$CONNECTION}},
    {\"kind\": \"wix.await-ready\", \"with\": {$CONNECTION, \"pollInterval\": \"200ms\"}},
    {\"kind\": \"report.manifest\", \"with\": {\"path\": \"$WORK/e2eupload-manifest.jsonl\"}}" 4
  ln -sfn "$in" "$WORK/e2eupload-in"
  hyperfine -N --runs "${BENCH_E2E_RUNS:-2}" --prepare "$RESET" --export-json "$WORK/e2e.json" \
    "$(timed e2e "$BIN/ingest" run e2e --pipelines "$WORK/pipelines" --quiet)" \
    "$(timed e2eupload "$BIN/ingest" run e2eupload --pipelines "$WORK/pipelines" --quiet)" \
    "$(timed e2eshell Benchmarks/baseline-e2e.sh "$in" "$WORK/e2e-shell" "$base")" >/dev/null
  # The last shell run's files at the emulator: proof the baseline did the whole job.
  landed=$(curl -sf "$base/_emulator/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["files"])')
  {
    echo "## End to end: $n JPEGs ($((bytes / 1000000)) MB, EXIF+GPS+XMP+IPTC+ICC) through the Wix pipeline, emulator on loopback"
    echo
    echo "ingest: source.directory → detect.mime → strip.metadata → validate (wix) → upload.wix → wix.await-ready → report.manifest,"
    echo "4 workers. Upload only: the same without detect/strip/validate. Shell: \`Benchmarks/baseline-e2e.sh\` — copy, one"
    echo "\`file --mime-type\`, one \`exiftool -all= -tagsfromfile @ -orientation -icc_profile\`, then curl generate-upload-url"
    echo "+ curl PUT per file (its last run left $landed files at the emulator)."
    echo
    report_table "$WORK/e2e.json" "$n" "$bytes" e2e e2eupload e2eshell
    echo
    echo "- vs the shell script: **$(ratio "$WORK/e2e.json" 0 2)** (goal ≥ 20×)"
    echo "- vs upload only, same client: **$(ratio "$WORK/e2e.json" 0 1)** (goal ≥ 0.75×)"
    echo
  } | section "$SCENARIO"
fi

if [[ " $SCENARIOS " == *" latency "* ]]; then
  SCENARIO=latency
  # 2,000 small camera-like JPEGs through the whole Wix pipeline when every request pays a real network's round trip
  # (the emulator adds 80 ms): the same job as e2e, now bound by latency, not bytes. ingest overlaps requests (32 in
  # flight, pacing off); the shell script cannot.
  start_extra_emulator latency --latency 80 --image-delay 0
  lbase=$EXTRA_BASE
  lconnection="\"baseURL\": \"$lbase\", \"siteId\": \"emulator-site-id\", \"apiKey\": {\"insecureLiteral\": \"emulator-api-key\"}, \"requestsPerMinute\": \"off\""
  pool="$WORK/scale-pool"
  if [ "$(ls "$pool" 2>/dev/null | wc -l)" -lt "$LATENCY_FILES" ]; then
    rm -rf "$pool"
    python3 Benchmarks/generate.py "$pool" --count "$LATENCY_FILES" --profile small
  fi
  link_subset "$pool" "$LATENCY_FILES" "$WORK/latency-in"
  ln -sfn "$WORK/latency-in" "$WORK/latencyupload-in"
  bytes=$(du -sbL "$WORK/latency-in" | cut -f1)
  pipeline latency "{\"kind\": \"detect.mime\"},
    {\"kind\": \"strip.metadata\", \"with\": {\"keep\": [\"orientation\", \"icc\"]}},
    {\"kind\": \"validate\", \"with\": {\"profile\": \"wix\"}},
    {\"kind\": \"upload.wix\", \"with\": {$lconnection}},
    {\"kind\": \"wix.await-ready\", \"with\": {$lconnection, \"pollInterval\": \"200ms\"}}" 32
  pipeline latencyupload "{\"kind\": \"upload.wix\", \"with\": {$lconnection}},
    {\"kind\": \"wix.await-ready\", \"with\": {$lconnection, \"pollInterval\": \"200ms\"}}" 32
  hyperfine -N --runs "${BENCH_LATENCY_RUNS:-1}" --prepare "curl -sf -X POST $lbase/_emulator/reset -o /dev/null" --export-json "$WORK/latency.json" \
    "$(timed latency "$BIN/ingest" run latency --pipelines "$WORK/pipelines" --quiet)" \
    "$(timed latencyupload "$BIN/ingest" run latencyupload --pipelines "$WORK/pipelines" --quiet)" \
    "$(timed latencyshell Benchmarks/baseline-e2e.sh "$WORK/latency-in" "$WORK/latency-shell" "$lbase")" \
    "$(timed latencyshell8 env JOBS=8 Benchmarks/baseline-e2e.sh "$WORK/latency-in" "$WORK/latency-shell8" "$lbase")" >/dev/null
  landed=$(curl -sf "$lbase/_emulator/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["files"])')
  {
    echo "## Latency: $LATENCY_FILES small JPEGs ($((bytes / 1000000)) MB) through the Wix pipeline, every request 80 ms slower (emulator \`--latency 80\`)"
    echo
    echo "ingest: the e2e pipeline with 32 files in flight and \`requestsPerMinute: \"off\"\`; upload only: the same without"
    echo "detect/strip/validate; shell: \`Benchmarks/baseline-e2e.sh\`, its uploads one after another and 8 at once"
    echo "(\`JOBS=8\`: \`xargs -P 8\`; its last run left $landed files at the emulator)."
    echo
    report_table "$WORK/latency.json" "$LATENCY_FILES" "$bytes" latency latencyupload latencyshell latencyshell8
    echo
    echo "- vs the shell script: **$(ratio "$WORK/latency.json" 0 2)** (goal ≥ 20×)"
    echo "- vs the shell script with 8 uploads at once: **$(ratio "$WORK/latency.json" 0 3)** (goal ≥ 5×)"
    echo "- vs upload only, same client: **$(ratio "$WORK/latency.json" 0 1)** (goal ≥ 0.9×)"
    echo
  } | section "$SCENARIO"
fi

if [[ " $SCENARIOS " == *" pacing "* ]]; then
  SCENARIO=pacing
  # 500 files against Wix's documented 200 requests per minute: the adaptive pacer should take about the 150 s that
  # the limit allows for 500 generate-upload-url calls, without collecting 429s.
  start_extra_emulator pacing --requests-per-minute 200
  pbase=$EXTRA_BASE
  pool="$WORK/scale-pool"
  if [ "$(ls "$pool" 2>/dev/null | wc -l)" -lt "$PACING_FILES" ]; then
    rm -rf "$pool"
    python3 Benchmarks/generate.py "$pool" --count "$PACING_FILES" --profile small
  fi
  link_subset "$pool" "$PACING_FILES" "$WORK/pacing-in"
  pipeline pacing "{\"kind\": \"upload.wix\", \"with\": {\"baseURL\": \"$pbase\", \"siteId\": \"emulator-site-id\", \"apiKey\": {\"insecureLiteral\": \"emulator-api-key\"}}}" 8
  start=$(date +%s.%N)
  "$BIN/ingest" run pacing --pipelines "$WORK/pipelines" --quiet --json > "$WORK/pacing-report.json" || true
  end=$(date +%s.%N)
  python3 - "$start" "$end" "$PACING_FILES" "$WORK/pacing-report.json" "$pbase" <<'PY' | section "$SCENARIO"
import json, sys, urllib.request
start, end, files = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
report = json.load(open(sys.argv[4]))
counts = json.load(urllib.request.urlopen(sys.argv[5] + "/_emulator/requests"))["requests"]
calls = sum(v for k, v in counts.items() if k.startswith("POST /site-media/v1/files/generate-upload-url"))
throttled = sum(v for k, v in counts.items() if k.endswith(" 429"))
total = sum(counts.values())
seconds = end - start
ideal = files / 200 * 60
print(f"## Pacing: {files} files against `--requests-per-minute 200`, adaptive pacer (upload.wix, 8 in flight)")
print()
print(f"| files done | seconds | generate-upload-url calls | 429s | all requests |")
print(f"|---|---|---|---|---|")
print(f"| {report['counts']['done']} | {seconds:.1f} | {calls} | {throttled} | {total} |")
print()
print(f"- **{seconds:.1f} s** for {files} files = **{seconds / ideal:.2f}×** the {ideal:.0f} s the limit allows (goal within 1.10×); 429s: {throttled} of {total} requests")
print()
PY
fi

if [[ " $SCENARIOS " == *" faults "* ]]; then
  SCENARIO=faults
  # API calls per file when answers get lost: the shipped pipeline's upload and wait (filePath folders) against the
  # strict emulator with 5 % of upload answers lost, then with 5 % lost and 5 % 5xx. A lost answer costs a lookup
  # (the folder, a listing, a second listing after the lag, a download to prove the bytes); every file costs its
  # generate-upload-url. Images are READY in the upload's answer, as in Wix's sample (no get-files needed).
  pool="$WORK/scale-pool"
  if [ "$(ls "$pool" 2>/dev/null | wc -l)" -lt "$FAULT_FILES" ]; then
    rm -rf "$pool"
    python3 Benchmarks/generate.py "$pool" --count "$FAULT_FILES" --profile small
  fi
  link_subset "$pool" "$FAULT_FILES" "$WORK/faults-in"
  rows=()
  for variant in "lost 5 %:--lost-response-rate 0.05" "lost 5 %, 5xx 5 %:--lost-response-rate 0.05 --fail-rate 0.05"; do
    label=${variant%%:*}
    # shellcheck disable=SC2086
    start_extra_emulator "faults-${#rows[@]}" --strict --image-delay 0 --seed 7 ${variant#*:}
    fconnection="\"baseURL\": \"$EXTRA_BASE\", \"siteId\": \"emulator-site-id\", \"apiKey\": {\"insecureLiteral\": \"emulator-api-key\"}"
    pipeline faults "{\"kind\": \"upload.wix\", \"with\": {$fconnection, \"filePath\": \"/ingest/{yyyy}/{mm}\"}},
      {\"kind\": \"wix.await-ready\", \"with\": {$fconnection}}" 8
    rm -f "$WORK/.ingest/faults.sqlite"
    start=$(date +%s.%N)
    "$BIN/ingest" run faults --pipelines "$WORK/pipelines" --quiet --json > "$WORK/faults-report.json" || true
    end=$(date +%s.%N)
    rows+=("$(python3 - "$label" "$start" "$end" "$FAULT_FILES" "$WORK/faults-report.json" "$EXTRA_BASE" <<'PY'
import json, sys, urllib.request
label, start, end, files = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
report = json.load(open(sys.argv[5]))
base = sys.argv[6]
counts = json.load(urllib.request.urlopen(base + "/_emulator/requests"))["requests"]
stored = json.load(urllib.request.urlopen(base + "/_emulator/files"))["files"]
api = {k: v for k, v in counts.items() if "/site-media/" in k}
def calls(fragment): return sum(v for k, v in api.items() if fragment in k)
names = [f["displayName"] for f in stored if f["parentFolderId"] != "trash-root"]
print(f"| {label} | {report['counts']['done']} | {sum(api.values()) / files:.2f} | {calls('generate-upload-url') / files:.2f} | {calls('GET /site-media/v1/files ') / files:.3f} | {calls('/folders') / files:.3f} | {calls('get-files') / files:.3f} | {len(names) - len(set(names))} | {end - start:.1f} |")
PY
)")
  done
  {
    echo "## Faults: API calls per file, $FAULT_FILES files through upload.wix (filePath) and wix.await-ready, strict emulator"
    echo
    echo "| answers | done | API calls / file | generate-upload-url | List Files | folders | get-files | duplicates | seconds |"
    echo "|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "- goal: ≤ 1.1 API calls per file with 5 % of the answers lost; 0 duplicates"
    echo
  } | section "$SCENARIO"
fi

if [[ " $SCENARIOS " == *" scale "* ]]; then
  SCENARIO=scale
  # Per-file cost of the whole Wix pipeline at growing folder sizes (small JPEGs, so the count is what grows), then a
  # re-run over the ledger of an unchanged folder.
  start_emulator
  largest=0
  for size in $SCALE_SIZES $LEDGER_FILES; do [ "$size" -gt "$largest" ] && largest=$size; done
  pool="$WORK/scale-pool"
  if [ "$(ls "$pool" 2>/dev/null | wc -l)" -lt "$largest" ]; then
    rm -rf "$pool"
    python3 Benchmarks/generate.py "$pool" --count "$largest" --profile small
  fi
  stages="{\"kind\": \"detect.mime\"},
    {\"kind\": \"strip.metadata\", \"with\": {\"keep\": [\"orientation\", \"icc\"]}},
    {\"kind\": \"validate\", \"with\": {\"profile\": \"wix\"}},
    {\"kind\": \"upload.wix\", \"with\": {$CONNECTION}},
    {\"kind\": \"wix.await-ready\", \"with\": {$CONNECTION, \"pollInterval\": \"200ms\"}}"
  commands=()
  for size in $SCALE_SIZES; do
    dir="$WORK/scale$size-in"
    link_subset "$pool" "$size" "$dir"
    pipeline "scale$size" "$stages" 4
    commands+=("$BIN/ingest run scale$size --pipelines $WORK/pipelines --quiet")
  done
  hyperfine -N --runs 1 --prepare "$RESET" --export-json "$WORK/scale.json" "${commands[@]}" >/dev/null

  # The ledger: a first run over LEDGER_FILES files with state on, then re-runs of the unchanged folder.
  dir="$WORK/ledger-in"
  link_subset "$pool" "$LEDGER_FILES" "$dir"
  mkdir -p "$WORK/pipelines"
  cat > "$WORK/pipelines/ledger.json" <<JSON
{"name": "ledger", "concurrency": 4, "state": {"ledger": "$WORK/ledger.sqlite"},
 "stages": [{"kind": "source.directory", "with": {"path": "$dir"}}, $stages]}
JSON
  hyperfine -N --runs 1 --prepare "bash -c 'rm -f $WORK/ledger.sqlite* && $RESET'" --export-json "$WORK/ledger-first.json" \
    "$BIN/ingest run ledger --pipelines $WORK/pipelines --quiet" >/dev/null
  hyperfine -N --runs 3 --export-json "$WORK/ledger-again.json" "$BIN/ingest run ledger --pipelines $WORK/pipelines --quiet" >/dev/null
  landed=$(curl -sf "$base/_emulator/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["files"])')
  {
    echo "## Scale: per-file cost of the whole Wix pipeline (small JPEGs, 4 workers), and re-runs over the ledger"
    echo
    python3 - "$WORK/scale.json" "$WORK/ledger-first.json" "$WORK/ledger-again.json" "$LEDGER_FILES" "$landed" $SCALE_SIZES <<'PY'
import json, sys
scale, first, again = (json.load(open(p))["results"] for p in sys.argv[1:4])
ledger_files, landed, sizes = int(sys.argv[4]), int(sys.argv[5]), [int(x) for x in sys.argv[6:]]
print("| files | s | files/s | ms per file | vs the smallest |")
print("|---|---|---|---|---|")
base = scale[0]["mean"] / sizes[0]
for n, r in zip(sizes, scale):
    per = r["mean"] / n
    print(f"| {n} | {r['mean']:.1f} | {n / r['mean']:.0f} | {per * 1000:.2f} | {per / base:.2f}× |")
costs = [r["mean"] / n for n, r in zip(sizes, scale)]
print()
print(f"- per-file cost at {sizes[-1]} files over {sizes[0]}: **{costs[-1] / costs[0]:.2f}×** (goal: flat within 1.2×); "
      f"spread of all sizes, dearest over cheapest: {max(costs) / min(costs):.2f}× (fixed per-run costs weigh most on the smallest run)")
f, a = first[0]["mean"], again[0]["mean"]
print(f"- ledger: first run over {ledger_files} files {f:.1f} s ({landed} files at the emulator after the re-runs); "
      f"re-run of the unchanged folder {a:.2f} s ± {again[0]['stddev'] or 0:.2f} = **{a / f * 100:.1f} %** of the first (goal ≤ 5 %)")
print()
PY
  } | section "$SCENARIO"
fi

if [[ " $SCENARIOS " == *" library "* ]]; then
  SCENARIO=library
  # 200,000 small files into the local library with the ledger on: memory must not grow with the run (the report
  # keeps counts and problems, not every record), per-file cost must stay flat, and a re-run must cost ~nothing.
  pool="$WORK/library-pool"
  if [ "$(ls "$pool" 2>/dev/null | wc -l)" != "$LIBRARY_FILES" ]; then
    rm -rf "$pool"
    python3 - "$pool" "$LIBRARY_FILES" "$(pwd)/Tests/Fixtures/corpus/images/jpeg/gps_minimal.jpg" <<'PY2'
import os, sys
pool, count, template = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "rb").read()
os.makedirs(pool)
for i in range(count):
    # A real 1 KB JPEG with four bytes after its end: every file's content (and SHA-256) differs.
    with open(os.path.join(pool, f"img{i:06d}.jpg"), "wb") as f:
        f.write(template + i.to_bytes(4, "big"))
PY2
  fi
  link_subset "$pool" 1000 "$WORK/library1k-in"
  mkdir -p "$WORK/pipelines"
  for name in library1k library200k; do
    dir=$([ $name = library1k ] && echo "$WORK/library1k-in" || echo "$pool")
    cat > "$WORK/pipelines/$name.json" <<JSON
{"name": "$name", "concurrency": 4, "state": {"ledger": "$WORK/$name.sqlite"},
 "stages": [{"kind": "source.directory", "with": {"path": "$dir"}}, {"kind": "detect.mime"},
            {"kind": "upload.library", "with": {"path": "$WORK/$name-library"}},
            {"kind": "report.manifest", "with": {"path": "$WORK/$name.jsonl"}}]}
JSON
  done
  clean() { echo "rm -rf $WORK/$1.sqlite $WORK/$1.sqlite-wal $WORK/$1.sqlite-shm $WORK/$1-library $WORK/$1.jsonl"; }
  hyperfine -N --runs 3 --prepare "$(clean library1k)" --export-json "$WORK/library1k.json" \
    "$BIN/ingest run library1k --pipelines $WORK/pipelines --quiet" >/dev/null
  eval "$(clean library200k)"
  rss=$( { /usr/bin/time -f "%e %M" "$BIN/ingest" run library200k --pipelines "$WORK/pipelines" --quiet >/dev/null; } 2>&1 | tail -1)
  first_seconds=${rss% *}
  first_rss=${rss#* }
  hyperfine -N --runs 3 --export-json "$WORK/library-again.json" "$BIN/ingest run library200k --pipelines $WORK/pipelines --quiet" >/dev/null
  again_rss=$( { /usr/bin/time -f "%M" "$BIN/ingest" run library200k --pipelines "$WORK/pipelines" --quiet >/dev/null; } 2>&1 | tail -1)
  lines=$(wc -l < "$WORK/library200k.jsonl")
  {
    echo "## Scale: $LIBRARY_FILES small JPEGs into the local library (detect.mime → upload.library → report.manifest, ledger on, 4 workers)"
    echo
    python3 - "$WORK/library1k.json" "$WORK/library-again.json" "$LIBRARY_FILES" "$first_seconds" "$first_rss" "$again_rss" "$lines" <<'PY2'
import json, sys
small, again = (json.load(open(p))["results"][0] for p in sys.argv[1:3])
files, first, first_rss, again_rss, lines = int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
per_small, per_large = small["mean"] / 1000, first / files
print("| run | s | files/s | ms per file | peak RSS |")
print("|---|---|---|---|---|")
print(f"| 1,000 files, first run | {small['mean']:.2f} | {1000 / small['mean']:.0f} | {per_small * 1000:.2f} | |")
print(f"| {files:,} files, first run | {first:.1f} | {files / first:.0f} | {per_large * 1000:.2f} | {first_rss // 1024} MiB |")
print(f"| {files:,} files, re-run (all skipped) | {again['mean']:.1f} | {files / again['mean']:.0f} | {again['mean'] / files * 1000:.3f} | {again_rss // 1024} MiB |")
print()
print(f"- peak RSS of the {files:,}-file run: **{first_rss // 1024} MiB** (goal ≤ 128 MiB); manifest lines: {lines:,}")
print(f"- per-file cost at {files:,} over 1,000: **{per_large / per_small:.2f}×** (goal within 1.2×)")
print(f"- ledger re-run: **{again['mean'] / first * 100:.1f} %** of the first run (goal ≤ 5 %)")
print()
PY2
  } | section "$SCENARIO"
fi

if [[ " $SCENARIOS " == *" watch "* ]]; then
  SCENARIO=watch
  # Files arriving one by one: `ingest watch` takes each a moment after its last write; a cron-style `ingest run`
  # every 60 s makes each wait for the next run. Then the watcher sits idle: its CPU time should be nearly nothing.
  start_extra_emulator watch --image-delay 0
  wconnection="\"baseURL\": \"$EXTRA_BASE\", \"siteId\": \"emulator-site-id\", \"apiKey\": {\"insecureLiteral\": \"emulator-api-key\"}"
  pool="$WORK/scale-pool"
  if [ "$(ls "$pool" 2>/dev/null | wc -l)" -lt "$WATCH_FILES" ]; then
    rm -rf "$pool"
    python3 Benchmarks/generate.py "$pool" --count "$WATCH_FILES" --profile small
  fi
  rm -rf "$WORK/watchbench-in" "$WORK/cronbench-in" "$WORK/watchbench.jsonl" "$WORK/cronbench.jsonl" "$WORK/.ingest-watch"
  mkdir -p "$WORK/pipelines"
  for name in watchbench cronbench; do
    cat > "$WORK/pipelines/$name.json" <<JSON
{"name": "$name", "concurrency": 8, "state": {"ledger": "$WORK/.ingest-watch/$name.sqlite", "lock": "$WORK/.ingest-watch/$name.lock"},
 "stages": [{"kind": "source.directory", "with": {"path": "$WORK/$name-in", "minAge": "1s"}},
  {"kind": "detect.mime"}, {"kind": "upload.wix", "with": {$wconnection}},
  {"kind": "wix.await-ready", "with": {$wconnection, "pollInterval": "100ms"}},
  {"kind": "report.manifest", "with": {"path": "$WORK/$name.jsonl"}}]}
JSON
  done
  mkdir -p "$WORK/watchbench-in" "$WORK/cronbench-in"
  python3 Benchmarks/watch.py "$BIN/ingest" "$WORK/pipelines" "$WORK" "$WATCH_FILES" 0.3 "$WATCH_IDLE" 60 1 "$pool" \
    | section "$SCENARIO"
fi

if [[ " $SCENARIOS " == *" fleet "* ]]; then
  SCENARIO=fleet
  # The shared ledger's cost: the scale pipeline over FLEET_FILES files with a SQLite ledger, then with a PostgreSQL
  # one (a throwaway local server, Scripts/test-postgres.sh); then 1, 2 and 4 `ingest run` workers of one pipeline
  # sharing the PostgreSQL ledger (INGEST_HOST tells them apart) against an emulator whose every request is 80 ms slow.
  eval "$(Scripts/test-postgres.sh start)"
  [ -n "${INGEST_TEST_POSTGRES_URL:-}" ] || { echo "fleet: no PostgreSQL server (install postgresql)" >&2; exit 1; }
  export PGPASSWORD=$INGEST_TEST_POSTGRES_PASSWORD
  PG_DIR=$INGEST_TEST_POSTGRES_DIR
  PGURL=$INGEST_TEST_POSTGRES_URL
  start_emulator
  pool="$WORK/scale-pool"
  if [ "$(ls "$pool" 2>/dev/null | wc -l)" -lt "$FLEET_FILES" ]; then
    rm -rf "$pool"
    python3 Benchmarks/generate.py "$pool" --count "$FLEET_FILES" --profile small
  fi
  link_subset "$pool" "$FLEET_FILES" "$WORK/fleet-in"
  stages="{\"kind\": \"detect.mime\"},
    {\"kind\": \"strip.metadata\", \"with\": {\"keep\": [\"orientation\", \"icc\"]}},
    {\"kind\": \"validate\", \"with\": {\"profile\": \"wix\"}},
    {\"kind\": \"upload.wix\", \"with\": {$CONNECTION}},
    {\"kind\": \"wix.await-ready\", \"with\": {$CONNECTION, \"pollInterval\": \"200ms\"}}"
  mkdir -p "$WORK/pipelines"
  for kind in sqlite postgres; do
    ledger=$([ $kind = sqlite ] && echo "$WORK/fleet.sqlite" || echo "$PGURL")
    cat > "$WORK/pipelines/fleet$kind.json" <<JSON
{"name": "fleet$kind", "concurrency": 4, "state": {"ledger": "$ledger", "lock": "$WORK/fleet$kind.lock"},
 "stages": [{"kind": "source.directory", "with": {"path": "$WORK/fleet-in"}}, $stages]}
JSON
  done
  hyperfine -N --runs 1 --export-json "$WORK/fleet-ledger.json" \
    --prepare "bash -c 'rm -f $WORK/fleet.sqlite* && psql \"$PGURL\" -qc \"DROP TABLE IF EXISTS ingest_schema, ingest_asset, ingest_run, ingest_queue, ingest_budget\" && $RESET'" \
    "$BIN/ingest run fleetsqlite --pipelines $WORK/pipelines --quiet" \
    "$BIN/ingest run fleetpostgres --pipelines $WORK/pipelines --quiet" >/dev/null

  # Workers: each with 4 files in flight, so one is bound by the 80 ms round trips and more workers should add up.
  start_extra_emulator fleet --latency 80 --image-delay 0
  fconnection="\"baseURL\": \"$EXTRA_BASE\", \"siteId\": \"emulator-site-id\", \"apiKey\": {\"insecureLiteral\": \"emulator-api-key\"}, \"requestsPerMinute\": \"off\""
  link_subset "$pool" "$WORKER_FILES" "$WORK/workers-in"
  cat > "$WORK/pipelines/workers.json" <<JSON
{"name": "workers", "concurrency": 4, "state": {"ledger": "$PGURL", "lease": "30s"},
 "stages": [{"kind": "source.directory", "with": {"path": "$WORK/workers-in"}},
  {"kind": "upload.wix", "with": {$fconnection}}, {"kind": "wix.await-ready", "with": {$fconnection, "pollInterval": "200ms"}}]}
JSON
  commands=()
  for n in 1 2 4; do
    launch=""
    for i in $(seq 1 $n); do launch+="INGEST_HOST=w$i $BIN/ingest run workers --pipelines $WORK/pipelines --quiet & "; done
    commands+=("bash -c '$launch wait'")
  done
  hyperfine -N --runs 1 --export-json "$WORK/fleet-workers.json" \
    --prepare "bash -c 'psql \"$PGURL\" -qc \"DELETE FROM ingest_asset WHERE pipeline = '\''workers'\''\" && curl -sf -X POST $EXTRA_BASE/_emulator/reset -o /dev/null'" \
    "${commands[@]}" >/dev/null
  landed=$(curl -sf "$EXTRA_BASE/_emulator/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["files"])')
  python3 - "$WORK/fleet-ledger.json" "$WORK/fleet-workers.json" "$FLEET_FILES" "$WORKER_FILES" "$landed" <<'PY' | section "$SCENARIO"
import json, sys
ledger, workers = (json.load(open(p))["results"] for p in sys.argv[1:3])
files, worker_files, landed = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
sqlite, postgres = ledger[0]["mean"], ledger[1]["mean"]
print(f"## Fleet: a PostgreSQL ledger shared by several hosts")
print()
print(f"The scale pipeline (detect → strip → validate → upload.wix → await-ready, 4 in flight) over {files:,} small JPEGs with each ledger:")
print()
print("| ledger | s | files/s | ms per file |")
print("|---|---|---|---|")
for name, seconds in (("SQLite (one host)", sqlite), ("PostgreSQL (local server)", postgres)):
    print(f"| {name} | {seconds:.1f} | {files / seconds:.0f} | {seconds / files * 1000:.2f} |")
print()
print(f"- PostgreSQL over SQLite, whole run: **{postgres / sqlite:.2f}×** (goal ≤ 1.3×)")
print()
print(f"Workers of one pipeline sharing the PostgreSQL ledger (`INGEST_HOST=wN ingest run`), {worker_files:,} files, upload.wix → await-ready,")
print(f"4 in flight each, every request 80 ms slower (emulator `--latency 80`); the last run left {landed} files at the emulator:")
print()
print("| workers | s | files/s | speed-up over one |")
print("|---|---|---|---|")
one = workers[0]["mean"]
for n, r in zip((1, 2, 4), workers):
    print(f"| {n} | {r['mean']:.1f} | {worker_files / r['mean']:.0f} | {one / r['mean']:.2f}× |")
print()
print(f"- 4 workers over 1: **{one / workers[2]['mean']:.2f}×** (goal ≥ 3.2×); 2 over 1: {one / workers[1]['mean']:.2f}×")
print()
PY
fi

if [[ " $SCENARIOS " == *" dedupe "* ]]; then
  SCENARIO=dedupe
  # state.dedupe "target": requests per run against knowing nothing, 2,000 files of which half are at Wix; then a
  # second host over a shared PostgreSQL ledger (Benchmarks/dedupe.py).
  if [ -z "$PG_DIR" ]; then
    eval "$(Scripts/test-postgres.sh start)"
    [ -n "${INGEST_TEST_POSTGRES_URL:-}" ] || { echo "dedupe: no PostgreSQL server (install postgresql)" >&2; exit 1; }
    export PGPASSWORD=$INGEST_TEST_POSTGRES_PASSWORD
    PG_DIR=$INGEST_TEST_POSTGRES_DIR
    PGURL=$INGEST_TEST_POSTGRES_URL
  fi
  psql "$PGURL" -qc "DELETE FROM ingest_asset WHERE pipeline = 'dfleet'" 2>/dev/null || true
  pool="$WORK/scale-pool"
  if [ "$(ls "$pool" 2>/dev/null | wc -l)" -lt "$DEDUPE_FILES" ]; then
    rm -rf "$pool"
    python3 Benchmarks/generate.py "$pool" --count "$DEDUPE_FILES" --profile small
  fi
  python3 Benchmarks/dedupe.py "$BIN/ingest" "$BIN/wix-media-emulator" "$WORK" "$pool" "$DEDUPE_FILES" "$PGURL" \
    | section "$SCENARIO"
fi

if [[ " $SCENARIOS " == *" remote "* ]]; then
  SCENARIO=remote
  # 2,000 camera-like JPEGs in an S3 bucket (moto's S3 server on loopback, rclone's s3 backend) through detect → strip
  # → validate → upload.library, streamed by source.remote; against `rclone copy` of the same objects to a local
  # folder followed by the same pipeline over that folder. Then the re-run cost of the unchanged bucket.
  in="$WORK/remote-in"
  if [ "$(ls "$in" 2>/dev/null | wc -l)" != "$REMOTE_FILES" ]; then
    rm -rf "$in"
    python3 Benchmarks/generate.py "$in" --count "$REMOTE_FILES" --profile realistic
  fi
  n=$REMOTE_FILES
  bytes=$(du -sb "$in" | cut -f1)
  port=$((20000 + RANDOM % 20000))
  python3 -m moto.server -H 127.0.0.1 -p "$port" > "$WORK/remote-moto.log" 2>&1 &
  EXTRA_PIDS+=($!)
  for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
  conf="$WORK/remote-rclone.conf"
  printf '[bench]\ntype = s3\nprovider = Other\naccess_key_id = k\nsecret_access_key = s\nendpoint = http://127.0.0.1:%s\nregion = us-east-1\nforce_path_style = true\n' "$port" > "$conf"
  export AWS_CA_BUNDLE=  # a machine-wide proxy CA bundle makes rclone's S3 client refuse a plain-HTTP endpoint
  rclone --config "$conf" mkdir bench:photos
  rclone --config "$conf" copy --transfers 8 "$in" bench:photos/in
  stages='{"kind": "detect.mime"},
    {"kind": "strip.metadata", "with": {"keep": ["orientation", "icc"]}},
    {"kind": "validate", "with": {"profile": "wix"}},
    {"kind": "upload.library", "with": {"path": "'"$WORK"'/remote-library"}}'
  mkdir -p "$WORK/pipelines"
  cat > "$WORK/pipelines/remote.json" <<JSON
{"name": "remote", "concurrency": 4, "state": {"enabled": false}, "stages": [
  {"kind": "source.remote", "with": {"remote": "bench:photos/in", "config": "$conf"}}, $stages]}
JSON
  cat > "$WORK/pipelines/remotelocal.json" <<JSON
{"name": "remotelocal", "concurrency": 4, "state": {"enabled": false}, "stages": [
  {"kind": "source.directory", "with": {"path": "$WORK/remote-copy"}}, $stages]}
JSON
  cat > "$WORK/remote-copy-then-run.sh" <<SH
#!/usr/bin/env bash
set -euo pipefail
rm -rf "$WORK/remote-copy"
rclone --config "$conf" copy --transfers 4 bench:photos/in "$WORK/remote-copy"
"$BIN/ingest" run remotelocal --pipelines "$WORK/pipelines" --quiet
SH
  chmod +x "$WORK/remote-copy-then-run.sh"
  hyperfine -N --runs "${BENCH_REMOTE_RUNS:-2}" --prepare "rm -rf $WORK/remote-library" --export-json "$WORK/remote.json" \
    "$(timed remote "$BIN/ingest" run remote --pipelines "$WORK/pipelines" --quiet)" \
    "$(timed remotecopy "$WORK/remote-copy-then-run.sh")" >/dev/null
  # The re-run cost: the same source with the ledger on, run twice; the object GETs moto served during the second.
  sed -e 's/"name": "remote"/"name": "remoterun"/' -e 's/"enabled": false/"enabled": true/' \
    "$WORK/pipelines/remote.json" > "$WORK/pipelines/remoterun.json"
  rm -f "$WORK/pipelines/.ingest/remoterun".* "$WORK"/.ingest/remoterun.* 2>/dev/null || true
  rm -rf "$WORK/remote-library"
  (cd "$WORK" && "$BIN/ingest" run remoterun --pipelines "$WORK/pipelines" --quiet)
  before=$(grep -c '"GET /photos/in/[^?]' "$WORK/remote-moto.log" || true)
  rerun_start=$(date +%s.%N)
  (cd "$WORK" && "$BIN/ingest" run remoterun --pipelines "$WORK/pipelines" --quiet)
  rerun_seconds=$(python3 -c "import time; print(f'{time.time() - $rerun_start:.2f}')")
  after=$(grep -c '"GET /photos/in/[^?]' "$WORK/remote-moto.log" || true)
  {
    echo "## Remote source: $n JPEGs ($((bytes / 1000000)) MB) in S3 (moto's server on loopback) through detect → strip → validate → upload.library"
    echo
    echo "ingest: \`source.remote\`, each object copied by its \`rclone rcd\` into the work folder as a worker takes it, 4 workers. Baseline: \`rclone copy\`"
    echo "of the bucket to a local folder (4 transfers), then the same pipeline over the folder with \`source.directory\`."
    echo
    report_table "$WORK/remote.json" "$n" "$bytes" remote remotecopy
    echo
    echo "- streaming vs copy-then-process: **$(ratio "$WORK/remote.json" 0 1)** (goal ≥ 1.0×)"
    echo "- re-run of the unchanged bucket (ledger on): $rerun_seconds s, **$((after - before)) objects downloaded** (goal: 0)"
    echo
  } | section "$SCENARIO"
fi

{
  echo "# MediaIngest benchmarks"
  echo
  echo "Written by \`make bench\` (Benchmarks/bench.sh). Release build. Ratios compare runs of the same job on the same files"
  echo "in the same invocation (hyperfine), so machine noise cancels; >1× means MediaIngest is faster. Each section says"
  echo "when and where it ran. Peak RSS is GNU time's maximum resident set of the largest process of the command."
  echo
  for name in detect strip heic mov mp4s bigfile bandwidth e2e latency pacing scale library watch fleet dedupe remote; do
    [ -f "$RESULTS/sections/$name.md" ] && cat "$RESULTS/sections/$name.md"
  done
} > "$REPORT"
echo "report: $REPORT"
cat "$REPORT"
