"""`cabinet pki`: a site CA, the central's certificate with its names, one per cabinet."""

from __future__ import annotations

import ipaddress
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from cabinet.security import pki


def load(path: Path) -> x509.Certificate:
    """A PEM certificate from a file."""
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_cli_init_writes_ca_central_and_cabinet_certificates(tmp_path: Path) -> None:
    """The command line makes every file; keys are owner-only; the chain and names are right."""
    folder = tmp_path / "pki"
    result = subprocess.run(
        [sys.executable, "-m", "cabinet.cli", "pki", "init", str(folder), "--cabinet", "CAB-7",
         "--central-name", "pharmacie.chu.local", "--central-name", "127.0.0.1",
         "--central-name", "localhost"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "BEGIN" not in result.stdout  # never prints a key
    ca, central = load(folder / pki.CA_CERT), load(folder / pki.CENTRAL_CERT)
    cert_name, key_name = pki.cabinet_cert_names("CAB-7")
    cabinet = load(folder / cert_name)
    for key in (pki.CA_KEY, pki.CENTRAL_KEY, key_name):
        assert stat.S_IMODE((folder / key).stat().st_mode) == 0o600, key
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for cert in (central, cabinet):
        assert cert.issuer == ca.subject
        cert.verify_directly_issued_by(ca)
    sans = central.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["pharmacie.chu.local", "localhost"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert pki.common_name((folder / cert_name).read_bytes()) == "CAB-7"
    usage = cabinet.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cabinet.not_valid_after_utc > ca.not_valid_before_utc


def test_add_cabinet_and_refusals(tmp_path: Path) -> None:
    """A later cabinet uses the same CA; nothing is ever overwritten; ids are checked."""
    pki.init_site(tmp_path, ["CAB-1"])
    before = (tmp_path / pki.CA_CERT).read_bytes()
    pki.add_cabinet(tmp_path, "CAB-2")
    assert (tmp_path / pki.CA_CERT).read_bytes() == before
    with pytest.raises(pki.PkiError, match="already holds a CA"):
        pki.init_site(tmp_path, ["CAB-3"])
    with pytest.raises(pki.PkiError, match="already exists"):
        pki.add_cabinet(tmp_path, "CAB-2")
    with pytest.raises(pki.PkiError, match="cabinet id"):
        pki.add_cabinet(tmp_path, "../evil")
    with pytest.raises(pki.PkiError, match="no site CA"):
        pki.add_cabinet(tmp_path / "empty", "CAB-4")
