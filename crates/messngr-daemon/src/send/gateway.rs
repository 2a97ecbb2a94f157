//! The secure gateway: a legacy message (SMB, mailslot, RPC, or as smbd
//! hands it over in the Samba drop-in) received here for a name in
//! `[relay] gateway`, or a messngr peer's from this LAN, goes on, through
//! the relay, to that name's holders on other sites.
//!
//! Why it stays unverified: a legacy message says nothing true about its
//! sender; NetBIOS names and source addresses are anyone's to claim on a
//! LAN. So the forward is signed by this host, the gateway, as what it is
//! (a VOUCHED frame: "this came to me by SMB from 10.0.0.7", FROM as the
//! legacy sender wrote it), and the receiver stores it unverified with the
//! gateway beside it. The message is on this host's disk before anything
//! is forwarded (the legacy sender's acknowledgement promised that); a
//! forward the relay cannot take now is kept in the outbox as any send.
//!
//! Why a cursor kept in the inbox: the gateway follows the inbox's feed,
//! which a flood can outrun, which may bring messages stored together in
//! another order than their ids, and a restart (or a crash) stops it
//! between a message stored and forwarded. So the feed only wakes it: it
//! reads the inbox itself, in id order, from the id of the last message it
//! looked at (kept in `relay_gateway` with the names it forwards), at
//! start, on each message for a gateway name, and whenever it fell behind.
//! Every legacy message for a gateway name is then forwarded once (again
//! only if the daemon stops between a page's forwards and noting them). A
//! first start, or new names, begin at the newest message: nothing stored
//! before a host was a gateway for a name is forwarded.

use std::sync::Arc;

use messngr_store::{Direction, Message, Scope, StoreHandle, Transport};
use tokio::sync::broadcast::{Receiver, error::RecvError};
use tokio_util::sync::CancellationToken;

use super::{Options, SendContext, SendError, Vouched, relay};

/// Messages read from the inbox at once (each page's cursor is kept once).
const PAGE: u32 = 256;

