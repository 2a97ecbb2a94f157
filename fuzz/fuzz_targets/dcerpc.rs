//! Connectionless DCE/RPC and MS-MSRP: whatever parses as a CL PDU must emit
//! and re-parse to an equal value (bytes after the body, an auth verifier,
//! are not part of the value); a NetrSendMessage request's NDR stub and a
//! short reply PDU likewise. The same bytes drive the msgsvcsend server,
//! twice, to exercise its duplicate handling; NDR padding is normalised to
//! zeros, so stubs are compared as values, not bytes.
#![no_main]
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use messngr_proto::wire::Emit;
use messngr_proto::wire::dcerpc::server::{Action, Config, MsrpServer};
use messngr_proto::wire::dcerpc::{Repr, Request, ShortPdu};

fuzz_target!(|data: &[u8]| {
    if let Ok(repr) = Repr::parse_bytes(data) {
        let bytes = repr.to_vec().expect("a parsed PDU emits");
        assert_eq!(bytes.len(), repr.buffer_len());
        assert_eq!(
            &bytes[..],
            &data[..bytes.len()],
            "CL PDU re-encodes byte for byte"
        );
        assert_eq!(Repr::parse_bytes(&bytes).expect("emitted PDU parses"), repr);

        if let Ok(req) = Request::parse(&repr) {
            let again = req.to_vec().expect("a parsed request emits");
            let back = Request::parse(&Repr::parse_bytes(&again).expect("emitted request parses"))
                .expect("emitted stub parses");
            assert_eq!(back, req);
        }
        if let Ok(pdu) = ShortPdu::parse(&repr) {
            assert_eq!(pdu.to_vec().expect("a parsed short PDU emits"), bytes);
        }
    }

    let now = Instant::now();
    let mut server = MsrpServer::new(Config::new(0x6650_0000));
    for (i, to_broadcast) in [(0u64, false), (1, false), (2, true)] {
        let now = now + Duration::from_secs(i);
        match server.handle(
            now,
            std::net::IpAddr::from([10, 0, 0, 2]),
            data,
            to_broadcast,
        ) {
            Action::Deliver(call) => {
                assert!(!to_broadcast, "broadcasts are never delivered");
                assert!(i == 0, "a repeated request is delivered once");
                let reply = server.complete(now, call.ticket(), 0);
                assert_eq!(reply.is_some(), call.reply_expected());
            }
            Action::DeliverAssembled(whole) => {
                assert!(!to_broadcast, "broadcasts are never delivered");
                assert!(i == 0, "a repeated request is delivered once");
                let call = whole.call().expect("an assembled call decodes");
                let reply = server.complete(now, call.ticket(), 0);
                assert_eq!(reply.is_some(), call.reply_expected());
            }
            Action::Send(pdu) => {
                assert!(!to_broadcast, "broadcasts are never answered");
                pdu.to_vec().expect("a reply emits");
            }
            Action::Fack(fack) => {
                assert!(!to_broadcast, "broadcasts are never answered");
                fack.to_vec().expect("a fack emits");
            }
            Action::Nothing(_) => {}
        }
    }
});
