"""``python -m include.fortnox rotate-key``: every stored token re-encrypted with the new key,
readable with it alone afterwards, nothing changed when a token opens with no key given, and
no token or key in the output. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from include.fortnox import cli
from include.fortnox.errors import TokenKeyError
from include.fortnox.models import TokenSet
from include.fortnox.token_schema import create_token_tables
from include.fortnox.tokens import TokenCipher, TokenStore

OLD, NEW = TokenCipher.generate_key(), TokenCipher.generate_key()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tokens.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


def connect_companies(url: str, key: str) -> None:
    store = TokenStore(url, TokenCipher([key]))
    create_token_tables(store.engine)
    expires = datetime.now(UTC) + timedelta(hours=1)
    store.save_connection(
        "1001", TokenSet("a1-SECRET", "r1-SECRET", expires), company_name="Norrsken AB"
    )
    store.save_connection(
        "1002", TokenSet("a2-SECRET", "r2-SECRET", expires), company_name="Skattebolaget AB"
    )
    store.save_connection("1003", TokenSet("a3", "r3", expires), company_name="Revoked AB")
    with store.engine.begin() as conn:  # as TokenStore.revoke leaves it: no tokens
        conn.execute(
            sa.update(store.table)
            .where(store.table.c.tenant_id == "1003")
            .values(status="revoked", access_token_encrypted=None, refresh_token_encrypted=None)
        )
    store.engine.dispose()


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, keys: str) -> tuple[int, str, str]:
    monkeypatch.setenv("FORTNOX_TOKEN_KEY", keys)
    monkeypatch.delenv("AIRFLOW_CONN_FORTNOX_DEFAULT", raising=False)
    monkeypatch.delenv("FORTNOX_CLIENT_ID", raising=False)
    monkeypatch.delenv("FORTNOX_TOKEN_STORE_URL", raising=False)
    out = io.StringIO()
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    status = cli.main(argv, out=out)
    return status, out.getvalue(), err.getvalue()


def ciphertexts(url: str) -> list[tuple[str | None, str | None]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT access_token_encrypted, refresh_token_encrypted "
                    "FROM fortnox_connection ORDER BY tenant_id"
                )
            ).all()
    finally:
        engine.dispose()
    return [(r[0], r[1]) for r in rows]


def test_rotate_key_re_encrypts_every_token_with_the_new_key(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect_companies(store_url, OLD)
    before = ciphertexts(store_url)

    status, out, err = run(["rotate-key", "--url", store_url], monkeypatch, f"{NEW},{OLD}")

    assert status == 0, err
    assert "Re-encrypted the tokens of 2 of 3 companies" in out
    assert "may now be removed" in out
    after = ciphertexts(store_url)
    assert after[2] == before[2] == (None, None)  # the revoked company has nothing to rotate
    for old_pair, new_pair in zip(before[:2], after[:2], strict=True):
        assert all(old != new for old, new in zip(old_pair, new_pair, strict=True))
    only_new = TokenStore(store_url, TokenCipher([NEW]))
    assert only_new.get_access_token("1001") == "a1-SECRET"
    assert only_new.get_access_token("1002") == "a2-SECRET"
    only_new.engine.dispose()
    only_old = TokenStore(store_url, TokenCipher([OLD]))
    with pytest.raises(TokenKeyError, match="does not hold the key"):
        only_old.get_access_token("1001")
    only_old.engine.dispose()
    for secret in ("SECRET", OLD, NEW):
        assert secret not in out + err


def test_rotate_key_changes_nothing_when_a_token_opens_with_no_given_key(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect_companies(store_url, OLD)
    before = ciphertexts(store_url)
    stranger = TokenCipher.generate_key()  # neither key given opens the tokens

    status, out, err = run(["rotate-key", "--url", store_url], monkeypatch, f"{NEW},{stranger}")

    assert status == 1
    assert "cannot re-encrypt the tokens of company Norrsken AB" in err
    assert ciphertexts(store_url) == before  # one transaction: nothing re-encrypted
    for secret in ("SECRET", OLD, NEW, stranger):
        assert secret not in out + err


def test_rotate_key_finds_the_store_from_the_environment_and_refuses_a_wrong_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    connect_companies(url, OLD)
    monkeypatch.setenv("WAREHOUSE_URL", url)
    status, out, err = run(["rotate-key"], monkeypatch, OLD)
    assert status == 0, err
    assert "2 of 3 companies" in out and "holds one key" in out

    empty = f"sqlite:///{tmp_path / 'other.db'}"
    status, out, err = run(["rotate-key", "--url", empty], monkeypatch, f"{NEW},{OLD}")
    assert status == 1
    assert "no Fortnox token store in" in err and "fortnox_connection" in err
