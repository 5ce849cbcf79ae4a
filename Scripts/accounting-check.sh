#!/usr/bin/env bash
# Every file accounted for: runs an `ingest` binary over a hostile inbox the way a careful user would meet one, and
# counts what disappears without a word. Prints one table row; run it with two binaries for a before/after table.
#
#   Scripts/accounting-check.sh [BIN]        # BIN: default .build/debug/ingest
#
# The inbox (real corpus files):
# - 20 ordinary photos; 10 photos whose names are Latin-1 (not UTF-8), and a Latin-1 folder with 5 more;
# - a folder of 3 photos this run cannot list (owned by another user, mode 000);
# - 3 files whose payload `validate` must judge: a JPEG with a ZIP appended, PHP in an EXIF description, a PNG zTXt
#   bomb — in the shipped order, strip.metadata before validate;
# - a GPS movie whose mvhd claims size 0;
# and a manifest on a file system with a few hundred bytes left.
#
# Counted:
# - silently skipped: files in the inbox that are neither done, rejected, failed nor deferred, and sit in no folder
#   the run reported as unlisted;
# - findings lost: of the 3 payload files, those stored as done;
# - location kept: the movie stored as done (its udta location left in the bytes);
# - torn lines: manifest lines that do not parse; lost lines: results without a manifest line that the run did not
#   count; the exit code.
# Needs unshare(1) (a mount namespace for the small file system) and python3. Columns:
# | binary | files | silently skipped | findings lost | location kept | torn lines | lost lines not counted | exit |
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-.build/debug/ingest}")
CORPUS=$PWD/Tests/Fixtures/corpus
WORK=$(mktemp -d)
trap 'chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK"
mkdir -p pipelines inbox manifests
sed -e 's#"path": "samples"#"path": "inbox"#' -e 's#"path": "demo-output/manifest.jsonl"#"path": "manifests/m.jsonl"#' \
    "$OLDPWD/pipelines/demo.json" | grep -v '"$schema"' > pipelines/demo.json

python3 - "$CORPUS" <<'EOF'
import os, shutil, struct, sys
corpus = sys.argv[1]
jpegs = sorted(f for f in os.listdir(corpus + "/images/jpeg") if f.endswith(".jpg"))[:20]
def photo(index):
    # A clean photo with bytes of its own: gps_minimal.jpg with a distinct JPEG comment.
    data = open(corpus + "/images/jpeg/gps_minimal.jpg", "rb").read()
    comment = b"photo %d" % index
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + data[2:]
for i in range(20):
    open(b"inbox/plain%02d.jpg" % i, "wb").write(photo(i))
for i in range(10):
    open(b"inbox/caf\xe9-%02d.jpg" % i, "wb").write(photo(100 + i))
os.mkdir(b"inbox/d\xe9j\xe0")
for i in range(5):
    open(b"inbox/d\xe9j\xe0/vu%02d.jpg" % i, "wb").write(photo(200 + i))
os.mkdir("inbox/locked")
for i in range(3):
    open("inbox/locked/l%02d.jpg" % i, "wb").write(photo(300 + i))
for name in ["jpeg_with_appended_zip.jpg", "php_in_exif_description.jpg", "png_ztxt_decompression_dos.png"]:
    shutil.copy(corpus + "/adversarial/" + name, "inbox/" + name)
movie = bytearray(open(corpus + "/video/gps_udta.mp4", "rb").read())
offset = 0
while offset + 8 <= len(movie):
    size = struct.unpack(">I", movie[offset:offset + 4])[0]
    if movie[offset + 4:offset + 8] == b"moov":
        at = movie.index(b"mvhd", offset)
        movie[at - 4:at] = b"\0\0\0\0"
        break
    offset += size
open("inbox/mvhd_size_zero.mp4", "wb").write(movie)
# Earlier lines in the manifest, so the small file system fills in the middle of a line.
with open("manifests/m.jsonl", "w") as f:
    for i in range(40):
        f.write('{"earlier": "line %02d of an earlier run ..........................................."}\n' % i)
EOF
chown -R 65534:65534 inbox/locked && chmod 000 inbox/locked
cp manifests/m.jsonl saved.jsonl
total=$(( 20 + 10 + 5 + 3 + 3 + 1 ))

cat > run.sh <<'EOF'
mount -t tmpfs -o size=8k tmpfs manifests || exit 99
cp saved.jsonl manifests/m.jsonl
head -c 4096 /dev/zero > manifests/filler
"$1" run demo --json > report.json 2> stderr.log; code=$?
cp manifests/m.jsonl saved.jsonl
exit $code
EOF
set +e
unshare -rm /bin/sh run.sh "$BIN"
code=$?
set -e
[ "$code" = 99 ] && { echo "cannot mount a tmpfs here" >&2; exit 2; }

python3 - "$total" "$code" "$BIN" <<'EOF'
import json, sys
total, code, binary = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
report = json.load(open("report.json"))
counts = report["counts"]
accounted = sum(counts.get(k, 0) for k in ("done", "rejected", "failed", "planned")) + report.get("deferred", 0)
unlisted = [p for p in report.get("problems", []) if p["kind"] == "unlisted_folder"]
if any(p["path"].endswith("inbox/locked") for p in unlisted):
    accounted += 3
skipped = total - accounted
status = {a["path"]: a for a in report["assets"]}
def done(name):
    return any(path.endswith(name) and a["status"] == "done" for path, a in status.items())
findings_lost = sum(done(n) for n in ["jpeg_with_appended_zip.jpg", "php_in_exif_description.jpg", "png_ztxt_decompression_dos.png"])
location_kept = int(done("mvhd_size_zero.mp4"))
lines = open("saved.jsonl", "rb").read().split(b"\n")
def parses(line):
    try:
        json.loads(line)
        return True
    except Exception:
        return False
torn = sum(1 for l in lines[:-1] if not parses(l)) + (0 if lines[-1] == b"" else 1)
written = sum(1 for l in lines[:-1] if parses(l)) - 40
results = sum(counts.get(k, 0) for k in ("done", "rejected", "failed"))
counted = sum(p.get("count", 0) for p in report.get("problems", []) if p["kind"] == "lines_lost")
uncounted = max(0, results - written - counted)
print("| %s | %d | %d | %d | %d | %d | %d | %d |" % (binary, total, skipped, findings_lost, location_kept, torn, uncounted, code))
EOF
