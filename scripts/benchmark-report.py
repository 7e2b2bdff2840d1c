#!/usr/bin/env python3
"""Renders the benchmark report from the lines that scripts/compare-with-anchors prints.

    python3 scripts/benchmark-report.py LOG --out DIR [--no-plots] [--readme README.md]

LOG holds the output of one or more rounds: lines `<label>: key=value key=value ...`, the format of
../shared/anchors (c-pipe, c-mpi, python-...) and of cf-bench (swift-..., scaling-...), plus
`# key: value` lines that scripts/benchmark-report writes (date, machine, command). Each label may
appear once per round; the report gives the median over rounds and the spread (min-max).

Writes DIR/report.md (the tables, with ratios to Python's executors and to the raw pipe and MPI
floors) and, unless --no-plots, DIR/roundtrip.png, DIR/throughput.png and DIR/scaling.png
(matplotlib, which scripts/benchmark-report installs into a virtual environment). Only the plots
need matplotlib: the table comes from the standard library alone. With --readme, the headline
table (medians), the main ratios and the round-trip plot replace the README's block between
`<!-- benchmark-report: begin ...-->` and `<!-- benchmark-report: end -->`.
"""
import argparse
import math
import os
import re
import statistics
import sys
from pathlib import Path

LINE = re.compile(r"^(?P<label>[A-Za-z][^:#]*?): (?P<pairs>\w+=\S+(?:\s+\w+=\S+)*)\s*$")
META = re.compile(r"^#\s*(?P<key>[\w-]+):\s*(?P<value>.*?)\s*$")

# The executor workloads of py_executors.py, in the anchors' words; `lower` when less is better.
METRICS = [
    ("roundtrip_us", "round trip (µs)", True),
    ("submit_tasks_per_s", "submit (tasks/s)", False),
    ("map1_tasks_per_s", "map, chunk 1 (tasks/s)", False),
    ("map64_tasks_per_s", "map, chunk 64 (tasks/s)", False),
    ("echo1mib_mb_per_s", "echo 1 MiB (MB/s)", False),
]

# (label prefix, name in the report, family, short name for a plot's axis). Families: ours, python,
# floor. The order is the table's.
SYSTEMS = [
    ("swift-LocalProcessPoolExecutor(", "ClusterFutures LocalProcessPoolExecutor", "ours", "process pool"),
    ("python-ProcessPoolExecutor(", "Python ProcessPoolExecutor", "python", "Python\nProcessPool"),
    ("c-pipe", "raw pipe floor (C, 8 bytes)", "floor", "raw pipe"),
    ("same-core c-pipe", "raw pipe floor, both ends on one core", "floor", "raw pipe,\none core"),
    ("swift-MPIPoolExecutor(", "ClusterFutures MPIPoolExecutor", "ours", "MPI pool"),
    ("python-mpi4py.futures(", "mpi4py.futures MPIPoolExecutor", "python", "mpi4py.\nfutures"),
    ("c-mpi", "raw MPI floor (C ping-pong)", "floor", "raw MPI"),
    ("swift-InlineDummyExecutor", "ClusterFutures InlineDummyExecutor (no process)", "ours", "inline"),
]

# (ours, against, what the ratio says). Ratios are of speeds: above 1, ours is faster.
RATIOS = [
    ("swift-LocalProcessPoolExecutor(", "python-ProcessPoolExecutor(", "process pool ÷ Python ProcessPoolExecutor"),
    ("swift-LocalProcessPoolExecutor(", "c-pipe", "process pool ÷ raw pipe floor"),
    ("swift-LocalProcessPoolExecutor(", "same-core c-pipe", "process pool ÷ raw pipe floor, one core"),
    ("swift-MPIPoolExecutor(", "python-mpi4py.futures(", "MPI pool ÷ mpi4py.futures"),
    ("swift-MPIPoolExecutor(", "c-mpi", "MPI pool ÷ raw MPI floor"),
]

SCALING = re.compile(r"^scaling-(?P<kind>process|mpi)\((?P<workers>\d+)\)$")
SCALING_METRICS = [("pi_speedup", "pi speed-up"), ("hetero_speedup", "uneven map speed-up"),
                   ("hetero_vs_ideal", "uneven map ÷ ideal")]


