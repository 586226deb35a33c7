"""`addin-server`: the command line. serve (the HTTP server), generate (PNG files), document and fill (Office files)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from addin_server.config import Config
from addin_server.errors import BadRequest, ServerError
from engine.api import GenerationRequest
from engine.errors import EngineError


class UsageError(BadRequest):
    """Bad command-line input: printed as one line, exit code 2."""

    code = "usage"


def parse_size(text: str) -> tuple[int, int]:
    """ "512x512" -> (512, 512)."""
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
    serve.add_argument("--https", action="store_true", help="use the certificate made by `addin-server dev-cert`")
    serve.set_defaults(handler=run_serve)

    worker = commands.add_parser(
        "worker", help="run an engine worker (Celery) for a scaled-out server: ENGINE_QUEUE_URL must be set"
    )
    worker.add_argument(
        "--device", help="the device this worker owns, e.g. cuda:0 (default ENGINE_DEVICE or automatic)"
    )
    worker.add_argument("--models", help="model names to serve, comma-separated (default: the default model)")
    worker.add_argument(
        "--concurrency", type=int, help="tasks taken at once (default ENGINE_MAX_BATCH: what one batch holds)"
    )
    worker.add_argument("--name", help="this worker's name in metrics and logs (default worker-HOST-PID)")
    worker.set_defaults(handler=run_worker)

    settings = commands.add_parser("settings", help="list every setting: its variable, default and meaning")
    settings.set_defaults(handler=run_settings)

    dev_cert = commands.add_parser("dev-cert", help="make a local CA and a localhost certificate for HTTPS")
    dev_cert.add_argument("--instance", type=Path, help="data folder (default SERVER_INSTANCE_PATH or ./instance)")
    dev_cert.set_defaults(handler=run_dev_cert)

    manifest = commands.add_parser("manifest", help="write the Office add-in manifests (XML and app package)")
    manifest.add_argument("--base-url", required=True, help="where the server is reached, https://HOST[:PORT]")
    manifest.add_argument("--client-id", help="the Entra ID app registration (adds WebApplicationInfo for SSO)")
    manifest.add_argument("--id", dest="addin_id", help="the add-in's GUID (default: derived from --base-url)")
    manifest.add_argument("--version", default="1.0.0", help="add-in version, MAJOR.MINOR.PATCH")
    manifest.add_argument(
        "--bot-id", help="the Teams bot's app id (default TEAMS_BOT_ID): adds the bot and its message extension"
    )
    manifest.add_argument(
        "--copilot-auth-reference",
        help="the Entra SSO registration id for Copilot (default COPILOT_AUTH_REFERENCE_ID): adds the Copilot agent",
    )
    manifest.add_argument("--out", required=True, type=Path, help="folder to write into")
    manifest.set_defaults(handler=run_manifest)

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

    document = commands.add_parser("document", help="build a .pptx deck or .docx report from a JSON/YAML spec")
    document.add_argument("spec", type=Path, help="the spec file (JSON or YAML)")
    document.add_argument("-o", "--out", required=True, type=Path, help="OUT.pptx (a deck) or OUT.docx (a report)")
    document.add_argument("--template", type=Path, help="your .pptx/.potx/.docx/.dotx for theme, layouts and styles")
    _add_document_options(document)
    document.set_defaults(handler=run_document)

    fill = commands.add_parser("fill", help="replace {{image: ...}} markers in a .pptx or .docx with generated images")
    fill.add_argument("input", type=Path, help="the .pptx or .docx to fill (never changed in place)")
    fill.add_argument("-o", "--out", required=True, type=Path, help="where to write the filled file")
    fill.add_argument("--options", type=Path, help="a JSON file with explicit targets and a style")
    fill.add_argument("--style", default="", help="a style phrase added to every prompt")
    fill.add_argument(
        "--restyle", help="redraw the file's own pictures in this style (a preset such as flat, or a phrase)"
    )
    fill.add_argument("--strength", type=float, help="with --restyle: how far to move from each picture (0-1)")
    _add_document_options(fill)
    fill.set_defaults(handler=run_fill)
    return parser


def _add_document_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="a model name from ENGINE_MODELS, a diffusers folder or a cached repo id")
    parser.add_argument("--seed", type=int, help="the document's seed, so its images look like a set")
    parser.add_argument(
        "--seed-policy",
        choices=("same", "increment"),
        default=None,
        help="same: every image uses --seed; increment: image i uses seed+i",
    )


def run_serve(args: argparse.Namespace, config: Config) -> int:
    """Serve until stopped; bad settings are refused before anything loads."""
    from addin_server.serve import serve

    if args.https:
        from addin_server import dev_cert

        if args.certfile:
            raise UsageError("--https uses the development certificate; leave out --certfile/--keyfile")
        files = dev_cert.paths(config.server.instance_path / "dev-cert")
        if not files.certfile.exists():
            raise UsageError("no development certificate yet: run `addin-server dev-cert` first")
        port = 8443 if args.port is None and config.server.port == 8000 else config.server.port
        server = dataclasses.replace(config.server, certfile=files.certfile, keyfile=files.keyfile, port=port)
        config = dataclasses.replace(config, server=server)
    serve(config)
    return 0


def run_worker(args: argparse.Namespace, config: Config) -> int:
    """Run one engine worker until SIGTERM (its running jobs finish) or a kill (its jobs run elsewhere)."""
    if not config.engine.queue.enabled:
        raise UsageError("set ENGINE_QUEUE_URL (e.g. redis://localhost:6379/0): the worker takes its jobs from there")
    if args.concurrency is not None and args.concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, got {args.concurrency}")
    import logging

    from engine.worker import EngineWorker, WorkerOptions

    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s")
    models = tuple(name.strip() for name in (args.models or "").split(",") if name.strip())
    options = WorkerOptions(models=models, device=args.device, concurrency=args.concurrency, name=args.name or "")
    EngineWorker(config.engine, options).run()
    return 0


def run_settings(args: argparse.Namespace, config: Config) -> int:
    """Print every setting with its variable, default and meaning."""
    from addin_server.config import settings_tables

    print(settings_tables())
    return 0


def run_dev_cert(args: argparse.Namespace, config: Config) -> int:
    from addin_server import dev_cert

    files = dev_cert.create(config.server.instance_path / "dev-cert")
    print(f"certificate: {files.certfile}\nkey: {files.keyfile}\n{dev_cert.trust_instructions(files.ca_file)}")
    return 0


def run_manifest(args: argparse.Namespace, config: Config) -> int:
    from addin_server.manifests import ManifestSettings, write_manifests

    settings = ManifestSettings(
        args.base_url,
        args.client_id,
        args.addin_id,
        args.version,
        bot_id=args.bot_id or config.teams.bot_id or None,
        copilot_auth_reference=args.copilot_auth_reference or config.copilot.auth_reference_id or None,
    )
    written = write_manifests(settings, args.out)
    for path in written:
        print(path)
    return 0


def run_generate(args: argparse.Namespace, config: Config) -> int:
    """Generate with an in-process engine, show a progress bar on stderr, print one line per image."""
    from tqdm import tqdm

    from addin_server.engine_factory import create_local_engine

    width, height = parse_size(args.size) if args.size else (None, None)
    request = GenerationRequest(
        prompt=args.prompt,
        negative_prompt=args.negative,
        n=args.n,
        width=width,
        height=height,
        steps=args.steps,
        guidance_scale=args.guidance,
        seed=args.seed,
        scheduler=args.scheduler,
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


def run_document(args: argparse.Namespace, config: Config) -> int:
    """Build a deck or report offline, with a progress bar counting images."""
    from addin_server.documents.build import plan_build
    from addin_server.documents.spec import load_spec_text, parse_spec

    kind = _kind_of(args.out)
    data = load_spec_text(_read_text(args.spec))
    spec = parse_spec(data, "deck" if kind == "pptx" else "report")
    template = _read_bytes(args.template) if args.template else None
    seed = args.seed if args.seed is not None else spec.seed
    return _run_plan(
        lambda maker: plan_build(spec, maker, template), args, config, seed, args.seed_policy or spec.seed_policy
    )


def run_fill(args: argparse.Namespace, config: Config) -> int:
    """Fill a file's markers (and --options targets) offline, with a progress bar counting images."""
    import json

    from addin_server.documents.fill import parse_fill_options, plan_fill

    if args.input.resolve() == args.out.resolve():
        raise UsageError("-o must differ from the input: the input file is never changed in place")
    options_data: dict = {}
    if args.options:
        try:
            options_data = json.loads(_read_text(args.options))
        except ValueError as error:
            raise UsageError(f"--options {args.options} is not JSON: {error}") from None
    if args.style:
        options_data["style"] = args.style
    if args.restyle:
        options_data["restyle"] = args.restyle
    if args.strength is not None:
        options_data["strength"] = args.strength
    options = parse_fill_options(options_data)
    data = _read_bytes(args.input)
    return _run_plan(
        lambda maker: plan_fill(data, options, maker),
        args,
        config,
        args.seed,
        args.seed_policy or "same",
        expected_kind=_kind_of(args.out),
    )


