#!/usr/bin/env python3
"""Prints the abstractive engines' figures from benches/abstractive_engines.sh's rounds.

Reads DIR/round-R-ENGINE.json (one JSON object per engine and round, as the Rust bench,
abstractive_ctranslate2.py and abstractive_transformers.py print them) and prints, per
engine, the median over the rounds of seconds per article at batch 1 and batched, and of
resident memory after load and at peak, as a Markdown table; then newsgist's stage profile
(median seconds per article and stage) for each mode and pass.

Usage: abstractive_summary.py DIR
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def figures(row: dict) -> dict:
    """One run's figures, whichever engine printed it."""
    if "per_article_mean_ms" in json.dumps(row):  # transformers
        batched = next(v for k, v in row.items() if k.startswith("batch_") and k != "batch_1")
        return {"batch_1": row["batch_1"]["per_article"]["mean_ms"] / 1000,
                "batched": batched["per_article_mean_ms"] / 1000,
                "rss_after_load_mib": row["rss_after_load_mib"], "peak_rss_mib": row["peak_rss_mib"]}
    return {"batch_1": row["batch_1"]["s_per_article_mean"], "batched": row["batched"]["s_per_article"],
            "rss_after_load_mib": row["rss_after_load_mib"], "peak_rss_mib": row["peak_rss_mib"]}


def main(argv: list[str]) -> int:
    runs: dict[str, list[dict]] = defaultdict(list)
    for path in sorted(Path(argv[0]).glob("round-*.json")):
        engine = re.sub(r"^round-\d+-", "", path.stem)
        runs[engine].append(json.loads(path.read_text()))
    print(f"| engine | batch 1, s/article | batched, s/article | RSS after load | peak RSS | rounds |")
    print("|---|---|---|---|---|---|")
    for engine, rows in runs.items():
        fig = [figures(r) for r in rows]
        med = {k: statistics.median(f[k] for f in fig) for k in fig[0]}
        spread = lambda k: f"{min(f[k] for f in fig):.2f}-{max(f[k] for f in fig):.2f}"
        print(f"| {engine} | {med['batch_1']:.2f} ({spread('batch_1')}) | {med['batched']:.2f} "
              f"({spread('batched')}) | {med['rss_after_load_mib']:.0f} MiB | "
              f"{med['peak_rss_mib']:.0f} MiB | {len(rows)} |")
    for engine, rows in runs.items():
        if "stages" not in rows[0]["batch_1"]:
            continue
        for run in ("batch_1", "batched"):
            stages = [r[run]["stages"] for r in rows]
            articles = rows[0]["articles"]
            keys = [k for k in stages[0] if k.endswith("_s")]
            cells = ", ".join(f"{k[:-2]} {statistics.median(s[k] for s in stages) / articles:.3f}" for k in keys)
            steps = statistics.median(s["decoder_steps"] for s in stages)
            print(f"{engine} {run}: s/article: {cells}; decoder steps {steps:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