class Figures:
    """Every value of every metric of every label, in the order the lines came, and the metadata."""

    def __init__(self):
        self.values = {}   # label -> metric -> [float]
        self.meta = {}

    @classmethod
    def parse(cls, text):
        figures = cls()
        for raw in text.splitlines():
            line = raw.strip()
            meta = META.match(line)
            if meta:
                figures.meta.setdefault(meta["key"], meta["value"])
                continue
            match = LINE.match(line)
            if not match:
                continue
            metrics = figures.values.setdefault(match["label"].strip(), {})
            for pair in match["pairs"].split():
                key, _, value = pair.partition("=")
                try:
                    number = float(value)
                except ValueError:
                    continue
                metrics.setdefault(key, []).append(number)
        return figures

    def label(self, prefix):
        """The label that `prefix` names (see `names`)."""
        return next((label for label in self.values if names(prefix, label)), None)

    def present(self):
        """The labels of SYSTEMS that the run has, once each, in the table's order."""
        labels = []
        for prefix, *_ in SYSTEMS:
            label = self.label(prefix)
            if label and label not in labels:
                labels.append(label)
        return labels

    def get(self, prefix, metric):
        label = self.label(prefix)
        return self.values.get(label, {}).get(metric, []) if label else []

    def rounds(self):
        return max((len(v) for m in self.values.values() for v in m.values()), default=0)


def median(values):
    return statistics.median(values) if values else None


def number(value, metric):
    """A figure as people read it: µs to 3 significant digits, rates with k and M."""
    if value is None:
        return "–"
    if metric.endswith("_us"):
        return f"{value:.3g}" if value < 100 else f"{value:.0f}"
    if metric.endswith("_tasks_per_s"):
        if value >= 1e6:
            return f"{value / 1e6:.2f}M"
        if value >= 1e3:
            return f"{value / 1e3:.0f}k" if value >= 1e4 else f"{value / 1e3:.1f}k"
        return f"{value:.0f}"
    if metric.endswith("_mb_per_s"):
        return f"{value:.0f}"
    return f"{value:.2f}"


def cell(values, metric):
    if not values:
        return "–"
    middle = number(median(values), metric)
    if len(values) == 1:
        return middle
    return f"{middle} ({number(min(values), metric)}–{number(max(values), metric)})"


def speed_ratio(ours, other, lower_is_better):
    if not ours or not other:
        return None
    a, b = median(ours), median(other)
    if a <= 0 or b <= 0:
        return None
    return b / a if lower_is_better else a / b


def ratio_text(ratio):
    if ratio is None:
        return "–"
    return f"{ratio:.0f}×" if ratio >= 100 else f"{ratio:.3g}×"


def scaling_rows(figures):
    """{(kind, workers): {metric: [values]}} from the scaling-process(N) and scaling-mpi(N) lines."""
    rows = {}
    for label, metrics in figures.values.items():
        match = SCALING.match(label)
        if match:
            rows[(match["kind"], int(match["workers"]))] = metrics
    return rows


def names(prefix, label):
    """Whether a SYSTEMS prefix names `label`: the label itself, or, for a prefix ending in '(', its
    start (the worker count follows)."""
    return label == prefix or (prefix.endswith("(") and label.startswith(prefix))


def system(label):
    """The SYSTEMS entry that names `label`, or None."""
    return next((entry for entry in SYSTEMS if names(entry[0], label)), None)


def short(label):
    entry = system(label)
    return entry[3] if entry else label


def display(label):
    entry = system(label)
    if not entry:
        return label
    prefix, name = entry[0], entry[1]
    workers = label[len(prefix):].rstrip(")") if prefix.endswith("(") else ""
    return f"{name} ({workers} worker{'s' if workers != '1' else ''})" if workers else name


def executors_table(figures, cell_of):
    """The table of executors and floors, a row per system the run has: `cell_of(values, metric)`
    writes each cell from that metric's values over the rounds."""
    rows = ["| system | " + " | ".join(title for _, title, _ in METRICS) + " |",
            "| --- |" + " ---: |" * len(METRICS)]
    for label in figures.present():
        metrics = figures.values[label]
        rows.append(f"| {display(label)} | " + " | ".join(cell_of(metrics.get(m, []), m) for m, _, _ in METRICS) + " |")
    return rows


