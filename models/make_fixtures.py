#!/usr/bin/env python3
"""Generate tiny random-weight Hugging Face-format models for newsgist's loader tests.

The machines that build and test newsgist cannot reach the Hugging Face hub, so the
model-loading code is tested against small models generated here: real architectures
(BART, T5, Pegasus, BERT token classification), random weights from fixed seeds, and
tokenizers trained on a built-in English text. Nothing is downloaded and nothing is read
from outside this file, so the fixtures build on any machine with the Python venv.

Usage:
    make_fixtures.py [--out models/fixtures] [--only NAME] [--force]
    make_fixtures.py --bench-bart-large [DIR]   # BART-large-CNN architecture, random weights

Summarisation models are written as transformers' ``save_pretrained`` writes hub
checkpoints: tied copies (``lm_head.weight``, ``*.embed_tokens.weight``) left out, and
Pegasus' sinusoidal position tables too (transformers computes them when absent), so the
loader is tested on the layout real checkpoints have. The NER model keeps every tied copy,
because rust-bert/tch load variables by name and fail on any missing one.
``manifest.json`` in each fixture lists the tensor names and shapes and the sha256 of every
file, and marks the fixture complete.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

MANIFEST = "manifest.json"
# Bumped whenever the generated content changes, so stale fixtures are rebuilt.
FIXTURE_VERSION = 5
DEFAULT_BENCH_DIR = Path.home() / ".cache/newsgist/models/bart-large-cnn-random"

# --------------------------------------------------------------------------------------
# Built-in training text. Written for this project (no third-party text), news-like in
# register so the tokenizers learn ordinary English words, numbers and punctuation.
# --------------------------------------------------------------------------------------

BASE_TEXT = """\
The city council voted on Tuesday to approve a new budget for public transport.
Officials said the plan would add more buses to routes in the north of the city.
The minister told reporters that talks with the union would continue next week.
Police said a man had been arrested after a car crashed into a shop on Friday night.
Nobody was seriously hurt, according to a statement from the fire service.
Shares in the company rose by 4.5 per cent after it reported higher profits.
The report, published on Monday, found that prices had risen for the third month in a row.
Heavy rain caused flooding in several towns, and some schools were closed.
The president will visit the region in March, the government announced.
Scientists at the university have developed a cheaper way to store solar energy.
The team won the final 2-1 after a late goal from their captain.
More than 3,000 people attended the festival, which ended on Sunday.
A spokesperson for the hospital said the patient was in a stable condition.
The court heard that the defendant had denied all of the charges against him.
Farmers have warned that the dry summer could reduce the harvest by a quarter.
The bank kept interest rates unchanged, citing uncertainty about the economy.
Residents were asked to leave their homes as firefighters tackled the blaze.
The airline cancelled dozens of flights because of the strike.
Voters will go to the polls in June to elect a new parliament.
The museum reopened its doors after a two-year renovation costing 12 million dollars.
"It is a very difficult situation for everyone," she said in an interview.
Investigators are still trying to establish the cause of the accident.
The agreement was signed by leaders from both countries at a ceremony in the capital.
Unemployment fell to 5.1% in the three months to September, official figures show.
The company said it would cut 400 jobs as part of a plan to reduce costs.
Emergency services were called to the scene shortly after 7am.
The new law, which comes into force next year, will require firms to publish data.
Doctors say the number of cases has fallen sharply since the start of the year.
The singer announced a world tour that will begin in London in April.
Thousands of people marched through the streets to protest against the decision.
"""

FIRST_NAMES = (
    "John Mary David Sarah Michael Laura James Emma Robert Anna Peter Maria Thomas "
    "Sophie Daniel Grace Ahmed Fatima Chen Wei Olga Ivan Carlos Lucia Kofi Amara"
).split()
LAST_NAMES = (
    "Smith Johnson Brown Taylor Wilson Clarke Evans Walker Wright Hughes Green Hall "
    "Khan Patel Garcia Rossi Muller Novak Kim Tanaka Okafor Silva Dubois Jensen"
).split()
PLACES = (
    "London Paris Berlin Madrid Rome Tokyo Beijing Delhi Cairo Lagos Nairobi Sydney "
    "Toronto Chicago Boston Texas California Scotland Wales Ireland Brazil Mexico "
    "Canada Germany France Spain Italy Japan China India Kenya Egypt"
).split()
ORGS = [
    "the government", "the police", "the council", "the ministry", "the university",
    "the hospital", "the bank", "the company", "the union", "the court", "the club",
    "the army", "the agency", "the charity", "the airline", "the board",
]
VERBS = [
    "said", "announced", "confirmed", "denied", "reported", "warned", "claimed",
    "revealed", "argued", "insisted", "suggested", "admitted", "estimated",
]
EVENTS = [
    "a fire broke out in a warehouse", "prices rose again", "the talks had failed",
    "the project would be delayed", "two people were injured", "the deal was agreed",
    "the vote would take place next month", "the suspect was released on bail",
    "the match was postponed because of snow", "sales had fallen sharply",
    "new rules would be introduced", "the road would remain closed",
    "more staff would be hired", "the investigation was continuing",
    "the building had been evacuated", "the plan would cost more than expected",
]
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
MONTHS = (
    "January February March April May June July August September October November December"
).split()


def training_text(n_sentences: int, seed: int) -> list[str]:
    """Return the built-in lines plus ``n_sentences`` generated news-style sentences."""
    rng = random.Random(seed)
    lines = [line for line in BASE_TEXT.splitlines() if line.strip()]
    for _ in range(n_sentences):
        who = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        template = rng.randrange(5)
        if template == 0:
            line = (
                f"{who}, a spokesperson for {rng.choice(ORGS)} in {rng.choice(PLACES)}, "
                f"{rng.choice(VERBS)} that {rng.choice(EVENTS)}."
            )
        elif template == 1:
            line = (
                f"On {rng.choice(WEEKDAYS)}, {rng.choice(ORGS)} {rng.choice(VERBS)} that "
                f"{rng.choice(EVENTS)} in {rng.choice(PLACES)}."
            )
        elif template == 2:
            line = (
                f"In {rng.choice(MONTHS)} {rng.randrange(1990, 2030)}, {who} "
                f"{rng.choice(VERBS)} that {rng.randrange(2, 5000)} people were affected."
            )
        elif template == 3:
            line = (
                f'"{rng.choice(EVENTS).capitalize()}," {who} {rng.choice(VERBS)} '
                f"on {rng.choice(WEEKDAYS)}."
            )
        else:
            line = (
                f"{rng.choice(ORGS).capitalize()} {rng.choice(VERBS)} that "
                f"{rng.choice(EVENTS)}, and that {rng.choice(EVENTS)}."
            )
        lines.append(line)
    return lines


# --------------------------------------------------------------------------------------
# Tokenizers
# --------------------------------------------------------------------------------------


def write_bart_tokenizer(out: Path, vocab_size: int, pad_to: int | None, seed: int) -> int:
    """Train a byte-level BPE (RoBERTa/BART layout) and write vocab.json + merges.txt.

    Special ids match facebook/bart-large-cnn: <s>=0, <pad>=1, </s>=2, <unk>=3; <mask> is
    the last id. With ``pad_to`` the vocabulary is extended with unreachable synthetic
    tokens (no merge produces them) so that ids up to ``pad_to - 1`` exist, as the
    full-size benchmark model needs. Returns the vocabulary size.
    """
    from tokenizers import ByteLevelBPETokenizer

    tok = ByteLevelBPETokenizer(add_prefix_space=False, trim_offsets=True)
    tok.train_from_iterator(
        training_text(6000, seed),
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        show_progress=False,
    )
    with tempfile.TemporaryDirectory() as tmp:
        tok.save_model(tmp)
        vocab = json.loads(Path(tmp, "vocab.json").read_text(encoding="utf-8"))
        merges = Path(tmp, "merges.txt").read_text(encoding="utf-8")
    size_wanted = (pad_to - 1) if pad_to else len(vocab)
    filler = 0
    while len(vocab) < size_wanted:
        name = f"<extra_{filler}>"
        filler += 1
        if name not in vocab:
            vocab[name] = len(vocab)
    vocab["<mask>"] = len(vocab)
    assert sorted(vocab.values()) == list(range(len(vocab))), "vocab ids must be dense"
    (out / "vocab.json").write_text(
        json.dumps(vocab, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )
    (out / "merges.txt").write_text(merges, encoding="utf-8")
    special = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "pad_token": "<pad>",
        "mask_token": {"content": "<mask>", "lstrip": True, "normalized": True,
                       "rstrip": False, "single_word": False},
    }
    write_json(out / "special_tokens_map.json", special)
    write_json(
        out / "tokenizer_config.json",
        {
            "tokenizer_class": "BartTokenizer",
            "model_max_length": None,  # replaced by the caller
            "add_prefix_space": False,
            "trim_offsets": True,
            "errors": "replace",
            **special,
        },
    )
    return len(vocab)


def train_sentencepiece(out: Path, vocab_size: int, seed: int) -> int:
    """Train a unigram sentencepiece model with pad=0, eos=1, unk=2 (T5/Pegasus layout).

    Writes ``spiece.model``; returns its piece count.
    """
    import sentencepiece as spm

    # Training from an iterator into a buffer keeps temporary paths (which the trainer
    # would record in the model) out of the file, so it is byte-for-byte reproducible.
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training_text(6000, seed)),
        model_writer=model,
        model_type="unigram",
        vocab_size=vocab_size,
        character_coverage=1.0,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        pad_piece="<pad>",
        eos_piece="</s>",
        unk_piece="<unk>",
        num_threads=1,
        shuffle_input_sentence=False,
        minloglevel=2,
    )
    (out / "spiece.model").write_bytes(model.getvalue())
    sp = spm.SentencePieceProcessor(model_file=str(out / "spiece.model"))
    return sp.get_piece_size()


def write_wordpiece_vocab(out: Path, vocab_size: int, seed: int) -> int:
    """Write a cased WordPiece vocab.txt (BERT layout) built from the training text.

    Built by counting rather than with the tokenizers WordPiece trainer, whose output
    varies between runs on ties. The vocabulary holds the special tokens, every character
    seen (bare and as a ``##`` continuation, so any word of those characters tokenizes
    without [UNK]) and then the most frequent whole words, ties broken alphabetically.
    """
    import re
    from collections import Counter

    words = Counter()
    for line in training_text(6000, seed):
        words.update(re.findall(r"\w+|[^\w\s]", line))
    chars = sorted({c for word in words for c in word})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += chars + [f"##{c}" for c in chars]
    known = set(vocab)
    for word, _count in sorted(words.items(), key=lambda item: (-item[1], item[0])):
        if len(vocab) >= vocab_size:
            break
        if word not in known:
            vocab.append(word)
            known.add(word)
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    write_json(
        out / "special_tokens_map.json",
        {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
         "cls_token": "[CLS]", "mask_token": "[MASK]"},
    )
    write_json(
        out / "tokenizer_config.json",
        {"tokenizer_class": "BertTokenizer", "do_lower_case": False,
         "strip_accents": False, "tokenize_chinese_chars": True, "model_max_length": 128},
    )
    return len((out / "vocab.txt").read_text(encoding="utf-8").splitlines())


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------


def write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def init_model(model_cls, config, seed: int):
    """Build ``model_cls(config)`` with a fixed seed, in eval mode, on the CPU."""
    torch.manual_seed(seed)
    model = model_cls(config)
    model.eval()
    return model


def save_weights(model, out: Path, *, hub_layout: bool,
                 computed: tuple[str, ...] = ()) -> dict[str, list[int]]:
    """Save the state_dict as model.safetensors. With ``hub_layout``, a tensor sharing storage
    with an earlier one (a tied copy) is left out, as save_pretrained does, and so are the
    ``computed`` names; otherwise every name is kept."""
    tensors = {}
    seen = set()
    for name, tensor in model.state_dict().items():
        if hub_layout and (tensor.data_ptr() in seen or name in computed):
            continue
        seen.add(tensor.data_ptr())
        tensors[name] = tensor.detach().to(torch.float32).clone().contiguous()
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    return {name: list(t.shape) for name, t in sorted(tensors.items())}


def save_config(model, out: Path, extra: dict, generation: dict) -> None:
    """Write config.json (transformers fields + ``extra``) and generation_config.json.

    The config is written directly rather than through save_pretrained, which refuses
    generation parameters in config.json; real checkpoints such as bart-large-cnn carry
    them there, and rust-bert reads some of them.
    """
    config = model.config.to_dict()
    config.pop("_name_or_path", None)
    config.pop("transformers_version", None)
    config["architectures"] = [type(model).__name__]
    config.update(extra)
    config.update(generation)
    write_json(out / "config.json", config)
    gen = {
        key: config[key]
        for key in ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id",
                    "forced_bos_token_id", "forced_eos_token_id")
        if config.get(key) is not None
    }
    gen.update(generation)
    write_json(out / "generation_config.json", gen)


def scale_init(model, emb_std: float, w_std: float) -> None:
    """Redraw embeddings with N(0, emb_std) and linear weights with N(0, w_std).

    The transformers default (std 0.02) makes a tiny random model's output nearly
    independent of its input: greedy decoding repeats one token whatever the article. Wide
    linear weights make the output depend on the input and the step, so the golden outputs
    exercise the whole model; the seeds in FIXTURES were picked (out of six tried) for
    varied greedy outputs and a wide gap between the best and second-best token, so the
    golden ids are robust to float rounding differences between implementations.
    Norms and biases keep their initial values; frozen parameters (Pegasus' sinusoidal
    positions) are computed, not learnt, and stay as they are.
    """
    with torch.no_grad():
        shared = model.get_input_embeddings().weight
        for module in model.modules():
            if isinstance(module, torch.nn.Embedding) and module.weight.requires_grad:
                module.weight.normal_(0.0, emb_std)
            elif isinstance(module, torch.nn.Linear) and module.weight is not shared:
                module.weight.normal_(0.0, w_std)
        model.tie_weights()
        # The padding row stays zero, as nn.Embedding(padding_idx=...) initialises it.
        pad = model.config.pad_token_id
        if pad is not None:
            shared[pad].zero_()


BART_LARGE_CNN_GENERATION = {
    "early_stopping": True,
    "length_penalty": 2.0,
    "max_length": 142,
    "min_length": 56,
    "no_repeat_ngram_size": 3,
    "num_beams": 4,
}


def bart_config(vocab_size: int, *, large: bool):
    from transformers import BartConfig

    dims = (
        dict(d_model=1024, encoder_layers=12, decoder_layers=12, encoder_attention_heads=16,
             decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096,
             max_position_embeddings=1024)
        if large
        else dict(d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                  decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128,
                  max_position_embeddings=128)
    )
    return BartConfig(
        vocab_size=vocab_size,
        activation_function="gelu",
        dropout=0.1,
        attention_dropout=0.0,
        activation_dropout=0.0,
        init_std=0.02,
        scale_embedding=False,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_bos_token_id=0,
        forced_eos_token_id=2,
        classif_dropout=0.0,
        **dims,
    )


# Fields bart-large-cnn's config.json carries that transformers no longer writes; rust-bert
# reads normalize_embedding / static_position_embeddings / output_past when present.
BART_LEGACY_FIELDS = {
    "add_bias_logits": False,
    "add_final_layer_norm": False,
    "extra_pos_embeddings": 2,
    "normalize_before": False,
    "normalize_embedding": True,
    "output_past": True,
    "static_position_embeddings": False,
}


def build_bart(out: Path, corpus_seed: int, model_seed: int, *, large: bool) -> dict:
    from transformers import BartForConditionalGeneration

    vocab_size = write_bart_tokenizer(
        out, vocab_size=8000 if large else 1000, pad_to=50265 if large else None,
        seed=corpus_seed,
    )
    # bart-large-cnn's config says vocab_size 50264 while its tokenizer has 50265 entries
    # (<mask> = 50264 has no embedding row). The benchmark model keeps that quirk so the
    # shapes are exactly bart-large-cnn's; the tiny model covers every id.
    model_vocab = 50264 if large else vocab_size
    config = bart_config(model_vocab, large=large)
    model = init_model(BartForConditionalGeneration, config, model_seed)
    if not large:
        scale_init(model, emb_std=1.0, w_std=1.0)
        # bart-large-cnn's bias is all zeros; a random one proves it is applied. The lift on
        # the end token makes hypotheses finish at different steps (greedy and beam outputs of
        # 9 to 40 tokens on the golden texts), so parity covers how the search ends them.
        with torch.no_grad():
            model.final_logits_bias.normal_(0.0, 1.0)
            model.final_logits_bias[0, config.eos_token_id] += 25.0
    max_len = config.max_position_embeddings
    tok_cfg = json.loads((out / "tokenizer_config.json").read_text())
    tok_cfg["model_max_length"] = max_len
    write_json(out / "tokenizer_config.json", tok_cfg)
    generation = dict(BART_LARGE_CNN_GENERATION)
    if not large:
        # Scaled to the tiny model's 128 positions.
        generation.update(max_length=40, min_length=10)
    extra = dict(BART_LEGACY_FIELDS)
    extra["task_specific_params"] = {"summarization": dict(generation)}
    save_config(model, out, extra, generation)
    return save_weights(model, out, hub_layout=True)


def build_t5(out: Path, corpus_seed: int, model_seed: int, *, gated: bool) -> dict:
    """t5-small's layout, or with ``gated`` T5 v1.1's (google/t5-v1_1-*, flan-t5): gated-GELU
    feed-forward, an output layer of its own instead of the tied embeddings, and attention
    narrower than the model (heads x d_kv = 32 against d_model 64, as flan-t5-small's 384
    against 512)."""
    from transformers import T5Config, T5ForConditionalGeneration

    pieces = train_sentencepiece(out, vocab_size=600, seed=corpus_seed)
    extra_ids = 100
    config = T5Config(
        # T5Tokenizer appends <extra_id_0..99> after the sentencepiece pieces.
        vocab_size=pieces + extra_ids,
        d_model=64,
        d_kv=8 if gated else 16,
        d_ff=128,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        dropout_rate=0.1,
        layer_norm_epsilon=1e-6,
        initializer_factor=1.0,
        feed_forward_proj="gated-gelu" if gated else "relu",
        tie_word_embeddings=not gated,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    model = init_model(T5ForConditionalGeneration, config, model_seed)
    scale_init(model, emb_std=1.0, w_std=2.0)
    write_json(
        out / "special_tokens_map.json",
        {"eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
         "additional_special_tokens": [f"<extra_id_{i}>" for i in range(extra_ids)]},
    )
    write_json(
        out / "tokenizer_config.json",
        {"tokenizer_class": "T5Tokenizer", "extra_ids": extra_ids, "eos_token": "</s>",
         "pad_token": "<pad>", "unk_token": "<unk>", "model_max_length": 128,
         "legacy": True,
         "additional_special_tokens": [f"<extra_id_{i}>" for i in range(extra_ids)]},
    )
    generation = {"max_length": 40, "min_length": 10, "no_repeat_ngram_size": 3,
                  "num_beams": 4, "length_penalty": 2.0, "early_stopping": True}
    # t5-small's config.json carries all four task entries and n_positions; so does this one.
    translation = {"early_stopping": True, "max_length": 40, "num_beams": 4}
    extra = {
        "n_positions": 128,
        "output_past": True,
        "task_specific_params": {
            "summarization": dict(generation, prefix="summarize: "),
            "translation_en_to_de": dict(translation, prefix="translate English to German: "),
            "translation_en_to_fr": dict(translation, prefix="translate English to French: "),
            "translation_en_to_ro": dict(translation,
                                         prefix="translate English to Romanian: "),
        },
    }
    save_config(model, out, extra, generation)
    return save_weights(model, out, hub_layout=True)


def build_pegasus(out: Path, corpus_seed: int, model_seed: int) -> dict:
    from transformers import PegasusConfig, PegasusForConditionalGeneration

    pieces = train_sentencepiece(out, vocab_size=600, seed=corpus_seed)
    offset = 103  # PegasusTokenizer: pad, eos, <mask_1>, <mask_2>, <unk_2>..<unk_102>
    config = PegasusConfig(
        vocab_size=pieces + offset,
        d_model=64,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        max_position_embeddings=128,
        activation_function="relu",
        dropout=0.1,
        attention_dropout=0.1,
        activation_dropout=0.1,
        init_std=0.02,
        scale_embedding=True,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        forced_eos_token_id=1,
    )
    model = init_model(PegasusForConditionalGeneration, config, model_seed)
    scale_init(model, emb_std=1.0, w_std=2.0)
    write_json(
        out / "special_tokens_map.json",
        {"eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
         "mask_token": "<mask_2>"},
    )
    write_json(
        out / "tokenizer_config.json",
        {"tokenizer_class": "PegasusTokenizer", "offset": offset, "eos_token": "</s>",
         "pad_token": "<pad>", "unk_token": "<unk>", "mask_token": "<mask_2>",
         "mask_token_sent": "<mask_1>", "model_max_length": 128},
    )
    generation = {"max_length": 40, "min_length": 10, "no_repeat_ngram_size": 3,
                  "num_beams": 4, "length_penalty": 0.8}
    # Fields google/pegasus-cnn_dailymail's config.json carries.
    extra = {"normalize_before": True, "normalize_embedding": False,
             "static_position_embeddings": True, "add_bias_logits": False,
             "add_final_layer_norm": True, "output_past": True,
             "task_specific_params": {"summarization": dict(generation)}}
    save_config(model, out, extra, generation)
    return save_weights(model, out, hub_layout=True,
                        computed=("model.encoder.embed_positions.weight",
                                  "model.decoder.embed_positions.weight"))


NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]


def build_bert_ner(out: Path, corpus_seed: int, model_seed: int) -> dict:
    from transformers import BertConfig, BertForTokenClassification

    vocab_size = write_wordpiece_vocab(out, vocab_size=1000, seed=corpus_seed)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=128,
        type_vocab_size=2,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        initializer_range=0.02,
        pad_token_id=0,
        id2label=dict(enumerate(NER_LABELS)),
        label2id={label: i for i, label in enumerate(NER_LABELS)},
    )
    model = init_model(BertForTokenClassification, config, model_seed)
    scale_init(model, emb_std=1.0, w_std=1.0)
    save_config(model, out, {}, {})
    (out / "generation_config.json").unlink()
    return save_weights(model, out, hub_layout=False)


# corpus_seed: the generated tokenizer training text; model_seed: the weights.
FIXTURES = {
    "bart-tiny": lambda out: build_bart(out, corpus_seed=1234, model_seed=1, large=False),
    "t5-tiny": lambda out: build_t5(out, corpus_seed=2345, model_seed=2, gated=False),
    "t5-gated-tiny": lambda out: build_t5(out, corpus_seed=2345, model_seed=3, gated=True),
    "pegasus-tiny": lambda out: build_pegasus(out, corpus_seed=3456, model_seed=6),
    "bert-ner-tiny": lambda out: build_bert_ner(out, corpus_seed=4567, model_seed=1),
}


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_complete(folder: Path) -> bool:
    """True when ``folder`` holds a manifest of this version and every file it lists."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("fixture_version") != FIXTURE_VERSION:
        return False
    files = manifest.get("files", {})
    return bool(files) and all(
        (folder / name).is_file() and (folder / name).stat().st_size == meta["bytes"]
        for name, meta in files.items()
    )


