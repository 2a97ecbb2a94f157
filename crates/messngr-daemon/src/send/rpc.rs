//! `messngr send --transport rpc`: MS-MSRP `NetrSendMessage` over
//! connectionless DCE/RPC to UDP 135, for receivers that accept only RPC
//! (msrp-rpc.md §8).
//!
//! The client of the protocol crate's `Request`: a fresh random activity,
//! sequence number 0, the idempotent flag (so that no server calls back to
//! ask who we are), sent from an ephemeral port of our own and retransmitted
//! each second, three times at most, with the same activity and sequence
//! number — a server stores a retransmission once and answers it again.
//! The response's status says whether the message was taken; a reject or
//! fault says why not. A response is acknowledged (ack PDU) so that the
//! server can forget the call. Only the receiver's address, port 135, is
//! listened to: a datagram from anywhere else, or for another call, is
//! ignored.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use messngr_proto::wire::Emit;
use messngr_proto::wire::dcerpc::msrp::{NetrSendMessage, nca, status};
use messngr_proto::wire::dcerpc::{PacketType, Repr, Request, ShortPdu, Uuid};
use tokio::net::UdpSocket;

use super::SendError;
use messngr_proto::wire::dcerpc::RPC_PORT;

/// How long each try waits for an answer.
const TRY_TIMEOUT: Duration = Duration::from_secs(1);
/// Tries in all (the first and three retransmissions).
const TRIES: usize = 4;
/// Longest text sent: what Windows' own client sends at most ([MS-MSRP]
/// §3.2.4.4), which keeps the request in one unfragmented datagram.
pub(super) const MAX_RPC_TEXT: usize = 652;

/// Sends `text` (OEM bytes) from `from` to the name `to` at `ip`; `Ok`
/// once the receiver answered `ERROR_SUCCESS`.
pub(super) async fn send(
    ip: Ipv4Addr,
    from: &[u8],
    to: &[u8],
    text: &[u8],
) -> Result<(), SendError> {
    if text.len() > MAX_RPC_TEXT {
        return Err(SendError::TooLong(format!(
            "an RPC message carries at most {MAX_RPC_TEXT} bytes of text ({} given): shorten it, or send it by SMB",
            text.len()
        )));
    }
    let mut act = [0u8; 16];
    getrandom::fill(&mut act)
        .map_err(|e| SendError::Network(format!("no random numbers for an RPC activity: {e}")))?;
    let request = Request::new(
        Uuid::from_bytes(act),
        0,
        NetrSendMessage::new(from, to, text),
    );
    let bytes = request
        .to_vec()
        .map_err(|e| SendError::BadRequest(format!("cannot encode the RPC request: {e}")))?;
    let server = SocketAddrV4::new(ip, RPC_PORT);
    let net = |what: &str, e: std::io::Error| SendError::Network(format!("{what} {server}: {e}"));
    let socket = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
        .await
        .map_err(|e| net("cannot open a UDP socket for", e))?;
    // Connected: the kernel keeps other sources out and reports ICMP
    // port-unreachable as an error.
    socket
        .connect(server)
        .await
        .map_err(|e| net("cannot reach", e))?;
    let mut buf = [0u8; 512];
    for _ in 0..TRIES {
        socket
            .send(&bytes)
            .await
            .map_err(|e| net("cannot send to", e))?;
        let deadline = tokio::time::Instant::now() + TRY_TIMEOUT;
        loop {
            let n = match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                Err(_) => break, // retransmit
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Err(SendError::NotFound(format!(
                        "nothing serves RPC at {server} (port unreachable): the receiver does not take RPC messages; try --transport auto"
                    )));
                }
                Ok(Err(e)) => return Err(net("no answer from", e)),
                Ok(Ok(n)) => n,
            };
            let Some(pdu) = answer(&buf[..n], &request) else {
                continue;
            };
            match (pdu.header.ptype, pdu.status) {
                (PacketType::Response, Some(status::ERROR_SUCCESS)) => {
                    if let Ok(ack) = ShortPdu::ack(&pdu.header).to_vec() {
                        let _ = socket.send(&ack).await;
                    }
                    return Ok(());
                }
                (PacketType::Response, Some(s)) => {
                    return Err(SendError::Refused(format!(
                        "{server} refused the message: {}",
                        status_name(s)
                    )));
                }
                (PacketType::Reject | PacketType::Fault, s) => {
                    return Err(SendError::Refused(format!(
                        "{server} rejected the call: {}",
                        s.map_or_else(|| "no status".into(), status_name)
                    )));
                }
                // Still being stored: wait for the response.
                (PacketType::Working, _) => {}
                // It does not know the call (lost): send it again.
                (PacketType::Nocall, _) => break,
                _ => {}
            }
        }
    }
    Err(SendError::Network(format!(
        "no answer from {server} after {TRIES} tries: is RPC enabled there?"
    )))
}

/// The answer in `bytes` if it is one to `request` (same activity and
/// sequence number).
fn answer(bytes: &[u8], request: &Request<'_>) -> Option<ShortPdu> {
    let repr = Repr::parse_bytes(bytes).ok()?;
    let h = &repr.header;
    if h.act_id != request.header.act_id || h.seqnum != request.header.seqnum {
        return None;
    }
    ShortPdu::parse(&repr).ok()
}

/// A status code as its name, for the error a user reads.
fn status_name(s: u32) -> String {
    let name = match s {
        status::ERROR_ACCESS_DENIED => "ERROR_ACCESS_DENIED (its policy refuses us)",
        status::ERROR_NOT_SUPPORTED => "ERROR_NOT_SUPPORTED (it does not take messages)",
        status::ERROR_INVALID_PARAMETER => "ERROR_INVALID_PARAMETER",
        status::NERR_NAME_NOT_FOUND => "NERR_NameNotFound (no such name there)",
        status::NERR_PAUSED_REMOTE => "NERR_PausedRemote (receiving is paused)",
        status::NERR_BAD_RECEIVE => "NERR_BadReceive (it could not keep the message)",
        nca::NCA_UNK_IF => "nca_unk_if (no Messenger RPC service)",
        nca::NCA_OP_RNG_ERROR => "nca_op_rng_error",
        nca::NCA_SERVER_TOO_BUSY => "nca_server_too_busy (try again later)",
        nca::NCA_S_FAULT_NDR => "nca_s_fault_ndr",
        nca::NCA_PROTO_ERROR => "nca_proto_error",
        _ => "",
    };
    if name.is_empty() {
        format!("status {s:#010x}")
    } else {
        format!("{name} ({s:#x})")
    }
}
