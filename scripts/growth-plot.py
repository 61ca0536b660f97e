#!/usr/bin/env python3
"""Draws the cost-growth plot (issue 23) from scripts/growth.sh's JSON lines, as a plain SVG (no
plotting library), three panels: the server's CPU per delivery and the p99 latency against the
group's size, and resident memory per idle connection against the number of connections. A flat
line means the cost does not grow with scale. Several runs of one label are averaged.

With a third file, scripts/bench-group.sh's JSON lines (groups over six nodes and several
load-generator processes, up to 100,000 members, at a fixed delivery rate) are drawn beside them:
the nodes' CPU over the publishing per delivery, and the p99.

usage: growth-plot.py RESULTS.jsonl OUT.svg [GROUPS.jsonl]
"""
import json
import math
import sys
from collections import defaultdict


def load(path, key="label"):
    runs = defaultdict(list)
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                d = json.loads(line)
                runs[d[key]].append(d)
    return runs


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def series(runs, prefix, x_of, y_of):
    pts = []
    for label, rs in runs.items():
        if label.startswith(prefix):
            pts.append((x_of(rs[0]), mean([y_of(r) for r in rs])))
    return sorted(pts)


def panel(x0, y0, w, h, title, xlabel, lines, ymax):
    """One chart: log x axis, linear y axis from 0; lines: [(name, colour, points)]."""
    out = [f'<g transform="translate({x0},{y0})">',
           f'<text x="{w / 2}" y="-12" text-anchor="middle" font-weight="bold">{title}</text>',
           f'<line x1="0" y1="{h}" x2="{w}" y2="{h}" stroke="#333"/>',
           f'<line x1="0" y1="0" x2="0" y2="{h}" stroke="#333"/>',
           f'<text x="{w / 2}" y="{h + 38}" text-anchor="middle">{xlabel}</text>']
    xs = sorted({x for _, _, pts in lines for x, _ in pts})
    if not xs:
        return out + ["</g>"]
    lo, hi = math.log10(min(xs)), math.log10(max(xs))
    span = (hi - lo) or 1

    def px(x):
        return 20 + (math.log10(x) - lo) / span * (w - 40)

    def py(y):
        return h - y / ymax * h

    for x in xs:
        out.append(f'<text x="{px(x):.1f}" y="{h + 18}" text-anchor="middle">{x:,}</text>')
    for k in range(5):
        y = ymax * k / 4
        out.append(f'<line x1="0" y1="{py(y):.1f}" x2="{w}" y2="{py(y):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="-6" y="{py(y) + 4:.1f}" text-anchor="end">{y:g}</text>')
    for i, (name, colour, pts) in enumerate(lines):
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in pts:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{colour}"/>')
            out.append(f'<text x="{px(x) + 6:.1f}" y="{py(y) - 6:.1f}" fill="{colour}">{y:.2f}</text>')
        out.append(f'<text x="{w - 4}" y="{14 + 16 * i}" text-anchor="end" fill="{colour}">{name}</text>')
    return out + ["</g>"]


def main():
    runs = load(sys.argv[1])
    per_delivery = series(runs, "group-", lambda r: r["members"],
                          lambda r: r["server_cpu_s"] * 1e6 / max(r["delivered"], 1))
    p99 = series(runs, "group-", lambda r: r["members"], lambda r: r["latency"]["p99_ms"])
    rss = series(runs, "idle-", lambda r: r["members"], lambda r: r["rss_per_conn_kib"])
    nodes_cpu, nodes_p99 = [], []
    if len(sys.argv) > 3:
        # The fixed-rate series only (`nodes-<members>`); other labels are other experiments.
        groups = {k: v for k, v in load(sys.argv[3], key="server").items()
                  if k.split("-")[-1].isdigit()}
        nodes_cpu = series(groups, "nodes-", lambda r: r["members"],
                           lambda r: sum(r["nodes_publish_cpu_s"]) * 1e6 / max(r["delivered"], 1))
        nodes_p99 = series(groups, "nodes-", lambda r: r["members"],
                           lambda r: r["latency"]["p99_ms"])
    def top(pts):
        return max([y for _, y in pts] + [1e-9]) * 1.25

    w, h = 250, 240
    svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="360" '
           'font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>']
    cpu_lines = [("one node, window 16, whole run", "#1f77b4", per_delivery)]
    p99_lines = [("one node, window 16", "#d62728", p99)]
    if nodes_cpu:
        cpu_lines.append(("six nodes, 100k deliveries/s, publishing", "#9467bd", nodes_cpu))
        p99_lines.append(("six nodes, 100k deliveries/s", "#ff7f0e", nodes_p99))
    svg += panel(60, 50, w, h, "Server CPU per delivery (µs)", "group members",
                 cpu_lines, top(per_delivery + nodes_cpu))
    svg += panel(390, 50, w, h, "p99 latency (ms)", "group members",
                 p99_lines, top(p99 + nodes_p99))
    svg += panel(720, 50, w, h, "RSS per idle connection (KiB)", "connections",
                 [("RSS growth / connections", "#2ca02c", rss)], top(rss))
    svg.append("</svg>")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
