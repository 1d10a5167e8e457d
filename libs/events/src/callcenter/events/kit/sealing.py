"""Sealed data: AES-256-GCM with a random nonce, as one base64 text.

The ``context`` (a customer id, a tenant and column name...) is authenticated with the
data: a sealed text copied to another place does not open there.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12


class Unopenable(ValueError):
    """Sealed with another key or context, or altered."""


def seal(key: bytes, plain: bytes, context: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plain, context)).decode()


def unseal(key: bytes, sealed: str, context: bytes) -> bytes:
    raw = base64.b64decode(sealed)
    try:
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context)
    except InvalidTag:
        raise Unopenable("sealed data does not open with this key and context") from None


def derive_key(secret: str, purpose: str) -> bytes:
    """A 256-bit key for one purpose from a secret of any length (a mounted key file)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
    return hkdf.derive(secret.encode())
