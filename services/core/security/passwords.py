"""Password hashing (argon2id, the library's current recommended parameters).

Hashing costs tens of milliseconds of CPU on purpose: the services call the ``*_off_loop``
forms, which run it in a small pool of threads of its own (argon2 releases the GIL), so that a
burst of sign-ins slows sign-ins, not every other request of the process (decision 0055).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12
# Hashes computed at once per process; the others wait their turn in the pool's queue.
HASHING_THREADS = 2
_pool = ThreadPoolExecutor(max_workers=HASHING_THREADS, thread_name_prefix="maillon-argon2")

# Verified when the e-mail is unknown, so that a wrong e-mail costs as much time as a wrong
# password (no account enumeration by timing).
_DECOY_HASH = _hasher.hash("maillon-decoy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DECOY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


async def hash_password_off_loop(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_pool, hash_password, password)


async def verify_password_off_loop(password_hash: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(
        _pool, verify_password, password_hash, password
    )
