"""Passwords: the rule every new password meets, hashing, and checking at the same cost
whether or not the account exists."""

from __future__ import annotations

import secrets
import string
from functools import lru_cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from civicgrid.auth.exceptions import WeakPassword

MIN_LENGTH = 10
# Distinct characters a password needs at least ("aaaaaaaaaa", "1212121212" are refused).
MIN_DISTINCT = 4
# What people put around a word to pass a rule: "password123!", "admin2024".
_DECORATION = string.digits + string.punctuation + " "

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (data/common-passwords.txt), lower case."""
    text = (files("civicgrid") / "data" / "common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def check_policy(password: str, *, username: str) -> None:
    """Raises WeakPassword unless the password has at least MIN_LENGTH characters and
    MIN_DISTINCT different ones, and is neither the username nor a common password, also
    not with digits or symbols added before or after (all compared without case)."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(
            f"密码至少 {MIN_LENGTH} 个字符", f"a password needs at least {MIN_LENGTH} characters"
        )
    lower = password.lower()
    core = lower.strip(_DECORATION)
    name = username.strip().lower()
    name_core = name.strip(_DECORATION)
    if (name and name in (lower, core)) or (name_core and core == name_core):
        raise WeakPassword("密码不能是用户名", "the password must not be the username")
    common = common_passwords()
    if lower in common or core in common:
        raise WeakPassword(
            "密码太常见, 容易被猜中; 请换一个 (例如几个不相关的词)",
            "the password is too common to be safe; choose another (a few unrelated words)",
        )
    if len(set(lower)) < MIN_DISTINCT:
        raise WeakPassword(
            f"密码至少要有 {MIN_DISTINCT} 个不同的字符",
            f"a password needs at least {MIN_DISTINCT} different characters",
        )


def hash_password(password: str) -> str:
    """An argon2id hash (slow on purpose: call it off the event loop)."""
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash of a random password no one knows, with the same parameters as real ones:
    checking a password for an unknown or disabled account against it costs the same."""
    return _hasher.hash(secrets.token_urlsafe(24))


def verify(password_hash: str, password: str) -> bool:
    """True if `password` matches the hash; the cost is one argon2 verification either way."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
