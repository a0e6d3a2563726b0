"""People's passwords: argon2id hashes, checked in constant time, rehashed when the
parameters change.

Unlike an API key (256 random bits, a fast keyed hash is enough), a password is chosen by a
person and may be guessed: a slow, salted, memory-hard hash makes a stolen table expensive to
search. The sign-in's failure counter makes guessing online slow as well.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from notifier.errors import InputError

MIN_LENGTH = 10
MAX_LENGTH = 200  # argon2 takes any length; this bounds the work one form post can ask for

_hasher = PasswordHasher()


@cache
def decoy() -> str:
    """Verified against when no user has the name, so an unknown name costs as long as a wrong
    password and the answer's timing does not tell which names exist. Made at first use, not
    at import: hashing takes a tenth of a second every importer would pay (a server makes it
    as it starts, so the first sign-in takes as long as the others)."""
    return _hasher.hash("decoy password, never anyone's")


def checked(password: str) -> str:
    """``password`` if it is long enough to be a password.

    Raises:
        InputError: shorter than ``MIN_LENGTH`` or longer than ``MAX_LENGTH`` characters.
    """
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InputError(
            f"password: 密码需要 {MIN_LENGTH}-{MAX_LENGTH} 个字符 / a password needs "
            f"{MIN_LENGTH} to {MAX_LENGTH} characters",
            field="password",
        )
    return password


def hashed(password: str) -> str:
    """The stored form of a (checked) password: argon2id with a fresh salt."""
    return _hasher.hash(checked(password))


def matches(stored: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (None: check a decoy, answer
    False, taking as long)."""
    try:
        return _hasher.verify(stored or decoy(), password[:MAX_LENGTH]) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def outdated(stored: str) -> bool:
    """Whether ``stored`` was made with other parameters than today's (rehash on sign-in)."""
    return _hasher.check_needs_rehash(stored)
