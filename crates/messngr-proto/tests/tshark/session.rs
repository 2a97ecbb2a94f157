//! Every NBSS packet and every SMB message request, reply and error that
//! messngr's encoders produce, for Wireshark to judge (TCP 139). Built only
//! through the public API: [`nbss::Repr`], [`Repr`], [`Sender`], [`Receiver`].

use std::time::Instant;

use messngr_proto::assembly::{Action, Receiver, ReceiverConfig, Refusal, Sender, SenderConfig};
use messngr_proto::wire::Emit;
use messngr_proto::wire::name::{EncodedName, NetbiosName, suffix};
use messngr_proto::wire::nbss::{self, ErrorCode};
use messngr_proto::wire::smb::header::{Command, Header, Status, dos};
use messngr_proto::wire::smb::message::{Repr, Request};

use crate::common::{CatalogueFrame, L4};

const PORT: u16 = nbss::SSN_SRVC_TCP_PORT;

fn frame(what: &'static str, l4: L4, repr: &nbss::Repr<'_>) -> CatalogueFrame {
    CatalogueFrame {
        what,
        l4,
        bytes: repr.to_vec().expect("catalogue NBSS packet encodes"),
    }
}

fn to_server(what: &'static str, smb: &[u8]) -> CatalogueFrame {
    frame(
        what,
        L4::TcpToServer(PORT),
        &nbss::Repr::SessionMessage { payload: smb },
    )
}

fn from_server(what: &'static str, smb: &[u8]) -> CatalogueFrame {
    frame(
        what,
        L4::TcpFromServer(PORT),
        &nbss::Repr::SessionMessage { payload: smb },
    )
}

fn smb(repr: &Repr<'_>) -> Vec<u8> {
    repr.to_vec().expect("catalogue SMB encodes")
}

