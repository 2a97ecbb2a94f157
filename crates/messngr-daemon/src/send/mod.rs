//! Sending: what `messngr send` and `reply` ask the daemon to do, with
//! `net send` semantics.
//!
//! * `NAME` — resolve `NAME<03>` (broadcast, or WINS first when configured;
//!   skipped with an explicit address), open an NBT session to TCP 139,
//!   send START/TEXT…/END (the `assembly::Sender` machine: ≤ 128-byte
//!   blocks after OEM encoding, group id from the START reply), and report
//!   success only when the receiver acknowledged the END.
//!   With `--priority` or `--time` the message first goes as a native
//!   messngr frame ([`native`]); a peer that is not messngr gets the SMB
//!   message on a new session, and the caller is told what was dropped. A
//!   name this host holds is not sent at all: it is stored here, with the
//!   local sender's uid ([`local`]).
//! * `*` — a `\MAILSLOT\MESSNGR` datagram to our workgroup, broadcast;
//!   `/domain[:NAME]` — the same to that workgroup or domain. Datagrams are
//!   not acknowledged: "sent" is all that can be said of them; the
//!   messngr hosts this one knows get a signed copy first ([`broadcast`]),
//!   which is tracked.
//! * `/users` — every user with a session here, each through its `USER<03>`.
//! * `--transport smb|mailslot|rpc` forces one legacy way ([`via`]; RPC is
//!   [`rpc`]), `native` means `--secure`; `auto` is all of the above.
//!
//! The daemon sends, not the CLI, because it owns the NetBIOS name, the
//! datagram socket (source port 138) and the WINS setting. Results are
//! typed ([`SendReport`], [`SendError`]); the API's dispatch shows them.

mod broadcast;
pub(crate) mod gateway;
mod kept;
mod local;
pub(crate) mod notice;
mod receipt;
mod record;
mod relay;
use relay::{Resolved, resolve_anywhere};
mod report;
mod rpc;
mod secure;
mod sent_at;
mod smb;
mod text;
mod via;

use std::net::Ipv4Addr;
use std::sync::Arc;

use messngr_proto::Transport;
use messngr_proto::wire::name::{NetbiosName, suffix};
use tokio::net::UdpSocket;

pub(crate) use receipt::on_read;
pub(crate) use record::reports_on;
pub(crate) use report::{Outcome, SendError, SendReport};
pub(crate) use secure::Peers;

use crate::names::Names;
use crate::registry::Registry;
use crate::settings::Settings;
use smb::{resolve, session};
use text::{LegacyText, Text, encode};

/// What the daemon needs to send.
#[derive(Clone)]
pub(crate) struct SendContext {
    /// Settings (our name, workgroup, interface).
    pub settings: Arc<Settings>,
    /// What a SIGHUP changes (`[relay] org_senders`, for sends).
    pub live: Arc<crate::live::Live>,
    /// The UDP 138 socket (datagrams must come from port 138).
    pub dgm: Arc<UdpSocket>,
    /// The name service, for lookups.
    pub names: Names,
    /// The names this host holds (a message to one is stored here).
    pub registry: Registry,
    /// The inbox, for those messages.
    pub inbox: Arc<crate::inbox::Inbox>,
    /// Keys and pins.
    pub secure: Arc<crate::secure::Secure>,
    /// Open secure sessions, reused.
    pub peers: Arc<Peers>,
    /// The relay between sites, whose directory names hosts NetBIOS
    /// cannot reach.
    pub relay: Option<Arc<crate::relay::Relay>>,
}

/// What `messngr send` sets besides target and text, and who asks.
///
/// No `Default`: every send names the account it is for ([`Options::by`]),
/// so that none is made as root (uid 0) by leaving the uid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Options<'a> {
    /// `--priority`: `None` is normal, and no reason to try messngr first.
    pub priority: Option<messngr_proto::Priority>,
    /// `--time SECS`: seconds the receiver's pop-up stays.
    pub popup_secs: Option<u32>,
    /// `--expires`: when (Unix ms) the message is never shown again; the
    /// receiver drops it if it arrives later.
    pub expires_at: Option<i64>,
    /// The caller's uid (from `SO_PEERCRED`).
    pub uid: u32,
    /// `--secure`: no plain-text fallback.
    pub secure: bool,
    /// An alert (the Alerter's): marked in the native frame, its text
    /// led by an `ALERT` line for legacy receivers.
    pub alert: Option<messngr_proto::wire::native::Alert<'a>>,
    /// `--transport`: `Auto` picks; the others force one way ([`via`]).
    pub via: messngr_api::Via,
    /// Keep no sender's copy (`record`) of a message stored *here*: nothing
    /// to `track`, wait for, update or retract. HTTP publishes, unless
    /// they ask (`http::api`). A message to another messngr host is kept
    /// all the same: its receiver reports receipts, which need the copy.
    pub untracked: bool,
    /// A legacy message this host forwards as the secure gateway: its
    /// sender's name and where it came from (`send::gateway`).
    pub vouched: Option<Vouched<'a>>,
}

