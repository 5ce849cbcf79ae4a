#!/usr/bin/env bash
# `make demo`, second half: the product's main job against the bundled Wix Media Manager emulator. Starts
# wix-media-emulator on a free loopback port with a throwaway data folder, runs pipelines/wix.json over samples/
# (generate-upload-url, PUT, then polling until READY), prints what landed there, and stops the emulator.
# Usage: Scripts/demo-wix.sh [BIN_DIR]   (default .build/debug)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-.build/debug}"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d)
"$bin/wix-media-emulator" --port "$port" --data "$data" --media-delay 1 > "$data.log" 2>&1 &
emulator=$!
trap 'kill $emulator 2>/dev/null; wait $emulator 2>/dev/null; rm -rf "$data" "$data.log"' EXIT
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/_emulator/health" > /dev/null && break
    sleep 0.1
done
curl -sf "http://127.0.0.1:$port/_emulator/health" > /dev/null || { echo "the emulator did not start:"; cat "$data.log"; exit 1; }

echo "wix-media-emulator on 127.0.0.1:$port (a local Wix Media Manager; stopped when this demo ends)"
rm -f .ingest/wix.sqlite .ingest/wix.sqlite-wal .ingest/wix.sqlite-shm .ingest/wix.lock .ingest/wix-manifest.jsonl
status=0
WIX_BASE_URL="http://127.0.0.1:$port" WIX_API_KEY=emulator-api-key "$bin/ingest" run wix || status=$?

echo
echo "What landed in the emulator's Media Manager (GET /_emulator/files):"
curl -sf "http://127.0.0.1:$port/_emulator/files" | python3 -c "$(cat <<'PY'
import json, sys
files = json.load(sys.stdin)
files = files.get("files", files) if isinstance(files, dict) else files
print("  %-34s %-6s %9s  %-7s %s" % ("name", "type", "bytes", "status", "md5"))
for f in sorted(files, key=lambda f: f["displayName"]):
    print("  %-34s %-6s %9d  %-7s %s" % (f["displayName"][:34], f["mediaType"][:6], int(f["sizeInBytes"]),
                                         f["operationStatus"], f["md5"]))
print("  %d file(s)" % len(files))
PY
)"
if command -v exiftool > /dev/null; then
    # An independent reader over the bytes the emulator stored: the sources' GPS positions must not be there.
    with_gps=$( (exiftool -q -q -r -ext '*' -if '$GPSLatitude or $GPSCoordinates or $GPSPosition' -p '$FileName' "$data" 2>/dev/null || true) | wc -l)
    echo "  GPS positions in the stored bytes (exiftool -r over the emulator's data): $with_gps"
fi
exit $status
