#!/usr/bin/env bash
# Whole-process `newsgist batch` on an archive: wall time and peak RSS (GNU time -v) of
#   (a) --outputs extractive --sentences 3, beside sumy's TextRank (3 sentences, same rows,
#       same protocol as benches/sumy_textrank.py: nupunkt sentences, Treebank words), with
#       the speed ratio;
#   (b) --outputs extractive,key-facts;
# on the 2,225-article BBC archive repeated 10 times (22,250 rows, ids made unique), written
# to target/bench-archive/. With --big, instead: the extractive batch on a JSON Lines archive
# of at least 1 GiB (the BBC archive repeated with unique ids), for its peak RSS.
#
# Builds nothing: run `cargo build --release` (or `make build`) first.
#
# Usage: benches/archive.sh SHARED PYTHON [--big]
#   SHARED  the shared data directory (../shared); skips when its BBC archive is missing
#   PYTHON  an interpreter with sumy, nltk and nupunkt (scripts/requirements.txt)
#   REPEAT=N overrides the 10 copies (quick checks), BIG_BYTES the --big size (1 GiB),
#   NEWSGIST_BIN the binary (./target/release/newsgist)
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: benches/archive.sh SHARED PYTHON [--big]" >&2; exit 2; }
[ $# -ge 2 ] || usage
SHARED=$1
PYTHON=$2
BIG=0
case "${3:-}" in
  "") ;;
  --big) BIG=1 ;;
  *) usage ;;
esac
REPEAT=${REPEAT:-10}
BIG_BYTES=${BIG_BYTES:-1073741824}

BIN=${NEWSGIST_BIN:-./target/release/newsgist}
ARCHIVE="$SHARED/data/archive/bbc-2225.jsonl"
WORK=target/bench-archive

[ -x "$BIN" ] || { echo "archive bench: $BIN not found: run cargo build --release first" >&2; exit 1; }
if [ ! -f "$ARCHIVE" ]; then
  echo "skipping archive bench: $ARCHIVE not found"
  exit 0
fi
if [ ! -x /usr/bin/time ]; then
  echo "archive bench: installing GNU time (/usr/bin/time)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq time
fi
mkdir -p "$WORK"

# The archive repeated: copy k > 0 gets ids "ID-rk". By count (N copies) or until BYTES.
# Regenerated only when missing or older than the source archive.
make_archive() { # OUT (--copies N | --bytes B)
  local out=$1
  if [ -f "$out" ] && [ "$out" -nt "$ARCHIVE" ]; then return; fi
  "$PYTHON" - "$ARCHIVE" "$out.tmp" "$2" "$3" <<'PY'
import json, sys
src, out, how, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lines = [l for l in open(src, encoding="utf-8") if l.strip()]
articles = [json.loads(l) for l in lines]
written = 0
copy = 0
with open(out, "w", encoding="utf-8") as f:
    while (how == "--copies" and copy < n) or (how == "--bytes" and written < n):
        for a in articles:
            if copy:
                a = dict(a, id=f"{a['id']}-r{copy}")
            line = json.dumps(a, ensure_ascii=False) + "\n"
            f.write(line)
            written += len(line.encode("utf-8"))
        copy += 1
print(f"archive bench: wrote {out[:-4]}: {copy} copies, {copy * len(articles)} rows, {written / 1e6:.1f} MB")
PY
  mv "$out.tmp" "$out"
}

# measure NAME ROWS CMD...: runs CMD under GNU time; sets WALL (s), PEAK_MB, RATE (rows/s).
measure() {
  local name=$1 rows=$2
  shift 2
  local log="$WORK/$name"
  if ! /usr/bin/time -v -o "$log.time" "$@" >"$log.stdout" 2>"$log.stderr"; then
    echo "archive bench: $name failed:" >&2
    tail -n 20 "$log.stderr" "$log.time" >&2
    exit 1
  fi
  WALL=$(sed -n 's/^\s*Elapsed (wall clock) time.*: //p' "$log.time" |
    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
  PEAK_MB=$(awk '/Maximum resident set size/ { printf "%.1f", $NF / 1024 }' "$log.time")
  RATE=$(awk -v r="$rows" -v w="$WALL" 'BEGIN { printf "%.1f", (w > 0 ? r / w : 0) }')
  printf '%-34s %8d rows %9.2f s %10.1f articles/s %9.1f MB peak\n' "$name" "$rows" "$WALL" "$RATE" "$PEAK_MB"
}

# newsgist_batch NAME INPUT FLAGS...: a fresh output directory each time (a finished output
# is never overwritten), the rows from the JSON line batch prints.
newsgist_batch() {
  local name=$1 input=$2
  shift 2
  local dir="$WORK/out-$name"
  rm -rf "$dir"
  mkdir -p "$dir"
  measure "$name" "$ROWS" "$BIN" batch --input "$input" --output "$dir/out.jsonl" "$@"
  local reported
  reported=$("$PYTHON" -c '
import json, sys
lines = sys.stdin.read().strip().splitlines()
print(json.loads(lines[-1]).get("rows", "?") if lines else "no JSON line on stdout")' <"$WORK/$name.stdout")
  [ "$reported" = "$ROWS" ] || echo "  (batch reported rows: $reported)"
}

count_rows() { wc -l <"$1" | tr -d ' '; }

if ((BIG)); then
  INPUT="$WORK/archive-big-$BIG_BYTES.jsonl"
  make_archive "$INPUT" --bytes "$BIG_BYTES"
  ROWS=$(count_rows "$INPUT")
  SIZE_MB=$(( $(stat -c %s "$INPUT") / 1000000 ))
  echo "archive bench --big: $INPUT, $ROWS rows, $SIZE_MB MB"
  newsgist_batch big-extractive "$INPUT" --outputs extractive --sentences 3
  echo "peak RSS of the extractive batch on $SIZE_MB MB of input: $PEAK_MB MB"
  rm -rf "$WORK/out-big-extractive"
  exit 0
fi

INPUT="$WORK/archive-x$REPEAT.jsonl"
make_archive "$INPUT" --copies "$REPEAT"
ROWS=$(count_rows "$INPUT")
echo "archive bench: $INPUT, $ROWS rows, $(nproc) cores, $($BIN --version 2>/dev/null || echo newsgist)"

newsgist_batch newsgist-extractive "$INPUT" --outputs extractive --sentences 3
NG_RATE=$RATE

SUMY_OUT="$WORK/out-sumy/out.jsonl"
rm -rf "$WORK/out-sumy"
mkdir -p "$WORK/out-sumy"
measure sumy-textrank "$ROWS" "$PYTHON" benches/sumy_textrank.py --batch "$INPUT" "$SUMY_OUT"
SUMY_RATE=$RATE
[ "$(count_rows "$SUMY_OUT")" = "$ROWS" ] || { echo "archive bench: sumy wrote $(count_rows "$SUMY_OUT") rows" >&2; exit 1; }
awk -v a="$NG_RATE" -v b="$SUMY_RATE" 'BEGIN { printf "newsgist extractive / sumy TextRank: %.1fx articles/s (3 sentences, whole process, same rows)\n", a / b }'

newsgist_batch newsgist-extractive+key-facts "$INPUT" --outputs extractive,key-facts
