"""Which addresses may become links in a letter or a preview: absolute http(s) URLs with a host."""

from __future__ import annotations

import contextlib
import ipaddress
import re
import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from campaign.errors import Problems
from campaign.tomlfile import TomlFile

_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?", re.ASCII)
# What RFC 3986 never allows in a URL, or that hides what the link is: spaces of every kind,
# controls, quotes, angle brackets, backslash (browsers read it as '/'), backtick, braces.
_NOT_IN_URL = re.compile(r'[\s"<>\\^`{|}]', re.UNICODE)
# Schemes that run code or read local files when a link is followed. A browser removes ASCII
# tab, CR and LF anywhere in a URL and leading controls and spaces, and ignores case, so
# ' JaVa\tScRiPt:' is javascript: to it; compared here after the same removal.
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:", "file:", "blob:", "filesystem:")
_BROWSER_STRIPS = re.compile(
    r"[\x00-\x20\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"
)


def _char_name(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, '')}".rstrip()


def url_problem(value: str) -> str | None:
    """Why ``value`` may not be a link (an absolute http or https URL with a host), or None."""
    if scheme := dangerous_scheme(value):
        return (
            f"is a {scheme} link, which runs code or opens files on the reader's computer "
            "when followed: a link here must start with https:// or http://"
        )
    if bad := _NOT_IN_URL.search(value):
        char = bad.group()
        if char.isspace():
            return f"contains a space ({_char_name(char)}), which a URL cannot hold: write %20"
        return f"contains {char!r}, which a URL cannot hold: write it %-encoded"
    if not value.isprintable():
        char = next(c for c in value if not c.isprintable())
        return f"contains an invisible character ({_char_name(char)})"
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not value.lower().startswith(
        ("http://", "https://")
    ):
        if parts.scheme.lower() in ("http", "https"):
            return "names no host: write it as https://host.example/page"
        found = f"'{parts.scheme}:'" if parts.scheme else "no scheme"
        return f"is not a web address: a link here must start with https:// or http:// ({found})"
    if "@" in parts.netloc:
        return (
            "names a user before '@' in its host part (https://name@host): "
            "browsers show that to trick readers; give the host alone"
        )
    host = parts.hostname or ""
    if not host:
        return "names no host: write it as https://host.example/page"
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        return "has a port that is not a number from 0 to 65535"
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return None
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return f"has a host {host!r} that is not a domain name"
    labels = ascii_host.rstrip(".").split(".")
    if len(ascii_host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return f"has a host {host!r} that is not a domain name"
    return None


def dangerous_scheme(value: str) -> str | None:
    """The scheme that makes ``value`` run code or open a local file as a link, or None."""
    folded = _BROWSER_STRIPS.sub("", value).lower()
    for scheme in DANGEROUS_SCHEMES:
        if folded.startswith(scheme):
            return scheme
    return None


def strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string inside a TOML value, with its dotted path (iterative: no recursion)."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            stack.extend((f"{where}.{key}", inner) for key, inner in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((f"{where}[{n}]", inner) for n, inner in reversed(list(enumerate(item))))


# Settings of the campaign's own (any key beyond the known ones) that name a link; a template
# may put them in an href, so they must be web addresses like citation URLs.
_LINK_KEY = re.compile(r"(?:^|_)(?:url|link|href|website|homepage)s?$", re.IGNORECASE)


def check_url(
    problems: Problems, toml: TomlFile, value: str | None, name: str, key: str, what: str
) -> None:
    """An error at the line of ``name`` in table ``key`` when ``value`` is no web address."""
    if value is not None and (reason := url_problem(value)):
        problems.error(toml.display, toml.key_line(name, key), f"{what}: {name} {reason}")


def settings_links(problems: Problems, toml: TomlFile, settings: dict[str, Any]) -> None:
    """Every string in [campaign]: a link setting must be http(s); none may be javascript:."""
    for where, value in strings(settings, "campaign"):
        top = where.split(".", 2)[1].split("[", 1)[0]
        last = re.sub(r"\[\d+\]", "", where).rsplit(".", 1)[-1]  # links[0] is a 'links'
        line = toml.key_line(top, "campaign")
        if _LINK_KEY.search(last) and (reason := url_problem(value)):
            problems.error(toml.display, line, f"[campaign] setting '{where[9:]}' {reason}")
        elif (scheme := dangerous_scheme(value)) and _not_prose(scheme, value):
            problems.error(
                toml.display,
                line,
                f"[campaign] setting '{where[9:]}' is a {scheme} link, which runs code or opens "
                "files when a reader follows it: give an https:// address, or other text",
            )


def _not_prose(scheme: str, value: str) -> bool:
    """Whether a setting that starts like ``scheme`` is a link rather than a sentence.

    No text starts 'javascript:' or 'vbscript:'; but 'Data: collected by ...' and 'File: the
    report' are prose, and a data: or file: link holds no space.
    """
    return scheme in ("javascript:", "vbscript:") or " " not in value.strip()
