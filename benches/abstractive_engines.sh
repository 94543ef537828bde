#!/usr/bin/env bash
# Every abstractive engine on the same articles and settings, interleaved: each round runs
# newsgist float32, newsgist int8, CTranslate2 float32, CTranslate2 int8 and transformers one
# after the other, so that a machine whose load changes (other processes, thermal state)
# weighs on all of them alike; benches/abstractive_summary.py then prints each engine's
# median over the rounds. Outputs: target/bench-abstractive/round-R-ENGINE.json.
# Usage: benches/abstractive_engines.sh MODEL_DIR TORCH_PYTHON ROUNDS [BENCH_ARGS...]
set -euo pipefail
model="$1" python="$2" rounds="$3"
shift 3
out=target/bench-abstractive
mkdir -p "$out"
rm -f "$out"/round-*.json
ct2_python=$(benches/ctranslate2_venv.sh "$python")
cargo bench --bench abstractive --no-run
for round in $(seq 1 "$rounds"); do
    echo "round $round of $rounds" >&2
    # The Rust bench writes articles.jsonl, which the Python engines read.
    cargo bench --bench abstractive -- "$model" "$@" > "$out/round-$round-newsgist-float32.json"
    cargo bench --bench abstractive -- "$model" "$@" --quantize int8 > "$out/round-$round-newsgist-int8.json"
    for compute in float32 int8; do
        "$ct2_python" benches/abstractive_ctranslate2.py "$model" "$@" --compute-type "$compute" \
            --data "$out/articles.jsonl" > "$out/round-$round-ctranslate2-$compute.json"
    done
    HF_HUB_OFFLINE=1 "$python" benches/abstractive_transformers.py "$model" "$@" \
        --data "$out/articles.jsonl" > "$out/round-$round-transformers.json"
done
"$python" benches/abstractive_summary.py "$out"
