"""Who the client is: X-Forwarded-For counts only when the direct peer is a trusted proxy."""

from __future__ import annotations

import pytest

from copilot.errors import ConfigError
from copilot.security import client_address
from copilot.settings import Settings

PROXIES = ("10.0.0.0/8", "192.168.1.5/32")


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address("203.0.113.7", ["198.51.100.1"], ()) == "203.0.113.7"


def test_a_peer_that_is_not_a_trusted_proxy_cannot_name_another_client() -> None:
    assert client_address("203.0.113.7", ["198.51.100.1"], PROXIES) == "203.0.113.7"


def test_behind_a_trusted_proxy_the_address_it_appended_is_the_client() -> None:
    assert client_address("10.1.2.3", ["198.51.100.1"], PROXIES) == "198.51.100.1"


def test_an_address_the_client_wrote_itself_is_never_believed() -> None:
    # The client sent "1.2.3.4"; the proxy appended the address it really came from.
    assert client_address("10.1.2.3", ["1.2.3.4, 198.51.100.1"], PROXIES) == "198.51.100.1"


def test_chained_trusted_proxies_are_skipped_from_the_right() -> None:
    assert client_address("10.1.2.3", ["1.2.3.4", "198.51.100.1, 192.168.1.5"], PROXIES) == "198.51.100.1"


def test_garbage_in_the_chain_stops_at_the_last_trusted_hop() -> None:
    assert client_address("10.1.2.3", ["not-an-ip"], PROXIES) == "10.1.2.3"
    assert client_address("10.1.2.3", ["198.51.100.1, ::ffff:nonsense, 192.168.1.5"], PROXIES) == "192.168.1.5"


def test_ipv6_clients_and_an_absent_header() -> None:
    assert client_address("10.1.2.3", ["2001:db8::1"], PROXIES) == "2001:db8::1"
    assert client_address("10.1.2.3", [], PROXIES) == "10.1.2.3"
    assert client_address(None, [], PROXIES) == "unknown"


def test_trusted_proxies_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPILOT_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.5")
    assert Settings.from_env().trusted_proxies == ("10.0.0.0/8", "192.168.1.5/32")
    monkeypatch.setenv("COPILOT_TRUSTED_PROXIES", "10.0.0.0/8, the-load-balancer")
    with pytest.raises(ConfigError, match="'the-load-balancer' is not an IP address or network"):
        Settings.from_env()


def test_login_limits_are_failures_per_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPILOT_LOGIN_LIMIT_PER_ACCOUNT", "3/60")
    assert Settings.from_env().login_limit_per_account == (3, 60)
    monkeypatch.setenv("COPILOT_LOGIN_LIMIT_PER_ADDRESS", "ten a minute")
    with pytest.raises(ConfigError, match="COPILOT_LOGIN_LIMIT_PER_ADDRESS must be FAILURES/SECONDS"):
        Settings.from_env()
