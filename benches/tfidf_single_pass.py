#!/usr/bin/env python3
"""The story-clustering floor of ../shared/tools/README.md, as a speed peer for
`make bench-digest`: single-pass TF-IDF centroid clustering in feed order (scikit-learn's
TfidfVectorizer, sublinear TF, English stop words; an article joins the most similar centroid
at cosine >= THRESHOLD or starts a story). Writes the digest JSON form score_digest.py reads.

Usage: tfidf_single_pass.py FEED.jsonl OUT.json [--threshold 0.3]
"""
import argparse, json

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("feed"); ap.add_argument("out"); ap.add_argument("--threshold", type=float, default=0.3)
    a = ap.parse_args()
    rows = [json.loads(l) for l in open(a.feed, encoding="utf-8") if l.strip()]
    texts = [(r.get("title") or "") + "\n" + (r.get("body") or "") for r in rows]
    docs = TfidfVectorizer(sublinear_tf=True, stop_words="english", max_features=50000).fit_transform(texts).tocsr()
    vocab = docs.shape[1]
    # Centroid sums, dense rows grown by doubling; their norms kept beside them.
    sums = np.zeros((64, vocab), dtype=np.float32)
    norms = np.zeros(64, dtype=np.float32)
    members = []
    for i in range(docs.shape[0]):
        row = docs.getrow(i)
        cols, vals = row.indices, row.data.astype(np.float32)
        k = len(members)
        best = -1
        if k and len(cols):
            sims = sums[:k, cols] @ vals / np.maximum(norms[:k], 1e-9)
            j = int(np.argmax(sims))
            if sims[j] >= a.threshold:
                best = j
        if best < 0:
            if k == sums.shape[0]:
                sums = np.vstack([sums, np.zeros_like(sums)])
                norms = np.concatenate([norms, np.zeros_like(norms)])
            best = k
            members.append([])
        sums[best, cols] += vals
        norms[best] = np.linalg.norm(sums[best])
        members[best].append(i)
    stories = [{"articles": [{"id": rows[i]["id"]} for i in m]} for m in members]
    json.dump({"stories": stories}, open(a.out, "w"))
    print(f"{len(rows)} articles, {len(stories)} stories")


if __name__ == "__main__":
    main()
