#!/usr/bin/env bash
# Exactly once under chaos: the shipped pipelines/wix.json (or the same with folders "mirror"), plus source.archive,
# over FILES small PNGs three folders deep, against the strict emulator with lost upload answers, a listing lag, 5xx,
# Wix's 200 requests a minute enforced by 429s without Retry-After — and KILLS `kill -9` of ingest at random moments —
# then re-runs to completion.
#
# Checks: 0 duplicates at the emulator, 0 sources lost (every file is in the inbox or the archive), 0 archived before
# READY (checked after every kill and at the end), no run aborted (exit 5); prints API calls per file.
#
#   Scripts/chaos-wix.sh                      # 1,000 files, 20 kills, flat (the shipped wix.json)
#   LAYOUT=mirror Scripts/chaos-wix.sh        # the same with folders "mirror"
#   FILES=200 KILLS=5 Scripts/chaos-wix.sh    # a quick look
#
# Needs the debug build (`swift build`), python3 and curl. Exit 0 when every check holds.
set -euo pipefail
cd "$(dirname "$0")/.."

FILES=${FILES:-1000}
KILLS=${KILLS:-20}
LAYOUT=${LAYOUT:-flat}
LOST=${LOST:-0.2}
FAIL=${FAIL:-0.05}
THROTTLE=${THROTTLE:-0}
RPM=${RPM:-200}
LAG=${LAG:-1}
SEED=${SEED:-29}
BIN=${BIN:-.build/debug}

work=$(mktemp -d "${TMPDIR:-/tmp}/chaos-wix.XXXXXX")
emulator_pid=""
cleanup() {
    [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$BIN/wix-media-emulator" --port "$port" --data "$work/emulator" --strict --lost-response-rate "$LOST" \
    --fail-rate "$FAIL" --rate-limit-rate "$THROTTLE" --requests-per-minute "$RPM" --rate-limit-no-retry-after \
    --listing-lag "$LAG" \
    --image-delay 0.3 --seed "$SEED" --log-level error >"$work/emulator.log" 2>&1 &
emulator_pid=$!
for _ in $(seq 100); do curl -sf "$base/_emulator/health" >/dev/null 2>&1 && break; sleep 0.1; done

project="$work/project"
mkdir -p "$project/pipelines"
python3 - "$project/inbox" "$FILES" <<'PY'
import os, struct, sys, zlib
root, count = sys.argv[1], int(sys.argv[2])
def chunk(kind, data): return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)
for index in range(count):
    folder = os.path.join(root, 'a%d' % (index % 10), 'b%d' % (index // 10 % 5), 'c%d' % (index // 50 % 2))
    os.makedirs(folder, exist_ok=True)
    rows = b''.join(b'\x00' + os.urandom(24) for _ in range(8))
    png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 8, 8, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b'')
    path = os.path.join(folder, 'photo-%05d.png' % index)
    open(path, 'wb').write(png)
    os.utime(path, (1700000000, 1700000000))
PY
# The shipped pipeline, with source.archive after await-ready (and folders "mirror" for LAYOUT=mirror).
python3 - pipelines/wix.json "$project/pipelines/chaos.json" "$LAYOUT" <<'PY'
import json, sys
pipeline = json.load(open(sys.argv[1]))
pipeline["name"] = "chaos"
pipeline.pop("$schema", None)
for stage in pipeline["stages"]:
    if stage["kind"] == "upload.wix" and sys.argv[3] == "mirror":
        stage["with"]["folders"] = "mirror"
    if stage["kind"] == "wix.await-ready":
        stage["with"]["readyTimeout"] = "2m"
pipeline["stages"].append({"kind": "source.archive", "with": {"to": "archive"}})
json.dump(pipeline, open(sys.argv[2], "w"), indent=1)
PY

export WIX_API_KEY=emulator-api-key WIX_SITE_ID=emulator-site-id WIX_BASE_URL="$base" WIX_INBOX=inbox
abs_bin=$(cd "$BIN" && pwd)
ingest() { (cd "$project" && exec "$abs_bin/ingest" run chaos --quiet "$@"); }

stored() { curl -sf "$base/_emulator/files"; }
# Every archived file must have a READY file of its name at the emulator (outside the trash).
check_archive() {
    python3 - "$project/archive" <(stored) <<'PY'
import json, os, sys
archive, files = sys.argv[1], json.load(open(sys.argv[2]))["files"]
ready = {f["displayName"] for f in files if f["operationStatus"] == "READY" and f["parentFolderId"] != "trash-root"}
archived = [n for _, _, names in os.walk(archive) for n in names] if os.path.isdir(archive) else []
early = [n for n in archived if n not in ready]
if early:
    print("ARCHIVED BEFORE READY:", early[:10]); sys.exit(1)
PY
}

aborted=0
echo "chaos: $FILES files ($LAYOUT), $KILLS kill -9, lost answers $LOST, 5xx $FAIL, 429s without Retry-After past $RPM requests/min (and at random $THROTTLE), listing lag ${LAG}s"
start=$(date +%s)
for kill in $(seq "$KILLS"); do
    (cd "$project" && exec "$abs_bin/ingest" run chaos --quiet) >"$work/run-$kill.log" 2>&1 &
    pid=$!
    sleep "$(python3 -c "import random; random.seed($SEED + $kill); print(round(random.uniform(0.3, 6), 2))")"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    check_archive
done
runs=0
status=1
while [ "$runs" -lt 12 ]; do
    runs=$((runs + 1))
    set +e
    ingest >"$work/final-$runs.log" 2>&1
    status=$?
    set -e
    [ "$status" = 5 ] && aborted=$((aborted + 1))
    check_archive
    left=$(find "$project/inbox" -type f | wc -l)
    [ "$status" = 0 ] && [ "$left" = 0 ] && break
done
elapsed=$(($(date +%s) - start))

python3 - <(stored) <(curl -sf "$base/_emulator/requests") "$project" "$FILES" "$runs" "$aborted" "$elapsed" "$status" <<'PY'
import json, os, sys
files = json.load(open(sys.argv[1]))["files"]
requests = json.load(open(sys.argv[2]))["requests"]
project, count, runs, aborted, elapsed, status = sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6]), sys.argv[7], sys.argv[8]
live = [f for f in files if f["parentFolderId"] != "trash-root"]
ready = [f for f in live if f["operationStatus"] == "READY"]
names = [f["displayName"] for f in live]
duplicates = len(names) - len(set(names))
def count_files(folder):
    return sum(len(n) for _, _, n in os.walk(os.path.join(project, folder))) if os.path.isdir(os.path.join(project, folder)) else 0
inbox, archive = count_files("inbox"), count_files("archive")
lost = count - inbox - archive
api = sum(n for key, n in requests.items() if "/site-media/" in key)
upload = sum(n for key, n in requests.items() if "/upload/" in key)
print(f"runs to completion after the kills: {runs} (last exit {status}); aborted runs: {aborted}; {elapsed} s in all")
print(f"at Wix: {len(live)} files, {len(ready)} READY, {duplicates} duplicates; {len(files) - len(live)} in the trash")
print(f"sources: {archive} archived, {inbox} still in the inbox, {lost} lost")
print(f"API calls per file: {api / count:.2f} (upload-host requests per file: {upload / count:.2f})")
ok = duplicates == 0 and lost == 0 and aborted == 0 and len(ready) == count and archive == count and status == "0"
print("chaos: " + ("every check holds" if ok else "FAILED"))
sys.exit(0 if ok else 1)
PY
