"""`serve` with a certificate and key speaks HTTPS (Office task panes need it, also on localhost)."""

from __future__ import annotations

import json
import socket
import ssl
import time

import pytest
from cryptography import x509

from addin_server.cli import main
from tests.addin_server.live_server import LiveServer


@pytest.fixture(scope="module")
def https_server(test_model_dir, tmp_path_factory):
    """`addin-server dev-cert` then `serve --https`, trusted through the development CA."""
    instance = tmp_path_factory.mktemp("https") / "instance"
    assert main(["dev-cert", "--instance", str(instance)]) == 0
    server = LiveServer(test_model_dir, instance, args=("--https",), ca_file=instance / "dev-cert" / "ca.pem").start()
    yield server
    server.stop()


def test_dev_cert_keeps_its_ca_and_renews_the_certificate(tmp_path, capsys):
    assert main(["dev-cert", "--instance", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    assert "Import-Certificate" in output and "add-trusted-cert" in output
    ca, leaf = (tmp_path / "dev-cert" / "ca.pem").read_bytes(), (tmp_path / "dev-cert" / "localhost.pem").read_bytes()
    assert main(["dev-cert", "--instance", str(tmp_path)]) == 0
    assert (tmp_path / "dev-cert" / "ca.pem").read_bytes() == ca  # trusted once, kept
    assert (tmp_path / "dev-cert" / "localhost.pem").read_bytes() != leaf
    certificate = x509.load_pem_x509_certificate(leaf)
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)


def test_serve_https_needs_a_certificate_first(tmp_path, capsys):
    assert main(["serve", "--https", "--instance", str(tmp_path)]) == 2
    assert "run `addin-server dev-cert` first" in capsys.readouterr().err


def test_images_over_https(https_server):
    response = https_server.post("/v1/images/generations", {"prompt": "a secure square"})
    assert response.status_code == 200
    url = response.json()["data"][0]["url"]
    assert url.startswith("https://127.0.0.1:")
    assert https_server.get(url.split(str(https_server.port), 1)[1]).headers["Content-Type"] == "image/png"


def test_a_client_leaving_over_tls_still_cancels_its_job(https_server):
    body = json.dumps({"prompt": "abandoned over tls", "steps": 150, "size": "128x128"}).encode()
    context = ssl.create_default_context(cafile=https_server.verify)
    with (
        socket.create_connection(("127.0.0.1", https_server.port)) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
    ):
        sock.sendall(
            b"POST /v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        time.sleep(1.0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        jobs = https_server.get("/api/jobs").json()["data"]
        job = next((job for job in jobs if job["request"]["prompt"] == "abandoned over tls"), None)
        if job and job["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.1)
    assert job["status"] == "cancelled"
