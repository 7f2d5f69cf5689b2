"""CSRF tokens, origin checks and signed values."""

from __future__ import annotations

import pytest

from include.integrations.security import (
    Signer,
    csrf_token,
    csrf_token_valid,
    new_csrf_secret,
    origin_of,
    request_origin_allowed,
)


class Clock:
    now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_csrf_token_is_bound_to_browser_secret_and_user() -> None:
    signer = Signer("server-secret", "csrf")
    secret = new_csrf_secret()
    token = csrf_token(signer, secret, "admin")
    assert csrf_token_valid(signer, secret, "admin", token)
    assert not csrf_token_valid(signer, secret, "viewer", token)  # another user
    assert not csrf_token_valid(signer, new_csrf_secret(), "admin", token)  # another browser
    assert not csrf_token_valid(Signer("other-server", "csrf"), secret, "admin", token)
    assert not csrf_token_valid(signer, secret, "admin", None)
    assert not csrf_token_valid(signer, None, "admin", token)
    assert not csrf_token_valid(signer, secret, "admin", token[:-1] + "A")
    assert secret not in token and "server-secret" not in token


def test_purposes_have_their_own_keys() -> None:
    assert Signer("s", "csrf").mac("x") != Signer("s", "flash").mac("x")
    assert "s" not in repr(Signer("s", "csrf")).replace("Signer", "")


def test_signed_values_expire_and_cannot_be_forged() -> None:
    clock = Clock()
    signer = Signer("secret", "flash", clock=clock)
    signed = signer.sign("hello", max_age_seconds=60)
    assert signer.unsign(signed) == "hello"
    value, expires, signature = signed.rsplit(".", 2)
    assert signer.unsign(f"other.{expires}.{signature}") is None
    assert signer.unsign(f"{value}.{int(expires) + 999}.{signature}") is None
    assert signer.unsign("garbage") is None and signer.unsign(None) is None
    clock.now += 61
    assert signer.unsign(signed) is None


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://127.0.0.1:8080/integrations/", "http://127.0.0.1:8080"),
        ("HTTPS://Airflow.Example.com:443/x", "https://airflow.example.com"),
        ("http://example.com:80", "http://example.com"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
        ("javascript:alert(1)", None),
        ("not a url", None),
    ],
)
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


def test_request_origin_allowed() -> None:
    allowed = ["http://127.0.0.1:8080", None]
    assert request_origin_allowed("http://127.0.0.1:8080", None, allowed)
    assert not request_origin_allowed("http://evil.example", None, allowed)
    # Origin decides when present, even if a Referer says otherwise.
    assert not request_origin_allowed("http://evil.example", "http://127.0.0.1:8080/x", allowed)
    assert request_origin_allowed(None, "http://127.0.0.1:8080/integrations/", allowed)
    assert request_origin_allowed("null", "http://127.0.0.1:8080/integrations/", allowed)
    assert not request_origin_allowed(None, "http://127.0.0.1:9999/", allowed)
    assert not request_origin_allowed(None, None, allowed)