/// What a gateway says of a legacy message it forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Vouched<'a> {
    /// The legacy sender's name (FROM), not verified.
    pub from: &'a str,
    /// Where it came from: `smb from 10.0.0.7`.
    pub origin: &'a str,
}

impl Options<'_> {
    /// A send by account `uid`, nothing else asked.
    pub(crate) fn by(uid: u32) -> Self {
        Options {
            priority: None,
            popup_secs: None,
            expires_at: None,
            uid,
            secure: false,
            alert: None,
            via: messngr_api::Via::Auto,
            untracked: false,
            vouched: None,
        }
    }

    /// Whether the message needs the native frame to say everything.
    fn wants_native(&self) -> bool {
        self.priority.is_some() || self.popup_secs.is_some() || self.expires_at.is_some()
    }

    /// What a legacy receiver cannot carry of what was asked: "priority
    /// and --time were dropped" (or the ones given).
    fn dropped(&self) -> String {
        let given: Vec<&str> = [
            (self.priority.is_some(), "priority"),
            (self.popup_secs.is_some(), "--time"),
            (self.expires_at.is_some(), "--expires"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        let list = match given.as_slice() {
            [] => "nothing".to_owned(),
            [one] => (*one).to_owned(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        };
        format!(
            "{list} {} dropped",
            if given.len() == 1 { "was" } else { "were" }
        )
    }

    /// `text` as a legacy receiver gets it: an alert's led by its line.
    fn legacy_text<'t>(&self, text: Text<'t>) -> Result<LegacyText<'t>, SendError> {
        match self.alert {
            None => Ok(LegacyText::Same(text)),
            Some(a) => Ok(LegacyText::Alert(encode(
                &messngr_proto::wire::native::alert_legacy_text(a.title, text.utf8),
                text.codepage,
            )?)),
        }
    }
}

/// When a message sent now with `--expires SECS` expires (Unix ms).
pub(crate) fn expires_at(secs: u32) -> i64 {
    messngr_store::clock::now_ms().saturating_add(i64::from(secs) * 1000)
}

/// Sends `text` to `target` (`net send` semantics, see the module doc).
pub(crate) async fn send(
    ctx: &SendContext,
    target: &str,
    text: &str,
    address: Option<Ipv4Addr>,
    opts: Options<'_>,
) -> Result<Vec<SendReport>, SendError> {
    if opts
        .popup_secs
        .is_some_and(|s| !(1..=messngr_proto::wire::native::MAX_POPUP_SECS).contains(&s))
    {
        return Err(SendError::BadRequest(
            "--time takes 1 to 86400 seconds".into(),
        ));
    }
    if opts
        .expires_at
        .is_some_and(|t| t <= messngr_store::clock::now_ms())
    {
        return Err(SendError::BadRequest(
            "--expires takes 1 second to 7 days (90s, 30m, 2h, 7d)".into(),
        ));
    }
    // The receiver's code page as far as its name (and -I) tell; an
    // address range is checked again once the name is resolved.
    let codepage = ctx
        .settings
        .code_pages
        .for_peer(target.as_bytes(), address.map(Into::into));
    let encoded = encode(text, codepage)?;
    let message = Text {
        utf8: text,
        oem: &encoded.bytes,
        replaced: encoded.replaced,
        codepage,
    };
    let mut opts = opts;
    // messngr only is what --secure asks.
    opts.secure |= opts.via == messngr_api::Via::Native;
    if target == "/users" {
        via::only_auto(opts.via, "/users (the users logged in here)")?;
        return send_users(ctx, message, opts).await;
    }
    if let Some(group) = relay::relay_group(target)? {
        via::only_auto(opts.via, "a relay group (it goes through the relay)")?;
        return Ok(vec![relay::send_group(ctx, &group, text, opts).await?]);
    }
    match broadcast::group_of(ctx, target)? {
        Some(g) if opts.via == messngr_api::Via::Mailslot => Ok(vec![
            broadcast::datagram_only(ctx, target, &g, message, opts).await?,
        ]),
        Some(g) => {
            via::only_auto(opts.via, "a broadcast (it goes as a mailslot datagram)")?;
            broadcast::send(ctx, target, &g, message, opts).await
        }
        None => Ok(vec![
            send_direct(ctx, target, address, message, opts).await?,
        ]),
    }
}

