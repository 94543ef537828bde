#!/usr/bin/env python3
"""Leave-one-event-out evaluation of key facts (`make eval-keyfacts-loeo`).

Usage: loeo.py DEV.jsonl GRID_DIR SCORER [--bands 0.2]

GRID_DIR is what `examples/keyfacts_grid.rs` wrote: grid.tsv (candidate number and values)
and one predictions file per candidate. For each event of DEV (its "event" field), the
candidate with the best mean hit@0.5 on the OTHER events, less --wrong-cost (0.25) times the
share of slots answered wrongly (an empty slot is a miss but no error: say less rather than
be wrong; ties: mean F1, then the lower number, i.e. the shipped values), is chosen and the held-out event is scored with the shared
scorer SCORER (score_keyfacts.py), whose output is printed as it prints it. The mean over
folds is the figure to raise: it is what the tuning does on events it did not see.

Then the calibration table: on the held-out folds, the hit rate of the top tuple's slots
(who/what/when/where with gold, F1 >= 0.5, and when_date) per band of its `confidence`.
"""
import argparse
import collections
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

QS = ("who", "what", "when", "where")


def load_scorer(path):
    spec = importlib.util.spec_from_file_location("score_keyfacts", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def slot_hits(scorer, gold_row, facts):
    """Per-slot F1 of the top tuple and its date match, as the shared scorer counts them."""
    top = (facts or [{}])[0] or {}
    out = {}
    for q in QS:
        gp = [x["text"] for x in gold_row["gold"].get(q, []) if x.get("text")]
        if gp:
            answer = scorer.text_of(top.get(q))
            out[q] = max(scorer.f1(answer, x) for x in gp)
            if answer.strip() and out[q] < 0.5:
                out["wrong"] = out.get("wrong", 0) + 1
    gd = {x["parsed"][:10] for x in gold_row["gold"].get("when", []) if x.get("parsed")}
    if gd:
        w = top.get("when")
        norm = (w.get("normalized") if isinstance(w, dict) else None) or ""
        out["when_date"] = 1.0 if norm[:10] in gd else 0.0
    out["slots"] = sum(1 for q in QS if q in out)
    return out


def slot_values(h):
    return [h[q] for q in QS + ("when_date",) if q in h]


def summary(rows_hits):
    """Mean hit@0.5 over the four questions and mean F1, like the scorer's last line."""
    hit, f1 = [], []
    for q in QS:
        v = [h[q] for h in rows_hits if q in h]
        hit.append(100 * sum(x >= 0.5 for x in v) / max(1, len(v)))
        f1.append(100 * sum(v) / max(1, len(v)))
    return sum(hit) / 4, sum(f1) / 4


def choice_score(rows_hits, wrong_cost):
    """What a candidate is chosen by: mean hit@0.5, less wrong_cost times the share of wrong
    answers."""
    return summary(rows_hits)[0] - wrong_cost * wrong_share(rows_hits)


def wrong_share(rows_hits):
    """Share (percent) of the scored slots that were answered and missed."""
    return 100 * sum(h.get("wrong", 0) for h in rows_hits) / max(1, sum(h["slots"] for h in rows_hits))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dev")
    ap.add_argument("grid")
    ap.add_argument("scorer")
    ap.add_argument("--bands", type=float, default=0.2)
    ap.add_argument("--wrong-cost", type=float, default=0.25,
                    help="what a wrong answer costs against a right one when choosing (an empty slot costs 0)")
    a = ap.parse_args()
    scorer = load_scorer(a.scorer)
    gold = [json.loads(l) for l in open(a.dev) if l.strip()]
    grid = [l.rstrip("\n").split("\t", 1) for l in open(os.path.join(a.grid, "grid.tsv"))]
    preds = {}
    for n, _ in grid:
        rows = [json.loads(l) for l in open(os.path.join(a.grid, f"{n}.jsonl")) if l.strip()]
        preds[n] = {str(r["id"]): r.get("key_facts") or [] for r in rows}
    hits = {n: {str(g["id"]): slot_hits(scorer, g, preds[n].get(str(g["id"]))) for g in gold} for n, _ in grid}
    events = sorted({g["event"] for g in gold})
    folds = []
    calib = []
    with tempfile.TemporaryDirectory() as tmp:
        for ev in events:
            train = [g for g in gold if g["event"] != ev]
            held = [g for g in gold if g["event"] == ev]

            def objective(n):
                rows = [hits[n][str(g["id"])] for g in train]
                return (round(choice_score(rows, a.wrong_cost), 6), round(summary(rows)[1], 6), -int(n))

            best = max((n for n, _ in grid), key=objective)
            gpath = os.path.join(tmp, "gold.jsonl")
            ppath = os.path.join(tmp, "pred.jsonl")
            with open(gpath, "w") as f:
                for g in held:
                    f.write(json.dumps(g) + "\n")
            with open(ppath, "w") as f:
                for g in held:
                    f.write(json.dumps({"id": g["id"], "key_facts": preds[best].get(str(g["id"]), [])}) + "\n")
            text = subprocess.run([sys.executable, a.scorer, gpath, ppath], capture_output=True, text=True, check=True).stdout
            js = json.loads(subprocess.run([sys.executable, a.scorer, gpath, ppath, "--json"],
                                           capture_output=True, text=True, check=True).stdout)
            train_hit, _ = summary([hits[best][str(g["id"])] for g in train])
            values = dict(grid)[best]
            print(f"== fold: held-out event '{ev}' ({len(held)} articles); chosen on the other "
                  f"{len(train)}: candidate {best} (mean hit@0.5 {train_hit:.1f} there)")
            print(f"   {values}")
            print(text.rstrip())
            folds.append(js)
            for g in held:
                facts = preds[best].get(str(g["id"])) or []
                conf = (facts[0] or {}).get("confidence", 0.0) if facts else None
                calib.append((conf, hits[best][str(g["id"])]))
    def objective_all(n):
        rows = [hits[n][str(g["id"])] for g in gold]
        return (round(choice_score(rows, a.wrong_cost), 6), round(summary(rows)[1], 6), -int(n))

    best_all = max((n for n, _ in grid), key=objective_all)
    print(f"\n== chosen on all {len(events)} events (what Tuning::SHIPPED should be): candidate {best_all}"
          f"{' (the shipped values)' if best_all == '0' else ''} ==\n   {dict(grid)[best_all]}")
    print("\n== leave-one-event-out: mean over the folds (each event weighs the same) ==")
    mean = lambda key: sum(key(f) for f in folds) / len(folds)
    for q in QS:
        print(f"{q:6s} F1 {mean(lambda f: f[q]['f1']):5.1f}  hit@0.5 {mean(lambda f: f[q]['hit']):5.1f}")
    print(f"when_date acc {mean(lambda f: f['when_date']['acc']):5.1f}")
    print(f"mean   F1 {mean(lambda f: f['mean_f1']):5.1f}  hit@0.5 {mean(lambda f: f['mean_hit']):5.1f}")
    pooled = summary([h for _, h in calib])
    print(f"(pooled over the 47 held-out articles: mean hit@0.5 {pooled[0]:.1f}, mean F1 {pooled[1]:.1f})")

    print("\n== calibration on the held-out folds: top tuple per confidence band ==")
    print("band        articles  slots  slot hit rate  (who/what/when/where hit@0.5 and when_date)")
    bands = collections.defaultdict(list)
    for conf, h in calib:
        if conf is None:
            key = "no fact"
        else:
            lo = min(int(conf / a.bands), int(round(1 / a.bands)) - 1) * a.bands
            key = f"{lo:.1f}-{lo + a.bands:.1f}"
        bands[key].append(h)
    for key in sorted(bands):
        rows = bands[key]
        vals = [v >= 0.5 for h in rows for v in slot_values(h)]
        print(f"{key:11s} {len(rows):8d} {len(vals):6d}  {100 * sum(vals) / max(1, len(vals)):12.1f}%")


if __name__ == "__main__":
    main()
