"""Changing a picture through the API: OpenAI's images/edits and images/variations (multipart) and jobs with
`image_id` or an uploaded image; bad input is a 400 that names the field, and nothing is written for it."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from addin_server.services import services
from tests.addin_server.conftest import HeaderUser, make_config, wait_for_job
from tests.addin_server.live_server import LiveServer

ALICE, BOB = {"X-Test-User": "alice"}, {"X-Test-User": "bob"}


@pytest.fixture
def app(test_model_dir, tmp_path):
    from addin_server.app import create_app, shutdown_app

    app = create_app(make_config(test_model_dir, tmp_path / "instance"), authenticator=HeaderUser())
    yield app
    shutdown_app(app)


@pytest.fixture
def client(app):
    return app.test_client()


def png(picture: Image.Image, format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format=format)
    return buffer.getvalue()


def two_colours(width: int = 64, height: int = 64) -> Image.Image:
    picture = Image.new("RGB", (width, height), (220, 30, 30))
    picture.paste((30, 30, 220), (width // 2, 0, width, height))
    return picture


def right_half_transparent(width: int = 64, height: int = 64) -> Image.Image:
    mask = Image.new("RGBA", (width, height), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (width // 2, 0, width, height))
    return mask


def files(**uploads: bytes) -> dict:
    return {name: (io.BytesIO(data), f"{name}.png") for name, data in uploads.items()}


def jobs_written(app) -> int:
    return sum(len(services(app).store.jobs(owner, 100)) for owner in ("alice", "bob"))


def test_a_phones_multi_picture_jpeg_is_changed_from_its_first_frame(client):
    """Phones and cameras write MPO (a JPEG with more pictures behind it); its first frame is the photo."""
    photo, depth_map = two_colours(), Image.new("RGB", (64, 64), (128, 128, 128))
    buffer = io.BytesIO()
    photo.save(buffer, format="MPO", save_all=True, append_images=[depth_map])
    response = client.post(
        "/v1/images/edits",
        data={"prompt": "a green star", "strength": "0.05", "steps": "4", **files(image=buffer.getvalue())},
        headers=ALICE,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    url = response.get_json()["data"][0]["url"]
    kept = Image.open(io.BytesIO(client.get(url.split("localhost")[-1], headers=ALICE).data)).convert("RGB")
    assert kept.getpixel((5, 5))[0] > 150 and kept.getpixel((60, 5))[2] > 150  # the photo, not the grey map


def test_an_openai_edit_with_a_mask_repaints_only_the_transparent_part(client):
    response = client.post(
        "/v1/images/edits",
        data={
            "prompt": "a green star",
            "n": "2",
            "seed": "3",
            "steps": "6",
            **files(image=png(two_colours()), mask=png(right_half_transparent())),
        },
        headers=ALICE,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    assert [item["seed"] for item in data] == [3, 4]
    picture = Image.open(io.BytesIO(client.get(data[0]["url"].split("localhost")[-1], headers=ALICE).data))
    original = np.asarray(two_colours(), dtype=np.int16)
    painted = np.asarray(picture.convert("RGB"), dtype=np.int16)
    assert (
        np.abs(painted[:, :32] - original[:, :32]).max() <= 2 and np.abs(painted[:, 32:] - original[:, 32:]).mean() > 10
    )
    assert "compositeWithTrainedAlgorithmicMedia" in picture.text["XML:com.adobe.xmp"]


def test_a_variation_keeps_the_prompt_of_one_of_our_pictures(client):
    made = client.post(
        "/v1/images/generations", json={"prompt": "a yellow heart", "response_format": "b64_json"}, headers=ALICE
    ).get_json()["data"][0]
    ours = base64.b64decode(made["b64_json"])
    response = client.post(
        "/v1/images/variations", data={"n": "2", **files(image=ours)}, headers=ALICE, content_type="multipart/form-data"
    )
    assert response.status_code == 200, response.get_json()
    [job] = [j for j in services(client.application).store.jobs("alice") if j.request.get("kind") == "edit"]
    assert job.request["prompt"] == "a yellow heart" and len(job.images) == 2


def test_a_job_changes_one_of_the_callers_images_with_progress(client):
    first = client.post("/api/jobs", json={"prompt": "a red circle"}, headers=ALICE).get_json()
    image_id = wait_for_job(client, first["id"], ALICE)["images"][0]["id"]
    edited = client.post(
        "/api/jobs",
        json={"prompt": "a red circle, flat colours", "image_id": image_id, "strength": 0.4},
        headers=ALICE,
    )
    assert edited.status_code == 202, edited.get_json()
    done = wait_for_job(client, edited.get_json()["id"], ALICE)
    assert done["status"] == "succeeded" and done["request"]["kind"] == "edit" and done["request"]["strength"] == 0.4
    uploaded = client.post(
        "/api/jobs",
        json={
            "prompt": "x",
            "image": base64.b64encode(png(two_colours(96, 64))).decode(),
            "mask": base64.b64encode(png(right_half_transparent(96, 64))).decode(),
        },
        headers=ALICE,
    )
    job = wait_for_job(client, uploaded.get_json()["id"], ALICE)
    assert job["request"]["kind"] == "inpaint" and job["request"]["width"] > job["request"]["height"]  # its shape


def test_an_openai_client_can_edit_and_make_variations(live_server):
    import openai

    client = openai.OpenAI(base_url=live_server.url + "/v1", api_key="x", max_retries=0)
    edited = client.images.edit(
        image=("in.png", png(two_colours()), "image/png"), prompt="a green star", n=1, extra_body={"strength": 0.5}
    )
    assert edited.data[0].url
    varied = client.images.create_variation(image=("in.png", png(two_colours()), "image/png"), n=2)
    assert len(varied.data) == 2


def test_an_openai_client_repaints_a_masked_area_on_the_default_model(tmp_path):
    """`addin-server serve` on the embedded model (8-channel UNet): images.edit with a mask returns pictures,
    repainted inside the mask and as they were outside it."""
    import openai

    server = LiveServer(None, tmp_path / "instance").start(timeout=180)
    try:
        size = 256  # the embedded model's own size, so the picture is not resized on the way
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=300)
        edited = client.images.edit(
            image=("in.png", png(two_colours(size, size)), "image/png"),
            mask=("mask.png", png(right_half_transparent(size, size)), "image/png"),
            prompt="a yellow star",
            n=2,
            response_format="b64_json",
        )
        original = np.asarray(two_colours(size, size), dtype=np.int16)
        assert len(edited.data) == 2
        for picture in edited.data:
            painted = np.asarray(Image.open(io.BytesIO(base64.b64decode(picture.b64_json or ""))).convert("RGB"))
            painted = painted.astype(np.int16)
            assert np.abs(painted[:, : size // 2] - original[:, : size // 2]).max() <= 2
            assert np.abs(painted[:, size // 2 :] - original[:, size // 2 :]).mean() > 10
    finally:
        server.stop()
    assert "Traceback" not in server.log()


def decompression_bomb() -> bytes:
    """A tiny PNG whose header claims 40000×40000 pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("form", "uploads", "param", "code"),
    [
        ({"prompt": "x"}, {}, "image", "missing_field"),
        ({"prompt": "x"}, {"image": b"not a picture"}, "image", "unsupported_image"),
        ({"prompt": "x"}, {"image": png(two_colours(), "GIF")}, "image", "unsupported_image"),
        ({"prompt": "x"}, {"image": decompression_bomb()}, "image", "image_too_large"),
        (
            {"prompt": "x"},
            {"image": png(two_colours()), "mask": png(right_half_transparent(32, 32))},
            "mask",
            "invalid_mask",
        ),
        (
            {"prompt": "x"},
            {"image": png(two_colours()), "mask": png(Image.new("RGB", (64, 64)))},
            "mask",
            "invalid_mask",
        ),
        ({"prompt": "x", "strength": "1.5"}, {"image": png(two_colours())}, "strength", "invalid_value"),
        ({"prompt": "x", "strength": "much"}, {"image": png(two_colours())}, "strength", "invalid_type"),
        ({}, {"image": png(two_colours())}, "prompt", "missing_field"),
    ],
)
def test_bad_edits_are_400s_that_name_the_field_and_write_nothing(app, client, form, uploads, param, code):
    response = client.post(
        "/v1/images/edits", data={**form, **files(**uploads)}, headers=ALICE, content_type="multipart/form-data"
    )
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert (error["param"], error["code"]) == (param, code), error
    assert jobs_written(app) == 0