/// Forwards, until `stop`, each legacy message stored for one of `names`:
/// first those stored while it was not running, then those stored since.
/// `stored` is the inbox's feed and the newest message's id, both taken
/// before the daemon could store anything (where a first start begins).
pub(crate) async fn run(
    ctx: SendContext,
    names: Vec<String>,
    (mut stored, newest): (Receiver<Arc<Message>>, i64),
    stop: CancellationToken,
) {
    let store = ctx.inbox.handle().clone();
    let Some(cursor) = start(&store, &names, newest).await else {
        return;
    };
    let ctx = &ctx;
    let send = move |m: Message| async move { forward(ctx, &m).await };
    let (mut cursor, mut stuck) = catch_up(&store, &names, cursor, send, &stop).await;
    let mut said = None;
    loop {
        // Said once for each message that waits.
        if let Some((id, why)) = &stuck
            && said != Some(*id)
        {
            tracing::warn!(
                "gateway: message {id} waits to be forwarded: {why}; tried again every {} s, and what came after it waits behind it (see `messngr status`)",
                AGAIN.as_secs()
            );
            said = Some(*id);
        }
        let next = tokio::select! {
            () = stop.cancelled() => return,
            next = stored.recv() => next,
            // The outbox had no room for a forward: tried again.
            () = tokio::time::sleep(AGAIN), if stuck.is_some() => {
                (cursor, stuck) = catch_up(&store, &names, cursor, send, &stop).await;
                continue;
            }
        };
        match next {
            // (While a forward waits, only the timer tries again: each try
            // signs it anew.)
            Ok(_) | Err(RecvError::Lagged(_)) if stuck.is_some() => {}
            Ok(m) if m.id > cursor && forwards(&names, &m) => {
                (cursor, stuck) = catch_up(&store, &names, cursor, send, &stop).await;
            }
            Ok(_) => {}
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(
                    "gateway: fell behind by {n} messages; looking for them in this inbox"
                );
                (cursor, stuck) = catch_up(&store, &names, cursor, send, &stop).await;
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// How long a forward the outbox had no room for waits before it is
/// tried again (what waits there leaves as the relay takes it, or after
/// an hour when nobody holds its name).
const AGAIN: std::time::Duration = std::time::Duration::from_secs(30);

/// What became of a forward.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Forwarded {
    /// Handed to the relay or kept for it, or not to be forwarded (said
    /// why): the gateway goes on.
    Done,
    /// The relay is away and the outbox had no room (why): tried again
    /// later, and nothing after it goes first.
    Later(String),
}

/// The gateway's messages: those of root, who owns its names here
/// (`settings::access`).
fn scope() -> Scope {
    Scope::Owners {
        user: Some(crate::settings::GATEWAY_OWNER.to_owned()),
        host: false,
    }
}

/// Where the gateway has looked up to: as kept, or on a first start (or
/// for other names than it kept) `newest`, the newest message when the
/// daemon started, kept; so that nothing older is forwarded. `None`: the
/// inbox failed (logged; the gateway does not run).
async fn start(store: &StoreHandle, names: &[String], newest: i64) -> Option<i64> {
    let joined = names.join(" ");
    let kept = store.run(|s| s.gateway_cursor()).await;
    let cursor = match kept {
        Ok(Some((c, n))) if n == joined => Ok(c),
        Ok(other) => {
            if let Some((_, n)) = other {
                tracing::info!(
                    "gateway: names changed (were {n}); forwarding what comes for {joined} from now on"
                );
            }
            store
                .run(move |s| {
                    s.set_gateway_cursor(newest, &joined)?;
                    Ok(newest)
                })
                .await
        }
        Err(e) => Err(e),
    };
    cursor
        .inspect_err(|e| {
            tracing::error!(
                "gateway: the inbox failed ({e}) noting how far it forwarded; not forwarding (restart the daemon once the inbox is fixed)"
            );
        })
        .ok()
}

/// Hands each message after `cursor` in the inbox that is for one of
/// `names` to `send`, in id order, a page at a time, until the end,
/// `stop`, or a forward that must wait ([`Forwarded::Later`]: the cursor
/// stays before it); the new cursor (kept after each page), and the
/// message that waits, with why.
async fn catch_up<F, Fut>(
    store: &StoreHandle,
    names: &[String],
    mut cursor: i64,
    send: F,
    stop: &CancellationToken,
) -> (i64, Option<(i64, String)>)
where
    F: Fn(Message) -> Fut,
    Fut: std::future::Future<Output = Forwarded>,
{
    let joined = names.join(" ");
    let mut stuck = None;
    while stuck.is_none() {
        if stop.is_cancelled() {
            break;
        }
        let page = match store.export_page(scope(), cursor, PAGE).await {
            Ok(page) if page.is_empty() => break,
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(
                    "gateway: cannot look through the inbox ({e}); what it holds after message {cursor} is looked at with the next message for a gateway name"
                );
                break;
            }
        };
        let from = cursor;
        for m in page {
            if stop.is_cancelled() {
                break;
            }
            let id = m.id;
            if forwards(names, &m)
                && let Forwarded::Later(why) = send(m).await
            {
                stuck = Some((id, why));
                break;
            }
            cursor = id;
        }
        if cursor != from {
            let (at, names) = (cursor, joined.clone());
            if let Err(e) = store.run(move |s| s.set_gateway_cursor(at, &names)).await {
                tracing::warn!(
                    "gateway: cannot note how far it looked (message {cursor}): {e}; after a restart it looks again from where it last noted"
                );
            }
        }
    }
    (cursor, stuck)
}

/// Whether `m` is a message from this LAN for one of the gateway's
/// `names`: a legacy one (also as smbd handed it over, in the Samba
/// drop-in), or a messngr peer's (whose signature the gateway checked; not
/// what the relay brought, nor a forward: those went through the relay
/// already); not one withdrawn or expired since.
fn forwards(names: &[String], m: &Message) -> bool {
    m.direction == Direction::In
        && !m
            .source_addr
            .as_deref()
            .is_some_and(crate::relay::is_relayed_source)
        && m.retracted_at.is_none()
        && m.expires_at
            .is_none_or(|t| t > messngr_store::clock::now_ms())
        && match m.transport {
            Transport::Smb | Transport::Mailslot | Transport::Rpc | Transport::Samba => !m.verified,
            Transport::Messngr => m.gateway.is_none(),
            Transport::Unknown => false,
        }
        && names.iter().any(|n| n.eq_ignore_ascii_case(m.to.trim()))
}

/// What the gateway vouches for about where `m` came from: its transport
/// and address (`smb from 10.0.0.7`; smbd's hand-over has none), and for a
/// messngr peer's signed message who signed it (`messngr from 10.0.0.7,
/// signed by bob@PC7`), said as its key's standing here: `vetted` tells
/// whether this host's admin vetted a host's key (a key first seen on this
/// LAN is anyone's claim of that host).
fn origin(m: &Message, vetted: impl Fn(&str) -> bool) -> String {
    let mut origin = match (m.transport, m.source_addr.as_deref()) {
        (Transport::Samba, None) => "samba hand-over (address not known)".to_owned(),
        (t, None) => t.as_str().to_owned(),
        (t, Some(a)) => format!(
            "{} from {}",
            t.as_str(),
            a.rsplit_once(':').map_or(a, |(h, _)| h)
        ),
    };
    if let (true, Some(author)) = (m.verified, &m.author) {
        let host = author.rsplit_once('@').map_or("", |(_, h)| h);
        origin = if vetted(host) {
            format!("{origin}, signed by {author}")
        } else {
            format!("{origin}, signed by {author} (a key the gateway's admin did not vet)")
        };
    }
    origin
}

/// Signs `m` as the gateway's forward and hands it to the relay.
async fn forward(ctx: &SendContext, m: &Message) -> Forwarded {
    if ctx.relay.is_none() {
        return Forwarded::Done;
    }
    let name = m.to.trim().to_ascii_uppercase();
    let origin = origin(m, |host| ctx.secure.trust().vetted(host));
    // Root's: a gateway name is owned by root here (`settings::access`).
    let opts = Options {
        secure: true,
        vouched: Some(Vouched {
            from: m.from.trim(),
            origin: &origin,
        }),
        // The sender's expiry goes with it.
        expires_at: m.expires_at,
        ..Options::by(0)
    };
    // The relay down, or her hosts not in the directory now (asleep):
    // kept in the outbox, which tries again (for an hour when nobody holds
    // the name).
    match relay::past_the_gateway(ctx, &name, &m.text, opts).await {
        Ok(report) => tracing::info!(
            "gateway: message {} for {name} ({origin}) forwarded: {:?}",
            m.id,
            report.outcome
        ),
        Err(SendError::NotKept(why)) => return Forwarded::Later(why),
        Err(e) => tracing::warn!("gateway: message {} for {name} not forwarded: {e}", m.id),
    }
    Forwarded::Done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_legacy_messages_for_the_gateways_names_go_on() {
        let names = vec!["ALICE".to_owned()];
        let mut m = crate::testing::message(1, "WINPC", "alice", "hi");
        m.transport = Transport::Smb;
        assert!(forwards(&names, &m));
        let mut signed = m.clone();
        signed.verified = true;
        assert!(!forwards(&names, &signed), "a verified one is not legacy");
        let mut samba = m.clone();
        samba.transport = Transport::Samba;
        assert!(forwards(&names, &samba), "smbd handed it over");
        let mut native = m.clone();
        native.transport = Transport::Messngr;
        native.verified = true;
        native.author = Some("bob@PC7".into());
        native.source_addr = Some("10.0.0.7:40000".into());
        assert!(forwards(&names, &native), "a messngr peer's on this LAN");
        assert_eq!(
            origin(&native, |h| h == "PC7"),
            "messngr from 10.0.0.7, signed by bob@PC7"
        );
        assert_eq!(
            origin(&native, |_| false),
            "messngr from 10.0.0.7, signed by bob@PC7 (a key the gateway's admin did not vet)"
        );
        let mut forward = native.clone();
        forward.gateway = Some("GW2: smb from 10.1.0.9".into());
        assert!(!forwards(&names, &forward), "another gateway's forward");
        let mut relayed = native.clone();
        relayed.source_addr = Some("10.0.0.1:0".into());
        assert!(!forwards(&names, &relayed), "the relay brought it");
        let mut withdrawn = native.clone();
        withdrawn.retracted_at = Some(1);
        assert!(!forwards(&names, &withdrawn), "withdrawn since");
        let mut expired = native.clone();
        expired.expires_at = Some(1);
        assert!(!forwards(&names, &expired), "expired since");
        samba.source_addr = None;
        assert_eq!(
            origin(&samba, |_| true),
            "samba hand-over (address not known)"
        );
        let mut other = m.clone();
        other.to = "BOB".into();
        assert!(!forwards(&names, &other));
        let mut sent = m;
        sent.direction = Direction::Out;
        assert!(!forwards(&names, &sent));
    }

    #[tokio::test]
    async fn what_was_stored_while_the_gateway_was_down_is_forwarded_once_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = StoreHandle::open(dir.path().join("inbox.sqlite")).unwrap();
        // As stored here: a gateway name is root's.
        let smb = |to: &str, text: &str| {
            let mut m = messngr_store::NewMessage::received(
                Transport::Smb,
                "WINPC",
                to,
                text,
                text.as_bytes(),
            );
            m.owner_user = Some(crate::settings::GATEWAY_OWNER.to_owned());
            m
        };
        let names = vec!["ALICE".to_owned()];
        let before = store.insert(smb("ALICE", "before")).await.unwrap();
        // Its first start: nothing older is forwarded.
        assert_eq!(start(&store, &names, before.id).await, Some(before.id));
        // Stored while it was down (or behind).
        let a = store.insert(smb("ALICE", "one")).await.unwrap();
        let bob = store.insert(smb("BOB", "not hers")).await.unwrap();
        let b = store.insert(smb("ALICE", "two")).await.unwrap();
        let sent = std::sync::Mutex::new(Vec::new());
        // The outbox has no room for b's forward the first time.
        let full = std::sync::Mutex::new(Some(b.id));
        let send = |m: Message| {
            let mut full = full.lock().unwrap();
            let out = if *full == Some(m.id) {
                *full = None;
                Forwarded::Later("no room".into())
            } else {
                sent.lock().unwrap().push(m.id);
                Forwarded::Done
            };
            async move { out }
        };
        let stop = CancellationToken::new();
        // b waits, and the cursor stays right before it (kept so).
        let (cursor, stuck) = catch_up(&store, &names, before.id, send, &stop).await;
        assert_eq!(*sent.lock().unwrap(), [a.id]);
        assert_eq!((cursor, stuck), (bob.id, Some((b.id, "no room".into()))));
        assert_eq!(start(&store, &names, 0).await, Some(bob.id));
        // Tried again, it goes.
        let (cursor, stuck) = catch_up(&store, &names, cursor, send, &stop).await;
        assert_eq!(*sent.lock().unwrap(), [a.id, b.id]);
        assert_eq!((cursor, stuck), (b.id, None));
        // Kept: a restart starts there, and finds nothing more to send.
        assert_eq!(start(&store, &names, 0).await, Some(b.id));
        assert_eq!(
            catch_up(&store, &names, b.id, send, &stop).await,
            (b.id, None)
        );
        assert_eq!(sent.lock().unwrap().len(), 2);
        // Other names: a first start again, at the newest given.
        let c = store.insert(smb("ALICE", "three")).await.unwrap();
        let two = vec!["ALICE".to_owned(), "CAROL".to_owned()];
        assert_eq!(start(&store, &two, c.id).await, Some(c.id));
        // Stopped: nothing more is looked at.
        stop.cancel();
        store.insert(smb("ALICE", "four")).await.unwrap();
        assert_eq!(
            catch_up(&store, &two, c.id, send, &stop).await,
            (c.id, None)
        );
        assert_eq!(sent.lock().unwrap().len(), 2);
    }
}
