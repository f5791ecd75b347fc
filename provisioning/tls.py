"""The store's own certificate authority, and the server certificates it signs: one for the
store broker's TLS listener (devices verify it), one for the hub's web pages over HTTPS on
the LAN (optional). `smartstore provision --tls` (docs/install.md, "Secrets on the wire").

Made with the `openssl` command: it is on every Debian and Raspberry Pi OS, and the hub's
environment has no X.509 library. Keys are EC P-256 (ESP-IDF's mbedTLS, OpenSSL and every
browser verify it; an ESP32 handshakes faster than with RSA-2048). Private keys are written
0600 through provisioning.files.write_private, certificates 0644.

Provisioning again keeps the CA (every device already trusts it) and makes only what is
missing or no longer right: a server certificate that is gone, that lost its key, that the
CA did not sign, or that lacks a host name now asked for. Renewing is explicit: a new
server certificate (`--renew-tls-cert`, devices keep working) or a new CA (`--renew-store-ca`,
every device needs its config again and every ESP32 a new firmware).
"""

import ipaddress
import os
import re
import secrets
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from provisioning.files import write_private

CA_DAYS: Final = 3650
# Apple's platforms refuse a TLS server certificate valid for longer, even under a root the
# user installed; the other browsers and the devices do not mind.
SERVER_DAYS: Final = 825
# `provision --tls` warns when a certificate expires sooner than this.
WARN_DAYS: Final = 60
# Always in both server certificates: the hub reaches its own broker on the loopback.
LOCAL_NAMES: Final = ("localhost", "127.0.0.1")
_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


class TlsError(RuntimeError):
    """The store's TLS files cannot be made as asked; nothing was changed."""


@dataclass(frozen=True)
class ServerCert:
    cert: Path
    key: Path


@dataclass(frozen=True)
class StoreTls:
    """The files, in one directory: ca.crt (give it to devices and browsers), ca.key (never
    leaves this directory), broker.crt/.key (mosquitto), web.crt/.key (the hub's HTTPS)."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def broker(self) -> ServerCert:
        return ServerCert(self.directory / "broker.crt", self.directory / "broker.key")

    @property
    def web(self) -> ServerCert:
        return ServerCert(self.directory / "web.crt", self.directory / "web.key")

    def ca_pem(self) -> str:
        return self.ca_cert.read_text(encoding="ascii")


@dataclass
class TlsReport:
    made: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def normalize_names(names: Iterable[str]) -> list[str]:
    """Host names (lower case) and IP addresses (canonical), the loopback ones added, without
    repeats, in order. A name that is neither is refused."""
    out: list[str] = []
    for raw in [*names, *LOCAL_NAMES]:
        name = raw.strip()
        try:
            name = str(ipaddress.ip_address(name))
        except ValueError:
            if not _DNS_NAME.fullmatch(name):
                raise ValueError(f"{raw!r} is not a host name or an IP address") from None
            name = name.lower()
        if name not in out:
            out.append(name)
    return out


def ensure_store_tls(
    directory: Path,
    store: str,
    names: Sequence[str],
    *,
    renew_certs: bool = False,
    renew_ca: bool = False,
) -> TlsReport:
    """The store CA and both server certificates for `names` in `directory`: kept when they
    are right, made when missing or wrong (see the module's docstring)."""
    wanted = normalize_names(names)
    tls = StoreTls(directory)
    report = TlsReport()
    has_cert, has_key = tls.ca_cert.exists(), tls.ca_key.exists()
    if not renew_ca and has_cert != has_key:
        missing = tls.ca_key if has_cert else tls.ca_cert
        raise TlsError(
            f"{missing} is missing beside the store CA: restore it from a backup, or make a new "
            "store CA with --renew-store-ca (every device then needs its config again)"
        )
    if not renew_ca and has_cert and not _key_matches(tls.ca_cert, tls.ca_key):
        raise TlsError(
            f"{tls.ca_key} is not the key of {tls.ca_cert}: restore the pair from a backup, or "
            "make a new store CA with --renew-store-ca"
        )
    new_ca = renew_ca or not has_cert
    if new_ca:
        _make_ca(tls, store)
        report.made += [tls.ca_cert, tls.ca_key]
    elif not _valid_for(tls.ca_cert, WARN_DAYS):
        report.warnings.append(
            f"the store CA {tls.ca_cert} expires within {WARN_DAYS} days: make a new one with "
            "--renew-store-ca and give every device its config again"
        )
    for server in (tls.broker, tls.web):
        if new_ca or renew_certs or not _server_is_right(tls, server, wanted):
            # Names only grow: `install-hub` and `provision` may each ask for some, and a
            # device configured for a name the certificate had must keep finding it there.
            kept = [] if new_ca else _signed_names(tls, server)
            _make_server(tls, server, [*wanted, *(n for n in kept if n not in wanted)])
            report.made += [server.cert, server.key]
        elif not _valid_for(server.cert, WARN_DAYS):
            report.warnings.append(
                f"{server.cert} expires within {WARN_DAYS} days: renew it with --renew-tls-cert "
                "(devices keep working: they trust the store CA)"
            )
    _private(tls.ca_key)
    return report


def certificate_names(cert: Path) -> list[str]:
    """The subjectAltName entries of a certificate, as normalize_names writes them."""
    out = _openssl("x509", "-in", str(cert), "-noout", "-ext", "subjectAltName")
    found = []
    for entry in re.findall(r"(?:DNS|IP Address):[^,\s]+", out):
        kind, value = entry.split(":", 1)
        found.append(str(ipaddress.ip_address(value)) if kind == "IP Address" else value.lower())
    return found


def _signed_names(tls: StoreTls, server: ServerCert) -> list[str]:
    """The names of a server certificate the store CA signed (none if it did not)."""
    if not server.cert.exists() or not _signed_by_ca(tls, server.cert):
        return []
    return certificate_names(server.cert)


def _signed_by_ca(tls: StoreTls, cert: Path) -> bool:
    verified = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tls.ca_cert), str(cert)],
        capture_output=True,
        check=False,
    )
    return verified.returncode == 0


