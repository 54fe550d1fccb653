"""Wallet sign-in (seed 000 Phase 2, docs/protocol.md §1) with Sign-In With Solana's replay
protections, JWT sessions backed by AuthSession documents, and token checks.

A challenge names the domain, carries 128+ bits of fresh randomness, an issue and an expiry
time, and the wallet when the client named one. It is single-use: whoever asks to verify
takes it, success or not. `sign_in` never raises for bad input; it returns one of
docs/protocol.md §1's failure codes.

A successful sign-in writes the user (created, or its login recorded; a returning user is
then read back), then the session, the one write that waits for the journal
(docs/durability.md): the token stands for it, and the journal is written in order, so
the user's write is in it too.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import base58
import jwt
from bson import ObjectId
from bson.errors import InvalidId
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from pymongo.errors import DuplicateKeyError

from clubpengu.db import Collection, without_journal_wait
from clubpengu.errors import Conflict, ErrorCode, NotAuthenticated
from clubpengu.metrics import Metrics
from clubpengu.models import AuthChallenge, AuthSession, User
from clubpengu.models.base import iso as iso
from clubpengu.models.base import utcnow
from clubpengu.realtime.erased import ErasedWallets
from clubpengu.services.counters import NewAccountLimit
from clubpengu.services.events import EventRecorder
from clubpengu.services.names import default_username
from clubpengu.services.sanctions import ban_in_force
from clubpengu.services.transaction_runner import Session
from clubpengu.services.usernames import is_username_clash

logger = logging.getLogger(__name__)

STATEMENT = "Sign this message to authenticate with Club Pengu"
JWT_ALGORITHM = "HS256"
NONCE_BYTES = 16  # 128 bits, SIWS's minimum
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
MAX_WALLET_TEXT = 64  # base58 of 32 bytes is at most 44 characters
MAX_SIGNATURE_TEXT = 128  # base58 of 64 bytes is at most 88 characters
DEFAULT_NAME_ATTEMPTS = 8  # generated names tried on the first sign-in (4, then 6 digits)


class AuthFailureCode(StrEnum):
    NO_CHALLENGE = "no_challenge"
    CHALLENGE_EXPIRED = "challenge_expired"
    INVALID_WALLET = "invalid_wallet"
    INVALID_SIGNATURE = "invalid_signature"
    RATE_LIMITED = "rate_limited"
    BANNED = "banned"
    ERASURE_IN_PROGRESS = "erasure_in_progress"


ERASING = "erasingSince"  # on a User while its erasure runs (services/erasure.py)


class _Erasing(Exception):
    """The wallet's User is being erased: the sign-in is refused."""


class Role(StrEnum):
    """Staff roles, strongest first. Admins change coins and promo codes and do everything
    moderators do; moderators ban, mute, work the report queue and read players;
    analysts read."""

    ADMIN = "admin"
    MODERATOR = "moderator"
    ANALYST = "analyst"


@dataclass(frozen=True)
class AuthConfig:
    domain: str
    challenge_ttl: timedelta
    jwt_secret: str
    jwt_expiry: timedelta
    admin_wallets: frozenset[str] = frozenset()
    analyst_wallets: frozenset[str] = frozenset()
    moderator_wallets: frozenset[str] = frozenset()
    # Stamps a wallet holds from its first sign-in (the catalogue's "signed_in" ones):
    # written with the new user, so they cost no command and need no push.
    welcome_stamps: tuple[str, ...] = ()

    def role_of(self, wallet: str) -> str | None:
        """The wallet's staff role in this configuration (None: a player). A wallet
        listed under several roles has the strongest: admin, moderator, analyst."""
        if wallet in self.admin_wallets:
            return Role.ADMIN.value
        if wallet in self.moderator_wallets:
            return Role.MODERATOR.value
        if wallet in self.analyst_wallets:
            return Role.ANALYST.value
        return None