def _run_plan(
    make_plan,
    args: argparse.Namespace,
    config: Config,
    seed: int | None,
    seed_policy: str,
    expected_kind: str | None = None,
) -> int:
    from tqdm import tqdm

    from addin_server.documents.images import ImageMaker
    from addin_server.engine_factory import create_local_engine

    engine, model_name = create_local_engine(config.engine, extra_model=args.model)
    try:
        maker = ImageMaker(engine, model=model_name, seed=seed, seed_policy=seed_policy)
        plan = make_plan(maker)
        if expected_kind and plan.kind != expected_kind:
            raise UsageError(f"the input is a .{plan.kind} file; name the output .{plan.kind} too")
        with tqdm(total=len(plan.orders), desc="images", unit="image", file=sys.stderr, leave=False) as bar:

            def show(done: int, total: int) -> None:
                bar.n = done
                bar.refresh()

            filled = plan.run(maker, on_progress=show)
        for note in plan.notes:
            print(f"note: {note}", file=sys.stderr)
    finally:
        engine.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(filled.data)
    print(f"{args.out}\t{filled.pictures} images")
    return 0


def _kind_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".pptx", ".docx"):
        raise UsageError(f"-o must end in .pptx or .docx, got {path.name!r}")
    return suffix[1:]


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None


