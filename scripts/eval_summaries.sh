#!/usr/bin/env bash
# Extractive ROUGE on the summarisation dev set with the quoted protocol: cnndm 3 sentences,
# xsum 1 sentence, bbc 40% of the article's sentences; lengths go through the batch CLI's
# options, one run per source. Usage: eval_summaries.sh SHARED PYTHON [extra batch flags]
set -euo pipefail
shared="$1"; python="$2"; shift 2
dev="$shared/data/summarization/dev.jsonl"
out=target/eval-summaries; mkdir -p "$out"
"$python" - "$dev" "$out" <<'PY'
import json, sys
dev, out = sys.argv[1], sys.argv[2]
files = {}
# Binary: text mode would also break lines at the carriage returns inside article bodies.
for line in open(dev, "rb"):
    source = json.loads(line)["source"]
    if source not in files:
        files[source] = open(f"{out}/{source}.jsonl", "wb")
    files[source].write(line)
PY
declare -A length=([cnndm]="--sentences 3" [xsum]="--sentences 1" [bbc]="--ratio 0.4")
: > "$out/predictions.jsonl"
for source in cnndm xsum bbc; do
  ./target/release/newsgist batch --input "$out/$source.jsonl" --output "$out/$source.out.jsonl" \
    --outputs extractive ${length[$source]} --restart "$@"
  cat "$out/$source.out.jsonl" >> "$out/predictions.jsonl"
done
"$python" "$shared/tools/score_summaries.py" "$dev" "$out/predictions.jsonl" --path extractive.text
