"""A site's small PKI: a CA, the central's server certificate, one client certificate per cabinet.

Mutual TLS between cabinets and the central pharmacy rests on it: the central trusts only
client certificates signed by the site CA and reads the cabinet's identity from the
certificate's Common Name. Keys are ECDSA P-256 (fast handshakes, supported by gRPC's TLS);
private keys are written with mode 0600 and never printed.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cabinet.errors import CabinetError

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
CENTRAL_CERT = "central.pem"
CENTRAL_KEY = "central-key.pem"
# A cabinet id becomes a Common Name and a file name: keep it to a safe alphabet.
_CABINET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class PkiError(CabinetError):
    """The site PKI cannot be created or extended (existing files, bad id, missing CA)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Issued:
    """A certificate and its private key, both PEM."""

    cert_pem: bytes
    key_pem: bytes


def cabinet_cert_names(cabinet_id: str) -> tuple[str, str]:
    """File names of a cabinet's certificate and key inside the PKI folder."""
    return f"cabinet-{cabinet_id}.pem", f"cabinet-{cabinet_id}-key.pem"


def _new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM: the file mode protects it."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str, organisation: str) -> x509.Name:
    """A subject or issuer name."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_ca(
    site: str = "Site pharmacy", *, now: dt.datetime | None = None, days: int = 3650
) -> Issued:
    """A self-signed site CA, allowed to sign end-entity certificates only."""
    now = now or dt.datetime.now(dt.UTC)
    key = _new_key()
    name = _name(f"{site} CA", site)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert_pem=cert.public_bytes(serialization.Encoding.PEM), key_pem=_key_pem(key))


def _load_ca(ca: Issued) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The CA's certificate and key objects."""
    cert = x509.load_pem_x509_certificate(ca.cert_pem)
    key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError("the site CA key is not an EC key")
    return cert, key


def issue(
    ca: Issued,
    common_name: str,
    *,
    server_names: tuple[str, ...] = (),
    client: bool = False,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    days: int = 825,
) -> Issued:
    """Sign an end-entity certificate: a server one (with SANs) or a client one (CN = id)."""
    ca_cert, ca_key = _load_ca(ca)
    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    end = not_after or start + dt.timedelta(days=days)
    key = _new_key()
    organisation = ca_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    usage = [ExtendedKeyUsageOID.CLIENT_AUTH] if client else [ExtendedKeyUsageOID.SERVER_AUTH]
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, str(organisation)))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if server_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_san(n) for n in server_names]), critical=False
        )
    cert = builder.sign(ca_key, hashes.SHA256())
    return Issued(cert_pem=cert.public_bytes(serialization.Encoding.PEM), key_pem=_key_pem(key))


def _san(name: str) -> x509.GeneralName:
    """An IP address SAN for literal addresses, a DNS name otherwise."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def check_cabinet_id(cabinet_id: str) -> str:
    """Refuse a cabinet id that cannot be a certificate CN and a file name."""
    if not _CABINET_ID.match(cabinet_id):
        raise PkiError(
            f"cabinet id {cabinet_id!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return cabinet_id


def _write(path: Path, data: bytes, *, secret: bool) -> None:
    """Write a new file, never overwriting one; keys are created 0600 from the start."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(path, flags, 0o600 if secret else 0o644)
    except FileExistsError as exc:
        raise PkiError(f"{path} already exists: refusing to overwrite it") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def init_site(
    folder: Path,
    cabinet_ids: list[str],
    central_names: tuple[str, ...] = ("localhost", "127.0.0.1"),
    site: str = "Site pharmacy",
) -> list[Path]:
    """Create the CA, the central's certificate and the cabinets' certificates in `folder`."""
    for cabinet_id in cabinet_ids:
        check_cabinet_id(cabinet_id)
    if not central_names:
        raise PkiError("the central needs at least one name to be reached by")
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / CA_CERT).exists() or (folder / CA_KEY).exists():
        raise PkiError(f"{folder} already holds a CA: use `cabinet pki add-cabinet`")
    ca = make_ca(site)
    central = issue(ca, central_names[0], server_names=central_names)
    written = [folder / CA_CERT, folder / CA_KEY, folder / CENTRAL_CERT, folder / CENTRAL_KEY]
    _write(written[0], ca.cert_pem, secret=False)
    _write(written[1], ca.key_pem, secret=True)
    _write(written[2], central.cert_pem, secret=False)
    _write(written[3], central.key_pem, secret=True)
    for cabinet_id in cabinet_ids:
        written.extend(add_cabinet(folder, cabinet_id))
    return written


def add_cabinet(folder: Path, cabinet_id: str) -> list[Path]:
    """Issue one more cabinet's client certificate (CN = cabinet id) from the site's CA."""
    check_cabinet_id(cabinet_id)
    try:
        ca = Issued(
            cert_pem=(folder / CA_CERT).read_bytes(), key_pem=(folder / CA_KEY).read_bytes()
        )
    except OSError as exc:
        raise PkiError(f"no site CA in {folder}: run `cabinet pki init` first") from exc
    issued = issue(ca, cabinet_id, client=True)
    cert_name, key_name = cabinet_cert_names(cabinet_id)
    _write(folder / cert_name, issued.cert_pem, secret=False)
    _write(folder / key_name, issued.key_pem, secret=True)
    return [folder / cert_name, folder / key_name]


def common_name(cert_pem: bytes) -> str:
    """The Common Name of a PEM certificate."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
