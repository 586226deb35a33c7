"""Average the UNet and text encoder of trained pipelines that share one VAE (a "model soup").

Two continuations of one model often trade verdicts (one mends stars, the other keeps sizes); the mean of
their weights can keep both. Only pipelines with a byte-identical VAE may be averaged: a UNet draws in its
VAE's latent space. Everything else (VAE, tokenizer, scheduler, engine defaults) is the first pipeline's.

    python -m training.average runs/d10 runs/f12 --out runs/v11
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

#: The parts whose weights are averaged; the VAE must be the same in every pipeline.
AVERAGED_PARTS = ("unet", "text_encoder")


class CannotAverage(ValueError):
    """The pipelines are not one design on one VAE, or a folder is not a pipeline."""


def average_pipelines(pipelines: list[Path], out: Path) -> Path:
    """Write to `out` the first of `pipelines` with its UNet and text encoder replaced by all of theirs' mean."""
    for pipeline in pipelines:
        if not (pipeline / "model_index.json").is_file():
            raise CannotAverage(f"{pipeline} is not a pipeline folder (no model_index.json)")
    first = pipelines[0]
    first_vae = _vae_bytes(first)
    for pipeline in pipelines[1:]:
        if _vae_bytes(pipeline) != first_vae:
            raise CannotAverage(f"{pipeline}'s VAE differs from {first}'s: their UNets draw in different latents")
    if out.exists():
        raise CannotAverage(f"{out} already exists; choose a new folder")
    averaged = {
        part: {
            name: _mean([load_file(str(pipeline / part / name)) for pipeline in pipelines], part)
            for name in _weight_files(first, part)
        }
        for part in AVERAGED_PARTS
    }
    shutil.copytree(first, out)
    for part, files in averaged.items():
        for name, weights in files.items():
            save_file(weights, str(out / part / name), metadata={"format": "pt"})
    report_file = out / "training.json"
    report = json.loads(report_file.read_text()) if report_file.is_file() else {}
    report["averaged_from"] = [str(pipeline) for pipeline in pipelines]
    report_file.write_text(json.dumps(report, indent=2) + "\n")
    return out


def _weight_files(pipeline: Path, part: str) -> list[str]:
    return sorted(path.name for path in (pipeline / part).glob("*.safetensors"))


def _vae_bytes(pipeline: Path) -> dict[str, bytes]:
    return {name: (pipeline / "vae" / name).read_bytes() for name in _weight_files(pipeline, "vae")}


def _mean(state_dicts: list[dict[str, torch.Tensor]], part: str) -> dict[str, torch.Tensor]:
    first = state_dicts[0]
    shapes = {name: tensor.shape for name, tensor in first.items()}
    for other in state_dicts[1:]:
        if {name: tensor.shape for name, tensor in other.items()} != shapes:
            raise CannotAverage(f"the {part}s are not one design (their weights' names or shapes differ)")
    return {name: (_total(state_dicts, name) / len(state_dicts)).to(tensor.dtype) for name, tensor in first.items()}


def _total(state_dicts: list[dict[str, torch.Tensor]], name: str) -> torch.Tensor:
    total = sum(weights[name].float() for weights in state_dicts)
    assert isinstance(total, torch.Tensor)
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Average the UNet and text encoder of pipelines on one VAE.")
    parser.add_argument("pipelines", type=Path, nargs="+", help="two or more trained pipeline folders")
    parser.add_argument("--out", type=Path, required=True, help="a new folder for the averaged pipeline")
    args = parser.parse_args(argv)
    if len(args.pipelines) < 2:
        parser.error("give two or more pipelines to average")
    try:
        average_pipelines(args.pipelines, args.out)
    except CannotAverage as error:
        parser.error(str(error))
    print(f"saved the mean of {len(args.pipelines)} pipelines to {args.out}", flush=True)


if __name__ == "__main__":
    main()
