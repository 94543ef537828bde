#!/usr/bin/env python3
"""Record transformers' outputs on the tiny fixtures as golden files for Rust parity tests.

For each seq2seq fixture (bart-tiny, t5-tiny, pegasus-tiny) and a few fixed input texts,
this writes the slow Hugging Face tokenizer's input ids and the output ids of
``model.generate`` under exactly recorded settings (greedy without and with
no_repeat_ngram_size 3, and a 2-beam search) to ``models/golden/<fixture>.json``. For
bert-ner-tiny it records the per-token argmax labels. A Rust test asserts that newsgist
produces the same ids from the same fixture directory.

Usage: make_golden.py [--fixtures models/fixtures] [--out models/golden] [--check]

The fixtures are built first (models/make_fixtures.py) when missing. Each golden file
records the sha256 of the fixture files it was made from, so a test can tell a stale
fixture from a real mismatch. ``--check`` regenerates in memory and fails if any golden
file would change.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import GenerationConfig  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_fixtures  # noqa: E402

TEXTS = {
    "short": "The council approved the new budget on Tuesday.",
    "medium": (
        "Police said a man had been arrested after a car crashed into a shop in Leeds on "
        "Friday night. Nobody was seriously hurt. The road was closed for several hours "
        "while officers examined the scene."
    ),
    "long": (
        "Shares in the energy company rose by 4.5 per cent on Monday after it reported "
        "higher profits for the third quarter in a row. The firm said demand had grown "
        "strongly in Germany and Spain, and that it would hire 300 more engineers next "
        "year. Analysts had expected weaker results because of the dry summer, which cut "
        "output at several plants. \"It is a very good result,\" said Maria Rossi, the "
        "chief executive, in an interview. The company will pay a dividend in March."
    ),
}

# (case name, generation settings). min_length/max_length count the decoder start token,
# as both transformers and rust-bert do; the equivalent *_new_tokens are recorded too.
CASES = [
    ("greedy", dict(num_beams=1, no_repeat_ngram_size=0)),
    ("greedy_no_repeat_3", dict(num_beams=1, no_repeat_ngram_size=3)),
    ("beam2_no_repeat_3", dict(num_beams=2, no_repeat_ngram_size=3)),
    # Beam search that may not stop at the first num_beams finished hypotheses, with
    # bart-large-cnn's length penalty: the BeamHypotheses.is_done heuristic decides.
    ("beam3_lp2_no_early_stop",
     dict(num_beams=3, no_repeat_ngram_size=3, length_penalty=2.0, early_stopping=False)),
]
MIN_LENGTH = 8
MAX_LENGTH = 40

SEQ2SEQ = {
    "bart-tiny": ("BartForConditionalGeneration", "BartTokenizer", "BartTokenizerFast"),
    "t5-tiny": ("T5ForConditionalGeneration", "T5Tokenizer", "T5TokenizerFast"),
    "t5-gated-tiny": ("T5ForConditionalGeneration", "T5Tokenizer", "T5TokenizerFast"),
    "pegasus-tiny": ("PegasusForConditionalGeneration", "PegasusTokenizer",
                     "PegasusTokenizerFast"),
}


# Weights a checkpoint may leave out because transformers computes them: Pegasus'
# sinusoidal position tables (the fixture omits them so that newsgist's own table is tested).
COMPUTED = ("model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight")


def check_computed(model, names: list[str]) -> None:
    """The omitted tables hold transformers' sinusoids, not random values."""
    for name in names:
        module = model.get_submodule(name.rsplit(".", 1)[0])
        expected = module._init_weight(torch.nn.Parameter(torch.empty_like(module.weight)))
        assert torch.equal(module.weight, expected), f"{name} is not the sinusoidal table"


def load_model(cls_name: str, folder: Path):
    """Load with transformers, offline, and insist every weight came from the file, except
    the COMPUTED ones."""
    model, info = getattr(transformers, cls_name).from_pretrained(
        str(folder), local_files_only=True, attn_implementation="eager",
        output_loading_info=True)
    computed = [k for k in info["missing_keys"] if k in COMPUTED]
    info["missing_keys"] = [k for k in info["missing_keys"] if k not in COMPUTED]
    check_computed(model, computed)
    problems = {k: v for k, v in info.items() if v}
    if problems:
        raise SystemExit(f"{folder}: weights do not match the model: {problems}")
    # The Auto classes must resolve the directory too (config.json model_type, tokenizer).
    auto = transformers.AutoConfig.from_pretrained(str(folder), local_files_only=True)
    assert type(auto).__name__ == type(model.config).__name__, type(auto).__name__
    transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    return model.eval()


