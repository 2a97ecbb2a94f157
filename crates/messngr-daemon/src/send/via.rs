//! `--transport smb|mailslot|rpc`: one legacy way forced, for receivers
//! that accept only it (a UPS tool that listens only to RPC, a WinPopup
//! that reads only its mailslot).
//!
//! Why apart from the automatic path: `auto` tries messngr first and falls
//! back to SMB; a forced way skips that, so it is plain text by
//! construction. It is therefore refused wherever plain text is: with
//! `--secure`, under `require_secure`, and to a name whose key is pinned
//! (a messngr host, which a forced legacy way would downgrade).

use std::net::{Ipv4Addr, SocketAddrV4};

use messngr_api::Via;
use messngr_proto::Transport;
use messngr_proto::wire::name::NetbiosName;
use messngr_proto::wire::nbdgm::DatagramKind;

use super::{Outcome, SendContext, SendError};

/// A legacy way the sender chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Forced {
    Smb,
    Mailslot,
    Rpc,
}

impl Forced {
    /// The forced way `via` names (`None`: auto or native).
    pub(super) fn of(via: Via) -> Option<Forced> {
        match via {
            Via::Smb => Some(Forced::Smb),
            Via::Mailslot => Some(Forced::Mailslot),
            Via::Rpc => Some(Forced::Rpc),
            Via::Auto | Via::Native => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Forced::Smb => Via::Smb,
            Forced::Mailslot => Via::Mailslot,
            Forced::Rpc => Via::Rpc,
        }
        .as_str()
    }
}

/// `Ok` for `auto` (and `native`); an error saying why `what` takes no
/// other way.
pub(super) fn only_auto(via: Via, what: &str) -> Result<(), SendError> {
    match Forced::of(via) {
        None => Ok(()),
        Some(f) => Err(SendError::BadRequest(format!(
            "--transport {} does not apply to {what}: leave --transport out",
            f.name()
        ))),
    }
}

/// Why a forced legacy way may not carry this message.
pub(super) fn plain_text_forbidden(
    forced: Forced,
    target: &str,
    secure: bool,
    pinned: bool,
) -> SendError {
    let why = if secure {
        "--secure (or --transport native)".to_owned()
    } else if pinned {
        format!(
            "{}'s pinned key (a messngr host, which plain text would downgrade)",
            target.to_ascii_uppercase()
        )
    } else {
        "require_secure".to_owned()
    };
    SendError::Untrusted(format!(
        "--transport {} sends plain text, which {why} forbids: use --transport auto",
        forced.name()
    ))
}

/// Sends `oem` to `to` at `ip` the forced way: the transport used, how
/// far it got, and the SMB blocks (0 for the others).
pub(super) async fn send(
    ctx: &SendContext,
    forced: Forced,
    calling: NetbiosName,
    to: NetbiosName,
    ip: Ipv4Addr,
    oem: &[u8],
) -> Result<(Transport, Outcome, usize), SendError> {
    let from = ctx.settings.netbios_name.as_bytes();
    match forced {
        Forced::Smb => {
            let blocks = super::session(ctx, calling, to, ip, oem).await?;
            tracing::info!("message to {to} at {ip} delivered by SMB ({blocks} blocks)");
            Ok((Transport::Smb, Outcome::Delivered, blocks))
        }
        Forced::Rpc => {
            super::rpc::send(ip, from, to.name(), oem).await?;
            tracing::info!("message to {to} at {ip} delivered by RPC (UDP 135)");
            Ok((Transport::Rpc, Outcome::Delivered, 0))
        }
        Forced::Mailslot => {
            let bytes =
                super::broadcast::datagram(ctx, DatagramKind::DirectUnique, to, to.name(), oem)?;
            let dest = SocketAddrV4::new(ip, crate::datagram::NBDGM_PORT);
            ctx.dgm
                .send_to(&bytes, dest)
                .await
                .map_err(|e| SendError::Network(format!("cannot send to {dest}: {e}")))?;
            tracing::info!("mailslot message to {to} at {ip} sent (not acknowledged)");
            Ok((Transport::Mailslot, Outcome::Sent, 0))
        }
    }
}
