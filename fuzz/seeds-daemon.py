#!/usr/bin/env python3
"""Writes fuzz/corpus/daemon/seed-* from the other targets' seeds (captured
vectors): the daemon target's first byte picks the path (0 session, 1 native
frame, 2 datagrams), so each seed is that byte and the input. Session
streams are re-addressed to H1<03>, a name the harness holds; datagrams go
in the target's framing (a 2-byte length whose top bits pick the source).
Run from the repository root: python3 fuzz/seeds-daemon.py"""
import pathlib

C = pathlib.Path("fuzz/corpus")
OUT = C / "daemon"
OUT.mkdir(exist_ok=True)


def encode(name: bytes) -> bytes:
    return bytes(b for c in name for b in (0x41 + (c >> 4), 0x41 + (c & 0x0F)))


def h1(stream: bytes) -> bytes:
    # NBSS SESSION REQUEST: 4-byte header, then the called name (0x20, 32 bytes).
    if len(stream) > 37 and stream[0] == 0x81 and stream[4] == 0x20:
        return stream[:5] + encode(b"H1".ljust(15) + b"\x03") + stream[37:]
    return stream


def write(name: str, data: bytes) -> None:
    (OUT / f"seed-{name}").write_bytes(data)


for f in sorted((C / "nbss").glob("seed-*-stream")):
    stream = h1(f.read_bytes()[1:])  # the nbss target's first byte is a knob
    write(f"session-{f.name[5:]}", b"\x00\xff" + stream)
    write(f"session-bytewise-{f.name[5:]}", b"\x00\x01" + stream)
for f in sorted((C / "native").glob("seed-*")):
    write(f"native-{f.name[5:]}", b"\x01" + f.read_bytes())
grams = []
for f in sorted((C / "nbdgm").glob("seed-*")):
    d = f.read_bytes()
    framed = len(d).to_bytes(2, "big") + d
    grams.append(framed)
    write(f"datagram-{f.name[5:]}", b"\x02" + framed)
write("datagram-all", b"\x02" + b"".join(grams))
print(f"{len(list(OUT.glob('seed-*')))} seeds in {OUT}")
