//! A read or delivery receipt arriving inside a secure session: believed
//! only when signed, by the host it came from, about a recipient that host
//! holds, for a message this host sent to that recipient.
//!
//! Why these checks: a receipt changes what `messngr track` tells the
//! sender ("32 of 40 read"), so a host may report only on its own names
//! (`send::reports_on`), and only on messages it was sent; anything else
//! is refused, changes nothing, and is counted (docs/native.md,
//! "Receipts").

use std::net::SocketAddr;

use messngr_proto::text::sanitize_line;
use messngr_proto::wire::native::{Reason, Receipt, ReceiptState, Repr};
use messngr_store::Direction;

use super::{Answer, Ctx, answer, refuse};
use crate::policy::Refusal;
use crate::secure::Certified;

/// Handles receipt `r` from the session host `host` at `peer`: recorded and
/// Accepted, or Refused saying why.
pub(super) async fn receive(
    r: Receipt<'_>,
    host: &str,
    certified: &mut Certified,
    peer: SocketAddr,
    ctx: Ctx<'_>,
) -> Answer {
    let no = |why: Refusal, reason: Reason, text: String| {
        ctx.policy
            .refuse(why, peer.ip(), format_args!("{}", sanitize_line(&text)));
        refuse(Some(r.uuid), reason, &text, None)
    };
    let reader = sanitize_line(r.reader);
    // A receipt costs a signature check and store work, as a message does.
    if let Err(why) = ctx
        .policy
        .limits()
        .session_message(std::time::Instant::now(), peer.ip())
    {
        return no(
            why,
            Reason::NoRoom,
            format!("receipt from {host}: too many, try later"),
        );
    }
    match ctx.secure.verify_cached(&Repr::Receipt(r), certified) {
        Err(f) => {
            return no(
                Refusal::Forged,
                Reason::BadSignature,
                format!("receipt from {host} refused: {f}"),
            );
        }
        Ok(v) if v.host != host => {
            return no(
                Refusal::Forged,
                Reason::BadSignature,
                format!(
                    "a receipt signed on {} arrived from {host}: relayed receipts are not accepted",
                    v.host
                ),
            );
        }
        Ok(_) => {}
    }
    if !crate::send::reports_on(r.reader, host) {
        return no(
            Refusal::Forged,
            Reason::BadSignature,
            format!("{host} sent a receipt for {reader}, a recipient it does not hold"),
        );
    }
    let uuid = hex::encode(r.uuid);
    let not_here = || {
        no(
            Refusal::NotHere,
            Reason::NotHere,
            format!("no message {uuid} was sent from here to {reader}"),
        )
    };
    match ctx.store.find_by_uuid(uuid.clone()).await {
        Ok(Some(m)) if m.direction == Direction::Out => {}
        Ok(_) => return not_here(),
        Err(e) => return store_failed(ctx, peer, &uuid, &e, r.uuid),
    }
    match ctx.store.receipts(uuid.clone()).await {
        Ok(rows) if rows.iter().any(|row| row.recipient == r.reader) => {}
        Ok(_) => return not_here(),
        Err(e) => return store_failed(ctx, peer, &uuid, &e, r.uuid),
    }
    let state = match r.state {
        ReceiptState::Delivered => messngr_store::ReceiptState::Delivered,
        ReceiptState::Read => messngr_store::ReceiptState::Read,
    };
    // The reader's clock, but never in the future of ours.
    let at = r.at.min(now_ms());
    if let Err(e) = ctx
        .store
        .record(uuid.clone(), r.reader.to_owned(), state, at)
        .await
    {
        return store_failed(ctx, peer, &uuid, &e, r.uuid);
    }
    tracing::info!(
        "{} receipt for sent message {uuid} from {host}: {reader}",
        r.state.as_str()
    );
    answer(&Repr::Accepted { uuid: r.uuid }, None)
}

fn store_failed(
    ctx: Ctx<'_>,
    peer: SocketAddr,
    uuid: &str,
    e: &messngr_store::StoreError,
    raw: [u8; 16],
) -> Answer {
    let text = format!("receipt for {uuid} not recorded: {e}");
    ctx.policy
        .refuse(Refusal::NotStored, peer.ip(), format_args!("{text}"));
    refuse(Some(raw), Reason::NoRoom, &text, None)
}

use messngr_store::clock::now_ms;
