"""Keyed hashes of personal values (a device id, a user agent, a wallet's tombstone): HMAC-
SHA256 under a key derived from the server secret and the purpose, so a value hashed for one
purpose cannot be matched with the same value hashed for another, and nobody without the
secret can test a guess."""

from __future__ import annotations

import hashlib
import hmac


class KeyedHash:
    def __init__(self, secret: str, purpose: str) -> None:
        self._key = hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()

    def hex(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
