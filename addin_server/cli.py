"""`addin-server`: the command line. Sub-commands: serve (the HTTP server) and generate (PNG files directly)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from addin_server.config import Config, ConfigError
from engine.api import GenerationRequest
from engine.errors import EngineError


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


def parse_size(text: str) -> tuple[int, int]:
    """"512x512" -> (512, 512)."""
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise UsageError(f"--size must look like 512x512, got {text!r}")
    return int(width), int(height)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="addin-server", description="Private image generation for Microsoft 365.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP server (gunicorn) on the configured model")
    serve.add_argument("--host", help="address to listen on (default SERVER_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default SERVER_PORT or 8000)")
    serve.add_argument("--certfile", type=Path, help="PEM certificate for HTTPS (with --keyfile)")
    serve.add_argument("--keyfile", type=Path, help="PEM private key for HTTPS (with --certfile)")
    serve.add_argument("--instance", type=Path, help="data folder (default SERVER_INSTANCE_PATH or ./instance)")
    serve.set_defaults(handler=run_serve)

    generate = commands.add_parser("generate", help="generate images from a prompt into PNG files")
    generate.add_argument("prompt")
    generate.add_argument("--n", type=int, default=1, help="number of images (1-10)")
    generate.add_argument("--size", help="WIDTHxHEIGHT, e.g. 512x512 (default: the model's native size)")
    generate.add_argument("--steps", type=int, help="denoising steps (1-150)")
    generate.add_argument("--guidance", type=float, help="classifier-free guidance scale (0-30)")
    generate.add_argument("--seed", type=int, help="seed of the first image (0-4294967295); random if left out")
    generate.add_argument("--negative", default="", help="negative prompt")
    generate.add_argument("--scheduler", help="scheduler name, e.g. ddim, euler, dpmpp_2m, unipc")
    generate.add_argument("--model", help="a model name from ENGINE_MODELS, a diffusers folder or a cached repo id")
    generate.add_argument("--out", required=True, type=Path, help="a .png file when --n is 1, else a folder")
    generate.set_defaults(handler=run_generate)
    return parser


def run_serve(args: argparse.Namespace, config: Config) -> int:
    """Serve until stopped; bad settings are refused before anything loads."""
    from addin_server.serve import serve

    if (args.certfile is None) != (args.keyfile is None):
        raise UsageError("--certfile and --keyfile go together")
    overrides = {
        "host": args.host, "port": args.port, "certfile": args.certfile, "keyfile": args.keyfile,
        "instance_path": args.instance,
    }
    server = dataclasses.replace(config.server, **{key: value for key, value in overrides.items() if value is not None})
    serve(dataclasses.replace(config, server=server))
    return 0


def run_generate(args: argparse.Namespace, config: Config) -> int:
    """Generate with an in-process engine, show a progress bar on stderr, print one line per image."""
    from tqdm import tqdm

    from addin_server.engine_factory import create_local_engine

    width, height = parse_size(args.size) if args.size else (None, None)
    request = GenerationRequest(
        prompt=args.prompt, negative_prompt=args.negative, n=args.n, width=width, height=height,
        steps=args.steps, guidance_scale=args.guidance, seed=args.seed, scheduler=args.scheduler,
    )
    request.validate()  # fail on bad input before loading a model
    engine, model_name = create_local_engine(config.engine, extra_model=args.model)
    try:
        handle = engine.submit(dataclasses.replace(request, model=model_name))
        with tqdm(total=None, desc="generating", unit="step", file=sys.stderr, leave=False) as bar:
            status = handle.status()
            while not status.state.is_final:
                status = engine.watch(handle.job_id, status.version, timeout=1.0)
                bar.total = status.progress.total_steps or None
                bar.n = status.progress.step
                bar.refresh()
        result = handle.result()
    finally:
        engine.close()
    for path, image in zip(_output_paths(args.out, result.images), result.images):
        path.write_bytes(image.to_png_bytes(result.request))
        print(f"{path}\tseed={image.seed}")
    return 0


def _output_paths(out: Path, images: list) -> list[Path]:
    if len(images) == 1:
        out.parent.mkdir(parents=True, exist_ok=True)
        return [out]
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, but {len(images)} images need a folder")
    out.mkdir(parents=True, exist_ok=True)
    return [out / f"image-{image.index + 1:02d}-seed{image.seed}.png" for image in images]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = Config.from_env()
        return args.handler(args, config)
    except (UsageError, ConfigError, EngineError) as error:
        print(f"addin-server {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"addin-server {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
