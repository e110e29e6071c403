"""`campaign preview --serve`: a web server on the loopback address only that shows every
recipient's status and letter, and follows the campaign's files as they change.

It answers GET and HEAD, writes nothing, serves no file (every page is rendered), and answers
only requests addressed to the loopback name and port it serves, so that a web page elsewhere
cannot reach it through a DNS name that points at 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import threading
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from markupsafe import Markup

from campaign.errors import CampaignError
from campaign.letterview import letter_view
from campaign.pages import (
    PAGE_SIZE,
    Query,
    failure_main,
    index_main,
    layout,
    letter_main,
    not_found_main,
)
from campaign.pipeline import Options
from campaign.survey import STATUSES, Snapshot, version_of, watched_files

_CSP = (
    "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
    "style-src-attr 'unsafe-inline'; connect-src 'self'; img-src 'none'; font-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_NUMBER_DIGITS = 9


class PreviewServer(ThreadingHTTPServer):
    """The server; ``current()`` is the campaign as its files are now."""

    daemon_threads = True
    allow_reuse_address = False  # never share the port with another listener

    def __init__(self, options: Options, now: datetime, port: int, host: str = "127.0.0.1"):
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback or ":" in host:
            raise CampaignError(
                f"the preview server listens on 127.0.0.1 only, not {host!r}: "
                "it shows every recipient's data to whoever can reach it"
            )
        self._snapshot: Snapshot | None = None
        try:
            super().__init__((host, port), _Handler)
        except OSError as exc:
            raise CampaignError(
                f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port "
                "(0 picks a free one)"
            ) from None
        self.options = options
        self.now = now
        self.host = host
        self.port = int(self.server_address[1])
        self.hosts = {f"{host}:{self.port}", f"localhost:{self.port}"}
        self._lock = threading.Lock()
        self.current()  # the rows are being checked before the first request comes

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def current(self) -> Snapshot:
        """The snapshot of the files as they are; a new one when any of them changed."""
        with self._lock:
            old = self._snapshot
            campaign = old.campaign if old is not None else None
            version = version_of(watched_files(self.options, campaign))
            if old is not None and old.version == version:
                return old
            if old is not None:
                old.close()
            fresh = Snapshot(self.options, self.now, version)
            # The files a new campaign reads (quote sources) are watched from now on.
            fresh.version = version_of(watched_files(self.options, fresh.campaign))
            self._snapshot = fresh
            return fresh

    def server_close(self) -> None:
        if self._snapshot is not None:
            self._snapshot.close()
        super().server_close()


def parse_query(raw: str) -> Query:
    values = parse_qs(raw, max_num_fields=16)

    def one(name: str) -> str:
        return values.get(name, [""])[0][:200]

    page = one("page")
    number = int(page) if page.isascii() and page.isdigit() and len(page) <= 6 else 1
    status = one("status")
    return Query(
        one("audience"),
        one("title"),
        status if status in STATUSES else "",
        one("q").strip(),
        max(1, number),
    )


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer
    server_version = "campaign-preview"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the command line says what the server does, not every request."""

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def _refuse_method(self) -> None:
        self._send(
            HTTPStatus.METHOD_NOT_ALLOWED,
            "text/plain",
            b"GET and HEAD only\n",
            extra={"Allow": "GET, HEAD"},
        )

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _refuse_method

    def _send(
        self,
        status: HTTPStatus,
        kind: str,
        body: bytes,
        head: bool = False,
        nonce: str = "",
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", _CSP.format(nonce=nonce or "-"))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "no-store")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _respond(self, head: bool) -> None:
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1 or hosts[0].strip().lower() not in self.server.hosts:
            message = f"This server answers only to {self.server.url}\n"
            self._send(HTTPStatus.MISDIRECTED_REQUEST, "text/plain", message.encode(), head)
            return
        if not self.path.startswith("/"):
            self._send(HTTPStatus.BAD_REQUEST, "text/plain", b"bad request target\n", head)
            return
        parts = urlsplit(self.path)
        try:
            self._route(parts.path, parts.query, head)
        except Exception as exc:  # a bug: the page says so; the server keeps serving
            text = f"Internal error in the preview server: {type(exc).__name__}: {exc}\n"
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, "text/plain", text.encode(), head)

    def _route(self, path: str, query: str, head: bool) -> None:
        snapshot = self.server.current()
        if path == "/_version":
            body = json.dumps(
                {"version": snapshot.version, "complete": snapshot.survey.complete}
            ).encode()
            self._send(HTTPStatus.OK, "application/json", body, head)
            return
        nonce = secrets.token_urlsafe(16)
        status = HTTPStatus.OK
        name = snapshot.campaign.name if snapshot.campaign is not None else "campaign"
        title = f"{name} · preview"
        main: Markup
        if snapshot.job is None:  # the settings or the recipients file cannot be read
            main = failure_main(snapshot)
        elif path == "/":
            q = parse_query(query)
            words = q.search.casefold().split()
            page = snapshot.survey.page(
                lambda e: e.matches(q.audience, q.title, q.status, words),
                (q.page - 1) * PAGE_SIZE,
                PAGE_SIZE,
            )
            main = index_main(snapshot, q, page)
        elif path.startswith("/letter/") and self._number(path) is not None:
            number = self._number(path)
            assert number is not None
            view = letter_view(snapshot, number)
            if view is None:
                status = HTTPStatus.NOT_FOUND
                main = not_found_main(f"There is no data row {number}.")
            else:
                title = f"Row {number}: {view.name} · {name}"
                main = letter_main(snapshot, view, self.server.options.recipients_display)
        else:
            status = HTTPStatus.NOT_FOUND
            main = not_found_main("No page here: the preview serves no files.")
        page_html = layout(title, main, snapshot.version, snapshot.survey.complete, nonce)
        self._send(status, "text/html", page_html.encode("utf-8"), head, nonce)

    @staticmethod
    def _number(path: str) -> int | None:
        digits = path[len("/letter/") :]
        if digits.isascii() and digits.isdigit() and len(digits) <= _NUMBER_DIGITS:
            return int(digits)
        return None


__all__ = ["PreviewServer", "parse_query"]