/// Answers message `id` to its sender, by direct session only: to the
/// sender's name at the address it came from (resolved by name when the
/// message carries none); a message from a local account is answered to
/// that account's inbox here. The sender's name was chosen by the sender,
/// so it is taken as a plain NetBIOS name: a reply never becomes a
/// broadcast (`*`, `/domain`) or a message to every local user (`/users`).
pub(crate) async fn reply(
    ctx: &SendContext,
    uid: u32,
    id: i64,
    text: &str,
) -> Result<SendReport, SendError> {
    let Some(original) = ctx.inbox.get(id, uid).await else {
        return Err(SendError::NotFound(format!("no message {id}")));
    };
    let address = original
        .source_addr
        .as_deref()
        .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
        .and_then(|a| match a.ip() {
            std::net::IpAddr::V4(ip) => Some(ip),
            std::net::IpAddr::V6(_) => None,
        });
    let opts = Options::by(uid);
    if original.sender_uid.is_some() && original.source_addr.is_none() {
        // From a local account: back to that account, here.
        return local::send(ctx, &original.from, text, opts, None).await;
    }
    let name = original.from.trim();
    if name.starts_with(['*', '/']) || crate::config::netbios_name("sender", name).is_err() {
        return Err(SendError::BadName(format!(
            "message {id} came from {:?}, which is not a name a reply can go to",
            name.escape_debug().to_string()
        )));
    }
    let codepage = ctx
        .settings
        .code_pages
        .for_peer(name.as_bytes(), address.map(Into::into));
    let encoded = encode(text, codepage)?;
    let message = Text {
        utf8: text,
        oem: &encoded.bytes,
        replaced: encoded.replaced,
        codepage,
    };
    send_direct(ctx, name, address, message, opts).await
}

/// `/users`: every user with a session on this host, each through its own
/// `USER<03>` name here (so the message takes the same path, and lands in
/// the same inbox, as one from the network).
async fn send_users(
    ctx: &SendContext,
    text: Text<'_>,
    opts: Options<'_>,
) -> Result<Vec<SendReport>, SendError> {
    let users = crate::users::logged_in(&ctx.settings.utmp).map_err(|e| {
        SendError::NotFound(format!("cannot read {}: {e}", ctx.settings.utmp.display()))
    })?;
    if users.is_empty() {
        return Err(SendError::NotFound(
            "no user has a session on this host".into(),
        ));
    }
    // One sent message tracks every user stored here; a user whose name
    // is not held here (register_users = false) gets it over the network,
    // untracked.
    let uuid = messngr_store::new_uuid();
    let mut sent = Vec::new();
    let mut reached = Vec::new();
    for user in &users {
        let name = crate::config::netbios_name("user", user)
            .map_err(|e| SendError::BadName(e.to_string()))?;
        if ctx.registry.accepts_messages_for(&name) {
            let notice = (!opts.untracked).then_some(uuid.as_str());
            sent.push(local::send(ctx, user, text.utf8, opts, notice).await?);
            reached.push(record::recipient(user, &ctx.settings.netbios_name));
        } else {
            let here = Some(ctx.settings.iface.address);
            sent.push(send_direct(ctx, user, here, text, opts).await?);
        }
    }
    if !reached.is_empty() && !opts.untracked {
        let id = keep_local(ctx, "/users", text.utf8, opts, &uuid, reached).await;
        for r in sent
            .iter_mut()
            .filter(|r| r.transport == Transport::Messngr)
        {
            r.id = id;
            r.uuid = Some(uuid.clone());
        }
    }
    Ok(sent)
}

