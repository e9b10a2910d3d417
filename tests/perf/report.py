#!/usr/bin/python3
"""Turns tests/perf/bench.py's results.json into results.md (tables and goals) and
results.png (the chart), and puts the tables into docs/performance.md between its
`<!-- results:begin -->` and `<!-- results:end -->` lines.

    /usr/bin/python3 tests/perf/report.py [DIR]        # DIR: docs/perf by default

Needs python3-matplotlib (Debian) for the chart; without it only the Markdown is written.
"""
import json
import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TOOLS = ["binfmtd --apply", "binfmtd-apply", "systemd-binfmt", "systemd-binfmt FILE...",
         "update-binfmts --enable"]
OURS = ("binfmtd --apply", "binfmtd-apply")


def ours_fastest(section):
    """(name, median) of the faster of binfmtd's two one-shot spellings in a section."""
    medians = {k: section[k]["wall"]["median"] for k in OURS if k in section}
    name = min(medians, key=medians.get)
    return name, medians[name]


def ms(s, digits=2):
    """A stats dict as "median (min–max)"."""
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def mib(kib):
    return f"{kib / 1024:.2f}"


def goals(r):
    """[(number, goal, measured, met)]; met is True, False or None (no goal)."""
    sec = r["sections"]
    out = []
    if "apply_cold" in sec:
        cold = sec["apply_cold"]
        ours, b = ours_fastest(cold)
        sd = min(cold["systemd-binfmt"]["wall"]["median"],
                 cold["systemd-binfmt FILE..."]["wall"]["median"])
        out.append(("1", "cold apply: binfmtd / systemd-binfmt ≤ 1.0 (the faster systemd-binfmt)",
                    f"{b:.2f} / {sd:.2f} ms = {b / sd:.2f} ({ours})", b / sd <= 1.0))
        noop = sec["apply_noop"]
        ours, b = ours_fastest(noop)
        others = {k: v["wall"]["median"] for k, v in noop.items() if k not in OURS}
        fastest = min(others, key=others.get)
        out.append(("2", "no-op apply: binfmtd faster than systemd-binfmt and update-binfmts",
                    f"{b:.2f} ms ({ours}) vs {others[fastest]:.2f} ms ({fastest}, the fastest "
                    "other)", b < others[fastest]))
    if "start_to_ready" in sec:
        s = sec["start_to_ready"]
        worst = max(v["median"] for v in s.values())
        out.append(("3", "start to READY=1 with the 29 entries ≤ 10 ms",
                    "; ".join(f"{k}: {v['median']:.2f} ms" for k, v in s.items()),
                    worst <= 10))
    if "config_change" in sec:
        s = next(iter(sec["config_change"].values()))
        out.append(("4", "config change to kernel: median ≤ 5 ms, p99 ≤ 20 ms",
                    f"median {s['median']:.2f} ms, p99 {s['p99']:.2f} ms",
                    s["median"] <= 5 and s["p99"] <= 20))
    if "healing" in sec:
        h = sec["healing"]
        out.append(("5", "healing delay after a foreign flush ≤ 1 s (every round)",
                    f"median {h['delay']['median']:.1f} ms, max {h['delay']['max']:.1f} ms; "
                    f"idle CPU {h['idle_cpu_percent']:.3f} % of a core",
                    h["delay"]["max"] <= 1000))
    if "dbus" in sec:
        lat = sec["dbus"]["latency"]
        ping = lat["Peer.Ping"]["median"]
        lst = lat["ListHandlers"]["median"]
        out.append(("6", "ListHandlers latency ≤ 1.5 × Peer.Ping (medians)",
                    f"{lst:.3f} / {ping:.3f} ms = {lst / ping:.2f}", lst / ping <= 1.5))
    if "status" in sec:
        s = sec["status"]
        a = s["binfmtctl status"]["wall"]["median"]
        u = s["update-binfmts --display"]["wall"]["median"]
        out.append(("7", "binfmtctl status vs update-binfmts --display (no goal set)",
                    f"{a:.2f} vs {u:.2f} ms", None))
    if "memory" in sec:
        m = sec["memory"]
        idle = m.get("idle, 29 handlers")
        before = m.get("before the calls")
        after = next((v for k, v in m.items() if k.startswith("after")), None)
        if idle:
            out.append(("8", "idle PSS with 29 handlers ≤ 4 MiB",
                        f"{mib(idle['pss_kib'])} MiB", idle["pss_kib"] <= 4096))
        if before and after:
            grew = after["private_kib"] - before["private_kib"]
            out.append(("8", "no growth after 100,000 D-Bus calls (private memory, ≤ 64 KiB)",
                        f"{grew:+d} KiB private, {after['anonymous_kib'] - before['anonymous_kib']:+d} "
                        "KiB anonymous", grew <= 64))
    if "scale" in sec:
        flat = per_handler(sec["scale"])
        instr = instructions_per_handler(sec["scale"])
        verdicts = []
        ok = True
        for key in ("binfmtd --apply, empty", "binfmtd --apply, no-op"):
            v = flat[key]
            text = f"{key.split(', ')[1]}: " + " / ".join(f"{x:.1f}" for x in v) + " µs CPU"
            ok = ok and v[2] <= 1.5 * v[1]
            if key in instr:
                i = instr[key]
                text += " (" + " / ".join(f"{x / 1000:.1f}k" for x in i) + " instructions)"
                ok = ok and i[2] <= 1.5 * min(i[0], i[1])
            verdicts.append(text)
        out.append(("9", "cost per handler flat: at 10 / 100 / 1,000 handlers, (t(N) - t(0)) / N; "
                    "CPU at 1,000 ≤ 1.5 × at 100, instructions at 1,000 ≤ 1.5 × the least",
                    "; ".join(verdicts), ok))
    return out


