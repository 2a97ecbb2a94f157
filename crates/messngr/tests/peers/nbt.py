"""Hand-made NBT session bytes the test peers share (RFC 1002 §4.3;
docs/native.md for the native fields): built byte by byte, independent of
messngr's own encoder."""
import struct


def encode_name(name, suffix):
    """A first-level encoded NetBIOS name with its length byte and the
    empty scope."""
    raw = name.upper().ljust(15)[:15].encode("ascii") + bytes([suffix])
    out = bytearray([32])
    for b in raw:
        out += bytes([ord("A") + (b >> 4), ord("A") + (b & 0xF)])
    return bytes(out) + b"\x00"


def field(t, v):
    """A native TLV field: TYPE, 16-bit length, value."""
    return bytes([t]) + struct.pack(">H", len(v)) + v


def session_request(called, calling):
    """An NBSS SESSION REQUEST from `calling`<00> to `called`<03>."""
    body = encode_name(called, 0x03) + encode_name(calling, 0x00)
    return b"\x81\x00" + struct.pack(">H", len(body)) + body


def frame(payload):
    """An NBSS SESSION MESSAGE carrying `payload`."""
    return b"\x00\x00" + struct.pack(">H", len(payload)) + payload


def read_frame(s):
    """One NBSS packet from socket `s` (header and body), or None at EOF."""
    head = b""
    while len(head) < 4:
        chunk = s.recv(4 - len(head))
        if not chunk:
            return None
        head += chunk
    length = ((head[1] & 1) << 16) | struct.unpack(">H", head[2:4])[0]
    body = b""
    while len(body) < length:
        chunk = s.recv(length - len(body))
        if not chunk:
            return None
        body += chunk
    return head + body
