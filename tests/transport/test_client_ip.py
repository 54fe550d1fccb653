"""The client IP: X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import ipaddress

from clubpengu.transport.client_ip import client_ip

PROXIES = (ipaddress.ip_network("10.0.0.0/8"),)


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_ip("198.51.100.1", "203.0.113.9", ()) == "198.51.100.1"


def test_an_untrusted_peer_cannot_claim_another_address() -> None:
    assert client_ip("198.51.100.1", "203.0.113.9", PROXIES) == "198.51.100.1"


def test_a_trusted_proxy_passes_the_client_address() -> None:
    assert client_ip("10.0.0.5", "203.0.113.9", PROXIES) == "203.0.113.9"


def test_the_rightmost_untrusted_hop_is_the_client() -> None:
    forwarded = "1.2.3.4, 203.0.113.9, 10.0.0.7"

    assert client_ip("10.0.0.5", forwarded, PROXIES) == "203.0.113.9"
