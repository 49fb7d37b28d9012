"""Coupon codes: Crockford base32 with Crockford's mod-37 check symbol, from a CSPRNG.

A code is ``<prefix><13 random symbols><check>``: 13 symbols carry 65 random bits from
``secrets``. The check symbol is Crockford's (the whole code read as a base-32 number,
mod 37, written with ``0-9A-Z`` minus ``ILOU`` plus ``*~$=U``). Codes whose check would be
one of ``*~$=`` are drawn again so every code is letters and digits (the check stays the
standard one; the entropy left is 65 + log2(33/37) ≈ 64.8 bits). Reading a code forgives
case, hyphens and spaces, and Crockford's look-alikes (``I``/``L`` → 1, ``O`` → 0).
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_SYMBOLS = ALPHABET + "*~$=U"
BODY_LENGTH = 13
ENTROPY_BITS = 5 * BODY_LENGTH
PREFIX_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{1,8}$")
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_BAD_CHECK = set("*~$=")


def check_symbol(symbols: str) -> str:
    """Crockford's check symbol for a string of base-32 symbols."""
    value = 0
    for ch in symbols:
        value = (value * 32 + _VALUE[ch]) % 37
    return CHECK_SYMBOLS[value]


def generate(prefix: str = "") -> str:
    """One new random code (prefix must use the Crockford alphabet, upper case)."""
    if prefix and not PREFIX_RE.match(prefix):
        raise ValueError("prefix must be 1-8 Crockford base32 symbols (no I, L, O, U)")
    while True:
        n = secrets.randbits(ENTROPY_BITS)
        body = "".join(ALPHABET[(n >> (5 * i)) & 31] for i in range(BODY_LENGTH))
        check = check_symbol(prefix + body)
        if check not in _BAD_CHECK:
            return prefix + body + check


def normalize(raw: str) -> str:
    """Canonical form of what a member typed: upper case, no separators, look-alikes fixed."""
    return re.sub(r"[\s-]+", "", raw).upper().translate(_ALIASES)


def is_valid(code: str) -> bool:
    """True when a canonical code is well formed and its check symbol matches."""
    if len(code) < BODY_LENGTH + 1 or len(code) > BODY_LENGTH + 9:
        return False
    body, check = code[:-1], code[-1]
    if any(ch not in _VALUE for ch in body):
        return False
    return check_symbol(body) == check
