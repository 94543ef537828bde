#!/usr/bin/env bash
# Whole-process `newsgist digest` on a 10,000-article feed built from the BBC archive: every
# article once, plus copies perturbed the way syndication perturbs them (a new headline, the
# last paragraph dropped, a wire credit added), spread in time order over one day. Wall time
# and peak RSS (GNU time -v) of
#   (a) a 20-story digest with merged key facts (the newsletter), and its HTML's size;
#   (b) every story listed, no key facts (the scoring form);
#   (c) the peer in the same run: single-pass TF-IDF centroid clustering in Python with
#       scikit-learn (benches/tfidf_single_pass.py), the floor of ../shared/tools/README.md.
# Clustering quality on the built feed is scored too (its copies are its stories).
#
# Builds nothing: run `cargo build --release` (or `make build`) first.
#
# Usage: benches/digest.sh SHARED PYTHON
#   ARTICLES=N overrides the 10,000 articles; NEWSGIST_BIN the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: benches/digest.sh SHARED PYTHON" >&2; exit 2; }
SHARED=$1
PYTHON=$2
ARTICLES=${ARTICLES:-10000}
BIN=${NEWSGIST_BIN:-./target/release/newsgist}
ARCHIVE="$SHARED/data/archive/bbc-2225.jsonl"
WORK=target/bench-digest
[ -x "$BIN" ] || { echo "digest bench: $BIN not found: run cargo build --release first" >&2; exit 1; }
[ -f "$ARCHIVE" ] || { echo "skipping digest bench: $ARCHIVE not found"; exit 0; }
if [ ! -x /usr/bin/time ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq time
fi
# The peer needs scikit-learn; a separate environment when PYTHON lacks it.
PEER_PY=$PYTHON
if ! "$PYTHON" -c 'import sklearn' 2>/dev/null; then
  PEER_PY="${NEWSGIST_CACHE:-$HOME/.cache/newsgist}/py-digest-bench/bin/python"
  if [ ! -x "$PEER_PY" ]; then
    "$PYTHON" -m venv "$(dirname "$(dirname "$PEER_PY")")"
    "$PEER_PY" -m pip install -q --disable-pip-version-check scikit-learn==1.9.1
  fi
fi
mkdir -p "$WORK"
FEED="$WORK/feed-$ARTICLES.jsonl"
"$PYTHON" - "$ARCHIVE" "$FEED" "$ARTICLES" <<'PY'
import json, random, sys
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(7)
base = [json.loads(l) for l in open(src, encoding="utf-8") if l.strip()]
rows = []
for a in base:
    rows.append({"id": a["id"], "title": a["title"], "body": a["body"], "story": a["id"]})
while len(rows) < n:
    a = rng.choice(base)
    paragraphs = [p for p in a["body"].split("\n") if p.strip()]
    body = "\n\n".join(paragraphs[:-1] if len(paragraphs) > 2 else paragraphs)
    body += "\n\n" + rng.choice(["(Reuters)", "(AP)", "Additional reporting by AFP.", "Copyright wire service."])
    title = rng.choice(["Latest: ", "UPDATE: ", "", "Breaking: "]) + a["title"]
    rows.append({"id": f"{a['id']}-c{len(rows)}", "title": title, "body": body, "story": a["id"], "duplicate_of": a["id"]})
rng.shuffle(rows)
# Originals before their copies, all in one day, in time order.
seen, ordered, later = set(), [], []
for r in rows:
    if r.get("duplicate_of") and r["duplicate_of"] not in seen:
        later.append(r)
    else:
        ordered.append(r); seen.add(r["id"])
ordered += later
with open(out, "w", encoding="utf-8") as f:
    for i, r in enumerate(ordered):
        s = int(i * 86400 / len(ordered))
        r["published_at"] = f"2024-05-07T{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}Z"
        r["url"] = f"https://outlet{i % 7}.example.com/{r['id']}"
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(f"digest bench: {out}: {len(ordered)} articles ({len(base)} BBC articles and {len(ordered) - len(base)} perturbed copies)")
PY
echo "digest bench: $(nproc) cores, $($BIN --version)"

measure() { # NAME CMD...: sets WALL, PEAK_MB, RATE
  local name=$1; shift
  /usr/bin/time -v -o "$WORK/$name.time" "$@" >"$WORK/$name.stdout" 2>"$WORK/$name.stderr" ||
    { echo "digest bench: $name failed" >&2; tail -n 20 "$WORK/$name.stderr" >&2; exit 1; }
  WALL=$(sed -n 's/^\s*Elapsed (wall clock) time.*: //p' "$WORK/$name.time" |
    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
  PEAK_MB=$(awk '/Maximum resident set size/ { printf "%.1f", $NF / 1024 }' "$WORK/$name.time")
  RATE=$(awk -v r="$ARTICLES" -v w="$WALL" 'BEGIN { printf "%.0f", (w > 0 ? r / w : 0) }')
  printf '%-40s %6d articles %7.2f s %8s articles/s %8s MB peak\n' "$name" "$ARTICLES" "$WALL" "$RATE" "$PEAK_MB"
}

measure "newsgist digest (20 stories, facts)" "$BIN" digest --input "$FEED" --output "$WORK/digest.html" --format html
echo "  20-story HTML: $(stat -c %s "$WORK/digest.html") bytes"
measure "newsgist digest (every story)" "$BIN" digest --input "$FEED" --output "$WORK/all.json" --max-stories 0 --max-facts 0
NG=$RATE
"$PYTHON" "$SHARED/tools/score_digest.py" "$FEED" "$WORK/all.json" | sed 's/^/  /'
measure "peer: TF-IDF single pass (sklearn)" "$PEER_PY" benches/tfidf_single_pass.py "$FEED" "$WORK/peer.json"
PEER=$RATE
"$PYTHON" "$SHARED/tools/score_digest.py" "$FEED" "$WORK/peer.json" | sed 's/^/  /'
awk -v a="$NG" -v b="$PEER" 'BEGIN { printf "newsgist / peer: %.1fx articles/s (whole process, same feed)\n", a / b }'