def build(name: str, target: Path, builder, force: bool) -> None:
    if not force and is_complete(target):
        print(f"{name}: present in {target}, skipped (--force rebuilds)")
        return
    start = time.time()
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build in a sibling temp dir and rename, so an interrupted run leaves no half fixture.
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        tensors = builder(tmp)
        files = {
            p.name: {"bytes": p.stat().st_size, "sha256": sha256(p)}
            for p in sorted(tmp.iterdir())
        }
        write_json(
            tmp / MANIFEST,
            {"fixture_version": FIXTURE_VERSION, "name": name, "files": files,
             "tensors": tensors, "torch": torch.__version__,
             "transformers": __import__("transformers").__version__},
        )
        # mkdtemp creates a private folder; fixtures are ordinary readable files.
        tmp.chmod(0o755)
        for path in tmp.iterdir():
            path.chmod(0o644)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    print(f"{name}: written to {target} in {time.time() - start:.1f}s "
          f"({len(tensors)} tensors)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "fixtures")
    parser.add_argument("--only", choices=sorted(FIXTURES), action="append",
                        help="build only this fixture (repeatable)")
    parser.add_argument("--force", action="store_true", help="rebuild even if complete")
    parser.add_argument("--bench-bart-large", nargs="?", const=DEFAULT_BENCH_DIR, type=Path,
                        metavar="DIR",
                        help=f"write a BART-large-CNN-shaped random model (default {DEFAULT_BENCH_DIR})")
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    if args.bench_bart_large:
        build("bart-large-cnn-random", args.bench_bart_large.expanduser(),
              lambda out: build_bart(out, corpus_seed=5678, model_seed=5678, large=True), args.force)
        return 0
    for name in args.only or FIXTURES:
        build(name, args.out / name, FIXTURES[name], args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
