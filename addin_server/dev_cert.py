"""`addin-server dev-cert`: a local certificate authority and a localhost certificate, because Office loads
task panes over HTTPS only, also from this machine. The CA is kept and reused, so it is trusted once.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "M365 Image Add-in local development CA"
#: Browsers and macOS refuse server certificates valid for more than 825 days.
LEAF_DAYS = 800
CA_DAYS = 3650


@dataclass(frozen=True)
class DevCertificate:
    """The files `serve --https` uses, and the CA to trust."""

    ca_file: Path
    certfile: Path
    keyfile: Path


def paths(folder: Path) -> DevCertificate:
    return DevCertificate(folder / "ca.pem", folder / "localhost.pem", folder / "localhost-key.pem")


def create(folder: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")) -> DevCertificate:
    """Make (or reuse) the CA in `folder` and issue a fresh certificate for `hosts` signed by it."""
    files = paths(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ca_key_file = folder / "ca-key.pem"
    if files.ca_file.exists() and ca_key_file.exists():
        ca_cert = x509.load_pem_x509_certificate(files.ca_file.read_bytes())
        ca_key = serialization.load_pem_private_key(ca_key_file.read_bytes(), password=None)
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = issue(CA_NAME, ca_key, None, None, days=CA_DAYS, ca=True)
        _write_private(ca_key_file, ca_key)
        files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = issue("localhost", key, ca_cert, ca_key, days=LEAF_DAYS, ca=False, hosts=hosts)
    files.certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    _write_private(files.keyfile, key)
    return files


def issue(
    common_name: str, key, issuer: x509.Certificate | None, issuer_key, days: int, ca: bool, hosts: tuple[str, ...] = ()
) -> x509.Certificate:
    """A certificate for `key`, signed by `issuer_key` (self-signed when `issuer` is None)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        names = [x509.IPAddress(ipaddress.ip_address(host)) if _is_ip(host) else x509.DNSName(host) for host in hosts]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    return builder.sign(issuer_key if issuer is not None else key, hashes.SHA256())


def trust_instructions(ca_file: Path) -> str:
    return (
        f"Trust the development CA once ({ca_file}):\n"
        f'  Windows (PowerShell): Import-Certificate -FilePath "{ca_file}" '
        "-CertStoreLocation Cert:\\CurrentUser\\Root\n"
        f'  macOS: security add-trusted-cert -r trustRoot -k ~/Library/Keychains/login.keychain-db "{ca_file}"\n'
        f'  Linux (Debian/Ubuntu): sudo cp "{ca_file}" /usr/local/share/ca-certificates/addin-dev-ca.crt '
        f"&& sudo update-ca-certificates\n"
        "Then run: addin-server serve --https"
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _write_private(path: Path, key) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)