@dataclass(frozen=True)
class Challenge:
    text: str
    wallet: str | None
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class SessionInfo:
    """What a valid token proves: who, which session, until when; and the wallet's role
    in this node's configuration when it was checked (never the token's claim)."""

    wallet: str
    session_id: str
    role: str | None
    expires_at: datetime


@dataclass(frozen=True)
class BanRefusal:
    """The signature was good but the wallet is banned until `until` (None: until lifted):
    no session is opened."""

    until: datetime | None

    code = AuthFailureCode.BANNED


@dataclass(frozen=True)
class SignedIn:
    token: str
    user: User
    is_new_user: bool
    session: SessionInfo


def _decode_base58(text: Any, max_text: int, size: int) -> bytes | None:
    """`size` raw bytes from canonical base58 text of at most `max_text` characters."""
    if not isinstance(text, str) or not 0 < len(text) <= max_text:
        return None
    try:
        raw: bytes = base58.b58decode(text)
    except ValueError:
        return None
    if len(raw) != size or base58.b58encode(raw).decode() != text:
        return None
    return raw


def decode_wallet(text: Any) -> bytes | None:
    """The 32-byte public key of a base58 wallet address, or None."""
    return _decode_base58(text, MAX_WALLET_TEXT, PUBLIC_KEY_BYTES)


def _decode_signature(text: Any) -> bytes | None:
    return _decode_base58(text, MAX_SIGNATURE_TEXT, SIGNATURE_BYTES)