def _read_text(path: Path) -> str:
    try:
        return _read_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None


def _output_paths(out: Path, images: list) -> list[Path]:
    if len(images) == 1:
        out.parent.mkdir(parents=True, exist_ok=True)
        return [out]
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, but {len(images)} images need a folder")
    out.mkdir(parents=True, exist_ok=True)
    return [out / f"image-{image.index + 1:02d}-seed{image.seed}.png" for image in images]


def cli_message(command: str, error: ServerError | EngineError) -> str:
    """The one line the CLI prints for any error it expects: bad input, a bad setting, a model or engine error."""
    return f"addin-server {command}: error: {error}"


#: Flags that stand for a setting: given, they override its environment variable.
FLAG_SETTINGS = {
    "host": "SERVER_HOST",
    "port": "SERVER_PORT",
    "certfile": "SERVER_CERTFILE",
    "keyfile": "SERVER_KEYFILE",
    "instance": "SERVER_INSTANCE_PATH",
}


def settings_from_flags(args: argparse.Namespace) -> dict[str, str]:
    """The flags given that stand for settings, as the environment variables they override."""
    if (getattr(args, "certfile", None) is None) != (getattr(args, "keyfile", None) is None):
        raise UsageError("--certfile and --keyfile go together")
    return {
        variable: str(getattr(args, flag))
        for flag, variable in FLAG_SETTINGS.items()
        if getattr(args, flag, None) is not None
    }


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = Config.from_env({**os.environ, **settings_from_flags(args)})
        return args.handler(args, config)
    except (ServerError, EngineError) as error:
        print(cli_message(args.command, error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"addin-server {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
