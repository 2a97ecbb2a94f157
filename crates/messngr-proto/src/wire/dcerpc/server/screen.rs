//! [`screen`]: what one request datagram earns on its own, without the
//! server's memory — a pure function, so that it can be tested (and
//! fuzzed) apart from [`super::MsrpServer`].

use std::net::IpAddr;

use super::{Call, Dropped};
use crate::wire::dcerpc::cl::{Flags1, Header, PacketType, Repr};
use crate::wire::dcerpc::msrp::{
    MSGSVCSEND, NetrSendMessage, OPNUM_NETR_SEND_MESSAGE, ShortPdu, nca,
};

/// What [`screen`] decides for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Send nothing, deliver nothing.
    Drop(Dropped),
    /// Send this reject or fault; deliver nothing.
    Refuse(ShortPdu),
    /// A valid call: deliver it.
    Accept(Call<'a>),
}

/// `false` for requests that must never be answered, whatever happens to
/// them: broadcast calls, calls sent to a broadcast address, maybe calls
/// (msrp-rpc.md §1, §6; C706 §12.5.3.3).
pub const fn wants_reply(request: &Header, to_broadcast: bool) -> bool {
    !(to_broadcast
        || request.flags1.contains(Flags1::BROADCAST)
        || request.flags1.contains(Flags1::MAYBE))
}

/// Decides what to do with one request PDU, without memory of earlier ones
/// (msrp-rpc.md §5, §6). `to_broadcast` says the datagram was sent to a
/// broadcast address; `server_boot` is ours (non-zero, fixed for the daemon's
/// lifetime). In order:
///
/// 1. not a request → dropped; broadcast → dropped (not even delivered);
/// 2. interface other than msgsvcsend 1.x → reject `nca_unk_if`;
/// 3. a non-zero `server_boot` other than ours → reject `nca_wrong_boot_time`;
/// 4. opnum ≠ 0 → reject `nca_op_rng_error`;
/// 5. a fragment → reject `nca_proto_error` (`screen` sees one datagram;
///    [`super::MsrpServer`] puts fragments together);
/// 6. a stub that does not decode, or oversize strings → fault `nca_s_fault_ndr`;
///
/// and a refusal of a maybe call is dropped instead of sent.
///
/// Rejects are for calls the runtime refuses before running them (unknown
/// interface, opnum out of range, wrong boot time: msrp-rpc.md §5, as the OSF
/// DCE runtime does); a fault is for a call that got as far as its stub. An
/// interface major version other than 1 is answered `nca_unk_if`, not
/// `nca_rpc_version_mismatch` as the table in msrp-rpc.md §5 suggests: C706
/// names an interface by UUID *and* version, and `nca_rpc_version_mismatch`
/// is about the RPC protocol version, which a CL PDU with `rpc_vers` ≠ 4
/// cannot even express (such packets are dropped, §6 step 1). Minor
/// versions are not checked.
pub fn screen<'a>(request: &Repr<'a>, to_broadcast: bool, server_boot: u32) -> Verdict<'a> {
    let h = &request.header;
    if h.ptype != PacketType::Request {
        return Verdict::Drop(Dropped::Ignored(h.ptype));
    }
    if to_broadcast || h.flags1.contains(Flags1::BROADCAST) {
        return Verdict::Drop(Dropped::Broadcast);
    }
    let refusal = if let Some(r) = header_refusal(h, server_boot) {
        r
    } else if h.flags1.contains(Flags1::FRAG) {
        ShortPdu::reject(h, server_boot, nca::NCA_PROTO_ERROR)
    } else {
        match NetrSendMessage::parse(request.body, h.drep) {
            Ok(message) => {
                return Verdict::Accept(Call {
                    header: *h,
                    message,
                    source: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                });
            }
            Err(_) => ShortPdu::fault(h, server_boot, nca::NCA_S_FAULT_NDR),
        }
    };
    if wants_reply(h, to_broadcast) {
        Verdict::Refuse(refusal)
    } else {
        Verdict::Drop(Dropped::MaybeRefused(refusal))
    }
}

/// The reject a request's header alone earns (another interface or
/// version, another boot time, another operation), if any.
pub(super) fn header_refusal(h: &Header, server_boot: u32) -> Option<ShortPdu> {
    let status = if h.if_id != MSGSVCSEND || h.if_vers_major() != 1 {
        nca::NCA_UNK_IF
    } else if h.server_boot != 0 && h.server_boot != server_boot {
        nca::NCA_WRONG_BOOT_TIME
    } else if h.opnum != OPNUM_NETR_SEND_MESSAGE {
        nca::NCA_OP_RNG_ERROR
    } else {
        return None;
    };
    Some(ShortPdu::reject(h, server_boot, status))
}
