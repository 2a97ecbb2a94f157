#!/usr/bin/env python3
"""A hand-made messngr-to-messngr client for tests/native.rs: sends native
frames built byte by byte (docs/native.md), independent of our encoder, and
prints what came back, one line per session.

usage: native_raw.py SERVER_IP CALLED_NAME UUID_HEX MODE
  MODE good     a valid Message (urgent, 9 s) to CALLED_NAME
  MODE bad      a Message with an unknown critical field (0x80)
Prints "accepted UUID", "refused REASON TEXT", or "closed"; in bad mode also
whether the server then closed the session ("then closed" / "then open").
"""
import socket
import struct
import sys

from nbt import field, frame, read_frame, session_request


def main():
    ip, called, uuid_hex, mode = sys.argv[1:5]
    uuid = bytes.fromhex(uuid_hex)
    s = socket.create_connection((ip, 139), timeout=10)
    s.sendall(session_request(called, "RAWPEER"))
    ans = read_frame(s)
    if ans is None or ans[0] != 0x82:
        print("session refused", ans)
        return
    msg = b"\xfbMNG\x01\x01" + field(1, uuid) + field(3, b"RAWPEER") \
        + field(4, called.encode()) + field(5, "raw and urgent, ü".encode()) \
        + field(6, b"\x02") + field(7, struct.pack(">I", 9))
    if mode == "bad":
        msg += field(0x80, b"")
    s.sendall(frame(msg))
    ans = read_frame(s)
    if ans is None:
        print("closed")
        return
    p = ans[4:]
    assert p[:6] in (b"\xfbMNG\x01\x02", b"\xfbMNG\x01\x03"), p
    fields, i = {}, 6
    while i < len(p):
        t, n = p[i], struct.unpack(">H", p[i + 1:i + 3])[0]
        fields[t] = p[i + 3:i + 3 + n]
        i += 3 + n
    if p[5] == 2:
        print("accepted", fields[1].hex())
    else:
        print("refused", fields[8][0], fields.get(9, b"").decode())
    if mode == "bad":
        try:
            print("then closed" if s.recv(1) == b"" else "then open")
        except socket.timeout:
            print("then open")


main()
