#!/usr/bin/env python3
"""A hostile messngr-to-messngr peer for tests/display.rs, built byte by byte
(docs/native.md): its names and reasons carry escape sequences, line breaks
and bidi controls, which the daemon's log and the CLI must show inert.

usage: hostile_native.py refuse         listen on TCP 139, answer one native
                                        Message with Refused and a hostile text
       hostile_native.py send IP CALLED send a native Message whose FROM and TO
                                        are hostile (TO is not CALLED's name)
"""
import socket
import struct
import sys

from nbt import field, frame, read_frame, session_request

HOSTILE = "\x1b[2J\x1b]0;owned\x07\nFAKE LOG LINE \u202eevil\u200b".encode()


def refuse():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", 139))
    ls.listen(1)
    print("listening", flush=True)
    s, _ = ls.accept()
    s.settimeout(10)
    if read_frame(s) is None:
        return
    s.sendall(b"\x82\x00\x00\x00")
    msg = read_frame(s)
    uuid = b"\x00" * 16
    if msg is not None and msg[4:9] == b"\xfbMNG\x01":
        p, i = msg[4:], 6
        while i < len(p):
            t, n = p[i], struct.unpack(">H", p[i + 1:i + 3])[0]
            if t == 1:
                uuid = p[i + 3:i + 3 + n]
            i += 3 + n
    refused = b"\xfbMNG\x01\x03" + field(1, uuid) + field(8, b"\x01") + field(9, HOSTILE)
    s.sendall(frame(refused))
    s.recv(1)
    print("refused", flush=True)


def send(ip, called):
    s = socket.create_connection((ip, 139), timeout=10)
    s.sendall(session_request(called, "RAWPEER"))
    ans = read_frame(s)
    if ans is None or ans[0] != 0x82:
        print("session refused", ans)
        return
    msg = b"\xfbMNG\x01\x01" + field(1, b"\x11" * 16) + field(3, HOSTILE) \
        + field(4, b"NOTUS" + HOSTILE) + field(5, b"hi")
    s.sendall(frame(msg))
    ans = read_frame(s)
    print("closed" if ans is None else "answered", flush=True)


if sys.argv[1] == "refuse":
    refuse()
else:
    send(sys.argv[2], sys.argv[3])