/// One frame of every kind, in the order of a plausible conversation.
pub fn frames() -> Vec<CatalogueFrame> {
    let mut out = Vec::new();
    let name = |n: &[u8], s| EncodedName::new(NetbiosName::new(n, s).expect("valid name"));
    out.push(frame(
        "NBSS session request RECVBOX<03> from H2<00>",
        L4::TcpToServer(PORT),
        &nbss::Repr::SessionRequest {
            called: name(b"RECVBOX", suffix::MESSENGER),
            calling: name(b"H2", suffix::WORKSTATION),
        },
    ));
    for (what, error_code) in [
        (
            "NBSS negative response: not listening on called name",
            ErrorCode::NotListeningOnCalledName,
        ),
        (
            "NBSS negative response: not listening for calling name",
            ErrorCode::NotListeningForCallingName,
        ),
        (
            "NBSS negative response: called name not present",
            ErrorCode::CalledNameNotPresent,
        ),
        (
            "NBSS negative response: insufficient resources",
            ErrorCode::InsufficientResources,
        ),
        (
            "NBSS negative response: unspecified error",
            ErrorCode::UnspecifiedError,
        ),
    ] {
        out.push(frame(
            what,
            L4::TcpFromServer(PORT),
            &nbss::Repr::NegativeSessionResponse { error_code },
        ));
    }
    out.push(frame(
        "NBSS retarget session response",
        L4::TcpFromServer(PORT),
        &nbss::Repr::RetargetSessionResponse {
            address: [10, 77, 0, 3].into(),
            port: PORT,
        },
    ));
    out.push(frame(
        "NBSS positive session response",
        L4::TcpFromServer(PORT),
        &nbss::Repr::PositiveSessionResponse,
    ));
    out.push(frame(
        "NBSS session keep-alive",
        L4::TcpToServer(PORT),
        &nbss::Repr::SessionKeepAlive,
    ));

    // A multi-block message as the Sender writes it, answered by the Receiver.
    let now = Instant::now();
    let mut rx = Receiver::new(ReceiverConfig::default(), now);
    let text = b"Hello from messngr\x14second line";
    let mut tx = Sender::with_blocks(
        b"H2",
        b"RECVBOX",
        [&text[..20], &text[20..]],
        SenderConfig::default(),
    )
    .expect("blocks fit");
    let names = [
        (
            "SMB send start request (0xD5)",
            "SMB send start reply WC 1 + group id (0xD5)",
        ),
        ("SMB send text request (0xD7)", "SMB send text reply (0xD7)"),
        (
            "SMB send text request (0xD7), second block",
            "SMB send text reply (0xD7), second block",
        ),
        ("SMB send end request (0xD6)", "SMB send end reply (0xD6)"),
    ];
    for (req_what, reply_what) in names {
        let req = tx.poll_request(now).expect("sender has a request");
        out.push(to_server(req_what, &req));
        let reply = match rx.handle(now, &req) {
            Action::Reply(bytes) => bytes,
            Action::Deliver { token, .. } => rx.accept(token).expect("pending token"),
            other => panic!("unexpected receiver action {other:?}"),
        };
        out.push(from_server(reply_what, &reply));
        tx.handle_reply(&reply);
    }

    // A single-block 0xD0, refused, then accepted.
    let send = smb(&Repr::request(Request::SendMessage {
        originator: b"H2",
        destination: b"RECVBOX",
        text: b"one block\0",
    }));
    out.push(to_server("SMB send message request (0xD0)", &send));
    let Action::Deliver { token, .. } = rx.handle(now, &send) else {
        panic!("0xD0 is delivered");
    };
    let refused = rx.refuse(token, Refusal::NoRoom).expect("pending token");
    out.push(from_server(
        "SMB error reply ERRSRV/ERRnoroom (0xD0)",
        &refused,
    ));
    let Action::Deliver { token, .. } = rx.handle(now, &send) else {
        panic!("0xD0 is delivered");
    };
    out.push(from_server(
        "SMB send message reply (0xD0)",
        &rx.accept(token).expect("pending token"),
    ));

    // The smbd-style START reply without a group id.
    let start = Header::request(Command::SendStartMbMessage);
    out.push(from_server(
        "SMB send start reply WC 0, smbd style (0xD5)",
        &smb(&Repr::start_reply(&start, None)),
    ));

    // Error replies: every DOS code messngr sends, for every command kind.
    let errors: [(&'static str, u8, u16); 13] = [
        (
            "SMB error reply ERRSRV/ERRmsgoff (0xD0)",
            0xD0,
            dos::ERRMSGOFF,
        ),
        (
            "SMB error reply ERRSRV/ERRpaused (0xD5)",
            0xD5,
            dos::ERRPAUSED,
        ),
        (
            "SMB error reply ERRSRV/ERRrmuns (0xD5)",
            0xD5,
            dos::ERRRMUNS,
        ),
        (
            "SMB error reply ERRSRV/ERRerror (0xD7 without start)",
            0xD7,
            dos::ERRERROR,
        ),
        (
            "SMB error reply ERRSRV/ERRnoroom (0xD7 over the cap)",
            0xD7,
            dos::ERRNOROOM,
        ),
        (
            "SMB error reply ERRSRV/ERRerror (0xD6 without start)",
            0xD6,
            dos::ERRERROR,
        ),
        (
            "SMB error reply ERRSRV/ERRsmbcmd (0xD1)",
            0xD1,
            dos::ERRSMBCMD,
        ),
        (
            "SMB error reply ERRSRV/ERRsmbcmd (0xD2)",
            0xD2,
            dos::ERRSMBCMD,
        ),
        (
            "SMB error reply ERRSRV/ERRsmbcmd (0xD3)",
            0xD3,
            dos::ERRSMBCMD,
        ),
        (
            "SMB error reply ERRSRV/ERRsmbcmd (0xD4)",
            0xD4,
            dos::ERRSMBCMD,
        ),
        (
            "SMB error reply ERRSRV/ERRsmbcmd (0x72 negotiate)",
            0x72,
            dos::ERRSMBCMD,
        ),
        (
            "SMB error reply ERRSRV/ERRsmbcmd (unknown 0xD8)",
            0xD8,
            dos::ERRSMBCMD,
        ),
        (
            "SMB error reply ERRSRV/ERRmsgoff (0xD6)",
            0xD6,
            dos::ERRMSGOFF,
        ),
    ];
    for (what, command, code) in errors {
        let req = Header::request(Command::from(command));
        out.push(from_server(
            what,
            &smb(&Repr::error(&req, Status::srv(code))),
        ));
    }
    let req = Header::request(Command::SendEndMbMessage);
    out.push(from_server(
        "SMB error reply NT_STATUS_REQUEST_NOT_ACCEPTED (0xD6)",
        &smb(&Repr::error(&req, Status::Nt(0xC000_00D0))),
    ));
    out
}
