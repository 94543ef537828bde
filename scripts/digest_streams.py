#!/usr/bin/env python3
"""Builds labelled validation streams for story clustering, in the dev stream's format
(`{"id","title","body","url","published_at","story"}` plus `duplicate_of` on a near-copy),
from other data than the dev stream's negatives, to check that the clustering weights chosen
on the dev stream carry over. Written to OUT_DIR (never into the repository):

- other-negatives.jsonl: the 47 key-fact articles (5 events, their real URLs and times) and,
  as stand-alone negatives, the 247 CNN/Daily Mail and XSum articles of the summarisation dev
  set (not chosen to share little vocabulary, unlike the dev stream's BBC negatives; times
  drawn uniformly inside the events' window), plus 20 near-copies made the dev stream's way
  (new headline, last paragraph dropped, a wire credit added);
- reversed.jsonl: the dev stream in reverse order (a feed that arrives out of time order).

Usage: scripts/digest_streams.py SHARED OUT_DIR
"""
import hashlib, json, random, sys
from datetime import datetime, timezone


def ident(text):
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def copy_of(a, rng):
    paragraphs = [p for p in a["body"].split("\n") if p.strip()]
    if len(paragraphs) > 2:
        body = "\n".join(paragraphs[:-1])
    else:  # one block of text: drop its last sentence instead
        body = a["body"].rsplit(". ", 1)[0] + "."
    credit = rng.choice(["(Reuters)", "(AP)", "Additional reporting by AFP.", "(Wire service)"])
    title = rng.choice(["Latest: ", "UPDATE: ", "Breaking: ", ""]) + (a["title"] or body[:60])
    return dict(a, id=ident("copy" + a["id"]), title=title, body=body + "\n" + credit, duplicate_of=a["id"])


def main():
    shared, out = sys.argv[1], sys.argv[2]
    rng = random.Random(11)
    events = [json.loads(l) for l in open(f"{shared}/data/keyfacts/dev.jsonl") if l.strip()]
    stream = []
    for e in events:
        t = datetime.strptime(e["published_at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
        stream.append({"id": ident(e["id"]), "title": e["title"], "body": e["body"], "url": e["url"],
                       "published_at": t.isoformat().replace("+00:00", "Z"), "story": "e-" + ident(e["event"])})
    times = sorted(datetime.fromisoformat(a["published_at"].replace("Z", "+00:00")).timestamp() for a in stream)
    negatives = [json.loads(l) for l in open(f"{shared}/data/summarization/dev.jsonl") if l.strip()]
    negatives = [n for n in negatives if n["source"] in ("cnndm", "xsum")]
    for n in negatives:
        t = datetime.fromtimestamp(rng.uniform(times[0], times[-1]), timezone.utc)
        stream.append({"id": ident(n["id"]), "title": n.get("title", ""), "body": n["body"], "url": n.get("url", ""),
                       "published_at": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "story": "n-" + ident(n["id"])})
    for a in rng.sample(stream, 20):
        c = copy_of(a, rng)
        t = datetime.fromisoformat(a["published_at"].replace("Z", "+00:00")).timestamp() + rng.uniform(600, 7200)
        c["published_at"] = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        stream.append(c)
    stream.sort(key=lambda a: a["published_at"])
    with open(f"{out}/other-negatives.jsonl", "w") as f:
        for a in stream:
            f.write(json.dumps(a) + "\n")
    dev = [l for l in open(f"{shared}/data/digest/dev-stream.jsonl") if l.strip()]
    with open(f"{out}/reversed.jsonl", "w") as f:
        f.writelines(reversed(dev))
    print(f"wrote {out}/other-negatives.jsonl ({len(stream)} articles) and {out}/reversed.jsonl ({len(dev)})")


if __name__ == "__main__":
    main()
