"""The documents API and CLI: jobs with progress, downloads for their owner only, clear 4xx for bad files."""

from __future__ import annotations

import io
import time

import docx
import pptx
import pytest

from addin_server.app import create_app, shutdown_app
from addin_server.cli import main
from tests.addin_server.conftest import HeaderUser, make_config
from tests.addin_server.documents.test_fill import deck_with_markers, word_with_markers

PPTX_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def wait_ready(client, document_id: str, headers=None):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        response = client.get(f"/api/documents/{document_id}", headers=headers)
        if response.status_code != 202:
            return response
        assert response.headers["Retry-After"] == "1"
        time.sleep(0.05)
    raise AssertionError("the document never finished")


def test_a_deck_from_a_json_spec_downloads_as_pptx(client):
    response = client.post(
        "/api/documents",
        json={
            "title": "Quarterly",
            "slides": [
                {"title": "One", "image": "a red circle"},
                {"title": "Two", "image": "a blue square", "layout": "image_left"},
            ],
        },
    )
    assert response.status_code == 202
    job = response.get_json()
    assert job["kind"] == "pptx" and job["progress"] == {"images_done": 0, "images_total": 2}
    assert response.headers["Location"] == f"/api/documents/{job['id']}"
    download = wait_ready(client, job["id"])
    assert download.status_code == 200 and download.mimetype == PPTX_TYPE
    assert "filename=Quarterly.pptx" in download.headers["Content-Disposition"]
    assert len(pptx.Presentation(io.BytesIO(download.data)).slides) == 3
    status = client.get(f"/api/documents/{job['id']}/status").get_json()
    assert status["status"] == "succeeded" and status["progress"]["images_done"] == 2
    assert [item["id"] for item in client.get("/api/documents").get_json()["data"]] == [job["id"]]


def test_a_report_from_a_yaml_spec_with_multipart(client):
    spec = "kind: report\ntitle: Notes\nblocks:\n  - paragraph: Hello\n  - image: a heart\n    caption: Love\n"
    response = client.post("/api/documents", data={"spec": spec}, content_type="multipart/form-data")
    assert response.status_code == 202
    download = wait_ready(client, response.get_json()["id"])
    document = docx.Document(io.BytesIO(download.data))
    assert "Figure 1: Love" in [paragraph.text for paragraph in document.paragraphs]


def test_fill_an_uploaded_file(client):
    response = client.post(
        "/api/documents/fill",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(deck_with_markers()), "Board deck.pptx"), "options": '{"style": "ink", "seed": 4}'},
    )
    assert response.status_code == 202 and response.get_json()["progress"]["images_total"] == 2
    download = wait_ready(client, response.get_json()["id"])
    assert download.status_code == 200 and "Board deck-filled.pptx" in download.headers["Content-Disposition"]
    response = client.post(
        "/api/documents/fill",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(word_with_markers()), "report.docx")},
    )
    assert wait_ready(client, response.get_json()["id"]).mimetype.endswith("wordprocessingml.document")


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (b"not an office file", "not_office_document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "encrypted_document"),
    ],
)
def test_bad_uploads_are_400_and_the_server_keeps_serving(client, upload, code):
    response = client.post(
        "/api/documents/fill", content_type="multipart/form-data", data={"file": (io.BytesIO(upload), "x.pptx")}
    )
    assert response.status_code == 400 and response.get_json()["error"]["code"] == code
    assert client.get("/healthz").status_code == 200


def test_spec_and_option_errors_list_their_problems(client):
    response = client.post("/api/documents", json={"slides": [{"layout": "nowhere"}], "colour": 1})
    error = response.get_json()["error"]
    assert response.status_code == 400 and error["code"] == "invalid_spec"
    assert "colour: unknown field" in error["problems"][0] and len(error["problems"]) == 2
    response = client.post(
        "/api/documents/fill",
        content_type="multipart/form-data",
        data={
            "file": (io.BytesIO(deck_with_markers()), "d.pptx"),
            "options": '{"targets": [{"slide": 9, "prompt": "x", "background": true}]}',
        },
    )
    assert response.status_code == 400 and "targets[0].slide" in response.get_json()["error"]["message"]
    response = client.post("/api/documents/fill", content_type="multipart/form-data", data={"options": "{}"})
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "file"
    assert client.post("/api/documents/fill", json={}).status_code == 415


def test_an_upload_over_the_limit_is_413(test_model_dir, tmp_path):
    app = create_app(make_config(test_model_dir, tmp_path, server={"max_document_bytes": 4096}))
    try:
        response = app.test_client().post(
            "/api/documents/fill",
            content_type="multipart/form-data",
            data={"file": (io.BytesIO(b"x" * 10000), "big.pptx")},
        )
        assert response.status_code == 413 and response.get_json()["error"]["code"] == "request_entity_too_large"
    finally:
        shutdown_app(app)


def test_documents_belong_to_their_owner(test_model_dir, tmp_path):
    app = create_app(make_config(test_model_dir, tmp_path), authenticator=HeaderUser())
    client = app.test_client()
    alice, bob = {"X-Test-User": "alice"}, {"X-Test-User": "bob"}
    try:
        job = client.post("/api/documents", json={"title": "Alice's"}, headers=alice).get_json()
        assert wait_ready(client, job["id"], alice).status_code == 200
        for method, path in (
            ("get", f"/api/documents/{job['id']}"),
            ("get", f"/api/documents/{job['id']}/status"),
            ("delete", f"/api/documents/{job['id']}"),
        ):
            assert getattr(client, method)(path, headers=bob).status_code == 404
        assert client.get("/api/documents", headers=bob).get_json()["data"] == []
    finally:
        shutdown_app(app)


def test_cli_document_and_fill(test_model_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENGINE_MODEL", str(test_model_dir))
    spec = tmp_path / "deck.yaml"
    spec.write_text("title: From the CLI\nslides:\n  - {title: One, image: a star}\n")
    assert main(["document", str(spec), "-o", str(tmp_path / "deck.pptx"), "--seed", "3"]) == 0
    assert "1 images" in capsys.readouterr().out
    assert len(pptx.Presentation(str(tmp_path / "deck.pptx")).slides) == 2
    source, original = tmp_path / "in.pptx", deck_with_markers()
    source.write_bytes(original)
    assert main(["fill", str(source), "-o", str(tmp_path / "out.pptx"), "--style", "ink"]) == 0
    assert source.read_bytes() == original
    assert main(["fill", str(source), "-o", str(tmp_path / "out.docx")]) == 2
    assert "the input is a .pptx file" in capsys.readouterr().err
    assert main(["fill", str(source), "-o", str(source)]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("slides: 3\n")
    assert main(["document", str(bad), "-o", str(tmp_path / "x.pptx")]) == 2
    assert "slides: must be a list" in capsys.readouterr().err
