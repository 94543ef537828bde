#!/usr/bin/env python3
"""Python half of the abstractive-summarisation speed benchmark (transformers on CPU).

Loads a Hugging Face-format model directory with transformers' summarization pipeline
and summarises the first N CNN/DailyMail articles of ../shared/data/summarization/dev.jsonl,
first one at a time (batch 1), then in batches of --batch-size. The output length is fixed
(min_length = max_length = L tokens, counting the decoder start token as transformers and
rust-bert both do) so that the Rust and Python runs do the same amount of decoding whatever
the weights say. Prints one JSON object on stdout.

Usage:
    abstractive_transformers.py MODEL_DIR [--n 16] [--beams 4] [--length 64]
        [--threads 2] [--batch-size 4] [--data PATH] [--length-penalty 2.0]

Example (the random-weight BART-large-CNN model from models/make_fixtures.py):
    HF_HUB_OFFLINE=1 ~/.cache/newsgist/py-torch-2.4.0/bin/python \
        benches/abstractive_transformers.py ~/.cache/newsgist/models/bart-large-cnn-random \
        --n 8 --beams 4 --length 64 --threads 2 --batch-size 4
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from bench_common import latency_stats, memory_fields, peak_rss_mib, rss_mib

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared/data/summarization/dev.jsonl"


def load_articles(path: Path, n: int) -> list[str]:
    bodies = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row.get("source") == "cnndm" and row.get("body", "").strip():
                bodies.append(row["body"])
                if len(bodies) == n:
                    break
    if len(bodies) < n:
        raise SystemExit(f"only {len(bodies)} cnndm articles in {path}, asked for {n}")
    return bodies


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--n", type=int, default=16, help="articles to summarise")
    parser.add_argument("--beams", type=int, default=4)
    parser.add_argument("--length", type=int, default=64,
                        help="fixed output length L in tokens (min_length = max_length)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--length-penalty", type=float, default=2.0)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"skipped: {args.data} not found (the shared data folder is absent)",
              file=sys.stderr)
        return 0

    import torch
    import transformers
    from transformers import pipeline

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    articles = load_articles(args.data, args.n)

    start = time.perf_counter()
    summarizer = pipeline("summarization", model=str(args.model_dir),
                          tokenizer=str(args.model_dir), framework="pt", device=-1)
    load_s = time.perf_counter() - start
    rss_after_load, peak_at_load = rss_mib(), peak_rss_mib()
    tokenizer = summarizer.tokenizer
    max_input = summarizer.model.config.max_position_embeddings
    input_tokens = [len(tokenizer(a, truncation=True, max_length=max_input)["input_ids"])
                    for a in articles]
    truncated = sum(len(tokenizer(a)["input_ids"]) > max_input for a in articles)

    generate = dict(num_beams=args.beams, min_length=args.length, max_length=args.length,
                    no_repeat_ngram_size=3, length_penalty=args.length_penalty,
                    early_stopping=True, do_sample=False)

    def run(batch: list[str]) -> list[int]:
        out = summarizer(batch, batch_size=len(batch), truncation=True, return_tensors=True,
                         **generate)
        return [len(item["summary_token_ids"]) for item in out]

    run(articles[:1])  # warm-up: first-call allocations and lazy initialisation

    single, output_lengths = [], []
    for article in articles:
        t0 = time.perf_counter()
        output_lengths += run([article])
        single.append(time.perf_counter() - t0)

    batched = []
    for i in range(0, len(articles), args.batch_size):
        chunk = articles[i:i + args.batch_size]
        t0 = time.perf_counter()
        run(chunk)
        batched.append((time.perf_counter() - t0, len(chunk)))
    batched_total = sum(t for t, _ in batched)

    result = {
        "engine": "transformers",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "model_dir": str(args.model_dir),
        "articles": len(articles),
        "threads": args.threads,
        "generate": generate,
        "max_input_tokens": max_input,
        "input_tokens_mean": round(statistics.fmean(input_tokens), 1),
        "inputs_truncated": truncated,
        # Tokens per summary, counting the decoder start token (and the forced BOS/EOS).
        "output_tokens": sorted(set(output_lengths)),
        "load_s": round(load_s, 2),
        "batch_1": {
            "articles_per_s": round(len(single) / sum(single), 3),
            "per_article": latency_stats(single),
        },
        f"batch_{args.batch_size}": {
            "articles_per_s": round(len(articles) / batched_total, 3),
            "per_article_mean_ms": round(1000 * batched_total / len(articles), 1),
            "per_batch": latency_stats([t for t, _ in batched]),
        },
        **memory_fields(rss_after_load, peak_at_load),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
