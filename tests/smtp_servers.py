"""SMTP servers on 127.0.0.1 for the send tests and benchmark: aiosmtpd, and one of our own.

The server of our own speaks just enough SMTP to misbehave on cue: a ``policy`` callable sees
each event and may answer it differently, drop the connection or wait; every reply can be
delayed (a distant provider). It records the messages it accepted.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

DROP = "drop"  # close the connection without a reply


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes  # CRLF line ends, dots unstuffed, as the server stores it


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every message; ``rcpt_replies`` answers given addresses."""

    received: list[Received] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_replies: list[str] = field(default_factory=list)  # answers to the next DATAs, in order
    # Answers to the next DATAs for a letter to this address, in order.
    data_replies_to: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        with self.lock:
            if self.data_replies:
                return self.data_replies.pop(0)
            waiting = self.data_replies_to.get(envelope.rcpt_tos[0] if envelope.rcpt_tos else "")
            if waiting:
                return waiting.pop(0)
            content = envelope.original_content or b""
            self.received.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content))
            )
        return "250 2.0.0 queued"


def authenticator(users: dict[str, str]) -> Callable[..., AuthResult]:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and users.get(data.login.decode()) == (
            data.password.decode()
        )
        return AuthResult(success=ok, handled=False)

    return check


def start_aiosmtpd(handler: Recorder, **kwargs: Any) -> Controller:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for 127.0.0.1, made with openssl."""
    ca_key, ca, key, csr, cert = (
        folder / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem")
    )
    ext = folder / "ext.cnf"
    ext.write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n", encoding="ascii")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
        "-days", "2", "-subj", "/CN=campaign test CA")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", "/CN=127.0.0.1")  # fmt: skip
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))  # fmt: skip
    return ca, cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


# -- the server of our own ------------------------------------------------------------------


@dataclass
class Event:
    kind: str  # greeting, ehlo, mail, rcpt, data, message, rset, quit
    argument: str = ""
    connection: int = 0
    rcpt: list[str] = field(default_factory=list)
    data: bytes = b""


Policy = Callable[[Event], str | None]  # None: the usual answer


class ScriptedServer:
    """A small SMTP server in a thread; ``policy`` decides any unusual answer."""

    def __init__(self, policy: Policy | None = None, delay: float = 0.0) -> None:
        self.policy: Policy = policy or (lambda event: None)
        self.delay = delay
        self.received: list[Received] = []
        self.connections = 0
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    async def _shutdown(self) -> None:
        self.server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port, backlog=128)
        )
        self._ready.set()
        self.loop.run_forever()
        self.loop.close()

    async def _answer(self, writer: asyncio.StreamWriter, reply: str | None, usual: str) -> bool:
        """Send ``reply`` (the policy's) or ``usual``; False when the connection is to end."""
        if reply == DROP:
            writer.close()
            return False
        if self.delay:
            await asyncio.sleep(self.delay)
        if reply and reply.startswith("sleep "):  # "sleep SECONDS REPLY"
            _, seconds, reply = reply.split(" ", 2)
            await asyncio.sleep(float(seconds))
        text = reply or usual
        writer.write(text.encode() + b"\r\n")
        await writer.drain()
        return not text.startswith("421")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        mail_from, rcpt = "", []
        try:
            greeting = self.policy(Event("greeting", connection=number))
            if not await self._answer(writer, greeting, "220 ready"):
                return
            while line := await reader.readline():
                command, _, argument = line.decode("ascii", "replace").strip().partition(" ")
                verb = command.upper()
                event = Event(verb.lower(), argument, number, list(rcpt))
                usual = {
                    "EHLO": "250-scripted\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 SIZE 100000000",
                    "AUTH": "235 2.7.0 accepted",
                    "HELO": "250 scripted",
                    "MAIL": "250 sender ok",
                    "RCPT": "250 recipient ok",
                    "DATA": "354 go ahead",
                    "RSET": "250 ok",
                    "NOOP": "250 ok",
                    "QUIT": "221 bye",
                }.get(verb, "502 not implemented")
                if verb in ("MAIL", "RCPT"):
                    event.argument = argument.partition(":")[2].strip().strip("<>")
                event.kind = "ehlo" if verb == "HELO" else event.kind
                reply = self.policy(event)
                if not await self._answer(writer, reply, usual) or verb == "QUIT":
                    break
                ok = (reply or usual)[:1] in "23"
                if verb == "MAIL" and ok:
                    mail_from, rcpt = event.argument, []
                elif verb == "RCPT" and ok:
                    rcpt.append(event.argument)
                elif verb == "RSET":
                    mail_from, rcpt = "", []
                elif verb == "DATA" and ok:
                    data = await self._read_message(reader)
                    if data is None:
                        break
                    done = Event("message", "", number, list(rcpt), data)
                    reply = self.policy(done)
                    sleeping = reply is not None and reply.startswith("sleep ")
                    effective = reply.split(" ", 2)[2] if reply and sleeping else reply
                    if effective is None or effective.startswith("250"):
                        self.received.append(Received(mail_from, list(rcpt), data))
                    mail_from, rcpt = "", []
                    if not await self._answer(writer, reply, "250 queued"):
                        break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _read_message(reader: asyncio.StreamReader) -> bytes | None:
        """The message up to the lone dot; None when the client went away before it."""
        lines = []
        while True:
            line = await reader.readline()
            if not line.endswith(b"\n"):
                return None
            if line == b".\r\n":
                return b"".join(lines)
            lines.append(line[1:] if line.startswith(b".") else line)
