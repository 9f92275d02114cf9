"""PostgreSQL wire protocol (v3) framing: just enough to relay, inspect and answer messages."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import BinaryIO

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
PROTOCOL_3 = 3 << 16

_I32 = struct.Struct("!i")
_HEADER = struct.Struct("!ci")

# Bounds on what a client may declare, checked before a body is read (docs/redshift-emulator.md, "Limits").
# PostgreSQL's own start-up packet limit (MAX_STARTUP_PACKET_LENGTH) is 10,000 bytes.
MAX_STARTUP_LENGTH = 10_000
# Before authentication only an MD5 PasswordMessage is expected: "md5" + 32 hex digits + NUL is 40 bytes.
MAX_PASSWORD_LENGTH = 1024
# After authentication: far above Redshift's largest statement (16 MB) and any Bind a driver builds, far
# below PostgreSQL's 1 GiB, so that one message cannot make the emulator hold more than this at once.
MAX_MESSAGE_LENGTH = 256 << 20


class Disconnected(ConnectionError):
    """The peer closed the connection."""


class ProtocolViolation(ConnectionError):
    """The peer sent what the protocol forbids (e.g. a length over the bound): SQLSTATE 08P01, then close."""

    sqlstate = "08P01"


def read_exact(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise Disconnected("connection closed")
    return data


def read_startup(stream: BinaryIO) -> bytes:
    """A start-up phase packet (no type byte): its body after the length."""
    (length,) = _I32.unpack(read_exact(stream, 4))
    if not 8 <= length <= MAX_STARTUP_LENGTH:
        raise ProtocolViolation("invalid length of startup packet")
    return read_exact(stream, length - 4)


def read_message(stream: BinaryIO, max_length: int | None = MAX_MESSAGE_LENGTH) -> tuple[bytes, bytes]:
    """One typed message: (type byte, body). A length over `max_length` (None: no bound, for the emulator's
    own PostgreSQL) is refused before its body is read."""
    kind, length = _HEADER.unpack(read_exact(stream, 5))
    if length < 4:
        raise ProtocolViolation(f"invalid message length {length}")
    if max_length is not None and length > max_length:
        raise ProtocolViolation(f"invalid message length {length}: the limit is {max_length} bytes")
    return kind, read_exact(stream, length - 4)


def message(kind: bytes, body: bytes = b"") -> bytes:
    return _HEADER.pack(kind, len(body) + 4) + body


def startup_packet(code: int, params: Mapping[str, str]) -> bytes:
    body = _I32.pack(code) + b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in params.items()) + b"\0"
    return _I32.pack(len(body) + 4) + body


def parse_startup_params(body: bytes) -> dict[str, str]:
    parts = body.split(b"\0")
    return {parts[i].decode(): parts[i + 1].decode() for i in range(0, len(parts) - 1, 2) if parts[i]}


def cstring(body: bytes, offset: int = 0) -> tuple[str, int]:
    """A NUL-terminated string at `offset`, and the offset after it."""
    end = body.index(b"\0", offset)
    return body[offset:end].decode(), end + 1


def int32(value: int) -> bytes:
    return _I32.pack(value)


def error_response(message_text: str, sqlstate: str, severity: str = "ERROR", detail: str | None = None) -> bytes:
    fields = [(b"S", severity), (b"V", severity), (b"C", sqlstate), (b"M", message_text)]
    if detail:
        fields.append((b"D", detail))
    body = b"".join(code + text.encode("utf-8", "replace") + b"\0" for code, text in fields) + b"\0"
    return message(b"E", body)


def notice_response(message_text: str, severity: str = "INFO") -> bytes:
    fields = [(b"S", severity), (b"V", severity), (b"C", "00000"), (b"M", message_text)]
    return message(b"N", b"".join(code + text.encode() + b"\0" for code, text in fields) + b"\0")


def error_fields(body: bytes) -> dict[str, str]:
    """The fields of an ErrorResponse/NoticeResponse body, by their one-letter codes."""
    fields = {}
    for part in body.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return fields


def command_complete(tag: str) -> bytes:
    return message(b"C", tag.encode() + b"\0")


def ready_for_query(status: bytes) -> bytes:
    return message(b"Z", status)


def query(sql: str) -> bytes:
    return message(b"Q", sql.encode() + b"\0")


PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
CLOSE_COMPLETE = message(b"3")
NO_DATA = message(b"n")
NO_PARAMETERS = message(b"t", struct.pack("!h", 0))
COPY_DONE = message(b"c")
