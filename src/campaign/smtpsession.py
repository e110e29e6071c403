"""One SMTP session: connect, TLS, AUTH, and one letter's MAIL / RCPT / DATA with a journal.

Every outcome is classified the way a rerun must treat it: ``sent`` (250 after DATA),
``failed`` (5xx), ``deferred`` (4xx, refused, timeout or a dropped connection before DATA)
and ``unknown`` (no reply after the message went out: it may have been delivered).
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from campaign.smtpconfig import SmtpConfig

_BARE_LF = re.compile(rb"\r?\n")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]+")


class SessionFatal(Exception):
    """A problem no retry can fix (TLS verification, authentication): the run stops."""


class ConnectFailed(Exception):
    """The server could not be reached or turned the session away; worth trying again later."""


@dataclass(frozen=True)
class Outcome:
    state: str
    reply: str
    keep_connection: bool = True


def wire_bytes(data: bytes) -> bytes:
    """The message as it goes after DATA: CRLF line ends, leading dots doubled, then ``.``."""
    crlf = data.replace(b"\n", b"\r\n") if b"\r" not in data else _BARE_LF.sub(b"\r\n", data)
    if not crlf.endswith(b"\r\n"):
        crlf += b"\r\n"
    stuffed = crlf.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    return stuffed + b".\r\n"


def reply_text(code: int, message: bytes | str) -> str:
    """A server reply as one printable line (it is untrusted text bound for a terminal)."""
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {_UNPRINTABLE.sub(' ', text).strip()}"[:500]


def tls_context(config: SmtpConfig) -> ssl.SSLContext:
    """Certificates verified, host names checked (loading the trust store takes a while:
    one context serves every connection)."""
    try:
        return ssl.create_default_context(cafile=config.cafile or None)
    except (OSError, ssl.SSLError) as exc:
        raise SessionFatal(f"cannot read the CA file {config.cafile}: {exc}") from None


def _classify(code: int) -> str:
    if 500 <= code < 600:
        return "failed"
    return "deferred"


class Session:
    """An open, greeted, secured and authenticated connection reused for many letters."""

    def __init__(
        self, config: SmtpConfig, password: str | None, context: ssl.SSLContext | None = None
    ) -> None:
        self.config = config
        if context is None and config.security != "none":
            context = tls_context(config)
        host, port, timeout = config.host, config.real_port, config.timeout
        name = socket.gethostname() or "localhost"
        try:
            if config.security == "ssl":
                self.smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    host, port, local_hostname=name, timeout=timeout, context=context
                )
            else:
                self.smtp = smtplib.SMTP(host, port, local_hostname=name, timeout=timeout)
            self._start(context, password)
        except ssl.SSLCertVerificationError as exc:
            self._close()
            raise SessionFatal(
                f"the TLS certificate of {host} is not valid: {exc.verify_message}"
            ) from None
        except smtplib.SMTPAuthenticationError as exc:
            self._close()
            raise SessionFatal(
                f"{host} refused the login of {config.username!r}: "
                f"{reply_text(exc.smtp_code, exc.smtp_error)}"
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            self._close()
            raise SessionFatal(f"{host}: {exc}") from None
        except smtplib.SMTPConnectError as exc:
            self._close()
            raise ConnectFailed(reply_text(exc.smtp_code, exc.smtp_error)) from None
        except smtplib.SMTPResponseException as exc:
            self._close()
            raise ConnectFailed(reply_text(exc.smtp_code, exc.smtp_error)) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._close()
            raise ConnectFailed(f"cannot connect to {host}:{port}: {_describe(exc)}") from None

    def _start(self, context: ssl.SSLContext | None, password: str | None) -> None:
        smtp = self.smtp
        code, message = smtp.ehlo()
        if code != 250:
            raise smtplib.SMTPResponseException(code, message)
        if self.config.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError(
                    "the server does not offer STARTTLS; refusing to send without TLS "
                    '(set security = "ssl" if it speaks TLS from the start)'
                )
            smtp.starttls(context=context)
            smtp.ehlo()
        self.pipelining = smtp.has_extn("pipelining")
        if self.config.username:
            if password is None:
                raise SessionFatal("no password")
            smtp.login(self.config.username, password)

    def _close(self) -> None:
        smtp = getattr(self, "smtp", None)
        if smtp is not None:
            with contextlib.suppress(OSError):
                smtp.close()

    def close(self) -> None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            self.smtp.quit()
        self._close()

    def deliver(
        self, sender: str, recipient: str, data: bytes, claim: Callable[[], int]
    ) -> tuple[Outcome, int]:
        """Send one letter; ``claim`` is called (and must be durable) right before the message
        itself goes out, and returns the attempt's id. Returns the outcome and that id (0 when
        the letter never reached DATA)."""
        smtp = self.smtp
        attempt = 0
        # The addresses were checked (ASCII, no spaces or brackets) by export and read back
        # from the letter; smtplib's quoteaddr() would only parse them again.
        commands = (f"MAIL FROM:<{sender}>", f"RCPT TO:<{recipient}>", "DATA")
        wanted = (250, 250, 354)
        try:
            if self.pipelining:  # RFC 2920: the three commands in one write
                smtp.send("".join(f"{c}\r\n" for c in commands).encode("ascii"))
            for number, command in enumerate(commands):
                if not self.pipelining:
                    smtp.send(f"{command}\r\n".encode("ascii"))
                code, message = smtp.getreply()
                code = 250 if code == 251 else code
                if code != wanted[number]:
                    return self._refused(code, message, number), 0
            attempt = claim()
            smtp.send(wire_bytes(data))
            code, message = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            text = _describe(exc)
            if attempt:
                return Outcome("unknown", f"no reply after the message went out: {text}", False), (
                    attempt
                )
            return Outcome("deferred", f"connection lost before DATA: {text}", False), 0
        if code == 250:
            return Outcome("sent", reply_text(code, message)), attempt
        return Outcome(_classify(code), reply_text(code, message), code != 421), attempt

    def _refused(self, code: int, message: bytes, number: int) -> Outcome:
        """A reply before the message that is not the one wanted (to command ``number`` of
        MAIL, RCPT, DATA): read what a pipelined rest got, and reset for the next letter."""
        outcome = Outcome(_classify(code), reply_text(code, message), code != 421)
        if not outcome.keep_connection:
            return outcome
        try:
            if self.pipelining:
                for _ in range(number + 1, 3):
                    rest, _ = self.smtp.getreply()
                    if rest == 354:  # DATA accepted anyway: end an empty message
                        self.smtp.send(b".\r\n")
                        self.smtp.getreply()
            rcode, _ = self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            return Outcome(outcome.state, outcome.reply, False)
        return outcome if rcode == 250 else Outcome(outcome.state, outcome.reply, False)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return "timed out"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the server closed the connection"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return _UNPRINTABLE.sub(" ", str(exc)) or type(exc).__name__
