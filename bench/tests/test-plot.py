#!/usr/bin/env python3
"""test-plot.py: bench/plot.py turns arena-bots JSON into a well-formed SVG.

Two series (two targets) of three runs each: the SVG must parse as XML, hold one polyline per
series and percentile (6), a point per run and percentile (18), and put every p99 at or above
its p50 (a smaller y on screen). Labels given with `--` name the series.
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

plot = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="arena-plot.")
files = []
for target, base in (("127.0.0.1:1", 1.0), ("127.0.0.1:2", 3.0)):
    for bots in (100, 500, 1000):
        d = {"config": {"bots": bots, "target": target},
             "latency_us": {"response": {"p50": base * bots, "p99": 4 * base * bots,
                                         "p99_9": 9 * base * bots}}}
        p = os.path.join(tmp, "%s-%d.json" % (target[-1], bots))
        json.dump(d, open(p, "w"))
        files.append(p)
out = os.path.join(tmp, "x.svg")
args = [sys.executable, plot, "-o", out, "--", "arenad"] + files[:3] + ["--", "baseline"] + files[3:]
r = subprocess.run(args, capture_output=True, text=True)
ok = r.returncode == 0
svg = ET.parse(out).getroot() if ok else None
ns = "{http://www.w3.org/2000/svg}"
lines = svg.findall(ns + "polyline") if ok else []
dots = svg.findall(ns + "circle") if ok else []
texts = " ".join(t.text or "" for t in svg.iter(ns + "text")) if ok else ""
checks = [
    (ok, "plot.py ran: %s" % (r.stderr.strip() or r.stdout.strip())),
    (len(lines) == 6, "one polyline per series and percentile (%d)" % len(lines)),
    (len(dots) == 18, "one point per run and percentile (%d)" % len(dots)),
    ("arenad p99" in texts and "baseline p50" in texts, "the legend names the series"),
]
if len(lines) == 6:
    p50 = [float(v.split(",")[1]) for v in lines[0].get("points").split()]
    p99 = [float(v.split(",")[1]) for v in lines[1].get("points").split()]
    checks.append((all(b <= a for a, b in zip(p50, p99)), "p99 is drawn at or above p50"))
bad = 0
for i, (cond, what) in enumerate(checks, 1):
    print("%s %d - %s" % ("ok" if cond else "not ok", i, what))
    bad += not cond
print("1..%d" % len(checks))
sys.exit(1 if bad else 0)