def _server_is_right(tls: StoreTls, server: ServerCert, wanted: list[str]) -> bool:
    if not (server.cert.exists() and server.key.exists()):
        return False
    if not _key_matches(server.cert, server.key) or not _signed_by_ca(tls, server.cert):
        return False
    return set(wanted) <= set(certificate_names(server.cert))


def _make_ca(tls: StoreTls, store: str) -> None:
    tls.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(tls.ca_key, _new_key())
    pem = _openssl(
        "req",
        "-x509",
        "-new",
        "-sha256",
        "-key",
        str(tls.ca_key),
        "-days",
        str(CA_DAYS),
        "-subj",
        f"/O=smartstore/CN=smartstore store {store} CA",
        "-set_serial",
        _serial(),
        "-addext",
        "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-addext",
        "subjectKeyIdentifier=hash",
    )
    _write_public(tls.ca_cert, pem)


def _make_server(tls: StoreTls, server: ServerCert, names: list[str]) -> None:
    # The key first: a crash before the certificate leaves a pair that does not match, which
    # the next run finds and makes again.
    write_private(server.key, _new_key())
    sans = ",".join(
        f"IP:{n}" if _is_ip(n) else f"DNS:{n}"
        for n in names  # openssl's config syntax; names were checked by normalize_names
    )
    extensions = "\n".join(
        [
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature",
            "extendedKeyUsage=serverAuth",
            f"subjectAltName={sans}",
            "subjectKeyIdentifier=hash",
            "authorityKeyIdentifier=keyid,issuer",
            "",
        ]
    )
    csr = _openssl("req", "-new", "-key", str(server.key), "-subj", f"/O=smartstore/CN={names[0]}")
    with tempfile.NamedTemporaryFile("w", suffix=".ext", encoding="ascii") as ext:
        ext.write(extensions)
        ext.flush()
        pem = _openssl(
            "x509",
            "-req",
            "-sha256",
            "-CA",
            str(tls.ca_cert),
            "-CAkey",
            str(tls.ca_key),
            "-set_serial",
            _serial(),
            "-days",
            str(SERVER_DAYS),
            "-extfile",
            ext.name,
            stdin=csr,
        )
    _write_public(server.cert, pem)


def _new_key() -> str:
    return _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")


def _key_matches(cert: Path, key: Path) -> bool:
    try:
        return _openssl("x509", "-in", str(cert), "-noout", "-pubkey") == _openssl(
            "pkey", "-in", str(key), "-pubout"
        )
    except TlsError:
        return False


def _valid_for(cert: Path, days: int) -> bool:
    checked = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-checkend", str(days * 86400)],
        capture_output=True,
        check=False,
    )
    return checked.returncode == 0


def _serial() -> str:
    # Positive, at most 20 bytes, unpredictable (RFC 5280 4.1.2.2).
    return f"0x{secrets.randbits(127) | 1 << 126:x}"


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _write_public(path: Path, text: str) -> None:
    write_private(path, text)  # atomic; a certificate is public, so readable afterwards
    os.chmod(path, 0o644)


def _private(path: Path) -> None:
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)


def _openssl(*args: str, stdin: str | None = None) -> str:
    try:
        done = subprocess.run(
            ["openssl", *args], input=stdin, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise TlsError("the openssl command is not installed (apt-get install openssl)") from None
    if done.returncode != 0:
        raise TlsError(f"openssl {args[0]} failed: {done.stderr.strip()[-500:]}")
    return done.stdout
