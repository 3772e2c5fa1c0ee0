#!/usr/bin/env python3
"""Writes a `manage.py dumpdata auth.user` document whose password hashes come from real Django.

Run in a virtualenv with `pip install Django bcrypt argon2-cffi`:

    python tests/django/make_hashes.py > users.json

Every hasher Latchkey imports is used once, with Django's own default cost: PBKDF2 (SHA-256 and
SHA-1), Argon2 (argon2id, and argon2i as older Django made), BCrypt-SHA256, scrypt and BCrypt, through
`django.contrib.auth.hashers.make_password`; then plain bcrypt from the `bcrypt` package (`$2b$`,
and the same hash spelled `$2a$` and `$2y$`, as Rails, Laravel and Devise store it), an unusable
password (`make_password(None)`, `!…`), and an inactive account. The password of user `NAME` is
`password_for(NAME)`, which the Rust tests (tests/integration/django_import.rs) recompute.
`--cheap` lowers every cost (for the committed sample that unit tests verify quickly);
`--pbkdf2-iterations N` lowers only PBKDF2's (the Rust integration tests run in a debug build,
where PBKDF2's generic code is unoptimised and Django's 10^6 iterations take seconds).
"""

import json
import sys

import django
from django.conf import settings

settings.configure(
    USE_TZ=True,
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
        "django.contrib.auth.hashers.BCryptPasswordHasher",
    ],
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes"],
)
django.setup()

import bcrypt  # noqa: E402
from django.contrib.auth import hashers  # noqa: E402

CHEAP = "--cheap" in sys.argv[1:]
PBKDF2_ITERATIONS = None
if "--pbkdf2-iterations" in sys.argv[1:]:
    PBKDF2_ITERATIONS = int(sys.argv[sys.argv.index("--pbkdf2-iterations") + 1])


def password_for(username):
    """Non-ASCII on purpose: every hasher must see the same UTF-8 bytes as Latchkey."""
    return f"Imported {username} pässwörd 42"


class Argon2iHasher(hashers.Argon2PasswordHasher):
    """Django's argon2 hasher with the argon2i variant of Django < 3.2."""

    def params(self):
        argon2 = self._load_library()
        params = super().params()
        return argon2.Parameters(
            type=argon2.low_level.Type.I,
            version=params.version,
            salt_len=params.salt_len,
            hash_len=params.hash_len,
            time_cost=params.time_cost,
            memory_cost=params.memory_cost,
            parallelism=params.parallelism,
        )


def cheap(hasher):
    """The same algorithm at a low cost (only with --cheap or --pbkdf2-iterations)."""
    if PBKDF2_ITERATIONS and isinstance(hasher, hashers.PBKDF2PasswordHasher):
        hasher.iterations = PBKDF2_ITERATIONS
    if not CHEAP:
        return hasher
    if isinstance(hasher, (hashers.PBKDF2PasswordHasher,)):
        hasher.iterations = 1000
    elif isinstance(hasher, hashers.Argon2PasswordHasher):
        hasher.memory_cost, hasher.time_cost, hasher.parallelism = 512, 1, 2
    elif isinstance(hasher, (hashers.BCryptSHA256PasswordHasher, hashers.BCryptPasswordHasher)):
        hasher.rounds = 4
    elif isinstance(hasher, hashers.ScryptPasswordHasher):
        hasher.work_factor, hasher.parallelism = 2**10, 1
    return hasher


DJANGO_HASHERS = {
    "pbkdf2_sha256": hashers.PBKDF2PasswordHasher(),
    "pbkdf2_sha1": hashers.PBKDF2SHA1PasswordHasher(),
    "argon2id": hashers.Argon2PasswordHasher(),
    "argon2i": Argon2iHasher(),
    "bcrypt_sha256": hashers.BCryptSHA256PasswordHasher(),
    "scrypt": hashers.ScryptPasswordHasher(),
    "bcrypt": hashers.BCryptPasswordHasher(),
}


def record(pk, username, password, active=True, last_login=None):
    return {
        "model": "auth.user",
        "pk": pk,
        "fields": {
            "password": password,
            "last_login": last_login,
            "is_superuser": False,
            "username": username,
            "first_name": "",
            "last_name": "",
            "email": f"{username}@example.com",
            "is_staff": False,
            "is_active": active,
            "date_joined": f"2023-0{1 + pk % 9}-1{pk % 10}T08:30:00.123Z",
            "groups": [],
            "user_permissions": [],
        },
    }


def main():
    records = []
    for name, hasher in DJANGO_HASHERS.items():
        username = f"django_{name}"
        encoded = hashers.make_password(password_for(username), hasher=cheap(hasher))
        assert hashers.check_password(password_for(username), encoded)
        records.append(record(len(records) + 1, username, encoded, last_login="2024-05-01T12:00:00Z"))
    rounds = 4 if CHEAP else 12
    for prefix in ("2b", "2a", "2y"):
        username = f"bcrypt_{prefix}"
        raw = bcrypt.hashpw(password_for(username).encode(), bcrypt.gensalt(rounds)).decode()
        assert raw.startswith("$2b$")
        records.append(record(len(records) + 1, username, f"${prefix}${raw[4:]}"))
    records.append(record(len(records) + 1, "no_password", hashers.make_password(None)))
    inactive = "inactive_user"
    records.append(
        record(
            len(records) + 1,
            inactive,
            hashers.make_password(password_for(inactive), hasher=cheap(hashers.PBKDF2PasswordHasher())),
            active=False,
        )
    )
    json.dump(records, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
