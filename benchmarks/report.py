"""RESULTS.md and its plot (an SVG drawn here: no browser or image library needed)."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

PACKAGES = ("segnb", "duckdb", "ibis-framework", "sqlglot", "polars", "pandas", "pyarrow",
            "numpy", "scikit-learn", "pyroaring", "pyspark", "psycopg")  # fmt: skip
RATIO_LIMIT = 1.10


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _machine() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        ram = f"{pages / 2**30:.1f} GiB"
    except (ValueError, OSError):
        ram = "unknown"
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=Path(__file__).parent).stdout.strip()  # fmt: skip
    except OSError:
        rev = ""
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores visible; RAM {ram}",
        f"- {platform.platform()}, Python {platform.python_version()}",
        f"- segnb commit {rev or 'unknown'}",
    ]


def _peak_mb() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def _sections(sections: dict) -> list[str]:
    if not sections:
        return []
    return [
        "| section | wall s | peak MB |", "|---|---|---|",
        *(f"| {k} | {v['seconds']:.0f} | {v['peak_mb']:,.0f} |" for k, v in sections.items()),
        "",
    ]  # fmt: skip


def _ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1e3:,.0f}"


def _rules_table(size: dict) -> list[str]:
    peers = [p for p in ("duckdb_sql", "ibis_by_hand", "polars", "pandas") if p in size["rules"][0]]
    head = ["rule", "count", "segnb ms", *[f"{p} ms" for p in peers], "segnb / SQL"]
    if "polars" in peers:
        head.append("polars / segnb")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in size["rules"]:
        ratio = r["segnb"] / r["duckdb_sql"]
        cells = [r["rule"], f"{r['count']:,}", _ms(r["segnb"]), *[_ms(r[p]) for p in peers],
                 f"**{ratio:.2f}**" if ratio > RATIO_LIMIT else f"{ratio:.2f}"]  # fmt: skip
        if "polars" in peers:
            faster = r["polars"] / r["segnb"]
            cells.append(f"**{faster:.2f}**" if faster < 1 else f"{faster:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _svg(sizes: list[dict], path: Path) -> None:
    """Bars: each peer's time over hand-written SQL's, per rule, first size."""
    if not sizes:
        return
    rules = sizes[0]["rules"]
    peers = [p for p in ("segnb", "ibis_by_hand", "polars", "pandas") if p in rules[0]]
    colors = {"segnb": "#1f77b4", "ibis_by_hand": "#9467bd", "polars": "#2ca02c",
              "pandas": "#ff7f0e"}  # fmt: skip
    ratios = [[r[p] / r["duckdb_sql"] for p in peers] for r in rules]
    top = max(2.0, max(max(x) for x in ratios))
    left, bar, gap, width = 250, 12, 14, 520
    height = 60 + len(rules) * (len(peers) * bar + gap)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 40}" '
           f'height="{height}" font-family="sans-serif" font-size="11">',
           f'<text x="10" y="18" font-size="13">time / hand-written DuckDB SQL, '
           f'{sizes[0]["users"]:,} users (log scale; lines at 1.0 and 1.1)</text>']  # fmt: skip
    import math

    def x(v: float) -> float:
        lo, hi = math.log10(0.05), math.log10(top * 1.2)
        return left + width * (math.log10(max(v, 0.05)) - lo) / (hi - lo)

    y = 40
    for r, row in zip(rules, ratios, strict=True):
        out.append(f'<text x="{left - 6}" y="{y + bar * len(peers) / 2 + 4}" '
                   f'text-anchor="end">{r["rule"]}</text>')  # fmt: skip
        for p, v in zip(peers, row, strict=True):
            out.append(f'<rect x="{left}" y="{y}" width="{x(v) - left:.1f}" height="{bar - 2}" '
                       f'fill="{colors[p]}"/><text x="{x(v) + 3:.1f}" y="{y + bar - 3}">'
                       f"{v:.2f}</text>")  # fmt: skip
            y += bar
        y += gap
    for v in (1.0, RATIO_LIMIT):
        out.append(f'<line x1="{x(v):.1f}" y1="30" x2="{x(v):.1f}" y2="{y}" stroke="#000" '
                   f'stroke-dasharray="3,3"/>')  # fmt: skip
    for i, p in enumerate(peers):
        out.append(
            f'<rect x="{left + 110 * i}" y="{y + 4}" width="10" height="10" '
            f'fill="{colors[p]}"/><text x="{left + 110 * i + 14}" y="{y + 13}">{p}</text>'
        )
    out[0] = out[0].replace(f'height="{height}"', f'height="{y + 24}"')
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def write(path: Path, results: dict) -> None:
    plot = path.with_name("results.svg")
    _svg(results["sizes"], plot)
    (before, after) = results["load"]
    lines = [
        "# segnb benchmarks",
        "",
        f"`python benchmarks/run.py {results['argv']}` on {dt.date.today()}: "
        f"{results['seconds']:.0f} s wall, peak memory {results.get('peak_mb') or _peak_mb():,.0f} "
        f"MB (each section runs in a process of its own; its peak is the largest of its RSS and "
        f"the sampled memory of its process tree). Times are medians of interleaved runs after a "
        f"warm-up; every peer's count was checked equal to segnb's.",
        "",
        *_sections(results.get("sections", {})),
        "## Machine and versions",
        "",
        *_machine(),
        f"- load average at start {before[0]:.1f}, at end {after[0]:.1f} (the machine is shared: "
        "compare ratios within a run, not times across runs)",
        "- " + ", ".join(f"{p} {_version(p)}" for p in PACKAGES),
        "",
    ]
    if results["sizes"]:
        lines += [f"![time over hand-written SQL]({plot.name})", ""]
    for size in results["sizes"]:
        lines += [f"## Rules: {size['users']:,} users x {size['days']} days", ""]
        if size["built"]:
            lines += [f"Demo warehouse built in {size['built']:.0f} s."]
        if size["load"] is not None:
            lines += [f"polars and pandas read the tables into memory first "
                      f"({size['load']:.1f} s, not counted)."]  # fmt: skip
        lines += ["", *_rules_table(size), ""]
        m = size["members"]
        if m:
            lines += [
                f"Members: saving `{m['rule']}` ({m['members']:,} members; member file, dense "
                f"ids and bitmap) {_ms(m['segnb'])} ms; `COPY (…) TO` a Parquet file of the "
                f"hand-written query {_ms(m['duckdb_copy'])} ms "
                f"(ratio {m['segnb'] / m['duckdb_copy']:.2f}).",
                "",
            ]
        lines += ["`segnb doctor` on this warehouse:", "", "```", *size["doctor"], "```", ""]
        slow = [r for r in size["rules"] if r["rule"] in size["plans"]]
        for r in slow:
            ours, theirs = size["plans"][r["rule"]]
            lines += [f"<details><summary>plans: {r['rule']}</summary>", "", "segnb:", "```",
                      ours.strip(), "```", "hand-written:", "```", theirs.strip(), "```",
                      "</details>", ""]  # fmt: skip
    if "sets" in results:
        s = results["sets"]
        lines += [f"## Sets: two ~50% segments of {s['users']:,} users", "",
                  "segnb's public calls (parsing, the segments' current versions and status, the "
                  "bitmaps) against raw pyroaring answering the same question on prebuilt bitmaps; "
                  "sizes against pyroaring's `*_cardinality` (no bitmap built), medians of "
                  "interleaved turns. DuckDB counts the member tables for scale.", "",
                  "| question | result | segnb ms | pyroaring ms | segnb / pyroaring | DuckDB ms |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for r in s["rows"]:
            question = r["question"].replace("|", "\\|")
            lines.append(f"| {question} | {r['result']:,} | {r['segnb'] * 1e3:.3f} | "
                         f"{r['pyroaring'] * 1e3:.3f} | {r['segnb'] / r['pyroaring']:.2f} | "
                         f"{r['duckdb'] * 1e3:.0f} |")  # fmt: skip
        built = ("kept from an earlier run" if s["build"] is None
                 else f"saved in {s['build']:.1f} s")  # fmt: skip
        lines += ["", f"First set size after a change (attaches the store, reads its rows and "
                  f"both bitmaps): {s['cold'] * 1e3:.1f} ms. The two segments: {built}.", ""]  # fmt: skip
    if "models" in results:
        users = results["models"][0].get("users", 1_000_000) if results["models"] else 0
        lines += [f"## Lookalike models: {users:,} users, trained on a 100,000-row sample", "",
                  "Scoring times are medians of three rounds, the engine and Python taking "
                  "turns to go first. The engine runs the logistic and boosting models as SQL "
                  "and the forest as its own `predict_proba` inside DuckDB, on Arrow batches "
                  "(`score_table(mode=...)`).", "",
                  "| model | ROC AUC | train s | engine s | pull + predict_proba s | engine / Python "
                  "| max abs diff |", "|---|---|---|---|---|---|---|"]  # fmt: skip
        for m in results["models"]:
            python = m["pull"] + m["predict_proba"]
            ratio = m["engine"] / python
            lines.append(f"| {m['model']} | {m['auc']:.4f} | {m['train']:.1f} | {m['engine']:.1f} | "
                         f"{m['pull']:.1f} + {m['predict_proba']:.1f} | "
                         f"{'**' if ratio > 1 else ''}{ratio:.2f}{'**' if ratio > 1 else ''} | "
                         f"{m['max_diff']:.1e} |")  # fmt: skip
        lines.append("")
    if "spark" in results:
        sp = results["spark"]
        lines += ["## Spark (local mode, reported, not compared)", ""]
        if "skipped" in sp:
            lines += [f"Skipped: {sp['skipped']}.", ""]
        else:
            lines += [f"Spark {sp['version']}, `local[2]`, {sp['users']:,} users; session start "
                      f"{sp['session']:.1f} s, tables written to Parquet (which Spark reads) "
                      f"in {sp['load']:.1f} s.",
                      "", "| rule | seconds | count | DuckDB count |", "|---|---|---|---|"]  # fmt: skip
            for r in sp["rows"]:
                lines.append(f"| {r['rule']} | {r['seconds']:.2f} | {r['count']:,} | "
                             f"{r['duckdb_count']:,} |")  # fmt: skip
            lines.append("")
            if "save" in sp:
                lines += [f"Saving the first rule as a segment (member table and dense ids on "
                          f"Spark, metadata in a DuckDB store file; {sp['saved']:,} members): "
                          f"{sp['save']:.1f} s. A set size of two saved segments (bitmaps): "
                          f"{sp['set_ms']:.1f} ms.", ""]  # fmt: skip
    path.write_text("\n".join(lines), encoding="utf-8")
