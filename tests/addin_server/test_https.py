"""`serve` with a certificate and key speaks HTTPS (Office task panes need it, also on localhost)."""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.addin_server.live_server import LiveServer


def write_self_signed_certificate(folder) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture(scope="module")
def https_server(test_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("https")
    cert, key = write_self_signed_certificate(folder)
    server = LiveServer(test_model_dir, folder / "instance", env={"SERVER_CERTFILE": cert, "SERVER_KEYFILE": key}).start()
    yield server
    server.stop()


def test_images_over_https(https_server):
    response = https_server.post("/v1/images/generations", {"prompt": "a secure square"})
    assert response.status_code == 200
    url = response.json()["data"][0]["url"]
    assert url.startswith("https://127.0.0.1:")
    assert https_server.get(url.split(str(https_server.port), 1)[1]).headers["Content-Type"] == "image/png"


def test_a_client_leaving_over_tls_still_cancels_its_job(https_server):
    body = json.dumps({"prompt": "abandoned over tls", "steps": 150, "size": "128x128"}).encode()
    context = ssl.create_default_context(cafile=https_server.verify)
    with socket.create_connection(("127.0.0.1", https_server.port)) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            sock.sendall(b"POST /v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            time.sleep(1.0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        jobs = https_server.get("/api/jobs").json()["data"]
        job = next((job for job in jobs if job["request"]["prompt"] == "abandoned over tls"), None)
        if job and job["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.1)
    assert job["status"] == "cancelled"