def markdown(figures):
    meta = figures.meta
    rounds = figures.rounds()
    out = ["# Benchmark report", ""]
    produced = meta.get("command", "scripts/benchmark-report")
    when = meta.get("date", "an unrecorded date")
    machine = meta.get("machine", "an unrecorded machine")
    out.append(f"Produced by `{produced}` on {when}, on {machine}.")
    if meta.get("software"):
        out.append(f"Software: {meta['software']}.")
    if meta.get("load-before") or meta.get("load-after"):
        loads = []
        for key in ("load-before", "load-after"):
            try:
                loads.append(float(meta.get(key, "")))
            except ValueError:
                pass
        cores = re.match(r"(\d+) cores", machine)
        busy = bool(cores and loads and max(loads) > int(cores.group(1)))
        note = ("above the number of cores: other work shared the machine" if busy
                else "a load above the number of cores would mean other work shared the machine")
        out.append(f"Load average (1 minute) at the start {meta.get('load-before', '?')}, at the end "
                   f"{meta.get('load-after', '?')} ({note}).")
    if "--quick" in produced:
        out.append("**--quick**: one round, and short idle and scaling runs: a check that the command "
                   "works, not a measurement.")
    if meta.get("duration"):
        out.append(f"The runs took {meta['duration']}.")
    out += ["",
            f"Each round runs `../shared/anchors/run-anchors` (Python's executors, the raw pipe and MPI "
            f"floors), then this package's executors on the same workloads (A B A B...; {rounds} "
            f"round{'s' if rounds != 1 else ''}). A cell is the median over the rounds, then the spread "
            f"(min–max). The workloads are those of `py_executors.py`: 2,000 sequential "
            f"`submit(square, i).result()`; 20,000 submits then their results; `map` of 20,000 with "
            f"chunk size 1 and of 200,000 with chunk size 64; 200 sequential echoes of 1 MiB (MB moved "
            f"both ways per second). The floors measure only what they can: an 8-byte round trip, and "
            f"for MPI a 1 MiB ping-pong.", ""]

    out += ["## Executors and floors", ""]
    out += executors_table(figures, cell)

    out += ["", "## Ratios", "",
            "Speed of this package's executor over the other system's, from the medians: above 1× ours "
            "is faster (for the round trip, the other's time over ours).", ""]
    out.append("| ratio | " + " | ".join(title.split(" (")[0] for _, title, _ in METRICS) + " |")
    out.append("| --- |" + " ---: |" * len(METRICS))
    for ours, other, title in RATIOS:
        if not figures.label(ours) or not figures.label(other):
            continue
        cells = [ratio_text(speed_ratio(figures.get(ours, m), figures.get(other, m), lower)) for m, _, lower in METRICS]
        out.append(f"| {title} | " + " | ".join(cells) + " |")

    rows = scaling_rows(figures)
    if rows:
        out += ["", "## Scaling (`cf-bench scaling`)", "",
                "CPU-bound work on 1 to N workers against the same tasks run one after another in the "
                "calling process: the pi series (by default 50 slices of 1,000,000 terms, `map` in chunks of 1) and "
                "an uneven map (200 tasks of about 2 ms, 4 of them 50 times longer). Each figure is the "
                "median of `cf-bench scaling`'s own runs; `÷ ideal` is the makespan over the ideal one "
                "(1.00 is perfect).", ""]
        out.append("| pool | workers | " + " | ".join(title for _, title in SCALING_METRICS) + " |")
        out.append("| --- | ---: |" + " ---: |" * len(SCALING_METRICS))
        for (kind, workers) in sorted(rows, key=lambda k: (k[0] != "process", k[1])):
            metrics = rows[(kind, workers)]
            pool = "LocalProcessPoolExecutor" if kind == "process" else "MPIPoolExecutor"
            out.append(f"| {pool} | {workers} | "
                       + " | ".join(cell(metrics.get(m, []), m) for m, _ in SCALING_METRICS) + " |")

    out += ["", "Plots: [round trip](roundtrip.png), [throughput](throughput.png), [scaling](scaling.png). "
            "The lines they come from: [raw.txt](raw.txt).", ""]
    return "\n".join(out)


COLORS = {"ours": "#1f77b4", "python": "#ff7f0e", "floor": "#7f7f7f"}


def family(label):
    entry = system(label)
    return entry[2] if entry else "ours"


def subtitle(figures, spread=True):
    rounds = figures.rounds()
    load = "–".join(v for v in (figures.meta.get("load-before"), figures.meta.get("load-after")) if v)
    where = ", ".join(v for v in (figures.meta.get("cpu"), figures.meta.get("date"),
                                  f"load average {load}" if load else None) if v)
    what = f"median of {rounds} rounds, bars show min–max" if rounds > 1 else "1 round"
    return f"{where}\n{what}" if spread and where else (what if spread else where)