SIZES = (10, 100, 1000)


def per_handler(scale, measure="cpu"):
    """Time per handler above the run with none, µs: {series: [at 10, 100, 1,000]}, that
    is (t(N) - t(0)) / N with medians. CPU time by default, the steadier measure."""
    out = {}
    for key in scale["0"]:
        t0 = scale["0"][key][measure]["median"]
        out[key] = [(scale[str(n)][key][measure]["median"] - t0) / n * 1000 for n in SIZES]
    return out


def instructions_per_handler(scale):
    """The same from callgrind's instruction counts: {series: [at 10, 100, 1,000]}."""
    counts = scale.get("instructions")
    if not counts:
        return {}
    return {key: [(counts[str(n)][key] - counts["0"][key]) / n for n in SIZES]
            for key in counts["0"]}


def markdown(r):
    sec = r["sections"]
    m = r["machine"]
    lines = []
    add = lines.append
    add(f"Figures in milliseconds: median (min–max) of repeated runs, programs run in turn. "
        f"Machine: {m['cpu'].get('Model name', '?')}, {m['cpu'].get('CPU(s)', '?')} cores, "
        f"kernel {m['kernel']}; load average {m['load_before'][0]:.2f} before, "
        f"{m.get('load_after', [0])[0]:.2f} after; the whole run took {m.get('bench_seconds', 0):.0f} s"
        + (" (--quick: fewer rounds)." if r.get("quick") else "."))
    add("")
    add("### Goals, as measured in this run")
    add("")
    add("| # | goal | measured | |")
    add("|---|---|---|---|")
    for number, goal, measured, met in goals(r):
        verdict = {True: "**met**", False: "**missed**", None: "–"}[met]
        add(f"| {number} | {goal} | {measured} | {verdict} |")
    add("")
    if "apply_cold" in sec:
        add("### 1, 2. One-shot apply of Debian's 29 qemu-user-static entries (whole process)")
        add("")
        add("| | " + " | ".join(TOOLS) + " |")
        add("|---|" + "---|" * len(TOOLS))
        for key, label in (("apply_cold", "cold: empty instance"),
                           ("apply_noop", "no-op: all registered")):
            add(f"| {label}, wall | " + " | ".join(ms(sec[key][t]["wall"]) for t in TOOLS) + " |")
            add(f"| {label}, CPU | " + " | ".join(ms(sec[key][t]["cpu"]) for t in TOOLS) + " |")
        n = sec["apply_cold"]["binfmtd --apply"]["wall"]["n"]
        add("")
        add(f"n = {n} runs each. systemd-binfmt: its boot mode (flush, then every binfmt.d file, "
            "here exactly the 29 qemu files); FILE...: the 29 files as arguments (no flush). "
            "update-binfmts: binfmt-support's database holding the same 29 formats. CPU: user + "
            "system time of the process.")
        add("")
    if "start_to_ready" in sec or "config_change" in sec or "healing" in sec:
        add("### 3, 4, 5. The resident daemon (29 entries)")
        add("")
        add("| | median | min | max | p99 | n |")
        add("|---|---|---|---|---|---|")
        for k, s in sec.get("start_to_ready", {}).items():
            add(f"| start to READY=1, {k} | {s['median']:.2f} | {s['min']:.2f} | {s['max']:.2f} "
                f"| {s['p99']:.2f} | {s['n']} |")
        for k, s in sec.get("config_change", {}).items():
            add(f"| config change: {k} | {s['median']:.2f} | {s['min']:.2f} | {s['max']:.2f} "
                f"| {s['p99']:.2f} | {s['n']} |")
        if "healing" in sec:
            h = sec["healing"]
            s = h["delay"]
            add(f"| healing: `-1 > status` -> all 29 back | {s['median']:.2f} | {s['min']:.2f} "
                f"| {s['max']:.2f} | {s['p99']:.2f} | {s['n']} |")
            add("")
            add(f"Idle CPU with 29 handlers: {h['idle_cpu_ms']:.1f} ms over {h['idle_seconds']} s "
                f"= {h['idle_cpu_percent']:.4f} % of one core (the one-second kernel check).")
        add("")
    if "dbus" in sec:
        d = sec["dbus"]
        add("### 6. D-Bus, through the private dbus-daemon (29 handlers)")
        add("")
        add("| call | median | p99 | min | max | n |")
        add("|---|---|---|---|---|---|")
        for k, s in d["latency"].items():
            add(f"| {k} | {s['median']:.3f} | {s['p99']:.3f} | {s['min']:.3f} | {s['max']:.3f} "
                f"| {s['n']} |")
        if "scale" in sec and "list_1000_ms" in sec["scale"]:
            s = sec["scale"]["list_1000_ms"]
            p = sec["scale"]["ping_1000_ms"]
            add(f"| ListHandlers, 1,000 handlers | {s['median']:.3f} | {s['p99']:.3f} "
                f"| {s['min']:.3f} | {s['max']:.3f} | {s['n']} |")
            add(f"| Peer.Ping, 1,000 handlers | {p['median']:.3f} | {p['p99']:.3f} "
                f"| {p['min']:.3f} | {p['max']:.3f} | {p['n']} |")
        add("")
        t = d["throughput"]
        add("| calls per second | 1 client | 8 clients | 64 clients |")
        add("|---|---|---|---|")
        for method, label in (("list", "ListHandlers"), ("ping", "Peer.Ping")):
            add(f"| {label} | " + " | ".join(f"{t[f'{method} x{c}']:.0f}" for c in (1, 8, 64))
                + " |")
        add("")
    if "status" in sec:
        add("### 7. Status commands (whole process)")
        add("")
        add("| | wall | CPU |")
        add("|---|---|---|")
        for k, v in sec["status"].items():
            add(f"| `{k}` | {ms(v['wall'])} | {ms(v['cpu'])} |")
        add("")
    if "memory" in sec:
        add("### 8. Memory of binfmtd (/proc/PID/smaps_rollup, MiB)")
        add("")
        add("| | RSS | PSS | private | anonymous |")
        add("|---|---|---|---|---|")
        for k, v in sec["memory"].items():
            add(f"| {k} | {mib(v['rss_kib'])} | {mib(v['pss_kib'])} | {mib(v['private_kib'])} "
                f"| {mib(v['anonymous_kib'])} |")
        add("")
    if "scale" in sec:
        s = sec["scale"]
        add("### 9. Scale: custom handlers (extension, /bin/cat), whole process")
        add("")
        series = list(s["10"].keys())
        add("| handlers | " + " | ".join(series) + " |")
        add("|---|" + "---|" * len(series))
        for measure in ("wall", "cpu"):
            for n in ("0", "10", "100", "1000"):
                add(f"| {int(n):,}, {measure} | " +
                    " | ".join(ms(s[n][k][measure]) for k in series) + " |")
        for measure in ("wall", "cpu"):
            flat = per_handler(s, measure)
            for i, n in enumerate(SIZES):
                add(f"| µs per handler at {n:,}, {measure} | " +
                    " | ".join(f"{flat[k][i]:.1f}" for k in series) + " |")
        instr = instructions_per_handler(s)
        if instr:
            for i, n in enumerate(SIZES):
                add(f"| instructions per handler at {n:,} | " +
                    " | ".join(f"{instr[k][i]:,.0f}" if k in instr else "–" for k in series) + " |")
        add("")
        add("Per handler: (t(N) − t(0)) / N, medians; t(0) is the same program on an empty "
            "configuration. Instructions: user space only, counted by valgrind's callgrind "
            "(one run each, exact).")
        add("")
        add(f"The daemon with 1,000 handlers: start to READY=1 {s['start_to_ready_1000_ms']:.1f} ms.")
        add("")
    add(f"Versions: {m.get('binfmtd', '')} (git {m.get('git', '?')}), {m.get('systemd', '')}, "
        f"binfmt-support {m.get('binfmt_support', '?')}, qemu-user-static "
        f"{m.get('qemu_user_static', '?')}, {m.get('dbus', '')}, {m.get('compiler', '')}.")
    return "\n".join(lines) + "\n"