def load_tokenizers(folder: Path, slow_name: str, fast_name: str):
    slow = getattr(transformers, slow_name).from_pretrained(str(folder), local_files_only=True)
    fast = getattr(transformers, fast_name).from_pretrained(str(folder), local_files_only=True)
    return slow, fast


def encode(slow, fast, text: str, max_len: int) -> tuple[list[int], list[str]]:
    """Slow-tokenizer ids (the reference rust_tokenizers mirrors), checked against fast."""
    ids = slow(text, truncation=True, max_length=max_len)["input_ids"]
    fast_ids = fast(text, truncation=True, max_length=max_len)["input_ids"]
    notes = [] if ids == fast_ids else [f"fast tokenizer differs: {fast_ids}"]
    return ids, notes


def generation_config(model, settings: dict) -> GenerationConfig:
    """A complete GenerationConfig, so nothing is inherited from the model's defaults."""
    cfg = model.config
    return GenerationConfig(
        do_sample=False,
        num_beams=settings["num_beams"],
        num_return_sequences=1,
        min_length=MIN_LENGTH,
        max_length=MAX_LENGTH,
        no_repeat_ngram_size=settings["no_repeat_ngram_size"],
        length_penalty=settings.get("length_penalty", 1.0),
        early_stopping=settings.get("early_stopping", settings["num_beams"] > 1),
        repetition_penalty=1.0,
        decoder_start_token_id=cfg.decoder_start_token_id,
        bos_token_id=cfg.bos_token_id,
        eos_token_id=cfg.eos_token_id,
        pad_token_id=cfg.pad_token_id,
        forced_bos_token_id=getattr(cfg, "forced_bos_token_id", None),
        forced_eos_token_id=getattr(cfg, "forced_eos_token_id", None),
        use_cache=True,
    )


def greedy_margins(scores) -> dict | None:
    """Smallest gap between the chosen and the runner-up processed score, over the steps
    where the choice was free (a forced step has a single finite score): absolute, and
    relative to that step's score standard deviation (what float rounding competes with)."""
    absolute = relative = math.inf
    for step in scores:
        finite = step[0][torch.isfinite(step[0])]
        if finite.numel() < 2:
            continue
        top = torch.topk(finite, 2).values
        gap = float(top[0] - top[1])
        absolute = min(absolute, gap)
        relative = min(relative, gap / float(finite.std()))
    if absolute == math.inf:
        return None
    return {"absolute": round(absolute, 5), "relative_to_std": round(relative, 5)}


def seq2seq_golden(name: str, folder: Path) -> dict:
    model_cls, slow_name, fast_name = SEQ2SEQ[name]
    model = load_model(model_cls, folder)
    slow, fast = load_tokenizers(folder, slow_name, fast_name)
    max_len = model.config.max_position_embeddings if hasattr(
        model.config, "max_position_embeddings") else slow.model_max_length
    cases = []
    for text_name, text in TEXTS.items():
        ids, notes = encode(slow, fast, text, max_len)
        for case_name, settings in CASES:
            gen = generation_config(model, settings)
            with torch.no_grad():
                out = model.generate(
                    torch.tensor([ids]),
                    attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                    generation_config=gen,
                    output_scores=True,
                    return_dict_in_generate=True,
                )
            output_ids = out.sequences[0].tolist()
            recorded = {k: v for k, v in gen.to_diff_dict().items()
                        if k not in ("transformers_version", "output_scores",
                                     "return_dict_in_generate")}
            # None values are dropped by to_diff_dict; record them, they are deliberate.
            recorded.setdefault("forced_bos_token_id", gen.forced_bos_token_id)
            recorded.setdefault("forced_eos_token_id", gen.forced_eos_token_id)
            recorded.update(min_new_tokens=MIN_LENGTH - 1, max_new_tokens=MAX_LENGTH - 1,
                            do_sample=False, length_penalty=gen.length_penalty,
                            repetition_penalty=1.0, early_stopping=gen.early_stopping)
            case = {
                "name": f"{text_name}/{case_name}",
                "text": text,
                "input_ids": ids,
                "input_truncated_to": max_len if len(ids) == max_len else None,
                "settings": dict(sorted(recorded.items())),
                "output_ids": output_ids,
                "output_text": slow.decode(output_ids, skip_special_tokens=True,
                                           clean_up_tokenization_spaces=False),
            }
            if settings["num_beams"] == 1:
                case["min_logit_margin"] = greedy_margins(out.scores)
            if notes:
                case["notes"] = notes
            cases.append(case)
    return {"fixture": name, "model_class": model_cls, "tokenizer_class": slow_name,
            "attn_implementation": "eager", "cases": cases}


