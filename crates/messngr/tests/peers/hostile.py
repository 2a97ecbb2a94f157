#!/usr/bin/python3
"""Fires tests/hostile.rs's corpus at a daemon. Runs inside a test namespace.

usage: hostile.py DST CORPUS
CORPUS lines: "udp PORT HEX" (one datagram) or "tcp HEX" (one connection:
the bytes are sent, the write side closed, and what comes back read until
the server closes, at most 2 s). Prints {"udp": N, "tcp": N, "tcp_answered": N}.
"""
import json
import socket
import sys
import time

dst, corpus = sys.argv[1:3]
stats = {"udp": 0, "tcp": 0, "tcp_answered": 0}
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
with open(corpus) as f:
    for line in f:
        parts = line.split()
        if parts[0] == "udp":
            payload = bytes.fromhex(parts[2] if len(parts) > 2 else "")
            u.sendto(payload, (dst, int(parts[1])))
            stats["udp"] += 1
            time.sleep(0.0005)
            continue
        data = bytes.fromhex(parts[1] if len(parts) > 1 else "")
        s = socket.create_connection((dst, 139), timeout=2)
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            if got:
                stats["tcp_answered"] += 1
        except OSError:
            pass
        finally:
            s.close()
        stats["tcp"] += 1
print(json.dumps(stats))