def chart(r, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sec = r["sections"]
    fig, axes = plt.subplots(2, 4, figsize=(20, 9))
    colors = {"binfmtd": "#1f6fb4", "systemd": "#e07b1a", "update": "#3a9a3a", "other": "#888888"}

    def color(name):
        if name.startswith("binfmtctl"):
            return colors["binfmtd"]
        for k, c in colors.items():
            if k in name:
                return c
        return colors["other"]

    def clip(ax, xs, medians, tops):
        """A y range for the medians; whiskers above it end at the edge, with their value."""
        limit = max(medians) * 2.2
        ax.set_ylim(0, limit)
        for x, top in zip(xs, tops):
            if top > limit:
                ax.annotate(f"↑{top:.1f}", (x, limit), textcoords="offset points",
                            xytext=(0, -9), ha="center", fontsize=6, color="dimgray")

    def bars(ax, labels, stats, title, ylabel="ms", cols=None):
        med = [s["median"] for s in stats]
        lo = [s["median"] - s["min"] for s in stats]
        hi = [s["max"] - s["median"] for s in stats]
        x = range(len(labels))
        ax.bar(x, med, yerr=[lo, hi], capsize=3, color=cols or [color(l) for l in labels])
        clip(ax, list(x), med, [s["max"] for s in stats])
        ax.set_xticks(list(x))
        ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
        for i, v in enumerate(med):
            ax.annotate(f"{v:.2f}", (i, v), textcoords="offset points", xytext=(0, 3),
                        ha="center", fontsize=7)

    ax = axes[0][0]
    if "apply_cold" in sec:
        width = 0.2
        all_med, all_x, all_top = [], [], []
        for j, tool in enumerate(TOOLS):
            med, lo, hi = [], [], []
            for key in ("apply_cold", "apply_noop"):
                s = sec[key][tool]["wall"]
                med.append(s["median"])
                lo.append(s["median"] - s["min"])
                hi.append(s["max"] - s["median"])
            xs = [i + (j - 1.5) * width for i in range(2)]
            ax.bar(xs, med, width, yerr=[lo, hi], capsize=2, label=tool,
                   color=[color(tool)], alpha=1.0 - 0.2 * (j % 2))
            for x, v in zip(xs, med):
                ax.annotate(f"{v:.1f}", (x, v), textcoords="offset points", xytext=(0, 2),
                            ha="center", fontsize=6)
            all_med += med
            all_x += xs
            all_top += [m + h for m, h in zip(med, hi)]
        clip(ax, all_x, all_med, all_top)
        ax.set_xticks([0, 1])
        ax.set_xticklabels(["cold (empty instance)", "no-op (all registered)"])
        ax.set_ylabel("ms, whole process")
        ax.set_title("1, 2: apply 29 qemu entries", fontsize=10)
        ax.legend(fontsize=7, loc="upper center")

    ax = axes[0][1]
    if "status" in sec:
        labels = list(sec["status"].keys())
        bars(ax, labels, [sec["status"][k]["wall"] for k in labels], "7: status, whole process")

    ax = axes[0][2]
    labels, stats = [], []
    for k, s in sec.get("start_to_ready", {}).items():
        labels.append("start→READY, " + k.split(" (")[0])
        stats.append(s)
    for k, s in sec.get("config_change", {}).items():
        labels.append("config change")
        stats.append(s)
    if "healing" in sec:
        labels.append("healing (flush)")
        stats.append(sec["healing"]["delay"])
    if labels:
        bars(ax, labels, stats, "3, 4, 5: daemon latencies (29 entries)",
             cols=[colors["binfmtd"]] * len(labels))

    ax = axes[0][3]
    if "dbus" in sec:
        lat = sec["dbus"]["latency"]
        labels = list(lat.keys())
        med = [lat[k]["median"] for k in labels]
        x = range(len(labels))
        ax.bar(x, med, color=["#888888"] + [colors["binfmtd"]] * (len(labels) - 1))
        ax.errorbar(x, med, yerr=[[m - lat[k]["min"] for m, k in zip(med, labels)],
                                  [lat[k]["p99"] - m for m, k in zip(med, labels)]],
                    fmt="none", ecolor="black", capsize=3)
        for i, v in enumerate(med):
            ax.annotate(f"{v:.3f}", (i, v), textcoords="offset points", xytext=(12, 3),
                        ha="left", fontsize=7)
        clip(ax, list(x), med, [lat[k]["p99"] for k in labels])
        ping = lat["Peer.Ping"]["median"]
        ax.axhline(1.5 * ping, color="red", linestyle="--", linewidth=1,
                   label="goal: 1.5 × Ping")
        ax.set_xticks(list(x))
        ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
        ax.set_ylabel("ms")
        ax.set_title("6: D-Bus call latency (bars: min to p99)", fontsize=10)
        ax.legend(fontsize=7, loc="upper left")

    ax = axes[1][0]
    if "dbus" in sec:
        t = sec["dbus"]["throughput"]
        width = 0.35
        for j, (method, label) in enumerate((("list", "ListHandlers"), ("ping", "Peer.Ping"))):
            vals = [t[f"{method} x{c}"] for c in (1, 8, 64)]
            xs = [i + (j - 0.5) * width for i in range(3)]
            ax.bar(xs, vals, width, label=label,
                   color=colors["binfmtd"] if method == "list" else "#888888")
        ax.set_xticks(range(3))
        ax.set_xticklabels(["1 client", "8 clients", "64 clients"])
        ax.set_ylabel("calls per second")
        ax.set_title("6: D-Bus throughput", fontsize=10)
        ax.legend(fontsize=7)

    ax = axes[1][1]
    if "memory" in sec:
        mem = sec["memory"]
        labels = list(mem.keys())
        x = range(len(labels))
        ax.bar([i - 0.2 for i in x], [mem[k]["rss_kib"] / 1024 for k in labels], 0.4,
               label="RSS", color="#9cc3e6")
        ax.bar([i + 0.2 for i in x], [mem[k]["pss_kib"] / 1024 for k in labels], 0.4,
               label="PSS", color=colors["binfmtd"])
        ax.axhline(4, color="red", linestyle="--", linewidth=1, label="goal: PSS 4 MiB")
        ax.set_xticks(list(x))
        ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
        ax.set_ylabel("MiB")
        ax.set_title("8: binfmtd memory", fontsize=10)
        ax.legend(fontsize=7)

    if "scale" in sec:
        s = sec["scale"]
        sizes = list(SIZES)
        ax = axes[1][2]
        for key in s["10"]:
            ax.plot(sizes, [s[str(n)][key]["wall"]["median"] for n in sizes], marker="o",
                    label=key, color=color(key), linestyle="-" if "empty" in key else "--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("handlers")
        ax.set_ylabel("ms, whole process")
        ax.set_title("9: scale, total time", fontsize=10)
        ax.legend(fontsize=7)
        ax = axes[1][3]
        flat = per_handler(s)
        width = 0.2
        keys = list(flat.keys())
        for j, key in enumerate(keys):
            xs = [i + (j - 1.5) * width for i in range(len(SIZES))]
            ax.bar(xs, flat[key], width, label=key, color=color(key),
                   alpha=1.0 if "empty" in key else 0.6)
        ax.set_xticks(range(len(SIZES)))
        ax.set_xticklabels([f"{n:,} handlers" for n in SIZES])
        ax.set_ylabel("µs of CPU per handler, (t(N) - t(0)) / N")
        ax.set_title("9: cost per handler (flat = good)", fontsize=10)
        ax.legend(fontsize=7)

    m = r["machine"]
    fig.suptitle(f"binfmtd vs systemd-binfmt vs update-binfmts — {m['cpu'].get('Model name', '')}, "
                 f"{m['cpu'].get('CPU(s)', '?')} cores, Linux {m['kernel']}, load average "
                 f"{m['load_before'][0]:.1f}; medians, bars min–max (↑: beyond the axis)",
                 fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=80)


def splice(doc, table):
    if not os.path.exists(doc):
        return False
    with open(doc) as f:
        text = f.read()
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    if begin not in text or end not in text:
        return False
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(doc, "w") as f:
        f.write(head + begin + "\n" + table + end + tail)
    return True


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "docs", "perf")
    with open(os.path.join(out, "results.json")) as f:
        r = json.load(f)
    table = markdown(r)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("# binfmtd benchmark results\n\n" + table)
    print(f"wrote {out}/results.md")
    try:
        chart(r, os.path.join(out, "results.png"))
        print(f"wrote {out}/results.png")
    except ImportError:
        print("python3-matplotlib is not installed: no chart (apt-get install python3-matplotlib)")
    doc = os.path.join(TOP, "docs", "performance.md")
    if os.path.abspath(out) == os.path.join(TOP, "docs", "perf") and splice(doc, table):
        print(f"updated the tables in {doc}")
    for number, goal, measured, met in goals(r):
        verdict = {True: "met", False: "MISSED", None: "-"}[met]
        print(f"  {number}. {goal}: {measured}: {verdict}")


if __name__ == "__main__":
    main()
