"""The clamd INSTREAM client: replies parsed, a real daemon pinged and asked."""
from __future__ import annotations

import pytest

from casework import clamd
from tests.fixtures.clamd import EICAR, SIGNATURE, clamd_socket  # noqa: F401  (a fixture)


@pytest.mark.parametrize("reply,found", [("stream: OK", None), ("stream: Eicar-Signature FOUND", "Eicar-Signature"),
                                         ("stream: Win.Test.EICAR_HDB-1 FOUND", "Win.Test.EICAR_HDB-1")])
def test_replies(reply, found):
    assert clamd.parse(reply) == found


@pytest.mark.parametrize("reply,words", [("INSTREAM size limit exceeded. ERROR", "StreamMaxLength"),
                                         ("stream: Can't allocate memory ERROR", "answered")])
def test_errors(reply, words):
    with pytest.raises(clamd.ScanError, match=words):
        clamd.parse(reply)


def test_a_real_daemon(clamd_socket):  # noqa: F811
    scanner = clamd.Scanner(socket_path=clamd_socket, timeout=10)
    assert scanner.ping()
    assert scanner.scan(EICAR).startswith(SIGNATURE)   # clamd adds ".UNOFFICIAL" to home-made signatures
    assert scanner.scan(b"hello" * 100_000) is None   # several chunks


def test_nobody_listening(tmp_path):
    scanner = clamd.Scanner(socket_path=str(tmp_path / "none.sock"), timeout=1)
    assert not scanner.ping()
    with pytest.raises(clamd.ScannerUnavailable):
        scanner.scan(b"x")
    with pytest.raises(clamd.ScannerUnavailable):
        clamd.Scanner(host="127.0.0.1", port=1, timeout=1).scan(b"x")
