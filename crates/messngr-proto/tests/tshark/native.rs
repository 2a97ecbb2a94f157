//! messngr-to-messngr frames inside NBSS SESSION MESSAGEs (TCP 139), for
//! Wireshark to judge: it has no dissector for them, so what is checked is
//! that the NBSS layer around them is well-formed and that the unknown
//! payload raises no malformed-packet or error-severity expert item.

use messngr_proto::wire::Emit;
use messngr_proto::wire::native::{Message, Priority, Reason, Repr};
use messngr_proto::wire::nbss;

use crate::common::{CatalogueFrame, L4};

const PORT: u16 = nbss::SSN_SRVC_TCP_PORT;

fn frame(what: &'static str, l4: L4, repr: &Repr<'_>) -> CatalogueFrame {
    let payload = repr.to_vec().expect("catalogue native frame encodes");
    CatalogueFrame {
        what,
        l4,
        bytes: nbss::Repr::SessionMessage { payload: &payload }
            .to_vec()
            .expect("catalogue NBSS packet encodes"),
    }
}

/// A Message, its Accepted and a Refused; a Noise handshake message and a
/// SEALED frame of two chunks (opaque bytes: tshark sees them as Data too).
pub fn frames() -> Vec<CatalogueFrame> {
    let uuid = [0x5A; 16];
    let message = Message {
        uuid,
        sent_at: Some(1_767_935_589_696),
        from: "H2",
        to: "RECVBOX",
        text: "Urgent: the build is red — Grüße",
        priority: Priority::Urgent,
        popup_secs: Some(7),
        signer: None,
        signature: None,
        replaces: None,
        retract: false,
        alert: None,
        expires_at: None,
        vouched: None,
    };
    // `-> e`: an ephemeral X25519 key; a SEALED body: two chunks, each
    // `u16 LENGTH` then ciphertext and its 16-byte tag.
    let noise = [0xE5; 32];
    let mut body = Vec::new();
    for (len, fill) in [(40u16, 0xC1), (16, 0xC2)] {
        body.extend(len.to_be_bytes());
        body.extend(std::iter::repeat_n(fill, usize::from(len)));
    }
    vec![
        frame(
            "native Handshake (-> e)",
            L4::TcpToServer(PORT),
            &Repr::Handshake { noise: &noise },
        ),
        frame(
            "native Sealed (2 chunks)",
            L4::TcpToServer(PORT),
            &Repr::Sealed { body: &body },
        ),
        frame(
            "native Message (urgent, 7 s)",
            L4::TcpToServer(PORT),
            &Repr::Message(message),
        ),
        frame(
            "native Accepted",
            L4::TcpFromServer(PORT),
            &Repr::Accepted { uuid },
        ),
        frame(
            "native Refused (no room)",
            L4::TcpFromServer(PORT),
            &Repr::Refused {
                uuid: Some(uuid),
                reason: Reason::NoRoom,
                text: "the inbox is full",
            },
        ),
    ]
}
