//! One frame of every kind the dcerpc encoders produce, for the tshark check
//! (UDP 135; WireGuard's heuristic disabled). Wireshark's Messenger
//! dissector must decode the request and the responses.

use messngr_proto::wire::Emit;
use messngr_proto::wire::dcerpc::cl::Flags1;
use messngr_proto::wire::dcerpc::msrp::{MSGSVC, nca, status};
use messngr_proto::wire::dcerpc::{NetrSendMessage, Request, ShortPdu, Uuid};

use crate::common::{CatalogueFrame, L4};

/// The frames, built only through the public API.
pub fn frames() -> Vec<CatalogueFrame> {
    const BOOT: u32 = 0x6650_0000;
    let act = Uuid::from_bytes([
        0x6D, 0x6C, 0x61, 0x6E, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 2,
    ]);
    let call = NetrSendMessage::new(
        b"H2",
        b"RECVBOX",
        b"Hello from messngr (catalogue)\x14second line",
    );
    let request = Request::new(act, 0, call);
    let mut maybe = Request::new(act, 1, NetrSendMessage::new(b"H2", b"RECVBOX", b""));
    maybe.header.flags1 = Flags1::MAYBE | Flags1::IDEMPOTENT;
    let req = request.header;
    let mut other_if = req;
    other_if.if_id = MSGSVC;
    let mut bad_op = req;
    bad_op.opnum = 1;
    let response = ShortPdu::response(&req, BOOT, status::ERROR_SUCCESS);

    let mut out = Vec::new();
    let mut push = |what: &'static str, bytes: Vec<u8>| {
        out.push(CatalogueFrame {
            what,
            l4: L4::Udp(135),
            bytes,
        });
    };
    let emit = |e: &dyn Emit| e.to_vec().expect("catalogue frame encodes");
    push(
        "DCE/RPC CL request NetrSendMessage (idempotent)",
        emit(&request),
    );
    push(
        "DCE/RPC CL request NetrSendMessage (maybe, empty text)",
        emit(&maybe),
    );
    push(
        "DCE/RPC CL response NetrSendMessage ERROR_SUCCESS",
        emit(&response),
    );
    push(
        "DCE/RPC CL response NetrSendMessage NERR_NameNotFound",
        emit(&ShortPdu::response(&req, BOOT, status::NERR_NAME_NOT_FOUND)),
    );
    let mut fragment = req;
    fragment.flags1 = Flags1::FRAG | Flags1::IDEMPOTENT;
    fragment.fragnum = 2;
    push(
        "DCE/RPC CL fack of fragment 2",
        emit(&messngr_proto::wire::dcerpc::server::Fack::new(
            &fragment, BOOT,
        )),
    );
    push(
        "DCE/RPC CL fault nca_s_fault_ndr",
        emit(&ShortPdu::fault(&req, BOOT, nca::NCA_S_FAULT_NDR)),
    );
    push(
        "DCE/RPC CL reject nca_unk_if (msgsvc)",
        emit(&ShortPdu::reject(&other_if, BOOT, nca::NCA_UNK_IF)),
    );
    push(
        "DCE/RPC CL reject nca_op_rng_error",
        emit(&ShortPdu::reject(&bad_op, BOOT, nca::NCA_OP_RNG_ERROR)),
    );
    push(
        "DCE/RPC CL reject nca_wrong_boot_time",
        emit(&ShortPdu::reject(&req, BOOT, nca::NCA_WRONG_BOOT_TIME)),
    );
    push(
        "DCE/RPC CL reject nca_proto_error",
        emit(&ShortPdu::reject(&req, BOOT, nca::NCA_PROTO_ERROR)),
    );
    push("DCE/RPC CL working", emit(&ShortPdu::working(&req, BOOT)));
    push("DCE/RPC CL nocall", emit(&ShortPdu::nocall(&req, BOOT)));
    push("DCE/RPC CL ping", emit(&ShortPdu::ping(&req)));
    push("DCE/RPC CL ack", emit(&ShortPdu::ack(&response.header)));
    out
}
