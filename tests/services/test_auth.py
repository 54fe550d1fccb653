"""AuthService against the real database, signing with PyNaCl keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import base58
import jwt
import pytest
from pymongo import AsyncMongoClient

from clubpengu.errors import NotAuthenticated
from clubpengu.models import AuthSession, User
from clubpengu.services.auth import (
    AuthConfig,
    AuthFailureCode,
    AuthService,
    Challenge,
    SignedIn,
)
from tests.conftest import TEST_DB
from tests.support import MovableClock, Wallet

SECRET = "s" * 64
IP = "203.0.113.77"


def _service(clock: MovableClock, admins: frozenset[str] = frozenset()) -> AuthService:
    config = AuthConfig(
        domain="clubpengu.test",
        challenge_ttl=timedelta(minutes=5),
        jwt_secret=SECRET,
        jwt_expiry=timedelta(days=7),
        admin_wallets=admins,
    )
    return AuthService(config, clock)


@pytest.fixture
def clock() -> MovableClock:
    # Starts at the wall clock's now: challenges and sessions carry TTL-indexed expiry
    # times, and an expiry already past would let the database's TTL sweep delete them in
    # the middle of a test.
    return MovableClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def auth(clock: MovableClock) -> AuthService:
    return _service(clock)


def _challenge(auth: AuthService, wallet: str | None = None) -> Challenge:
    challenge = auth.challenge(wallet)
    assert isinstance(challenge, Challenge)
    return challenge


async def _signed_in(auth: AuthService, wallet: Wallet) -> SignedIn:
    challenge = _challenge(auth)
    result = await auth.sign_in(challenge, wallet.address, wallet.sign(challenge.text), IP)
    assert isinstance(result, SignedIn)
    return result


def test_the_challenge_names_the_domain_statement_nonce_and_times(
    auth: AuthService, clock: MovableClock
) -> None:
    wallet = Wallet()
    clock.now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # nothing is stored

    text = _challenge(auth, wallet.address).text

    assert text.startswith("clubpengu.test wants you to sign in with your Solana account:")
    assert wallet.address in text
    assert "Sign this message to authenticate with Club Pengu" in text
    nonce = next(line for line in text.splitlines() if line.startswith("Nonce: "))[7:]
    assert len(bytes.fromhex(nonce)) >= 16
    assert "Issued At: 2026-11-25T12:00:00.000Z" in text
    assert "Expiration Time: 2026-11-25T12:05:00.000Z" in text


def test_two_challenges_never_share_a_nonce(auth: AuthService) -> None:
    assert _challenge(auth).text != _challenge(auth).text


def test_a_challenge_for_a_malformed_wallet_is_refused(auth: AuthService) -> None:
    assert auth.challenge("not-base58-0OIl") == AuthFailureCode.INVALID_WALLET


async def test_a_new_wallet_becomes_a_new_user(auth: AuthService) -> None:
    wallet = Wallet()

    result = await _signed_in(auth, wallet)

    assert result.is_new_user
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None
    assert user.username.startswith("Penguin") and len(user.username) == 11
    assert user.last_login_at is not None
    assert user.last_ip_hash and user.last_ip_hash != IP
    claims = jwt.decode(result.token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["sub"] == claims["wallet"] == wallet.address
    assert claims["sid"] == result.session.session_id
    assert claims["exp"] - claims["iat"] == 7 * 86400
    assert claims["jti"] and "role" not in claims


async def test_a_returning_wallet_keeps_its_user(auth: AuthService, clock: MovableClock) -> None:
    wallet = Wallet()
    first = await _signed_in(auth, wallet)
    clock.now += timedelta(hours=1)

    second = await _signed_in(auth, wallet)

    assert not second.is_new_user
    assert second.user.username == first.user.username
    assert first.user.last_login_at is not None and second.user.last_login_at is not None
    assert second.user.last_login_at - first.user.last_login_at == timedelta(hours=1)
    assert await User.find(User.wallet_address == wallet.address).count() == 1
    assert await AuthSession.find(AuthSession.wallet_address == wallet.address).count() == 2


async def test_the_raw_ip_is_stored_nowhere(
    auth: AuthService, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    await _signed_in(auth, Wallet())

    database = mongo_client[TEST_DB]
    for name in await database.list_collection_names():
        async for document in database[name].find({}):
            assert IP not in str(document), name


def test_no_challenge(auth: AuthService) -> None:
    wallet = Wallet()

    assert auth.check(None, wallet.address, wallet.sign("x")) == AuthFailureCode.NO_CHALLENGE


def test_an_expired_challenge(auth: AuthService, clock: MovableClock) -> None:
    wallet = Wallet()
    challenge = _challenge(auth)
    clock.now += timedelta(minutes=5)

    failure = auth.check(challenge, wallet.address, wallet.sign(challenge.text))

    assert failure == AuthFailureCode.CHALLENGE_EXPIRED


@pytest.mark.parametrize(
    "address",
    [
        base58.b58encode(b"\x01" * 31).decode(),
        base58.b58encode(b"\x01" * 33).decode(),
        "0OIl" * 11,
        "",
        "1" * 500,
        12345,
        None,
        ["x"],
    ],
)
def test_a_malformed_wallet_is_invalid_wallet(auth: AuthService, address: Any) -> None:
    challenge = _challenge(auth)

    failure = auth.check(challenge, address, Wallet().sign(challenge.text))

    assert failure == AuthFailureCode.INVALID_WALLET


def test_a_wallet_other_than_the_one_named_is_invalid_wallet(auth: AuthService) -> None:
    named, other = Wallet(), Wallet()
    challenge = _challenge(auth, named.address)

    failure = auth.check(challenge, other.address, other.sign(challenge.text))

    assert failure == AuthFailureCode.INVALID_WALLET


@pytest.mark.parametrize(
    "signature",
    [
        base58.b58encode(b"\x01" * 63).decode(),
        base58.b58encode(b"\x01" * 65).decode(),
        "0OIl" * 22,
        "",
        7,
        None,
    ],
)
def test_a_malformed_signature_is_invalid_signature(auth: AuthService, signature: Any) -> None:
    challenge = _challenge(auth)

    failure = auth.check(challenge, Wallet().address, signature)

    assert failure == AuthFailureCode.INVALID_SIGNATURE


def test_a_signature_by_another_key_is_invalid(auth: AuthService) -> None:
    wallet, thief = Wallet(), Wallet()
    challenge = _challenge(auth)

    failure = auth.check(challenge, wallet.address, thief.sign(challenge.text))

    assert failure == AuthFailureCode.INVALID_SIGNATURE


def test_a_signature_over_another_text_is_invalid(auth: AuthService) -> None:
    wallet = Wallet()
    challenge = _challenge(auth)

    failure = auth.check(challenge, wallet.address, wallet.sign(challenge.text + " "))

    assert failure == AuthFailureCode.INVALID_SIGNATURE


async def test_a_failed_sign_in_writes_nothing(auth: AuthService) -> None:
    wallet = Wallet()
    challenge = _challenge(auth)

    result = await auth.sign_in(challenge, wallet.address, Wallet().sign(challenge.text), IP)

    assert result == AuthFailureCode.INVALID_SIGNATURE
    assert await User.count() == 0
    assert await AuthSession.count() == 0


async def test_a_valid_token_authenticates(auth: AuthService) -> None:
    wallet = Wallet()
    signed = await _signed_in(auth, wallet)

    session = await auth.authenticate(signed.token)

    assert session.wallet == wallet.address
    assert session.session_id == signed.session.session_id


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        token, SECRET, algorithms=["HS256"], options={"verify_exp": False}
    )
    return claims


async def test_a_token_with_alg_none_is_refused(auth: AuthService) -> None:
    signed = await _signed_in(auth, Wallet())
    forged = jwt.encode(_claims(signed.token), None, algorithm="none")  # type: ignore[arg-type]

    with pytest.raises(NotAuthenticated):
        await auth.authenticate(forged)


async def test_a_token_with_another_hmac_algorithm_is_refused(auth: AuthService) -> None:
    signed = await _signed_in(auth, Wallet())
    other = jwt.encode(_claims(signed.token), SECRET, algorithm="HS512")

    with pytest.raises(NotAuthenticated):
        await auth.authenticate(other)


async def test_a_token_with_a_changed_payload_is_refused(auth: AuthService) -> None:
    signed = await _signed_in(auth, Wallet())
    header, _payload, signature = signed.token.split(".")
    claims = _claims(signed.token) | {"sub": Wallet().address}
    changed_payload = jwt.encode(claims, "w" * 64, algorithm="HS256").split(".")[1]

    with pytest.raises(NotAuthenticated):
        await auth.authenticate(f"{header}.{changed_payload}.{signature}")


async def test_a_token_signed_with_another_secret_is_refused(auth: AuthService) -> None:
    signed = await _signed_in(auth, Wallet())
    forged = jwt.encode(_claims(signed.token), "another-secret-" * 5, algorithm="HS256")

    with pytest.raises(NotAuthenticated):
        await auth.authenticate(forged)


async def test_an_expired_token_is_refused(auth: AuthService, clock: MovableClock) -> None:
    signed = await _signed_in(auth, Wallet())
    clock.now += timedelta(days=7, seconds=1)

    with pytest.raises(NotAuthenticated, match="expired"):
        await auth.authenticate(signed.token)


async def test_token_times_are_judged_by_the_service_s_clock_not_the_wall_clock(
    clock: MovableClock,
) -> None:
    # Once the wall clock passed a week beyond a fixed test clock, PyJWT's own check
    # refused every token the service still considered live; ahead of the wall clock,
    # it refused them as "not yet valid".
    auth = _service(clock)
    clock.now += timedelta(days=3 * 365)
    signed = await _signed_in(auth, Wallet())

    assert (await auth.authenticate(signed.token)).wallet == signed.session.wallet
    clock.now += timedelta(days=7)
    with pytest.raises(NotAuthenticated, match="expired"):
        await auth.authenticate(signed.token)


def test_a_token_is_live_until_the_service_s_clock_reaches_its_expiry(clock: MovableClock) -> None:
    auth = _service(clock)
    clock.now -= timedelta(days=3 * 365)  # nothing stored: decode only
    iat = int(clock.now.timestamp())
    claims = {"sub": "w", "sid": "s", "jti": "j", "iat": iat, "exp": iat + 7 * 86400}
    token = jwt.encode(claims, SECRET, algorithm="HS256")

    assert auth.decode(token) == claims
    clock.now += timedelta(days=7)
    with pytest.raises(NotAuthenticated, match="expired"):
        auth.decode(token)


async def test_a_token_issued_after_the_service_s_now_is_refused(
    auth: AuthService, clock: MovableClock
) -> None:
    signed = await _signed_in(auth, Wallet())
    clock.now -= timedelta(minutes=1)

    with pytest.raises(NotAuthenticated, match="not valid"):
        await auth.authenticate(signed.token)


@pytest.mark.parametrize("claim, value", [("exp", "soon"), ("iat", 1.5), ("nbf", True)])
async def test_a_token_whose_times_are_not_integers_is_refused(
    auth: AuthService, claim: str, value: Any
) -> None:
    signed = await _signed_in(auth, Wallet())
    forged = jwt.encode(_claims(signed.token) | {claim: value}, SECRET, algorithm="HS256")

    with pytest.raises(NotAuthenticated, match="not valid"):
        await auth.authenticate(forged)


async def test_a_token_of_a_revoked_session_is_refused(auth: AuthService) -> None:
    signed = await _signed_in(auth, Wallet())

    assert await auth.revoke(signed.session.session_id, "test")
    with pytest.raises(NotAuthenticated):
        await auth.authenticate(signed.token)


@pytest.mark.parametrize("token", ["", "a.b.c", "x" * 5000, None, 5])
async def test_garbage_tokens_are_refused(auth: AuthService, token: Any) -> None:
    with pytest.raises(NotAuthenticated):
        await auth.authenticate(token)


async def test_only_admin_wallets_get_the_admin_claim(clock: MovableClock) -> None:
    admin, player = Wallet(), Wallet()
    auth = _service(clock, frozenset({admin.address}))

    admin_token = (await _signed_in(auth, admin)).token
    player_token = (await _signed_in(auth, player)).token

    assert _claims(admin_token)["role"] == "admin"
    assert "role" not in _claims(player_token)
    assert (await auth.authenticate(admin_token)).role == "admin"


def test_a_wallet_listed_under_several_roles_has_the_strongest() -> None:
    both, mod_and_analyst, analyst = "A" * 44, "M" * 44, "N" * 44
    config = AuthConfig(
        domain="d", challenge_ttl=timedelta(minutes=5), jwt_secret="s" * 40,
        jwt_expiry=timedelta(days=1), admin_wallets=frozenset({both}),
        moderator_wallets=frozenset({both, mod_and_analyst}),
        analyst_wallets=frozenset({both, mod_and_analyst, analyst}),
    )  # fmt: skip

    roles = [config.role_of(w) for w in (both, mod_and_analyst, analyst, "P" * 44)]

    assert roles == ["admin", "moderator", "analyst", None]
