"""Study storage URLs with their credentials hidden, wherever in the URL they are."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

HIDDEN = "***"
SECRET_KEYS = re.compile(r"pass|pwd|secret|token|key|auth|cred", re.IGNORECASE)


def secrets(url: str) -> list[str]:
    """The credential parts of ``url``: the userinfo password and the values of query
    parameters named like a password, key or token (raw and percent-decoded)."""
    try:
        parts = urlsplit(url)
        password = parts.password
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:  # not parseable as a URL: hide everything after the scheme
        head, sep, rest = url.partition("://")
        return [rest] if sep and rest else [url]
    found = [password] if password else []
    userinfo = parts.netloc.rpartition("@")[0]
    if ":" in userinfo:
        found.append(userinfo.partition(":")[2])
    found += [v for k, v in query if v and SECRET_KEYS.search(k)]
    raw_query = [kv.partition("=") for kv in parts.query.split("&")]
    found += [v for k, _, v in raw_query if v and SECRET_KEYS.search(unquote(k))]
    found += [unquote(s) for s in found]
    return sorted({s for s in found if s}, key=len, reverse=True)


def scrub(text: str, url: str | None) -> str:
    """``text`` with every credential of ``url`` replaced by ``***``."""
    if not url:
        return text
    for s in secrets(url):
        text = text.replace(s, HIDDEN)
    return text


def redact(url: str) -> str:
    """``url`` as it may be shown: credentials replaced by ``***``."""
    return scrub(url, url)
