#!/usr/bin/env python3
"""The chatd-against-uWS table of a versus.sh series (BENCHMARKS.md): one row per round.

usage: scripts/versus-table.py RESULTS PREFIX [PREFIX...]

RESULTS is versus.sh's JSON lines; a run's label is <PREFIX...>-chatd-<n> or <PREFIX...>-uws-<n>
(versus.sh names them so). A label counts for PREFIX when its stem is PREFIX or PREFIX-r<k> (a
series of RUNS=1 calls); PREFIX may be several, joined by commas, for one table; a round is one chatd run and the uWS run of the same stem and number. Prints, per prefix, a Markdown
table (p50 / p99 / p99.9 in ms, each side's CPU over publishing, the load generator's CPU
against each side, chatd's p99 over uWS's) and the medians, and says whether any run lost,
duplicated or reordered a message. Where the rounds also ran versus.sh's IDEAL contender
(<PREFIX...>-ideal-<n>), a second table sets it against the same rounds' uWS and chatd.
"""
import json
import re
import statistics
import sys


def rounds(lines, prefix):
    """The rounds of PREFIX, which may be several prefixes joined by commas (one table)."""
    stems = "|".join(re.escape(p) for p in prefix.split(","))
    sides = {}
    for d in lines:
        m = re.fullmatch(r"(.*)-(chatd|uws|ideal)-(\d+)", d.get("label", ""))
        if not m or not re.fullmatch(f"({stems})(-r\\d+)?", m.group(1)):
            continue
        sides.setdefault((m.group(1), int(m.group(3))), {})[m.group(2)] = d
    # In the order they ran, not by label.
    done = [v for v in sides.values() if "chatd" in v and "uws" in v]
    return sorted(done, key=lambda v: lines.index(v["chatd"]))


def lat(d):
    l = d["latency"]
    return f'{l["p50_ms"]:.1f} / {l["p99_ms"]:.1f} / {l["p999_ms"]:.1f}'


def main():
    lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    for prefix in sys.argv[2:]:
        rs = rounds(lines, prefix)
        if not rs:
            print(f"{prefix}: no complete round")
            continue
        print(f"\n{prefix}:\n")
        print("| round | chatd p50 / p99 / p99.9 ms | uWS p50 / p99 / p99.9 ms | chatd / uWS p99 "
              "| server CPU chatd · uWS s | loadgen CPU vs chatd · vs uWS s |")
        print("| --- | --- | --- | --- | --- | --- |")
        ratios, faults = [], 0
        for i, r in enumerate(rs, 1):
            c, u = r["chatd"], r["uws"]
            ratio = c["latency"]["p99_ms"] / u["latency"]["p99_ms"]
            ratios.append(ratio)
            faults += sum(d[k] for d in (c, u) for k in ("lost", "duplicated", "reordered"))
            print(f'| {i} | {lat(c)} | {lat(u)} | {ratio:.2f} '
                  f'| {c["publish_server_cpu_s"]:.1f} · {u["publish_server_cpu_s"]:.1f} '
                  f'| {c["publish_loadgen_cpu_s"]:.1f} · {u["publish_loadgen_cpu_s"]:.1f} |')
        med = lambda side: statistics.median(r[side]["latency"]["p99_ms"] for r in rs)
        print(f'| **median** | p99 {med("chatd"):.1f} | p99 {med("uws"):.1f} '
              f'| **{statistics.median(ratios):.2f}** (rounds {min(ratios):.2f}–{max(ratios):.2f}) | | |')
        print(f"\nlost + duplicated + reordered over all {2 * len(rs)} runs: {faults}")
        ideal(rs)


def ideal(rs):
    """The floor: the IDEAL contender's p99 against uWS's and chatd's, round by round."""
    rs = [r for r in rs if "ideal" in r]
    if not rs:
        return
    print("\n| round | ideal p50 / p99 / p99.9 ms | ideal / uWS p99 | chatd / ideal p99 "
          "| server CPU ideal s | loadgen CPU vs ideal s |")
    print("| --- | --- | --- | --- | --- | --- |")
    iu, ci, faults = [], [], 0
    for i, r in enumerate(rs, 1):
        d = r["ideal"]
        p = d["latency"]["p99_ms"]
        iu.append(p / r["uws"]["latency"]["p99_ms"])
        ci.append(r["chatd"]["latency"]["p99_ms"] / p)
        faults += sum(d[k] for k in ("lost", "duplicated", "reordered"))
        print(f'| {i} | {lat(d)} | {iu[-1]:.2f} | {ci[-1]:.2f} '
              f'| {d["publish_server_cpu_s"]:.1f} | {d["publish_loadgen_cpu_s"]:.1f} |')
    print(f"| **median** | p99 {statistics.median(r['ideal']['latency']['p99_ms'] for r in rs):.1f} "
          f"| **{statistics.median(iu):.2f}** ({min(iu):.2f}–{max(iu):.2f}) "
          f"| **{statistics.median(ci):.2f}** ({min(ci):.2f}–{max(ci):.2f}) | | |")
    print(f"\nlost + duplicated + reordered over the {len(rs)} ideal runs: {faults}")


if __name__ == "__main__":
    main()
