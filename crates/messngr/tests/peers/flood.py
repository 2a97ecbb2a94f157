#!/usr/bin/python3
"""Flood peer for tests/flood.rs. Runs inside a test namespace only.

usage: flood.py udp DST CORPUS SECONDS PPS
    Sends the datagrams of CORPUS (lines "PORT HEX") round-robin to DST from
    a raw socket, each from a spoofed source address (half inside 10.77.0.0/24,
    half outside it: 172.16.0.0/12 and 192.0.2.0/24), at about PPS per second
    for SECONDS. Prints {"sent": N}.
usage: flood.py tcp DST SECONDS N
    Holds N sessions to DST:139 for SECONDS: a third connect and send
    nothing, a third send a session request one byte every 0.5 s, a third send
    only keep-alives (every 0.5 s). A session the server closes is opened again
    0.2 s later. Prints {"opened", "closed_by_server", "negative_0x83"}.
usage: flood.py cap DST N
    Opens N sessions with a whole session request each and holds them;
    prints the first byte of each answer as hex ("82", "83", or "closed").
usage: flood.py deadlines DST
    Three sessions: silent, a request one byte a second, a keep-alive
    first; prints after how many seconds the server closed each (null: still
    open after 20 s).
"""
import json
import random
import selectors
import socket
import struct
import sys
import time

from nbt import session_request


def udp(dst, corpus, seconds, pps):
    packets = []
    rnd = random.Random(10)
    with open(corpus) as f:
        for line in f:
            parts = line.split()  # an empty datagram has no HEX
            packets.append((int(parts[0]), bytes.fromhex(parts[1] if len(parts) > 1 else "")))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    dst_b = socket.inet_aton(dst)
    sent, i = 0, 0
    start = time.monotonic()
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= seconds:
            break
        # Pace: send in bursts of 100, then wait until on schedule.
        for _ in range(100):
            port, payload = packets[i % len(packets)]
            i += 1
            k = rnd.random()
            if k < 0.5:
                src = bytes([10, 77, 0, rnd.randint(100, 250)])
            elif k < 0.75:
                src = bytes([172, rnd.randint(16, 31), rnd.randint(0, 255), rnd.randint(1, 254)])
            else:
                src = bytes([192, 0, 2, rnd.randint(1, 254)])
            udp_len = 8 + len(payload)
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, i & 0xFFFF, 0, 64, 17, 0,
                             src, dst_b)
            head = struct.pack("!HHHH", port, port, udp_len, 0)
            try:
                s.sendto(ip + head + payload, (dst, 0))
                sent += 1
            except OSError:
                pass
        ahead = sent / pps - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
    print(json.dumps({"sent": sent}))


KEEPALIVE = b"\x85\x00\x00\x00"


REQUEST = session_request("RECVBOX", "FLOODER")


def tcp(dst, seconds, n):
    sel = selectors.DefaultSelector()
    stats = {"opened": 0, "closed_by_server": 0, "negative_0x83": 0}
    conns = {}  # slot -> dict(sock, kind, next, pos)
    reopen = {slot: 0.0 for slot in range(n)}
    start = time.monotonic()

    def open_slot(slot, now):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect((dst, 139))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            reopen[slot] = now + 0.2
            return
        c = {"sock": s, "kind": slot % 3, "next": now + 0.5, "pos": 0}
        conns[slot] = c
        sel.register(s, selectors.EVENT_READ, slot)
        stats["opened"] += 1

    def close_slot(slot, now, by_server):
        c = conns.pop(slot)
        sel.unregister(c["sock"])
        c["sock"].close()
        if by_server:
            stats["closed_by_server"] += 1
        reopen[slot] = now + 0.2

    while True:
        now = time.monotonic()
        if now - start >= seconds:
            break
        for slot, at in list(reopen.items()):
            if at <= now:
                del reopen[slot]
                open_slot(slot, now)
        for slot, c in list(conns.items()):
            if c["kind"] == 0 or c["next"] > now:
                continue
            c["next"] = now + 0.5
            data = KEEPALIVE if c["kind"] == 2 else REQUEST[c["pos"]:c["pos"] + 1]
            if not data:
                continue
            try:
                c["sock"].send(data)
                c["pos"] += 1  # only what left (a connecting socket sends nothing)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                close_slot(slot, now, True)
        for key, _ in sel.select(timeout=0.05):
            slot = key.data
            if slot not in conns:
                continue
            try:
                got = conns[slot]["sock"].recv(64)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                got = b""
            if got[:1] == b"\x83" and got[4:5] == b"\x83":
                stats["negative_0x83"] += 1
            if not got or got[:1] == b"\x83":
                close_slot(slot, time.monotonic(), True)
    for slot in list(conns):
        close_slot(slot, time.monotonic(), False)
    print(json.dumps(stats))


def cap(dst, n):
    held, answers = [], []
    for _ in range(n):
        s = socket.create_connection((dst, 139), timeout=5)
        s.sendall(REQUEST)
        try:
            got = s.recv(4)
        except OSError:
            got = b""
        answers.append(got[:1].hex() if got else "closed")
        held.append(s)
    print(json.dumps(answers))


def deadlines(dst):
    start = time.monotonic()
    socks = {name: socket.create_connection((dst, 139), timeout=5)
             for name in ("silent", "trickle", "keepalive_first")}
    socks["keepalive_first"].sendall(KEEPALIVE)
    closed = {name: None for name in socks}
    pos = 0
    for s in socks.values():
        s.setblocking(False)
    while time.monotonic() - start < 20 and None in closed.values():
        now = time.monotonic() - start
        if closed["trickle"] is None and pos < len(REQUEST) and now >= pos:
            try:
                socks["trickle"].send(REQUEST[pos:pos + 1])
            except OSError:
                pass
            pos += 1
        for name, s in socks.items():
            if closed[name] is not None:
                continue
            try:
                got = s.recv(64)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                got = b""
            if not got:
                closed[name] = round(now, 2)
        time.sleep(0.05)
    print(json.dumps(closed))


if sys.argv[1] == "cap":
    cap(sys.argv[2], int(sys.argv[3]))
elif sys.argv[1] == "deadlines":
    deadlines(sys.argv[2])
elif sys.argv[1] == "udp":
    udp(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]))
else:
    tcp(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
