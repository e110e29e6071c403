"""An SMTP server of our own on 127.0.0.1 that misbehaves on cue (standard library only).

A ``policy`` callable sees each event and may answer it differently, drop the connection or
wait; every reply can be delayed (a distant provider). It records the messages it accepted.
The send tests and the send benchmark both use it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

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
class Event:
    kind: str  # greeting, ehlo, mail, rcpt, data, message, rset, quit
    argument: str = ""
    connection: int = 0
    rcpt: list[str] = field(default_factory=list)
    data: bytes = b""


Policy = Callable[[Event], str | None]  # None: the usual answer


class ScriptedServer:
    """A small SMTP server in a thread; ``policy`` decides any unusual answer."""

    def __init__(
        self, policy: Policy | None = None, delay: float = 0.0, pipelining: bool = False
    ) -> None:
        self.policy: Policy = policy or (lambda event: None)
        self.pipelining = pipelining
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
                    "EHLO": "250-scripted\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n"
                    + ("250-PIPELINING\r\n" if self.pipelining else "")
                    + "250 SIZE 100000000",
                    "AUTH": "235 2.7.0 accepted",
                    "HELO": "250 scripted",
                    "MAIL": "250 sender ok",
                    "RCPT": "250 recipient ok",
                    "DATA": "354 go ahead",
                    "RSET": "250 ok",
                    "NOOP": "250 ok",
                    "QUIT": "221 bye",
                }.get(verb, "502 not implemented")
                if verb == "DATA" and not rcpt:
                    usual = "554 5.5.1 no valid recipients"
                if verb == "RCPT" and not mail_from:
                    usual = "503 5.5.1 MAIL first"
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


def main(argv: list[str]) -> int:
    """``scripted_smtp.py PORT DELAY [1]``: serve (offering PIPELINING with 1); for each line
    read, print how many messages arrived and for how many recipients since the last; stop
    when stdin closes (the send benchmark's server, a process apart)."""
    import sys

    pipelining = len(argv) > 2 and argv[2] == "1"
    server = ScriptedServer(delay=float(argv[1]), pipelining=pipelining)
    server.port = int(argv[0])
    with server:
        print("ready", flush=True)
        while sys.stdin.readline():
            received = list(server.received)
            recipients = {r.rcpt_tos[0] for r in received if r.rcpt_tos}
            print(f"{len(received)} {len(recipients)}", flush=True)
            server.received.clear()
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
