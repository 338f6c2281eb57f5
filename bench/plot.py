#!/usr/bin/env python3
"""plot.py: turn arena-bots JSON results into a latency-vs-load SVG plot.

Usage: bench/plot.py [-o OUT.svg] [--metric response] [--title TEXT] RUN.json... [-- LABEL RUN.json...]

Each RUN.json is one `arena-bots --json` result. Runs are grouped into series by their target
(config.target), or by the LABEL given before a group after `--`; within a series the x axis is
the number of bots (config.bots) and the y axis the latency histogram's p50, p99 and p99.9 in
milliseconds (latency_us.METRIC, default "response": input to acknowledging snapshot), on a
log scale. The SVG is written by hand (no plotting package needed) so the script runs wherever
the benchmarks run; open it in any browser. bench/players.sh keeps its runs' JSON with
BENCH_KEEP=1, and docs/PERFORMANCE.md shows how the published plot was made.
"""
import json
import math
import sys

W, H = 800, 460
L, R, T, B = 70, 220, 40, 60
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"]
DASH = {"p50": "", "p99": "6,3", "p99_9": "2,3"}


def load(path, metric):
    with open(path) as f:
        d = json.load(f)
    h = d["latency_us"][metric]
    return d["config"]["bots"], d["config"]["target"], {k: h[k] / 1000.0 for k in DASH}


def parse_args(argv):
    out, metric, title = "latency.svg", "response", "arena-bots: latency vs load"
    groups, label, files = [], None, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "-o":
            out = argv[i + 1]
            i += 2
        elif a == "--metric":
            metric = argv[i + 1]
            i += 2
        elif a == "--title":
            title = argv[i + 1]
            i += 2
        elif a == "--":
            if files:
                groups.append((label, files))
            label, files = argv[i + 1], []
            i += 2
        elif a in ("-h", "--help"):
            print(__doc__.strip())
            sys.exit(0)
        else:
            files.append(a)
            i += 1
    if files:
        groups.append((label, files))
    if not groups:
        sys.exit("plot.py: no RUN.json given (see --help)")
    return out, metric, title, groups


def main(argv):
    out, metric, title, groups = parse_args(argv)
    series = {}
    for label, files in groups:
        for p in files:
            bots, target, lat = load(p, metric)
            series.setdefault(label or target, []).append((bots, lat))
    pts = [(b, v) for s in series.values() for b, lat in s for v in lat.values() if v > 0]
    if not pts:
        sys.exit("plot.py: no latency samples in the runs")
    xmin, xmax = min(b for b, _ in pts), max(b for b, _ in pts)
    if xmin == xmax:
        xmin, xmax = xmin * 0.9, xmax * 1.1
    ymin = 10 ** math.floor(math.log10(min(v for _, v in pts)))
    ymax = 10 ** math.ceil(math.log10(max(v for _, v in pts)))
    if ymin == ymax:
        ymax *= 10

    def x(v):
        return L + (v - xmin) / (xmax - xmin) * (W - L - R)

    def y(v):
        v = max(v, ymin)
        return T + (math.log10(ymax) - math.log10(v)) / (math.log10(ymax) - math.log10(ymin)) * (H - T - B)

    s = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="22" font-size="15">%s</text>' % (L, title)]
    decade = ymin
    while decade <= ymax * 1.0001:
        s.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>' % (L, W - R, y(decade), y(decade)))
        s.append('<text x="%d" y="%.1f" text-anchor="end">%g ms</text>' % (L - 6, y(decade) + 4, decade))
        decade *= 10
    for k in range(6):
        v = xmin + (xmax - xmin) * k / 5
        s.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#ddd"/>' % (x(v), x(v), T, H - B))
        s.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (x(v), H - B + 18, round(v)))
    s.append('<text x="%d" y="%d" text-anchor="middle">bots (players)</text>' % ((L + W - R) / 2, H - 18))
    s.append('<text transform="translate(18,%d) rotate(-90)" text-anchor="middle">%s latency (log)</text>' % ((T + H - B) / 2, metric))
    s.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>' % (L, T, W - L - R, H - T - B))
    ly = T + 10
    for n, (name, runs) in enumerate(sorted(series.items())):
        colour = COLOURS[n % len(COLOURS)]
        runs.sort()
        for q, dash in DASH.items():
            path = " ".join("%.1f,%.1f" % (x(b), y(lat[q])) for b, lat in runs)
            s.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>' % (path, colour, dash))
            for b, lat in runs:
                s.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (x(b), y(lat[q]), colour))
            s.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>' % (W - R + 12, W - R + 40, ly, ly, colour, dash))
            s.append('<text x="%d" y="%d">%s %s</text>' % (W - R + 46, ly + 4, name[:20], q.replace("_", ".")))
            ly += 18
    s.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(s) + "\n")
    print("wrote %s (%d series, %d runs)" % (out, len(series), sum(len(r) for r in series.values())))


if __name__ == "__main__":
    main(sys.argv[1:])
