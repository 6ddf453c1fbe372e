"""Password hashing (argon2id through argon2-cffi), the per-install secret key, and who the client is
behind trusted reverse proxies."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["hash_password", "verify_password", "load_secret_key", "client_address"]

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def load_secret_key(data_dir: Path, configured: str | None) -> str:
    """The configured secret, else one generated once and kept in the data folder."""
    if configured:
        return configured
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted_proxies: Sequence[str]) -> str:
    """The client's address: the direct peer, unless the peer is a trusted proxy.

    Then ``X-Forwarded-For`` is read from the right (each proxy appends the address it got the
    request from): trusted proxies are skipped and the first address that is not one is the
    client. Entries a client wrote itself sit to the left of that and are never believed. With no
    trusted proxies (the default) the header is ignored entirely, so nobody escapes a per-address
    limit by sending a made-up one. An unparsable entry stops the walk at the last trusted hop.
    """
    direct = peer or "unknown"
    networks = [ipaddress.ip_network(n, strict=False) for n in trusted_proxies]

    def trusted(addr: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return addr is not None and any(addr in net for net in networks)

    if not networks or not trusted(_ip(direct)):
        return direct
    hops = [h for header in forwarded_for for h in header.split(",") if h.strip()]
    client = direct
    for hop in reversed(hops):
        addr = _ip(hop)
        if addr is None:
            return client
        client = str(addr)
        if not trusted(addr):
            return client
    return client
