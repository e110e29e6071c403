"""Showing a message the way a person reads it: in a terminal, or as a page in a browser."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from html import escape

from campaign.render import Letter

_SHOWN = ("From", "To", "Reply-To", "Subject", "Date", "Message-ID")


def terminal_view(data: bytes) -> str:
    """Decoded headers, then the plain-text part, as the recipient's mail reader shows them."""
    message = message_from_bytes(data, policy=default)
    assert isinstance(message, EmailMessage)
    lines = [f"{name}: {message[name]}" for name in _SHOWN if message[name] is not None]
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    parts = "text and HTML" if message.is_multipart() else "text"
    return "\n".join(lines) + f"\n(parts: {parts})\n\n" + text.replace("\r\n", "\n")


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: Georgia, serif; max-width: 42em; margin: 3em auto; line-height: 1.5; }}
pre {{ font-family: inherit; white-space: pre-wrap; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def html_page(subject: str, letter: Letter) -> str:
    """A standalone page: the HTML part when the audience has one, else the text, escaped."""
    if letter.html is not None:
        if letter.html.lstrip().lower().startswith(("<!doctype", "<html")):
            return letter.html
        body = letter.html
    else:
        body = f"<pre>{escape(letter.text)}</pre>"
    return _PAGE.format(title=escape(subject), body=body)
