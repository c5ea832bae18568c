"""A client for ClamAV's daemon (clamd) over its INSTREAM command: the bytes are streamed to it in chunks, never
written to disk here. Protocol (clamd(8)): `zINSTREAM\\0`, then chunks each preceded by its length as a 4-byte
big-endian number, then a zero length; the reply is `stream: OK`, `stream: <signature> FOUND` or `... ERROR`,
ended by NUL."""
from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

CHUNK = 64 * 1024
REPLY_MAX = 4096


class ScannerUnavailable(Exception):
    """clamd could not be reached, or did not answer in time."""


class ScanError(Exception):
    """clamd answered with an error (the stream too long for its StreamMaxLength, a database problem)."""


@dataclass(frozen=True)
class Scanner:
    """Where clamd listens: a unix socket path, or a host and port."""

    socket_path: str | None = None
    host: str | None = None
    port: int = 3310
    timeout: float = 30.0

    def _connect(self) -> socket.socket:
        try:
            if self.socket_path:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.timeout)
                sock.connect(self.socket_path)
                return sock
            return socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise ScannerUnavailable(f"cannot reach clamd at {self.where}: {exc}") from None

    @property
    def where(self) -> str:
        return self.socket_path or f"{self.host}:{self.port}"

    def ping(self) -> bool:
        """Does clamd answer PING with PONG?"""
        try:
            return self._command(b"zPING\0") == "PONG"
        except (ScannerUnavailable, ScanError):
            return False

    def scan(self, data: bytes) -> str | None:
        """The signature found in `data`, or None when clamd says it is clean.

        :raise ScannerUnavailable: clamd is not listening or does not answer within the timeout
        :raise ScanError: clamd answered with an error
        """
        sock = self._connect()
        try:
            try:
                sock.sendall(b"zINSTREAM\0")
                for start in range(0, len(data), CHUNK):
                    chunk = data[start:start + CHUNK]
                    sock.sendall(struct.pack("!L", len(chunk)) + chunk)
                sock.sendall(struct.pack("!L", 0))
            except BrokenPipeError:
                pass   # clamd stops reading at its size limit and says so: read its reply below
            except OSError as exc:
                raise ScannerUnavailable(f"clamd at {self.where} stopped answering: {exc}") from None
            reply = self._reply(sock)
        finally:
            sock.close()
        return parse(reply)

    def _command(self, command: bytes) -> str:
        sock = self._connect()
        try:
            try:
                sock.sendall(command)
            except OSError as exc:
                raise ScannerUnavailable(f"clamd at {self.where} stopped answering: {exc}") from None
            return self._reply(sock)
        finally:
            sock.close()

    def _reply(self, sock: socket.socket) -> str:
        received = b""
        try:
            while b"\0" not in received and len(received) < REPLY_MAX:
                block = sock.recv(1024)
                if not block:
                    break
                received += block
        except OSError as exc:   # socket.timeout included
            raise ScannerUnavailable(f"clamd at {self.where} did not answer: {exc}") from None
        if not received:
            raise ScannerUnavailable(f"clamd at {self.where} closed the connection without an answer")
        return received.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def parse(reply: str) -> str | None:
    """`stream: OK` → None; `stream: Eicar-Signature FOUND` → "Eicar-Signature".

    :raise ScanError: for an ERROR reply or anything unexpected
    """
    text = reply.removeprefix("stream:").strip()
    if text == "OK":
        return None
    if text.endswith(" FOUND"):
        return text.removesuffix(" FOUND").strip() or "unnamed signature"
    if "size limit exceeded" in text:
        raise ScanError("the file is longer than the virus scanner accepts (clamd's StreamMaxLength)")
    raise ScanError(f"the virus scanner answered: {reply[:200]}")
