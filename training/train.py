"""Trains the embedded model from nothing: first the VAE on rendered scenes, then the text encoder and UNet
together on the VAE's latents. Reproducible from `--seed`; `--preset cpu` finishes on a 2-core CPU in under
two hours; `--preset gpu` trains an 8x-latent design on a CUDA card; `--device cuda` runs any preset there.

    python -m training.train --preset cpu --out runs/embedded
"""

from __future__ import annotations

import argparse
from dataclasses import fields, replace
from pathlib import Path

import torch

from training.plan import LOW_NOISE_TIMESTEPS, PRESETS, TrainingPlan
from training.trainer import Trainer, device_name


def _block_counts(text: str) -> tuple[int, ...]:
    """ "3,2,2,1,1" -> (3, 2, 2, 1, 1), for --decoder-blocks."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers joined by commas, like 3,2,2,1,1; got {text!r}"
        ) from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the embedded text-to-image model on rendered scenes.")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    parser.add_argument("--out", type=Path, required=True, help="folder for the trained pipeline")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", help="cuda or cpu (default: cuda when present)")
    parser.add_argument("--vae-minutes", type=float, help="override the preset's VAE time budget")
    parser.add_argument("--diffusion-minutes", type=float, help="override the preset's diffusion time budget")
    parser.add_argument("--diffusion-batch", type=int, help="override the preset's diffusion batch size")
    parser.add_argument(
        "--diffusion-learning-rate",
        type=float,
        help="override the preset's peak diffusion learning rate (lower suits a continuation)",
    )
    parser.add_argument(
        "--diffusion-two-object-share",
        type=float,
        help="the share of two-object scenes the diffusion stage trains on (default 0.35)",
    )
    parser.add_argument(
        "--diffusion-outline-weights",
        action="store_true",
        help="weigh the diffusion loss 13x on the latent cells an object's edge crosses "
        "(default: 5x on an object's cells)",
    )
    parser.add_argument(
        "--diffusion-small-object-share",
        type=float,
        help="the share of the diffusion stage's scenes whose objects are all small (default 0)",
    )
    parser.add_argument(
        "--diffusion-low-noise-share",
        type=float,
        help=f"the share of each diffusion batch noised to a timestep under {LOW_NOISE_TIMESTEPS}, "
        "where the outlines are finished (default 0: every timestep alike)",
    )
    parser.add_argument(
        "--diffusion-star-share",
        type=float,
        help="the share of the diffusion stage's scenes with one object turned into a star (default 0)",
    )
    parser.add_argument(
        "--diffusion-long-prompt-share",
        type=float,
        help="the share of the diffusion stage's prompts written behind a long lead-in such as "
        "'please make a nice simple picture of' (default 0)",
    )
    parser.add_argument("--continue-from", type=Path, help="a trained pipeline folder to go on training")
    parser.add_argument(
        "--decoder-minutes", type=float, help="with --continue-from: first train the VAE's decoder alone this long"
    )
    parser.add_argument(
        "--decoder-width", type=int, help="with --decoder-minutes: widen the saved decoder to this many channels first"
    )
    parser.add_argument(
        "--decoder-blocks",
        type=_block_counts,
        help="with --decoder-minutes: residual blocks per decoder level, from the latent's size "
        "up (e.g. 3,2,2,1,1); a level may only gain blocks",
    )
    parser.add_argument(
        "--decoder-two-object-share",
        type=float,
        help="with --decoder-minutes: the share of two-object scenes the decoder trains on "
        "(default 0.35, as every other stage)",
    )
    parser.add_argument(
        "--decoder-redrawn-share",
        type=float,
        help="with --decoder-minutes: the share of the decoder's pictures whose latents the UNet "
        "first redraws from part-way noise, as it draws them at inference (default 0)",
    )
    parser.add_argument(
        "--decoder-small-object-share",
        type=float,
        help="with --decoder-minutes: the share of the decoder's pictures whose objects are all small (default 0)",
    )
    parser.add_argument(
        "--decoder-star-share",
        type=float,
        help="with --decoder-minutes: the share of the decoder's pictures with one object turned "
        "into a star (default 0)",
    )
    args = parser.parse_args(argv)

    plan = replace(PRESETS[args.preset], seed=args.seed)
    if args.vae_minutes is not None:
        plan = replace(plan, vae=replace(plan.vae, minutes=args.vae_minutes))
    if args.diffusion_minutes is not None:
        plan = replace(plan, diffusion=replace(plan.diffusion, minutes=args.diffusion_minutes))
    if args.diffusion_batch is not None:
        plan = replace(plan, diffusion=replace(plan.diffusion, batch=args.diffusion_batch))
    if args.diffusion_learning_rate is not None:
        plan = replace(plan, diffusion=replace(plan.diffusion, learning_rate=args.diffusion_learning_rate))
    if args.diffusion_outline_weights:
        plan = replace(plan, diffusion_outline_weights=True)
    if args.decoder_minutes is not None:
        if not args.continue_from:
            parser.error("--decoder-minutes trains a saved VAE's decoder: it needs --continue-from")
        plan = replace(
            plan, decoder=replace(plan.vae, learning_rate=plan.vae.learning_rate / 4, minutes=args.decoder_minutes)
        )
    # Each share flag is its plan field's name in dashes.
    share_fields = [plan_field.name for plan_field in fields(TrainingPlan) if plan_field.name.endswith("_share")]
    decoder_shares = [name for name in share_fields if name.startswith("decoder_")]
    decoder_fields = ["decoder_width", "decoder_blocks", *decoder_shares]
    given = ["--" + name.replace("_", "-") for name in decoder_fields if getattr(args, name) is not None]
    if given and args.decoder_minutes is None:
        parser.error(f"{' and '.join(given)}: only for a decoder stage, which needs --decoder-minutes")
    for share_field in share_fields:
        share = getattr(args, share_field)
        if share is None:
            continue
        if not 0.0 <= share <= 1.0:
            parser.error(f"--{share_field.replace('_', '-')} is a share: from 0 to 1")
        plan = replace(plan, **{share_field: share})
    if args.decoder_width is not None or args.decoder_blocks is not None:
        plan = replace(
            plan,
            architecture=replace(
                plan.architecture, decoder_width=args.decoder_width, decoder_blocks=args.decoder_blocks
            ),
        )
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True  # four picture shapes: each tuned once
    try:
        trainer = Trainer(plan, device)
        if args.continue_from:
            trainer.continue_from(args.continue_from)
    except ValueError as error:  # a plan the trainer cannot run, or a saved part that cannot grow into it
        parser.error(str(error))
    print(f"training on {device_name(device)}: preset {args.preset}, seed {args.seed}", flush=True)
    trainer.train_vae()
    trainer.train_decoder()
    trainer.vae.save_pretrained(args.out / "vae")  # to look at while the rest trains; saved again at the end
    trainer.train_diffusion()
    trainer.save(args.out)
    print(f"saved the pipeline to {args.out}", flush=True)


if __name__ == "__main__":
    main()