NER_TEXTS = [
    "Maria Rossi met officials from the bank in Berlin on Monday.",
    "The United Nations said aid would reach Kenya and Egypt next week.",
]


def ner_golden(folder: Path) -> dict:
    model = load_model("BertForTokenClassification", folder)
    slow, fast = load_tokenizers(folder, "BertTokenizer", "BertTokenizerFast")
    cases = []
    for text in NER_TEXTS:
        ids, notes = encode(slow, fast, text, 128)
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0]
        top = torch.topk(logits, 2, dim=-1).values
        case = {
            "text": text,
            "input_ids": ids,
            "tokens": slow.convert_ids_to_tokens(ids),
            "label_ids": logits.argmax(-1).tolist(),
            "labels": [model.config.id2label[i] for i in logits.argmax(-1).tolist()],
            "min_logit_margin": round(float((top[:, 0] - top[:, 1]).min()), 4),
            "logits_first_token": [round(float(x), 5) for x in logits[0]],
        }
        if notes:
            case["notes"] = notes
        cases.append(case)
    return {"fixture": "bert-ner-tiny", "model_class": "BertForTokenClassification",
            "tokenizer_class": "BertTokenizer", "cases": cases}


def summarize(golden: dict) -> str:
    """One line per fixture showing that the outputs are varied and the cases differ."""
    cases = golden["cases"]
    if "output_ids" not in cases[0]:
        labels = sorted({label for case in cases for label in case["labels"]})
        return f"  {golden['fixture']}: labels predicted {labels}"
    distinct = [len(set(case["output_ids"])) for case in cases]
    outputs = {tuple(case["output_ids"]) for case in cases}
    margins = [case["min_logit_margin"]["relative_to_std"] for case in cases
               if case.get("min_logit_margin")]
    by_text: dict[str, dict[str, tuple]] = {}
    for case in cases:
        text, setting = case["name"].split("/")
        by_text.setdefault(text, {})[setting] = tuple(case["output_ids"])
    no_repeat_matters = sum(v["greedy"] != v["greedy_no_repeat_3"] for v in by_text.values())
    beam_matters = sum(v["greedy_no_repeat_3"] != v["beam2_no_repeat_3"]
                       for v in by_text.values())
    return (f"  {golden['fixture']}: distinct tokens per output {distinct}; "
            f"{len(outputs)}/{len(cases)} distinct outputs; no_repeat_ngram changes "
            f"{no_repeat_matters}/{len(by_text)} texts, beams change {beam_matters}; "
            f"min relative greedy margin {min(margins)}")


def golden_for(name: str, folder: Path) -> dict:
    body = ner_golden(folder) if name == "bert-ner-tiny" else seq2seq_golden(name, folder)
    manifest = json.loads((folder / make_fixtures.MANIFEST).read_text(encoding="utf-8"))
    return {
        "generated_by": "models/make_golden.py",
        "torch": torch.__version__.split("+")[0],
        "transformers": transformers.__version__,
        "fixture_version": manifest["fixture_version"],
        "fixture_sha256": {k: v["sha256"] for k, v in manifest["files"].items()},
        **body,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixtures", type=Path, default=HERE / "fixtures")
    parser.add_argument("--out", type=Path, default=HERE / "golden")
    parser.add_argument("--check", action="store_true",
                        help="fail if a golden file would change instead of writing it")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # single-threaded kernels: the most reproducible reductions
    make_fixtures.main(["--out", str(args.fixtures)])
    args.out.mkdir(parents=True, exist_ok=True)
    stale = []
    for name in make_fixtures.FIXTURES:
        text = json.dumps(golden_for(name, args.fixtures / name), indent=1,
                          ensure_ascii=False) + "\n"
        path = args.out / f"{name}.json"
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
        print(summarize(json.loads(text)))
    if stale:
        print("golden files out of date:", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
