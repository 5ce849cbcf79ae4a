#!/usr/bin/env python3
"""The `dedupe` scenario: what `state.dedupe: "target"` costs in requests, and what it saves.

    dedupe.py INGEST EMULATOR WORK POOL FILES PGURL

2,000 small JPEGs, half of them already at Wix (uploaded first by another pipeline, with no ledger in common). Each
measured run starts from the same state (the emulator reset, the same half uploaded again) and counts the requests the
emulator answered for it (`/_emulator/requests`, uploads and API calls alike):

- knows nothing: `state.dedupe` off, every file uploaded (1,000 of them a second time);
  (every run keeps a fresh SQLite ledger, so times compare like with like)
- target: `state.dedupe: "target"`: the folder listed once, the 1,000 present skipped;
- new only: the 1,000 new files alone, no dedupe — what the target run must at least spend; its overhead over this is
  what asking costs.

Then two "machines" sharing a PostgreSQL ledger (INGEST_HOST a and b) against a strict emulator (hash not the MD5):
a uploads the set, b runs over a copy of it under other folder names, and must upload nothing.
Prints the section's Markdown.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

ingest, emulator, work, pool, files, pgurl = sys.argv[1:7]
files = int(files)
half = files // 2


def start(name, *flags):
    port = 21000 + (os.getpid() + len(flags) * 97 + len(name)) % 20000
    data = os.path.join(work, "emulator-" + name)
    shutil.rmtree(data, ignore_errors=True)
    process = subprocess.Popen(
        [emulator, "--port", str(port), "--data", data, "--log-level", "warning", "--image-delay", "0", *flags],
        stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/_emulator/health")
            break
        except OSError:
            time.sleep(0.1)
    return process, base


def requests(base):
    counts = json.load(urllib.request.urlopen(base + "/_emulator/requests"))["requests"]
    total = sum(counts.values())
    uploads = sum(v for k, v in counts.items() if k.startswith("PUT /upload/") and k.endswith(" 200"))
    return total, uploads


def reset(base):
    urllib.request.urlopen(urllib.request.Request(base + "/_emulator/reset", method="POST"))


def inbox(name, names):
    folder = os.path.join(work, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for entry in names:
        os.link(os.path.join(pool, entry), os.path.join(folder, entry))
    return folder


def pipeline(name, base, folder, dedupe, ledger=None):
    connection = {"baseURL": base, "siteId": "emulator-site-id", "apiKey": {"insecureLiteral": "emulator-api-key"},
                  "requestsPerMinute": "off"}
    # Every run keeps a ledger (a fresh one: run() removes it), so the times compare like with like.
    state = {"dedupe": "target" if dedupe else "off", "ledger": ledger or os.path.join(work, name + ".sqlite")}
    if ledger is None:
        state["lock"] = os.path.join(work, name + ".lock")
    document = {"name": name, "concurrency": 8, "state": state, "stages": [
        {"kind": "source.directory", "with": {"path": folder}},
        {"kind": "detect.mime"},
        {"kind": "upload.wix", "with": dict(connection, filePath="/bench")},
        {"kind": "wix.await-ready", "with": dict(connection, pollInterval="200ms")},
    ]}
    os.makedirs(os.path.join(work, "pipelines"), exist_ok=True)
    with open(os.path.join(work, "pipelines", name + ".json"), "w") as out:
        json.dump(document, out)


def run(name, host=None):
    for suffix in (".sqlite", ".sqlite-wal", ".sqlite-shm"):
        path = os.path.join(work, name + suffix)
        if os.path.exists(path):
            os.remove(path)
    environment = dict(os.environ, **({"INGEST_HOST": host} if host else {}))
    began = time.monotonic()
    result = subprocess.run([ingest, "run", name, "--pipelines", os.path.join(work, "pipelines"), "--quiet",
                             "--json"], env=environment, capture_output=True, text=True)
    seconds = time.monotonic() - began
    report = json.loads(result.stdout or "{}")
    return report.get("counts", {}), seconds


names = sorted(os.listdir(pool))[:files]
seen, new = names[:half], names[half:]

process, base = start("dedupe")
try:
    pipeline("dseed", base, inbox("dseed-in", seen), dedupe=False)
    pipeline("dnone", base, inbox("dall-in", names), dedupe=False)
    pipeline("dtarget", base, os.path.join(work, "dall-in"), dedupe=True)
    pipeline("dnew", base, inbox("dnew-in", new), dedupe=False)
    measured = {}
    for name in ("dnone", "dtarget", "dnew"):
        reset(base)
        run("dseed")
        before = requests(base)
        counts, seconds = run(name)
        after = requests(base)
        measured[name] = (after[0] - before[0], after[1] - before[1], seconds, counts)
finally:
    process.terminate()

strict, sbase = start("dedupe-strict", "--strict")
try:
    ledger = pgurl
    pipeline("dfleet", sbase, inbox("dhost-a/camera", names), dedupe=True, ledger=ledger)
    with open(os.path.join(work, "pipelines", "dfleet.json")) as source:
        document = json.load(source)
    run_a, seconds_a = run("dfleet", host="a")
    after_a = requests(sbase)
    inbox("dhost-b/backup/old", names)
    document["stages"][0]["with"]["path"] = os.path.join(work, "dhost-b")
    with open(os.path.join(work, "pipelines", "dfleet.json"), "w") as out:
        json.dump(document, out)
    run_b, seconds_b = run("dfleet", host="b")
    after_b = requests(sbase)
finally:
    strict.terminate()

nothing, target, only_new = measured["dnone"], measured["dtarget"], measured["dnew"]
print(f"## Dedupe against the target: {files:,} small JPEGs, {half:,} of them already at Wix")
print()
print("Requests the emulator answered for each run (API calls and uploads), each from the same state: the emulator")
print(f"reset and the same {half:,} files uploaded first by another pipeline (no ledger in common).")
print()
print("| run | requests | uploads | per file | s | done / skipped |")
print("|---|---|---|---|---|---|")
for label, (total, uploads, seconds, counts) in (
        ("knows nothing (`state.dedupe` off): every file sent", nothing),
        ("`state.dedupe: \"target\"`", target),
        (f"the {half:,} new files alone, no dedupe", only_new)):
    print(f"| {label} | {total:,} | {uploads:,} | {total / files:.2f} | {seconds:.1f} | {counts.get('done', 0)} / {counts.get('skipped', 0)} |")
print()
print(f"- target over knows-nothing, requests: **{target[0] / nothing[0]:.2f}×** (goal ≤ 1.2×)")
print(f"- target over the new files alone (the cost of asking): **{target[0] / only_new[0]:.3f}×**, "
      f"{target[0] - only_new[0]} requests for {files:,} files = {(target[0] - only_new[0]) / files:.3f} per file")
print()
print(f"Two hosts sharing a PostgreSQL ledger, strict emulator (`hash` not the MD5, so only the ledger can prove a duplicate):")
print(f"host a uploads the {files:,} files ({after_a[1]:,} uploads, {seconds_a:.1f} s); host b runs over a copy under other folder")
print(f"names: **{after_b[1] - after_a[1]} uploads**, {after_b[0] - after_a[0]} requests, {run_b.get('skipped', 0)} skipped, {seconds_b:.1f} s.")
print()
