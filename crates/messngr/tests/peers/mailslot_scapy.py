#!/usr/bin/python3
"""Send one \\MAILSLOT\\MESSNGR datagram built by scapy (a third-party
encoder), so messngr's receiver is tested against bytes it did not make.

usage: mailslot_scapy.py SRC_IP DST_IP FROM TO TEXT [--group] [--spoof] [--claim IP]
--spoof sends from SRC_IP whether or not it is this host's (a raw IP packet:
a forged source); --claim puts IP in the datagram's SOURCE_IP instead of SRC_IP.
Runs inside a test namespace only (it sends from UDP port 138).
"""
import socket
import sys

from scapy.layers.netbios import NBTDatagram
from scapy.layers.smb import SMB_Header, SMBMailSlot, SMBNetlogon_Protocol_Response_Header
from scapy.packet import Raw

src, dst, frm, to, text = sys.argv[1:6]
opts = sys.argv[6:]
group = "--group" in opts
spoof = "--spoof" in opts
claim = opts[opts.index("--claim") + 1] if "--claim" in opts else src
body = frm.encode("cp850") + b"\0" + to.encode("cp850") + b"\0" + text.encode("cp850") + b"\0"
datagram = NBTDatagram(
    Type=0x11 if group else 0x10, Flags=0x02, ID=0x4D53, SourceIP=claim, SourcePort=138,
    SourceName=frm.upper(), SUFFIX1=0x4141,          # <00>
    DestinationName=to.upper(), SUFFIX2=0x4144)      # <03>
# Debian 12's scapy 2.5 has no mailslot-write layer; its SMB_COM_TRANSACTION
# header (named after its NETLOGON use) and SMBMailSlot layers make one.
name = b"\\MAILSLOT\\MESSNGR"
transaction = SMBNetlogon_Protocol_Response_Header(
    TotalDataCount=len(body), DataCount=len(body), TimeOut1=0, TimeOut2=0,
    DataOffset=32 + 29 + 8 + len(name) + 1)  # header, words, setup + ByteCount, name
packet = (datagram / SMB_Header(Command=0x25, Flags=0, Flags2=0) / transaction
          / SMBMailSlot(opcode=1, priority=1, class_=2, size=len(name) + 1 + len(body), name=name)
          / Raw(body))
if spoof:
    from scapy.layers.inet import IP, UDP
    from scapy.sendrecv import send
    send(IP(src=src, dst=dst) / UDP(sport=138, dport=138) / packet, verbose=False)
    sys.exit(0)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind((src, 138))
s.sendto(bytes(packet), (dst, 138))
