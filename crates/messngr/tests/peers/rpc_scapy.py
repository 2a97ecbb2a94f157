#!/usr/bin/env python3
"""rpc_scapy.py -- an MS-MSRP NetrSendMessage client built from scapy's
connectionless DCE/RPC layer (DceRpc4) and its NDR string fields, as a
third-party RPC sender for messngr's tests (impacket 0.13 has no
connectionless client). Adapted from the testbed's dcerpc_send.py.

Sends one request (msgsvcsend 5a7b91f8-ff00-11d0-a9b2-00c04fb6e6fc v1.0,
opnum 0: three [in, string] LPSTR, From, To, Text) from a connected UDP
socket, --repeat times with the same activity and sequence number (a
client's retransmissions), and prints one JSON line per answer:
  {"ptype": 2, "status": 0}   a response (2), fault (3) or reject (6)
  {"timeout": true}           nothing within --wait seconds
  {"refused": true}           ICMP port unreachable: nothing listens
--stub-hex replaces the NDR stub (hostile input); --fragnum sets the
fragment number; --fragments N sends the stub in N fragments (a fack, ptype
9, is printed for each but the last unless flags1 has NO_FACK 0x08).

usage: rpc_scapy.py --dst IP [--port 135] [--from N] [--to N] [--text T]
         [--act UUID] [--seq N] [--flags1 N] [--if-id UUID] [--opnum N]
         [--if-vers N] [--stub-hex HEX] [--fragnum N] [--repeat N] [--wait S]
         [--sport PORT] [--fragments N]
"""
import argparse
import json
import socket
import struct
import sys
import uuid

from scapy.layers.dcerpc import DceRpc4, NDRConfVarStrNullField, NDRPacket

MSGSVCSEND = "5a7b91f8-ff00-11d0-a9b2-00c04fb6e6fc"


# NDR, not NDR64 (scapy 2.5's default): 32-bit counts, as the transfer
# syntax of a connectionless msgsvcsend call is NDR 2.0.
class NetrSendMessageRequest(NDRPacket):
    fields_desc = [
        NDRConfVarStrNullField("From", ""),
        NDRConfVarStrNullField("To", ""),
        NDRConfVarStrNullField("Text", ""),
    ]


def stub_of(a):
    if a.stub_hex is not None:
        return bytes.fromhex(a.stub_hex)
    return bytes(NetrSendMessageRequest(
        From=a.from_.encode("cp850"), To=a.to.encode("cp850"),
        Text=a.text.encode("cp850"), ndr64=False))


def build(a, stub=None, flags1=None, fragnum=None):
    hdr = DceRpc4(ptype="request", flags1=a.flags1 if flags1 is None else flags1,
                  if_id=uuid.UUID(a.if_id), if_vers=a.if_vers, act_id=uuid.UUID(a.act),
                  opnum=a.opnum, seqnum=a.seq,
                  fragnum=a.fragnum if fragnum is None else fragnum)
    return bytes(hdr / (stub_of(a) if stub is None else stub))


def answer(reply):
    # The reply's header, read by hand (C706 12.5): scapy would only warn
    # that it has no class for a short body.
    little = bool(reply[4] & 0x10)
    act = reply[40:56]
    out = {
        "ptype": reply[1],
        "act": str(uuid.UUID(bytes_le=act) if little else uuid.UUID(bytes=act)),
        "seq": struct.unpack("<I" if little else ">I", reply[64:68])[0],
        "fragnum": struct.unpack("<H" if little else ">H", reply[76:78])[0],
    }
    body = reply[80:]
    if len(body) == 4:
        out["status"] = struct.unpack("<I" if little else ">I", body)[0]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, default=135)
    ap.add_argument("--from", dest="from_", default="SENDERBOX")
    ap.add_argument("--to", default="RECVBOX")
    ap.add_argument("--text", default="Hello via DCE/RPC over UDP")
    ap.add_argument("--act", default=str(uuid.uuid4()))
    ap.add_argument("--seq", type=int, default=0)
    ap.add_argument("--flags1", type=lambda x: int(x, 0), default=0x20)
    ap.add_argument("--if-id", default=MSGSVCSEND)
    ap.add_argument("--if-vers", type=int, default=1)
    ap.add_argument("--opnum", type=int, default=0)
    ap.add_argument("--stub-hex")
    ap.add_argument("--fragnum", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--wait", type=float, default=3.0)
    ap.add_argument("--sport", type=int, default=0, help="source port (0: any)")
    ap.add_argument("--fragments", type=int, default=1,
                    help="send the stub in N fragments (flags1 FRAG, LASTFRAG on the last)")
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", a.sport))
    s.connect((a.dst, a.port))
    s.settimeout(a.wait)

    def receive():
        try:
            print(json.dumps(answer(s.recv(4096))), flush=True)
            return True
        except socket.timeout:
            print(json.dumps({"timeout": True}), flush=True)
        except ConnectionRefusedError:
            print(json.dumps({"refused": True}), flush=True)
        return False

    if a.fragments > 1:
        stub = stub_of(a)
        size = -(-len(stub) // a.fragments)
        parts = [stub[i:i + size] for i in range(0, len(stub), size)]
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            flags = a.flags1 | 0x04 | (0x02 if last else 0)
            s.send(build(a, part, flags, i))
            if last or not flags & 0x08:
                receive()  # a fack for each fragment, the response last
        return 0
    data = build(a)
    for _ in range(a.repeat):
        s.send(data)
        receive()
    return 0


if __name__ == "__main__":
    sys.exit(main())
