#!/usr/bin/env python3
"""Convert a downloaded Hugging Face model directory from pytorch_model.bin to model.safetensors.

newsgist reads safetensors but not PyTorch pickles, and some model repositories
(sshleifer/distilbart-*, google/pegasus-cnn_dailymail) ship only pytorch_model.bin.
`newsgist models fetch NAME` prints the command to run for them:

    ~/.cache/newsgist/py-torch-2.4.0/bin/python models/convert_to_safetensors.py DIR

DIR is the model directory (for the hub cache, the snapshots/<commit>/ folder fetch printed).
The model is loaded with transformers from DIR alone (no network), and its state_dict() is
written as save_pretrained writes it: each shared storage once, under its first name, so
tied copies (lm_head.weight, *.embed_tokens.weight) are left out and newsgist ties them
again at load. The file is written next to a temporary name and renamed into place, so an
interrupted run leaves no half file behind.
The weights keep their stored dtype unless --dtype says otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import AutoConfig, AutoModelForSeq2SeqLM  # noqa: E402

DTYPES = {"keep": None, "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def untied_state_dict(model: torch.nn.Module, dtype: torch.dtype | None) -> dict[str, torch.Tensor]:
    """Every named parameter and buffer whose storage no earlier name shares, each as its own
    contiguous tensor."""
    tensors = {}
    seen = set()
    for name, tensor in model.state_dict().items():
        if tensor.data_ptr() in seen:
            continue
        seen.add(tensor.data_ptr())
        tensor = tensor.detach()
        if dtype is not None and tensor.is_floating_point():
            tensor = tensor.to(dtype)
        tensors[name] = tensor.clone().contiguous()
    return tensors


def is_computed(model: torch.nn.Module, name: str) -> bool:
    """Whether parameter `name` belongs to a deterministic, non-learned table."""
    module_name = name.rsplit(".", 1)[0]
    try:
        module = model.get_submodule(module_name)
    except AttributeError:
        return False
    return "Sinusoidal" in type(module).__name__


def convert(directory: Path, output: Path, dtype: torch.dtype | None, force: bool) -> int:
    weights = directory / "pytorch_model.bin"
    if not (directory / "config.json").is_file() or not weights.is_file():
        print(f"error: {directory} needs config.json and pytorch_model.bin", file=sys.stderr)
        return 2
    if output.exists() and not force:
        print(f"{output} already exists; pass --force to convert again")
        return 0
    config = AutoConfig.from_pretrained(directory, local_files_only=True)
    if not getattr(config, "is_encoder_decoder", False):
        print(f"error: {directory} holds a {config.model_type!r} model, not a sequence-to-sequence one",
              file=sys.stderr)
        return 2
    load_dtype = dtype if dtype is not None else "auto"
    model, info = AutoModelForSeq2SeqLM.from_pretrained(
        directory, local_files_only=True, use_safetensors=False, torch_dtype=load_dtype, output_loading_info=True
    )
    # transformers fills parameters the checkpoint lacks with fresh initial values (tied copies
    # are filtered out of this list). That is right only for computed tables such as Pegasus'
    # sinusoidal positions; any other missing weight would be silently random.
    missing = [name for name in info["missing_keys"] if not is_computed(model, name)]
    if missing:
        print(f"error: {weights} lacks {len(missing)} weights of the model, e.g. {sorted(missing)[:5]}",
              file=sys.stderr)
        return 1
    if info["unexpected_keys"]:
        print(f"note: ignored {len(info['unexpected_keys'])} stored tensors the model does not use, e.g. "
              f"{sorted(info['unexpected_keys'])[:5]}")
    model.eval()
    tensors = untied_state_dict(model, dtype)

    temporary = output.with_name(output.name + ".partial")
    save_file(tensors, str(temporary), metadata={"format": "pt"})
    with safe_open(str(temporary), framework="pt") as check:
        written = set(check.keys())
    if written != set(tensors):
        temporary.unlink()
        print("error: the written file does not hold every tensor", file=sys.stderr)
        return 1
    os.replace(temporary, output)
    size = output.stat().st_size
    print(f"wrote {output} ({len(tensors)} tensors, {size / 1e6:.1f} MB)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="model directory holding config.json and pytorch_model.bin")
    parser.add_argument("--output", type=Path, help="output file (default: DIRECTORY/model.safetensors)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="keep", help="weight dtype (default: as stored)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")
    args = parser.parse_args()
    output = args.output or args.directory / "model.safetensors"
    return convert(args.directory, output, DTYPES[args.dtype], args.force)


if __name__ == "__main__":
    sys.exit(main())
