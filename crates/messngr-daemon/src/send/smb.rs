//! The legacy SMB path of a send, and the name lookup it needs: resolve
//! `NAME<03>`, then one NBT session on TCP 139 carrying the
//! START/TEXT…/END exchange of the `assembly::Sender` machine. Kept apart
//! from `send/mod.rs`, which decides which way a message goes.

use std::net::Ipv4Addr;
use std::time::Instant;

use messngr_proto::assembly::{Progress, SendError as SmbSendError, Sender, SenderConfig};
use messngr_proto::wire::name::{NetbiosName, suffix};
use messngr_proto::wire::nbss::Repr as Nbss;

use super::{SendContext, SendError};
use crate::names::{Names, NamesError};
use crate::outbound::{ANSWER_TIMEOUT, Session};

/// Resolves `NAME<03>` through the name service (broadcast or WINS).
pub(super) async fn resolve(names: &Names, name: &str) -> Result<Ipv4Addr, SendError> {
    let upper = name.to_ascii_uppercase();
    match names.lookup(name.to_owned(), suffix::MESSENGER).await {
        Ok(addresses) => addresses.first().copied().ok_or_else(|| {
            SendError::NotFound(format!("{upper}<03>: the answer carried no address"))
        }),
        Err(NamesError::Stopping) => Err(SendError::Stopping),
        Err(NamesError::BadName(e)) => Err(SendError::BadName(e)),
        Err(_) => Err(SendError::NotFound(format!(
            "{upper}<03> not found: nobody answered for it (check the name, or give its address with -I)"
        ))),
    }
}

/// One NBT session: session request, then the sender machine to the end.
pub(super) async fn session(
    ctx: &SendContext,
    calling: NetbiosName,
    to: NetbiosName,
    ip: Ipv4Addr,
    text: &[u8],
) -> Result<usize, SendError> {
    let net = SendError::Network;
    let mut s = Session::open(calling, to, ctx.settings.scope(), ip).await?;
    let from = ctx.settings.netbios_name.as_bytes();
    let mut sender = Sender::new(from, to.name(), text, SenderConfig::default());
    let blocks = sender.block_count();
    loop {
        while let Some(smb) = sender.poll_request(Instant::now()) {
            s.write(&Nbss::SessionMessage { payload: &smb }).await?;
        }
        let frame = s.read_frame(ANSWER_TIMEOUT).await?;
        let payload = match Nbss::parse(&frame) {
            Ok(Nbss::SessionMessage { payload }) => payload.to_vec(),
            Ok(Nbss::SessionKeepAlive) => continue,
            Ok(other) => return Err(net(format!("{ip} sent {other:?} inside the session"))),
            Err(e) => return Err(net(format!("{ip} sent a malformed frame: {e}"))),
        };
        match sender.handle_reply(&payload) {
            Progress::Pending => {}
            Progress::Done => return Ok(blocks),
            Progress::Failed(SmbSendError::Refused { command, status }) => {
                return Err(SendError::Refused(format!(
                    "{to} at {ip} refused the message ({}, at {command:?})",
                    messngr_proto::assembly::status_text(status)
                )));
            }
            Progress::Failed(e) => return Err(net(format!("{ip}: {e}"))),
        }
    }
}
