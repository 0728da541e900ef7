"""Where a prediction log lives (``monitor.log``): a folder, or a PostgreSQL URL shown without its password.

Plain string handling, no database driver: the local log and the config's checks use it too.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

SCHEMES = ("postgresql", "postgres")
"""URL schemes of the PostgreSQL store (libpq accepts both)."""
MASK = "***"
_PASSWORD_PARAM = re.compile(r"(?i)([?&]password=)[^&#]*")


def is_postgres_url(location: object) -> bool:
    """Whether ``location`` is a ``postgresql://`` (or ``postgres://``) URL rather than a folder.

    >>> is_postgres_url("postgresql://alien@db:5432/monitoring"), is_postgres_url("monitoring/log")
    (True, False)
    """
    return isinstance(location, str) and "://" in location and location.split("://", 1)[0].lower() in SCHEMES


def redact_url(url: str) -> str:
    """``url`` with its password (in the user part or a ``password=`` parameter) replaced by ``***``.

    Anything that is not a URL (a folder) comes back unchanged.

    >>> redact_url("postgresql://alien:s3cret@db:5432/mon?sslmode=require&password=x")
    'postgresql://alien:***@db:5432/mon?sslmode=require&password=***'
    >>> redact_url("monitoring/log")
    'monitoring/log'
    """
    if "://" not in url:
        return url
    netloc = urlsplit(url).netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        start = url.index("://") + 3
        redacted = f"{userinfo.split(':', 1)[0]}:{MASK}@{hostport}"
        url = url[:start] + redacted + url[start + len(netloc) :]
    return _PASSWORD_PARAM.sub(lambda m: m.group(1) + MASK, url)


def mask_password(message: str, url: str) -> str:
    """``message`` with ``url``'s password, as written and decoded, replaced by ``***``
    (a driver's error may quote the URL back).

    >>> mask_password('invalid token: "pa%zz"', "postgresql://alien:pa%zz@db/mon")
    'invalid token: "***"'
    """
    userinfo, at, _ = urlsplit(url).netloc.rpartition("@") if "://" in url else ("", "", "")
    found = [userinfo.split(":", 1)[1]] if at and ":" in userinfo else []
    found += [m.group(0).split("=", 1)[1] for m in _PASSWORD_PARAM.finditer(url)]
    for password in sorted({*found, *(unquote(p) for p in found)} - {""}, key=len, reverse=True):
        message = message.replace(password, MASK)
    return message