def plot(figures, out_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    legend = [Patch(color=COLORS["ours"], label="ClusterFutures"),
              Patch(color=COLORS["python"], label="Python (concurrent.futures, mpi4py)"),
              Patch(color=COLORS["floor"], label="raw C floor (pipe, MPI)")]
    labels = figures.present()

    def errorbars(values):
        mid = median(values)
        return [mid - min(values)], [max(values) - mid]

    # Round trip: one bar per system, log scale (the floors are under 1 µs, Python's hundreds).
    rows = [(l, figures.values[l]["roundtrip_us"]) for l in labels if figures.values[l].get("roundtrip_us")]
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(rows) + 1.8))
    for y, (label, values) in enumerate(rows):
        low, high = errorbars(values)
        ax.barh(y, median(values), color=COLORS[family(label)], xerr=[low, high], capsize=3)
        ax.text((median(values) + high[0]) * 1.15, y, f"{number(median(values), 'roundtrip_us')} µs",
                va="center", fontsize=9)
    ax.set_yticks(range(len(rows)), [display(l) for l, _ in rows], fontsize=9)
    ax.invert_yaxis()
    ax.set_xscale("log")
    lowest = min(min(v) for _, v in rows)
    ax.set_xlim(left=10 ** math.floor(math.log10(lowest * 0.7)))
    ax.set_xlabel("round trip per call (µs, log scale; lower is better)")
    ax.set_xlim(right=max(median(v) for _, v in rows) * 4)
    fig.suptitle(f"Round trip of submit(square, i).result()\n{subtitle(figures)}", fontsize=11)
    ax.legend(handles=legend, loc="lower right", fontsize=8)
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "roundtrip.png", dpi=110)
    plt.close(fig)

    # Throughput: tasks per second for three workloads (log scale), and the 1 MiB echo in MB/s.
    executors = [l for l in labels if family(l) != "floor" and figures.values[l].get("submit_tasks_per_s")]
    rates = METRICS[1:4]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.8), gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / max(1, len(executors))
    shades = {"ours": ["#1f77b4", "#6baed6", "#08306b"], "python": ["#ff7f0e", "#fdae6b"]}
    used = {"ours": 0, "python": 0}
    styles = {}
    for label in executors:
        kind = family(label)
        styles[label] = shades[kind][used[kind] % len(shades[kind])]
        used[kind] += 1
    for i, label in enumerate(executors):
        xs, mids, lows, highs = [], [], [], []
        for j, (metric, _, _) in enumerate(rates):
            values = figures.values[label].get(metric, [])
            if not values:
                continue
            low, high = errorbars(values)
            xs.append(j + (i - (len(executors) - 1) / 2) * width)
            mids.append(median(values))
            lows += low
            highs += high
        left.bar(xs, mids, width, yerr=[lows, highs], capsize=2, color=styles[label],
                 hatch="//" if family(label) == "python" else None, edgecolor="white", label=display(label))
    left.set_xticks(range(len(rates)), ["submit all, then\ncollect (20,000)", "map, chunk 1\n(20,000)",
                                        "map, chunk 64\n(200,000)"])
    left.set_yscale("log")
    left.set_ylabel("tasks per second (log scale; higher is better)")
    left.yaxis.set_major_formatter(FuncFormatter(lambda v, _: number(v, "x_tasks_per_s")))
    left.set_title("Tasks of square(i) per second", fontsize=11)
    left.grid(axis="y", which="both", alpha=0.3)

    echo = [l for l in labels if figures.values[l].get("echo1mib_mb_per_s")]
    echo_top = max(max(figures.values[l]["echo1mib_mb_per_s"]) for l in echo)
    for x, label in enumerate(echo):
        values = figures.values[label]["echo1mib_mb_per_s"]
        low, high = errorbars(values)
        color = styles.get(label, COLORS[family(label)])
        right.bar(x, median(values), 0.7, yerr=[low, high], capsize=3, color=color,
                  hatch="//" if family(label) == "python" else None, edgecolor="white")
        right.text(x, median(values) + high[0] + echo_top * 0.01, f"{median(values):.0f}", ha="center",
                   va="bottom", fontsize=8)
    right.set_xticks(range(len(echo)), [short(l) for l in echo], fontsize=8)
    right.set_ylim(0, echo_top * 1.15)
    right.set_ylabel("MB per second, both ways (higher is better)")
    right.set_title("Echo of 1 MiB, one call at a time (grey: raw MPI floor)", fontsize=11)
    right.grid(axis="y", alpha=0.3)
    handles, names = left.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(f"Throughput per executor\n{subtitle(figures)}", fontsize=11)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(out_dir / "throughput.png", dpi=110)
    plt.close(fig)

    # Scaling: speed-up over the serial run against workers, beside the ideal.
    rows = scaling_rows(figures)
    fig, ax = plt.subplots(figsize=(7.5, 5.8))
    most = max([w for _, w in rows] + [2])
    ax.plot([1, most], [1, most], linestyle=":", color="#444444", label="ideal (speed-up = workers)")
    series = [("process", "pi_speedup", "LocalProcessPoolExecutor, pi series", "#1f77b4", "o", "-"),
              ("process", "hetero_speedup", "LocalProcessPoolExecutor, uneven map", "#1f77b4", "s", "--"),
              ("mpi", "pi_speedup", "MPIPoolExecutor, pi series", "#2ca02c", "o", "-"),
              ("mpi", "hetero_speedup", "MPIPoolExecutor, uneven map", "#2ca02c", "s", "--")]
    for kind, metric, name, color, marker, line in series:
        points = sorted((w, median(m[metric])) for (k, w), m in rows.items() if k == kind and m.get(metric))
        if points:
            ax.plot([w for w, _ in points], [s for _, s in points], marker=marker, linestyle=line, color=color,
                    label=name)
    ax.set_xticks(range(1, most + 1))
    ax.set_xlim(0.8, most + 0.2)
    highest = max([median(m[k]) for m in rows.values() for k in ("pi_speedup", "hetero_speedup") if m.get(k)] + [most])
    ax.set_ylim(0, highest * 1.1)
    ax.set_xlabel("workers (processes or MPI worker ranks)")
    ax.set_ylabel("speed-up over the serial run (×)")
    ax.set_title(f"Scaling of CPU-bound work (cf-bench scaling)\n{subtitle(figures, spread=False)}", fontsize=11)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "scaling.png", dpi=110)
    plt.close(fig)