def test_another_users_image_is_a_404_and_bad_job_fields_are_400s(app, client):
    first = client.post("/api/jobs", json={"prompt": "a red circle"}, headers=ALICE).get_json()
    image_id = wait_for_job(client, first["id"], ALICE)["images"][0]["id"]
    before = jobs_written(app)
    stolen = client.post("/api/jobs", json={"prompt": "x", "image_id": image_id}, headers=BOB)
    assert stolen.status_code == 404 and stolen.get_json()["error"]["code"] == "image_not_found"
    for body, param in (
        ({"prompt": "x", "image_id": image_id, "strength": -0.1}, "strength"),
        ({"prompt": "x", "image": "%%%"}, "image"),
        ({"prompt": "x", "mask": "AAAA"}, "mask"),
        ({"prompt": "x", "image_id": image_id, "image": "AAAA"}, "image"),
    ):
        response = client.post("/api/jobs", json=body, headers=ALICE)
        assert response.status_code == 400 and response.get_json()["error"]["param"] == param, response.get_json()
    assert jobs_written(app) == before


def test_an_upload_over_the_limit_is_a_413(test_model_dir, tmp_path):
    from addin_server.app import create_app, shutdown_app

    config = make_config(test_model_dir, tmp_path / "small", server={"max_upload_bytes": 2048})
    app = create_app(config, authenticator=HeaderUser())
    try:
        big = png(Image.effect_noise((128, 128), 64).convert("RGB"))
        response = app.test_client().post(
            "/v1/images/edits",
            data={"prompt": "x", **files(image=big)},
            headers=ALICE,
            content_type="multipart/form-data",
        )
        assert response.status_code == 413
        assert jobs_written(app) == 0
    finally:
        shutdown_app(app)
