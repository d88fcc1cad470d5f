"""Password hashing with scrypt from the standard library (memory-hard, no extra dependency)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# n=2**15, r=8 costs 32 MiB and ~60 ms a hash on the reference machine.
_R, _P = 8, 1
_work_factor = 2**15
MIN_LENGTH = 10


def set_work_factor(n: int) -> None:
    """Change the scrypt cost for new hashes (test suites lower it; stored hashes keep their own)."""
    global _work_factor
    if n < 2**10 or n & (n - 1):
        raise ValueError("the scrypt work factor must be a power of two of at least 1024")
    _work_factor = n


def hash_password(password: str, *, n: int | None = None) -> str:
    """Hash `password` into a self-describing string: scrypt$n$r$p$salt$hash."""
    n = n or _work_factor
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=_R, p=_P, maxmem=256 * 1024 * 1024, dklen=32)
    enc = base64.b64encode
    return f"scrypt${n}${_R}${_P}${enc(salt).decode()}${enc(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches `stored`; False for any malformed stored value."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            maxmem=256 * 1024 * 1024, dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def password_problems(password: str, *, email: str = "") -> list[str]:
    """Why a new password is too weak, in words a user understands (empty when fine)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > 256:
        problems.append("Use at most 256 characters.")
    if email and password.strip().lower() == email.strip().lower():
        problems.append("Do not use your e-mail address as your password.")
    return problems