README_BEGIN = "<!-- benchmark-report: begin"
README_END = "<!-- benchmark-report: end -->"


def headline(figures, out_dir, readme):
    """The README's part: the executors table of medians, the main ratios and the round-trip plot."""
    folder = Path(os.path.relpath(out_dir.resolve(), readme.resolve().parent)).as_posix()
    meta = figures.meta
    rounds = figures.rounds()
    load = "–".join(v for v in (meta.get("load-before"), meta.get("load-after")) if v)
    out = [f"{README_BEGIN} (written by scripts/benchmark-report: rerun it rather than edit this) -->",
           f"Latest run: `{meta.get('command', 'scripts/benchmark-report')}` on {meta.get('date', '?')}, "
           f"{meta.get('cpu', '?')}" + (f", load average {load}" if load else "")
           + f"; medians of {rounds} round{'s' if rounds != 1 else ''} "
           f"([full report]({folder}/report.md) with the spreads, ratios and scaling):", ""]
    out += executors_table(figures, lambda values, metric: number(median(values), metric))
    ratios = []
    for ours, other, title in RATIOS[:1] + RATIOS[3:4]:
        low, high = None, None
        for metric, _, lower in METRICS:
            r = speed_ratio(figures.get(ours, metric), figures.get(other, metric), lower)
            if r is not None:
                low, high = (r if low is None else min(low, r)), (r if high is None else max(high, r))
        if low is not None:
            ratios.append(f"{title.split(' ÷ ')[0]} {ratio_text(low)}–{ratio_text(high)} the speed of "
                          f"{title.split(' ÷ ')[1]}")
    if ratios:
        out += ["", "Across the five workloads: " + "; ".join(ratios) + "."]
    out += ["", f"![Round trip per call of each executor and floor, log scale]({folder}/roundtrip.png)", README_END]
    return "\n".join(out)


def update_readme(readme, block):
    text = readme.read_text()
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        sys.exit(f"benchmark-report: {readme} has no {README_BEGIN} ... {README_END} block to write the table into")
    readme.write_text(text[:begin] + block + text[end + len(README_END):])


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path, help="the lines of scripts/compare-with-anchors (one or more rounds)")
    parser.add_argument("--out", type=Path, required=True, help="folder for report.md and the plots")
    parser.add_argument("--no-plots", action="store_true", help="write report.md only (no matplotlib needed)")
    parser.add_argument("--readme", type=Path, help="a README whose benchmark-report block gets the headline table")
    args = parser.parse_args(argv)
    figures = Figures.parse(args.log.read_text())
    missing = [p for p, *_ in SYSTEMS if not figures.label(p)]
    if len(missing) == len(SYSTEMS):
        sys.exit(f"benchmark-report: no benchmark lines in {args.log}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.md").write_text(markdown(figures))
    written = [args.out / "report.md"]
    if not args.no_plots:
        plot(figures, args.out)
        written += [args.out / name for name in ("roundtrip.png", "throughput.png", "scaling.png")]
    if args.readme:
        update_readme(args.readme, headline(figures, args.out, args.readme))
        written.append(args.readme)
    if missing:
        print(f"benchmark-report: no lines for {', '.join(missing)}", file=sys.stderr)
    print("wrote " + " ".join(str(p) for p in written))


if __name__ == "__main__":
    main(sys.argv[1:])
