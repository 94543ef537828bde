#!/usr/bin/env python3
"""CTranslate2 half of the abstractive-summarisation speed benchmark (CPU).

Summarises the articles the Rust bench wrote (target/bench-abstractive/articles.jsonl, each
already cut to the model's window) with CTranslate2 on the same weights, one article at a
time (batch 1), then in batches of --batch-size, with the settings the other engines use:
--beams, no-repeat n-gram 3, length penalty 2, a fixed output length. Prints one JSON object.

CTranslate2's decoding lengths do not count the decoder start token, so transformers'
min_length = max_length = L is min_decoding_length = max_decoding_length = L - 1 here; BART
checkpoints that force a BOS token after the start token get it as the target prefix, as
transformers' ForcedBOSTokenLogitsProcessor forces it.

The model is converted once with ct2-transformers-converter (with --quantization int8 for
--compute-type int8) into MODEL_DIR.ct2-<compute type>/ beside the model, so that the int8 run
loads int8 weights instead of quantizing float32 ones at load (which would inflate its memory
figures). Run it with the interpreter benches/ctranslate2_venv.sh sets up.

Usage:
    abstractive_ctranslate2.py MODEL_DIR --data ARTICLES.jsonl [--compute-type float32|int8]
        [--beams 4] [--length 60] [--threads 2] [--batch-size 3] [--length-penalty 2.0]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_common import latency_stats, memory_fields, peak_rss_mib, rss_mib

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def converted(model_dir: Path, compute_type: str) -> Path:
    """The CTranslate2 conversion of `model_dir` for `compute_type`, made once."""
    out = model_dir.parent / f"{model_dir.name}.ct2-{compute_type}"
    if (out / "model.bin").is_file():
        return out
    converter = Path(sys.executable).parent / "ct2-transformers-converter"
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    command = [str(converter), "--model", str(model_dir), "--output_dir", str(partial)]
    if compute_type != "float32":
        command += ["--quantization", compute_type]
    # In a child process, so that the conversion's memory does not count as this run's peak.
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    partial.rename(out)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--data", type=Path, required=True,
                        help="articles.jsonl written by the Rust bench")
    parser.add_argument("--compute-type", default="float32", choices=["float32", "int8"])
    parser.add_argument("--n", type=int, default=None, help="ignored: --data holds the articles")
    parser.add_argument("--beams", type=int, default=4)
    parser.add_argument("--length", type=int, default=60,
                        help="fixed output length L in tokens, counting the start token")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=3)
    parser.add_argument("--length-penalty", type=float, default=2.0)
    parser.add_argument("--quantize", default=None, help="ignored: --compute-type chooses")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"skipped: {args.data} not found (run the Rust bench first)", file=sys.stderr)
        return 0

    ct2_dir = converted(args.model_dir, args.compute_type)
    import ctranslate2
    from transformers import AutoConfig, AutoTokenizer

    articles = [json.loads(line)["body"] for line in args.data.open(encoding="utf-8")]
    start = time.perf_counter()
    translator = ctranslate2.Translator(str(ct2_dir), device="cpu", compute_type=args.compute_type,
                                        inter_threads=1, intra_threads=args.threads)
    tokenizer = AutoTokenizer.from_pretrained(str(args.model_dir))
    load_s = time.perf_counter() - start
    rss_after_load, peak_at_load = rss_mib(), peak_rss_mib()
    config = AutoConfig.from_pretrained(str(args.model_dir))
    max_input = config.max_position_embeddings
    sources = [tokenizer.convert_ids_to_tokens(tokenizer(a, truncation=True, max_length=max_input)["input_ids"])
               for a in articles]
    forced_bos = getattr(config, "forced_bos_token_id", None)
    prefix = [tokenizer.convert_ids_to_tokens(forced_bos)] if forced_bos is not None else None

    def run(batch: list[list[str]]) -> list[int]:
        results = translator.translate_batch(
            batch, target_prefix=[prefix] * len(batch) if prefix else None,
            beam_size=args.beams, num_hypotheses=1, length_penalty=args.length_penalty,
            no_repeat_ngram_size=3, max_decoding_length=args.length - 1,
            min_decoding_length=args.length - 1, max_batch_size=0)
        # Tokens per summary counting the start token, as the other engines report them.
        return [1 + len(r.hypotheses[0]) for r in results]

    run(sources[:1])  # warm-up: first-call allocations

    single, output_lengths = [], []
    for source in sources:
        t0 = time.perf_counter()
        output_lengths += run([source])
        single.append(time.perf_counter() - t0)
    batched = []
    for i in range(0, len(sources), args.batch_size):
        t0 = time.perf_counter()
        run(sources[i:i + args.batch_size])
        batched.append(time.perf_counter() - t0)

    result = {
        "engine": f"CTranslate2 {ctranslate2.__version__} {args.compute_type}",
        "articles": len(sources),
        "beams": args.beams,
        "threads": args.threads,
        "input_tokens_mean": round(statistics.fmean(len(s) for s in sources), 1),
        "output_tokens": sorted(set(output_lengths)),
        "load_s": round(load_s, 2),
        "batch_1": {"s_per_article_mean": round(statistics.fmean(single), 3),
                    "s_per_article_p50": round(sorted(single)[len(single) // 2], 3),
                    "per_article": latency_stats(single)},
        "batched": {"batch_size": args.batch_size,
                    "s_per_article": round(sum(batched) / len(sources), 3)},
        **memory_fields(rss_after_load, peak_at_load),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