class AuthService:
    def __init__(
        self,
        config: AuthConfig,
        clock: Callable[[], datetime] = utcnow,
        events: EventRecorder | None = None,
        metrics: Metrics | None = None,
        new_accounts: NewAccountLimit | None = None,
        erased: ErasedWallets | None = None,
    ) -> None:
        self.config = config
        self.erased = erased
        self.clock = clock
        self.events = events
        self.metrics = metrics or Metrics()
        self.new_accounts = new_accounts
        # Client IPs are stored only as HMACs under a key derived from the JWT secret:
        # stable enough to spot repeat addresses, useless to anyone without the secret.
        self._ip_key = hmac.new(config.jwt_secret.encode(), b"ip-hash", hashlib.sha256).digest()

    # --- challenges -----------------------------------------------------------------------

    def challenge(self, wallet: str | None = None) -> Challenge | AuthFailureCode:
        if wallet is not None and decode_wallet(wallet) is None:
            return AuthFailureCode.INVALID_WALLET
        issued = self.clock()
        expires = issued + self.config.challenge_ttl
        lines = [f"{self.config.domain} wants you to sign in with your Solana account:"]
        lines.append(wallet or "(any wallet)")
        lines += [
            "",
            STATEMENT,
            "",
            "Version: 1",
            f"Nonce: {secrets.token_hex(NONCE_BYTES)}",
            f"Issued At: {iso(issued)}",
            f"Expiration Time: {iso(expires)}",
        ]
        return Challenge("\n".join(lines), wallet, issued, expires)

    async def http_challenge(self, wallet: str | None) -> tuple[str, Challenge] | AuthFailureCode:
        """A challenge kept in MongoDB under an id, for `POST /auth/challenge`."""
        challenge = self.challenge(wallet)
        if isinstance(challenge, AuthFailureCode):
            return challenge
        stored = AuthChallenge(
            text=challenge.text,
            wallet_address=wallet,
            issued_at=challenge.issued_at,
            expires_at=challenge.expires_at,
        )
        # Not journaled: a challenge lost to a crash of the database is simply asked again.
        document = stored.model_dump(by_alias=True, exclude={"id", "revision_id"})
        inserted = await _unjournaled(AuthChallenge).insert_one(document)
        return str(inserted.inserted_id), challenge

    async def take_http_challenge(self, challenge_id: Any) -> Challenge | None:
        """Remove and return a stored challenge; None if unknown or already taken."""
        try:
            oid = ObjectId(challenge_id) if isinstance(challenge_id, str) else None
        except InvalidId:
            oid = None
        if oid is None:
            return None
        # Read, then delete: whoever deletes it took it (single use). Not one
        # find_one_and_delete, which scans the whole collection on SecantusDB. Not
        # journaled by itself: the session insert that follows a good signature is.
        challenges = _unjournaled(AuthChallenge)
        raw = await challenges.find_one({"_id": oid})
        if raw is None or (await challenges.delete_one({"_id": oid})).deleted_count == 0:
            return None
        stored = AuthChallenge.model_validate(raw)
        return Challenge(stored.text, stored.wallet_address, stored.issued_at, stored.expires_at)

    # --- verification ---------------------------------------------------------------------

    def check(
        self, challenge: Challenge | None, wallet: Any, signature: Any
    ) -> AuthFailureCode | None:
        """Which failure code applies, or None when the signature is good."""
        if challenge is None:
            return AuthFailureCode.NO_CHALLENGE
        if self.clock() >= challenge.expires_at:
            return AuthFailureCode.CHALLENGE_EXPIRED
        public_key = decode_wallet(wallet)
        if public_key is None or (challenge.wallet is not None and challenge.wallet != wallet):
            return AuthFailureCode.INVALID_WALLET
        raw_signature = _decode_signature(signature)
        if raw_signature is None:
            return AuthFailureCode.INVALID_SIGNATURE
        try:
            VerifyKey(public_key).verify(challenge.text.encode(), raw_signature)
        except (BadSignatureError, ValueError):
            return AuthFailureCode.INVALID_SIGNATURE
        return None

    async def sign_in(
        self, challenge: Challenge | None, wallet: Any, signature: Any, ip: str
    ) -> SignedIn | AuthFailureCode | BanRefusal:
        """Verify, then create or update the User, open an AuthSession and issue a JWT; a
        banned wallet (its ban on the User just read) gets a BanRefusal instead."""
        failure = self.check(challenge, wallet, signature)
        if failure is not None:
            return self._refused(failure, wallet)
        assert isinstance(wallet, str)
        try:
            try:
                user, is_new = await self._upsert_user(wallet, ip)
            except _Erasing:
                # Nothing written about the wallet: its data is being erased.
                return self._refused(AuthFailureCode.ERASURE_IN_PROGRESS, None)
            ban = ban_in_force(user.moderation, self.clock())
            if ban is not None:
                return self._refuse_banned(wallet, ban.until)
            if is_new and not await self._may_create(user, ip):
                return self._refused(AuthFailureCode.RATE_LIMITED, wallet)
            role = self.config.role_of(wallet)
            session = await self._open_session(wallet, role, ip)
        except Exception:
            self.metrics.sign_in(str(ErrorCode.INTERNAL))  # the database failed
            raise
        self.metrics.sign_in("ok")
        if self.erased is not None:  # back after an erasure, as a new player: write again
            self.erased.discard(wallet)
        logger.info("signed in", extra={"wallet": short(wallet), "new_user": is_new, "role": role})
        if self.events is not None:
            self.events.record("sign_in", wallet, newUser=is_new)
        return SignedIn(self._token(session), user, is_new, session)

    def _refuse_banned(self, wallet: str, until: datetime | None) -> BanRefusal:
        logger.info("sign-in refused", extra={"reason": "banned", "wallet": short(wallet)})
        self.metrics.sign_in(AuthFailureCode.BANNED.value)
        if self.events is not None:
            self.events.record("sign_in_failed", wallet, code=AuthFailureCode.BANNED.value)
        return BanRefusal(until)

    def _refused(self, failure: AuthFailureCode, wallet: Any) -> AuthFailureCode:
        logger.info("sign-in refused", extra={"reason": str(failure)})
        self.metrics.sign_in(str(failure))
        if self.events is not None:
            known = wallet if decode_wallet(wallet) is not None else None
            self.events.record("sign_in_failed", known, code=str(failure))
        return failure

    async def _may_create(self, user: User, ip: str) -> bool:
        """NEW_ACCOUNTS_PER_IP_PER_DAY: counted only once the wallet turned out to be new,
        so a returning player's sign-in pays nothing for it. Over the limit, the user just
        made is taken back (only while untouched: created now, no coins)."""
        if self.new_accounts is None or await self.new_accounts.allow(self.hash_ip(ip)):
            return True
        await User.get_pymongo_collection().delete_one(
            {"walletAddress": user.wallet_address, "createdAt": user.created_at, "coins": 0}
        )
        return False

    def hash_ip(self, ip: str) -> str:
        return hmac.new(self._ip_key, ip.encode(), hashlib.sha256).hexdigest()

    async def _upsert_user(self, wallet: str, ip: str) -> tuple[User, bool]:
        """The wallet's User, created with a generated name on the first sign-in. A name
        another player has (the unique index says so) is drawn again, with more digits
        after a few clashes; a returning player costs no more than before."""
        for attempt in range(DEFAULT_NAME_ATTEMPTS):
            digits = 4 if attempt < DEFAULT_NAME_ATTEMPTS // 2 else 6
            try:
                return await self._upsert_with_name(wallet, ip, default_username(digits=digits))
            except DuplicateKeyError as error:
                if not is_username_clash(error):
                    raise
                logger.info("generated name taken; drawing another", extra={"attempt": attempt})
        raise Conflict("Could not find a free name; try again")

    async def _upsert_with_name(self, wallet: str, ip: str, name: str) -> tuple[User, bool]:
        """Create the user or record this login; the user as it is now, and whether this call
        created it. A new user is known from what was written (one command); a returning
        one is read back (two). Not one `findAndModify`: SecantusDB runs its write step as a
        scan of the whole collection (docs/secantusdb-retryable-writes.md, "findAndModify").

        The filter leaves out a User being erased (`erasingSince` set): the upsert then
        clashes with it on the wallet's unique index, and only then is it read, to tell an
        erasure (raises _Erasing) from another first sign-in of the wallet that won a race."""
        now = self.clock()
        on_login = {"lastLoginAt": now, "lastIpHash": self.hash_ip(ip), "updatedAt": now}
        fresh = User(
            wallet_address=wallet, username=name, created_at=now, updated_at=now,
            stamps=list(self.config.welcome_stamps),
            stamps_earned_at=dict.fromkeys(self.config.welcome_stamps, now),
        ).model_dump(by_alias=True, exclude={"id", "revision_id"})  # fmt: skip
        for key in (*on_login, ERASING):
            fresh.pop(key, None)
        users = _unjournaled(User)
        try:
            result = await users.update_one(
                {"walletAddress": wallet, ERASING: None},
                {"$set": on_login, "$setOnInsert": fresh},
                upsert=True,
            )
        except DuplicateKeyError as error:
            if is_username_clash(error):
                raise
            stored = await users.find_one({"walletAddress": wallet})
            if stored is None or stored.get(ERASING) is not None:
                raise _Erasing from None
            return User.model_validate(stored), False
        if result.upserted_id is not None:
            created = {**fresh, **on_login, "_id": result.upserted_id}
            return User.model_validate(created), True
        stored = await users.find_one({"walletAddress": wallet})
        if stored is None:  # removed between the two commands (staff tools): sign in again
            raise RuntimeError("the user vanished during sign-in")
        return User.model_validate(stored), False

    async def _open_session(self, wallet: str, role: str | None, ip: str) -> SessionInfo:
        expires = self.clock() + self.config.jwt_expiry
        session = AuthSession(
            wallet_address=wallet, expires_at=expires, role=role, ip_hash=self.hash_ip(ip)
        )
        await session.insert()  # journaled (the client's default): see the module docstring
        return SessionInfo(wallet, str(session.id), role, expires)

    # --- tokens ---------------------------------------------------------------------------

    def _token(self, session: SessionInfo) -> str:
        issued = self.clock()
        claims: dict[str, Any] = {
            "sub": session.wallet,
            "wallet": session.wallet,
            "sid": session.session_id,
            "iat": int(issued.timestamp()),
            "exp": int(session.expires_at.timestamp()),
            "jti": uuid.uuid4().hex,
        }
        if session.role:
            claims["role"] = session.role
        return jwt.encode(claims, self.config.jwt_secret, algorithm=JWT_ALGORITHM)

    def decode(self, token: Any) -> dict[str, Any]:
        """The claims of a well-formed, correctly signed, unexpired token. Raises
        NotAuthenticated. Only HS256 is accepted: no `none`, no algorithm confusion.

        The times (`exp`, `iat`, `nbf`) are checked against the service's clock, the one
        that issued them, not by PyJWT against the wall clock: two clocks would disagree
        (a token the service considers live refused, or the reverse) whenever the
        service's is not the wall clock's, as in the tests."""
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise NotAuthenticated("A valid token is required")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.config.jwt_secret,
                algorithms=[JWT_ALGORITHM],
                options={
                    "require": ["exp", "iat", "sub", "sid", "jti"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError:
            raise NotAuthenticated("The token is not valid") from None
        exp, iat, nbf = claims["exp"], claims["iat"], claims.get("nbf", claims["iat"])
        if not all(type(t) is int for t in (exp, iat, nbf)):  # bool is an int subclass
            raise NotAuthenticated("The token is not valid")
        now = self.clock().timestamp()
        if max(iat, nbf) > now:
            raise NotAuthenticated("The token is not valid")
        if now >= exp:
            raise NotAuthenticated("The token has expired; sign in again")
        return claims

    async def authenticate(self, token: Any) -> SessionInfo:
        """Check the token and that its AuthSession exists and is not revoked. The role is
        the wallet's in the configuration now, so a wallet taken off a staff list loses
        its power at once, whatever its token or session says."""
        claims = self.decode(token)
        session = await self._live_session(claims.get("sid"))
        if session is None or session.wallet_address != claims["sub"]:
            raise NotAuthenticated("The session has ended; sign in again")
        wallet = session.wallet_address
        if self.erased is not None:  # a live session: the wallet is back (see sign_in)
            self.erased.discard(wallet)
        return SessionInfo(wallet, str(session.id), self.config.role_of(wallet), session.expires_at)

    async def _live_session(self, session_id: Any) -> AuthSession | None:
        try:
            oid = ObjectId(session_id) if isinstance(session_id, str) else None
        except InvalidId:
            return None
        if oid is None:
            return None
        session = await AuthSession.get(oid)
        if session is None or session.revoked_at is not None:
            return None
        if self.clock() >= session.expires_at:
            return None
        return session

    async def revoke(self, session_id: str, reason: str) -> bool:
        """Mark a session revoked; True if it was live. Its tokens stop working at once."""
        try:
            oid = ObjectId(session_id)
        except InvalidId:
            return False
        result = await AuthSession.get_pymongo_collection().update_one(
            {"_id": oid, "revokedAt": None},
            {"$set": {"revokedAt": self.clock(), "revokedReason": reason}},
        )
        return result.modified_count == 1

    async def revoke_wallet(
        self, wallet: str, reason: str, session: Session | None = None
    ) -> list[str]:
        """Revoke every live session of a wallet (staff), inside `session`'s transaction
        when given; the ids of those revoked."""
        collection = AuthSession.get_pymongo_collection()
        live = {"walletAddress": wallet, "revokedAt": None, "expiresAt": {"$gt": self.clock()}}
        ids = [doc["_id"] async for doc in collection.find(live, {"_id": 1}, session=session)]
        if ids:
            await collection.update_many(
                {"_id": {"$in": ids}, "revokedAt": None},
                {"$set": {"revokedAt": self.clock(), "revokedReason": reason}},
                session=session,
            )
        return [str(session_id) for session_id in ids]


def _unjournaled(model: type[AuthChallenge] | type[User]) -> Collection:
    return without_journal_wait(model.get_pymongo_collection())


def short(wallet: str) -> str:
    """A wallet shortened for logs: enough to correlate, not the whole address."""
    return f"{wallet[:4]}…{wallet[-4:]}" if len(wallet) > 10 else wallet
