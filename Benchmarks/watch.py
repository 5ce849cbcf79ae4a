#!/usr/bin/env python3
"""The watch benchmark (Benchmarks/bench.sh watch): time from a file's last write to READY, `ingest watch` against
cron-style `ingest run` every 60 s, on the same arrival schedule; and the watcher's CPU time while nothing arrives.

READY is when ingest's manifest line is written, after wix.await-ready saw the file READY at the emulator (so it is
at or after the emulator's READY). Prints a Markdown section."""
import json, os, random, signal, statistics, subprocess, sys, threading, time
from datetime import datetime

ingest, pipelines, work, arrivals, spacing, idle, cron_every, min_age = (
    sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]),
    float(sys.argv[7]), float(sys.argv[8]))
pool = sorted(os.path.join(sys.argv[9], n) for n in os.listdir(sys.argv[9]))

def arrive(inbox, seed):
    """Writes `arrivals` files at random intervals (exponential, mean `spacing`); returns name -> last-write time."""
    rng, written = random.Random(seed), {}
    os.makedirs(inbox, exist_ok=True)
    for i in range(arrivals):
        data = open(pool[i % len(pool)], "rb").read() + i.to_bytes(4, "big")
        name = "a%04d.jpg" % i
        with open(os.path.join(inbox, name), "wb") as f:
            f.write(data)
        written[name] = time.time()
        time.sleep(rng.expovariate(1 / spacing))
    return written

def ready_times(manifest):
    out = {}
    if not os.path.exists(manifest):
        return out
    for line in open(manifest):
        row = json.loads(line)
        if row.get("status") == "done":
            out[row["path"]] = datetime.strptime(row["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=__import__("datetime").timezone.utc).timestamp()
    return out

def wait_all(manifest, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline and len(ready_times(manifest)) < arrivals:
        time.sleep(0.5)
    return ready_times(manifest)

def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def percentiles(written, ready):
    delays = sorted(ready[n] - written[n] for n in written if n in ready)
    if not delays:
        return None
    p = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))]
    return len(delays), statistics.median(delays), p(0.99), delays[-1]

# 1. The watcher.
watcher = subprocess.Popen([ingest, "watch", "watchbench", "--pipelines", pipelines],
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "watch.err"), "w"))
time.sleep(2)
written = arrive(os.path.join(work, "watchbench-in"), 1)
watched = wait_all(os.path.join(work, "watchbench.jsonl"), 300)

# 2. Cron every 60 s over the same schedule, while the watcher sits idle (its CPU time is measured meanwhile).
idle_start, cpu_start = time.time(), cpu_seconds(watcher.pid)
stop = threading.Event()
def cron():
    while not stop.wait(cron_every):
        subprocess.run([ingest, "run", "cronbench", "--pipelines", pipelines, "--quiet"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
thread = threading.Thread(target=cron)
thread.start()
cron_written = arrive(os.path.join(work, "cronbench-in"), 1)
cron_ready = wait_all(os.path.join(work, "cronbench.jsonl"), 3 * cron_every + 300)
stop.set()
thread.join()
time.sleep(max(0, idle - (time.time() - idle_start)))
idle_seconds, idle_cpu = time.time() - idle_start, cpu_seconds(watcher.pid) - cpu_start
watcher.send_signal(signal.SIGTERM)
code = watcher.wait(timeout=60)

w, c = percentiles(written, watched), percentiles(cron_written, cron_ready)
print(f"## Watch: {arrivals} files arriving at random (mean {spacing:g} s apart), last write → READY through the Wix pipeline")
print()
print(f"`ingest watch` (source minAge {min_age:g} s) against `ingest run` every {cron_every:g} s (cron-style), same")
print("arrival schedule, same emulator. READY = ingest's manifest line, written after wix.await-ready saw READY.")
print()
print("| | files READY | p50 s | p99 s | max s |")
print("|---|---|---|---|---|")
for label, r in (("ingest watch", w), (f"ingest run every {cron_every:g} s", c)):
    print(f"| {label} | {r[0]} | {r[1]:.2f} | {r[2]:.2f} | {r[3]:.2f} |" if r else f"| {label} | 0 | | | |")
print()
if w:
    print(f"- watch p50: **{w[1]:.2f} s** (goal ≤ minAge + 0.5 s = {min_age + 0.5:g} s); p99 {w[2]:.2f} s")
if w and c:
    print(f"- cron-style p50 over watch p50: **{c[1] / w[1]:.1f}×**")
print(f"- watcher CPU time over {idle_seconds / 60:.1f} idle minutes: **{idle_cpu:.2f} s** (goal < 1 s; one rescan "
      f"every 600 s included); exit code after SIGTERM: {code}")
print()
