"""`addin-server generate` as a user runs it: files, one line per image, metadata, and exit code 2 on bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PIL import Image

from engine.metadata import TRAINED_ALGORITHMIC_MEDIA


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "addin_server.cli", *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )


def test_one_image_goes_to_a_file_with_its_seed_and_metadata(sd15_dir, tmp_path):
    out = tmp_path / "cat.png"
    done = run_cli(
        "generate",
        "a red cat",
        "--model",
        str(sd15_dir),
        "--steps",
        "3",
        "--seed",
        "7",
        "--size",
        "64x48",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{out}\tseed=7"
    image = Image.open(out)
    assert image.size == (64, 48)
    assert image.text["prompt"] == "a red cat" and image.text["seed"] == "7"
    assert image.text["model"] == sd15_dir.name
    assert TRAINED_ALGORITHMIC_MEDIA in image.text["XML:com.adobe.xmp"]
    assert "generating" in done.stderr  # the progress bar


def test_several_images_go_to_a_folder_one_line_each(sd15_dir, tmp_path):
    out = tmp_path / "set"
    done = run_cli(
        "generate",
        "blue sky",
        "--model",
        str(sd15_dir),
        "--steps",
        "2",
        "--n",
        "3",
        "--seed",
        "100",
        "--negative",
        "blurry",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.split("\tseed=")[1] for line in lines] == ["100", "101", "102"]
    assert sorted(p.name for p in out.iterdir()) == [f"image-0{i}-seed{100 + i - 1}.png" for i in (1, 2, 3)]
    assert Image.open(out / "image-02-seed101.png").text["negative_prompt"] == "blurry"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--steps", "0"], "steps: must be between 1 and 150, got 0"),
        (["--n", "11"], "n: must be between 1 and 10, got 11"),
        (["--size", "big"], "--size must look like 512x512"),
        (["--size", "60x64"], "width: must be a multiple of 8"),
        (["--guidance", "31"], "guidance_scale: must be between 0 and 30"),
        (["--seed", "-3"], "seed: must be between 0 and 4294967295"),
        (["--scheduler", "flow_euler"], "scheduler: 'flow_euler' does not fit model"),
    ],
)
def test_bad_input_exits_2_with_one_line(sd15_dir, tmp_path, arguments, message):
    done = run_cli("generate", "x", "--model", str(sd15_dir), "--out", str(tmp_path / "x.png"), *arguments)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == f"addin-server generate: error: {message}" or (
        message in done.stderr.strip().splitlines()[-1]
    )
    assert not (tmp_path / "x.png").exists()


def test_a_missing_model_names_the_path(tmp_path):
    done = run_cli("generate", "x", "--model", str(tmp_path / "no-model"), "--out", str(tmp_path / "x.png"))
    assert done.returncode == 2
    assert str(tmp_path / "no-model") in done.stderr and "diffusers pipeline folder" in done.stderr
    assert "Traceback" not in done.stderr