/// Stores `text` here for each of the local accounts `users`, as theirs
/// (whether or not they are logged in or their names registered), tracked
/// as one sent message labelled `label` (`@ops`, `alice`). The Alerter's
/// `@group` and user subscribers.
pub(crate) async fn to_accounts(
    ctx: &SendContext,
    label: &str,
    users: &[String],
    text: &str,
    opts: Options<'_>,
) -> Result<Vec<SendReport>, SendError> {
    if users.is_empty() {
        return Err(SendError::NotFound(format!("{label}: nobody to send to")));
    }
    encode(text, ctx.settings.code_pages.default_page())?;
    let uuid = messngr_store::new_uuid();
    let mut sent = Vec::new();
    let mut reached = Vec::new();
    let mut missed = Vec::new();
    for user in users {
        match local::send(ctx, user, text, opts, Some(&uuid)).await {
            Ok(r) => {
                sent.push(r);
                reached.push(record::recipient(user, &ctx.settings.netbios_name));
            }
            // The others still get it, and what reached them is tracked
            // (an error here would have the Alerter send it all again).
            Err(e) => missed.push((user.as_str(), e)),
        }
    }
    if sent.is_empty() {
        return Err(missed.into_iter().next().map_or_else(
            || SendError::NotFound(format!("{label}: nobody to send to")),
            |(_, e)| e,
        ));
    }
    let id = keep_local(ctx, label, text, opts, &uuid, reached).await;
    for r in &mut sent {
        r.id = id;
        r.uuid = Some(uuid.clone());
    }
    if !missed.is_empty() {
        let who: Vec<String> = missed.iter().map(|(u, e)| format!("{u} ({e})")).collect();
        sent[0].warning = Some(format!("{label}: not stored for {}", who.join(", ")));
    }
    Ok(sent)
}

/// Keeps a message stored here for local recipients as sent (tracked).
async fn keep_local(
    ctx: &SendContext,
    target: &str,
    text: &str,
    opts: Options<'_>,
    uuid: &str,
    recipients: Vec<String>,
) -> Option<i64> {
    let login = local::sender_name(opts.uid);
    let sent = record::Sent {
        uuid: uuid.to_owned(),
        uid: opts.uid,
        login: &login,
        target,
        text,
        recipients,
        signed: None,
        alert: opts.alert,
    };
    record::keep(ctx, sent).await
}

