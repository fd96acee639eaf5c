#!/usr/bin/env python3
"""Render a JFR recording's CPU samples as a flame graph (SVG) and as collapsed stacks.

    python3 bench/flame.py RECORDING.jfr OUT_PREFIX [THREAD_FILTER_REGEX]

Reads `jfr print --json --events jdk.ExecutionSample` (the JDK's own tool; JAVA_HOME/bin/jfr or jfr on the
PATH), folds each sample's stack into "frame;frame;frame count" lines (OUT_PREFIX.collapsed, the format of
Brendan Gregg's flamegraph.pl), writes OUT_PREFIX.svg (root at the bottom, width = share of samples, hover
for the frame and its share) and prints the top frames by self time and by inclusive time.
"""
import collections
import html
import json
import os
import re
import shutil
import subprocess
import sys


def jfr_tool():
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "jfr")):
        return os.path.join(home, "bin", "jfr")
    return shutil.which("jfr") or "jfr"


def samples(recording, thread_filter):
    out = subprocess.run([jfr_tool(), "print", "--json", "--stack-depth", "96", "--events", "jdk.ExecutionSample",
                          recording], check=True, capture_output=True, text=True).stdout
    events = json.loads(out)["recording"]["events"]
    keep = re.compile(thread_filter) if thread_filter else None
    for e in events:
        v = e["values"]
        thread = (v.get("sampledThread") or {}).get("javaName") or "?"
        if keep and not keep.search(thread):
            continue
        frames = []
        for f in reversed((v.get("stackTrace") or {}).get("frames") or []):
            m = f["method"]
            cls = m["type"]["name"].replace("/", ".")
            frames.append(f"{cls}.{m['name']}")
        if frames:
            yield [re.sub(r"-\d+$", "", re.sub(r"#\d+", "", thread))] + frames


def render(folded, total, path):
    width, row = 1600, 16
    tree = {}
    for stack, n in folded.items():
        node = tree
        for fr in stack:
            node = node.setdefault(fr, {"_n": 0, "_c": {}})
            node["_n"] += n
            node = node["_c"]
    depth = max(len(s) for s in folded) + 1
    height = depth * row + 40
    rects = []

    def walk(children, x, level):
        for name, node in sorted(children.items()):
            w = node["_n"] / total * width
            if w >= 0.3:
                y = height - 20 - (level + 1) * row
                hue = 20 + (hash(name.split(".")[0] if "." in name else name) % 40)
                label = name if w > 60 else (name[: int(w / 7)] if w > 21 else "")
                pct = 100.0 * node["_n"] / total
                rects.append(
                    f'<g><title>{html.escape(name)} ({node["_n"]} samples, {pct:.2f}%)</title>'
                    f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{row - 1}" '
                    f'fill="hsl({hue},85%,{55 + level % 3 * 5}%)"/>'
                    f'<text x="{x + 2:.2f}" y="{y + row - 4}" font-size="11">{html.escape(label)}</text></g>')
                walk(node["_c"], x, level + 1)
            x += w

    walk(tree, 0.0, 0)
    with open(path, "w") as f:
        f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                f'font-family="monospace"><rect width="100%" height="100%" fill="#fff"/>'
                f'<text x="4" y="16" font-size="13">CPU samples: {total} (JFR jdk.ExecutionSample); '
                f'width = share of samples; hover for names</text>\n')
        f.write("\n".join(rects))
        f.write("\n</svg>\n")


def main():
    recording, prefix = sys.argv[1], sys.argv[2]
    thread_filter = sys.argv[3] if len(sys.argv) > 3 else None
    folded = collections.Counter()
    self_time, incl = collections.Counter(), collections.Counter()
    for stack in samples(recording, thread_filter):
        folded[tuple(stack)] += 1
        self_time[stack[-1]] += 1
        for fr in set(stack[1:]):
            incl[fr] += 1
    total = sum(folded.values())
    if not total:
        print("no CPU samples in", recording)
        return
    with open(prefix + ".collapsed", "w") as f:
        for stack, n in folded.most_common():
            f.write(";".join(stack) + f" {n}\n")
    render(folded, total, prefix + ".svg")
    print(f"{total} CPU samples; flame graph {prefix}.svg, collapsed stacks {prefix}.collapsed")
    print("top frames by self time:")
    for fr, n in self_time.most_common(25):
        print(f"  {100.0 * n / total:5.1f}%  {fr}")
    print("top frames by inclusive time (attest.*):")
    for fr, n in [(f, n) for f, n in incl.most_common() if f.startswith("attest.")][:40]:
        print(f"  {100.0 * n / total:5.1f}%  {fr}")


if __name__ == "__main__":
    main()