async fn send_direct(
    ctx: &SendContext,
    target: &str,
    address: Option<Ipv4Addr>,
    text: Text<'_>,
    opts: Options<'_>,
) -> Result<SendReport, SendError> {
    let to = crate::config::netbios_name("target", target)
        .map_err(|e| SendError::BadName(e.to_string()))?;
    let here = address.is_none_or(|a| a == ctx.settings.iface.address);
    // A name this host answers for only as the gateway of its holder on
    // another site: hers, through the relay.
    if here && ctx.relay.is_some() && relay::is_gateway_name(&ctx.settings, target) {
        return relay::past_the_gateway(ctx, target, text.utf8, opts).await;
    }
    if here && ctx.registry.accepts_messages_for(&to) {
        if opts.untracked {
            return local::send(ctx, target, text.utf8, opts, None).await;
        }
        let uuid = messngr_store::new_uuid();
        let login = local::sender_name(opts.uid);
        let sent = record::Sent {
            uuid: uuid.clone(),
            uid: opts.uid,
            login: &login,
            target,
            text: text.utf8,
            recipients: vec![record::recipient(target, &ctx.settings.netbios_name)],
            signed: None,
            alert: opts.alert,
        };
        // The message and the sender's copy are queued as one job, so that
        // they share one COMMIT; the sender's copy of a message that was
        // not stored goes again.
        let (r, id) = local::send_with_copy(ctx, target, text.utf8, opts, sent).await;
        let mut r = match r {
            Ok(r) => r,
            Err(e) => {
                if let Some(id) = id
                    && let Err(gone) = ctx.inbox.handle().delete(id).await
                {
                    tracing::warn!("sent message {id} not stored, its copy kept: {gone}");
                }
                return Err(e);
            }
        };
        r.id = id;
        r.uuid = Some(uuid);
        return Ok(r);
    }
    let ip = match address {
        Some(ip) => ip,
        None => match resolve_anywhere(ctx, target).await? {
            Resolved::Lan(ip) => ip,
            Resolved::Relay(found) => {
                return relay::send(ctx, target, &found, text.utf8, opts).await;
            }
            Resolved::Later(why) => {
                return relay::keep(ctx, target, text.utf8, opts, &why).await;
            }
        },
    };
    // Its address may name another code page than its name did.
    let recoded;
    let text = match ctx
        .settings
        .code_pages
        .for_peer(target.as_bytes(), Some(ip.into()))
    {
        page if page == text.codepage => text,
        page => {
            recoded = encode(text.utf8, page)?;
            Text {
                utf8: text.utf8,
                oem: &recoded.bytes,
                replaced: recoded.replaced,
                codepage: page,
            }
        }
    };
    let report = |transport, blocks, native, warning| SendReport {
        target: target.to_owned(),
        transport,
        address: ip,
        outcome: Outcome::Delivered,
        replaced: if native { 0 } else { text.replaced },
        blocks,
        native,
        secure: false,
        id: None,
        uuid: None,
        warning,
    };
    let calling = NetbiosName::truncated(ctx.settings.netbios_name.as_bytes(), suffix::WORKSTATION);
    let mut warning = None;
    // A name whose key is pinned is a messngr host: never downgraded to
    // plain text (whoever answered its name and closed at the handshake
    // could otherwise read the message).
    let pinned = ctx.secure.trust().pinned(target).is_some();
    let must_be_secure = opts.secure || ctx.secure.require_secure() || pinned;
    if let Some(forced) = via::Forced::of(opts.via) {
        if must_be_secure {
            return Err(via::plain_text_forbidden(
                forced,
                target,
                opts.secure,
                pinned,
            ));
        }
        let legacy = opts.legacy_text(text)?;
        let (transport, outcome, blocks) =
            via::send(ctx, forced, calling, to, ip, legacy.oem()).await?;
        let dropped = opts
            .wants_native()
            .then(|| format!("--transport {}: {}", opts.via.as_str(), opts.dropped()));
        let mut r = report(transport, blocks, false, dropped);
        r.outcome = outcome;
        return Ok(r);
    }
    if must_be_secure || !ctx.peers.known_legacy(ip, to) {
        let link = secure::Link::default();
        match secure::attempt(ctx, to, ip, target, text.utf8, opts, link).await {
            Ok(sent) => {
                tracing::info!(
                    "secure message {} to {to} ({}) at {ip} accepted",
                    hex::encode(sent.uuid),
                    sent.host
                );
                let mut r = report(Transport::Messngr, 0, true, None);
                r.secure = true;
                let login = local::sender_name(opts.uid);
                let uuid = hex::encode(sent.uuid);
                let kept = record::Sent {
                    uuid: uuid.clone(),
                    uid: opts.uid,
                    login: &login,
                    target,
                    text: text.utf8,
                    recipients: vec![record::recipient(target, &sent.host)],
                    signed: Some(sent.frame),
                    alert: opts.alert,
                };
                r.id = record::keep(ctx, kept).await;
                r.uuid = Some(uuid);
                return Ok(r);
            }
            Err(secure::Failure::Final(e)) => return Err(e),
            Err(secure::Failure::NotMessngr(why)) if must_be_secure => {
                return Err(SendError::Untrusted(format!(
                    "{} does not speak messngr ({}): {} forbids a plain-text message",
                    target.to_ascii_uppercase(),
                    messngr_proto::text::sanitize_line(&why),
                    if opts.secure {
                        "--secure"
                    } else if pinned {
                        "its pinned key (a messngr host)"
                    } else {
                        "require_secure"
                    }
                )));
            }
            Err(secure::Failure::NotMessngr(why)) => {
                tracing::info!(
                    "{to} at {ip} does not speak messngr ({}): sending SMB",
                    messngr_proto::text::sanitize_line(&why)
                );
            }
        }
    }
    if opts.wants_native() {
        warning = Some(format!(
            "{} does not speak messngr: sent as a plain message; {}",
            target.to_ascii_uppercase(),
            opts.dropped()
        ));
    }
    let legacy = opts.legacy_text(text)?;
    let blocks = session(ctx, calling, to, ip, legacy.oem()).await?;
    tracing::info!("message to {to} at {ip} delivered ({blocks} blocks)");
    Ok(report(Transport::Smb, blocks, false, warning))
}
