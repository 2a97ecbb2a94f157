//! `*` and `/domain[:NAME]`: the legacy mailslot datagram every Windows,
//! Samba and LinPopUp host reads, and a signed, encrypted copy for each
//! messngr host this one knows.
//!
//! Why both: a datagram is broadcast plain text, unacknowledged and
//! unsigned — nobody can say who read it, correct it or trust its sender.
//! The messngr hosts this one has met (its pins: each one it sent to or
//! heard from, or the admin's trust file) get the same message first over
//! their secure session, under one uuid, so that `messngr track` counts
//! them, `update`/`retract` reach them and they show it verified. Each
//! such host then drops the datagram that follows as a copy of what it
//! stored (`inbox::copies`). A host that is not in the group refuses its
//! copy (`NotHere`), and is not counted. With `--secure` or
//! `require_secure` only the copies go: no plain text at all.

use std::net::{Ipv4Addr, SocketAddrV4};

use messngr_proto::Transport;
use messngr_proto::wire::name::{EncodedName, NetbiosName, suffix};
use messngr_proto::wire::nbdgm::{DatagramKind, Header as DgmHeader, NodeType};
use messngr_proto::wire::smb::mailslot::{MessngrPayload, SizeLimit, messngr_datagram};
use tokio::task::JoinSet;

use super::secure::{self, Failure, Link};
use super::{Options, Outcome, SendContext, SendError, SendReport, Text, local, record, resolve};

/// How many hosts get their copy at once.
const AT_ONCE: usize = 16;
/// How long the copies may take in all: a host not reached by then gets
/// only the datagram (pins are cheap to make under trust on first use, and
/// a name nobody answers costs a lookup's timeout; the sender should not
/// wait minutes for them).
const COPIES_DEADLINE: std::time::Duration = std::time::Duration::from_secs(8);
/// How long one host's copy may take (lookup, handshake, answer): a host
/// that stalls holds one of the AT_ONCE places no longer.
const PER_HOST: std::time::Duration = std::time::Duration::from_secs(3);

/// Sends `text` to `group` (the workgroup or domain `target` names): the
/// copies first, then the datagram; one report for the broadcast and one
/// per host that stored its copy.
pub(super) async fn send(
    ctx: &SendContext,
    target: &str,
    group: &str,
    text: Text<'_>,
    opts: Options<'_>,
) -> Result<Vec<SendReport>, SendError> {
    let secure_only = opts.secure || ctx.secure.require_secure();
    crate::config::netbios_name("domain", group).map_err(|e| SendError::BadName(e.to_string()))?;
    // Built first: a message too long for a datagram goes nowhere.
    let bytes = if secure_only {
        None
    } else {
        Some(group_datagram(ctx, group, opts.legacy_text(text)?.oem())?)
    };
    let copies = match copies(ctx, group, text.utf8, opts).await {
        Ok(c) => c,
        // Without a key of the sender's, the legacy broadcast still goes.
        Err(e) if !secure_only => {
            tracing::warn!("broadcast to {group}: no signed copies ({e}): the datagram only");
            Copies::none()
        }
        Err(e) => return Err(e),
    };
    let mut reports = Vec::new();
    if let Some(bytes) = bytes {
        match broadcast(ctx, target, group, &bytes, text).await {
            Ok(mut r) => {
                if opts.wants_native() {
                    r.warning = Some(
                        "the broadcast datagram carries neither priority nor --time: only messngr hosts got them"
                            .into(),
                    );
                }
                reports.push(r);
            }
            // The copies are stored: keep the record, say what failed.
            Err(e) if !copies.hosts.is_empty() => {
                tracing::warn!("broadcast to {group}: {e}");
                reports.push(SendReport {
                    warning: Some(format!("the legacy datagram was not sent: {e}")),
                    ..no_datagram(target, ctx.settings.iface.broadcast)
                });
            }
            Err(e) => return Err(e),
        }
    } else if copies.hosts.is_empty() {
        return Err(SendError::Untrusted(format!(
            "no messngr host of {group} took a secure copy, and {} forbids the plain-text broadcast{}",
            if opts.secure {
                "--secure"
            } else {
                "require_secure"
            },
            copies.why_none()
        )));
    }
    if copies.hosts.is_empty() {
        return Ok(reports);
    }
    let uuid = hex::encode(copies.uuid);
    let login = local::sender_name(opts.uid);
    let kept = record::Sent {
        uuid: uuid.clone(),
        uid: opts.uid,
        login: &login,
        target,
        text: text.utf8,
        recipients: copies.hosts.iter().map(|(h, _)| h.clone()).collect(),
        signed: Some(copies.frame),
        alert: opts.alert,
    };
    let id = record::keep(ctx, kept).await;
    for r in &mut reports {
        r.id = id;
        r.uuid = Some(uuid.clone());
    }
    reports.extend(copies.hosts.into_iter().map(|(host, ip)| SendReport {
        target: host,
        transport: Transport::Messngr,
        address: ip,
        outcome: Outcome::Delivered,
        replaced: 0,
        blocks: 0,
        native: true,
        secure: true,
        id,
        uuid: Some(uuid.clone()),
        warning: None,
    }));
    Ok(reports)
}

/// `--transport mailslot` to `group`: the legacy datagram alone, as
/// WinPopup sends it (no signed copies, so nothing to track).
pub(super) async fn datagram_only(
    ctx: &SendContext,
    target: &str,
    group: &str,
    text: Text<'_>,
    opts: Options<'_>,
) -> Result<SendReport, SendError> {
    if opts.secure || ctx.secure.require_secure() {
        return Err(SendError::Untrusted(
            "--transport mailslot sends plain text, which require_secure forbids: use --transport auto"
                .into(),
        ));
    }
    crate::config::netbios_name("domain", group).map_err(|e| SendError::BadName(e.to_string()))?;
    let bytes = group_datagram(ctx, group, opts.legacy_text(text)?.oem())?;
    broadcast(ctx, target, group, &bytes, text).await
}

/// The signed copies as sent: their uuid and frame, and who stored one.
struct Copies {
    uuid: [u8; 16],
    frame: Vec<u8>,
    /// Each host that stored it, with its address.
    hosts: Vec<(String, Ipv4Addr)>,
    /// Why the others did not (for the error when none did).
    failed: Vec<(String, String)>,
}

impl Copies {
    fn none() -> Copies {
        Copies {
            uuid: [0; 16],
            frame: Vec::new(),
            hosts: Vec::new(),
            failed: Vec::new(),
        }
    }

    fn why_none(&self) -> String {
        match self.failed.first() {
            None => ": this host has met no messngr host yet (`messngr trust list`)".into(),
            Some((host, why)) => format!(" ({host}: {why})"),
        }
    }
}

/// Sends one signed message to `group` to every pinned host, AT_ONCE at a
/// time.
async fn copies(
    ctx: &SendContext,
    group: &str,
    text: &str,
    opts: Options<'_>,
) -> Result<Copies, SendError> {
    let (uuid, frame) = match secure::sign(ctx, group, text, opts, Link::default()) {
        Ok(signed) => signed,
        Err(Failure::Final(e)) => return Err(e),
        Err(Failure::NotMessngr(why)) => return Err(SendError::Network(why)),
    };
    let mut hosts: Vec<String> = ctx
        .secure
        .trust()
        .list()
        .into_iter()
        .map(|p| p.name)
        .filter(|h| !ctx.secure.trust().is_ours(h))
        .collect();
    // In no order a peer could choose: under trust on first use anyone
    // can add pins that stall, and the deadline is shared.
    shuffle(&mut hosts);
    let mut out = Copies {
        uuid,
        frame,
        hosts: Vec::new(),
        failed: Vec::new(),
    };
    let deadline = tokio::time::Instant::now() + COPIES_DEADLINE;
    let mut pending = hosts.into_iter();
    let mut running = JoinSet::new();
    loop {
        while running.len() < AT_ONCE
            && let Some(host) = pending.next()
        {
            let (ctx, frame) = (ctx.clone(), out.frame.clone());
            running.spawn(async move {
                let r = copy(&ctx, &host, &frame, uuid).await;
                (host, r)
            });
        }
        let done = match tokio::time::timeout_at(deadline, running.join_next()).await {
            Ok(Some(done)) => done,
            Ok(None) => break,
            Err(_) => {
                let late = running.len() + pending.len();
                out.failed
                    .push((format!("{late} hosts"), "not reached in time".to_owned()));
                tracing::warn!(
                    "broadcast to {group}: {late} messngr hosts not reached in {} s: only the datagram goes to them",
                    COPIES_DEADLINE.as_secs()
                );
                out.failed
                    .extend(pending.map(|h| (h, "not tried in time".to_owned())));
                running.abort_all();
                break;
            }
        };
        match done {
            Ok((host, Ok(ip))) => out.hosts.push((host, ip)),
            Ok((host, Err(why))) => {
                tracing::debug!("broadcast to {group}: no secure copy for {host}: {why}");
                out.failed.push((host, why));
            }
            Err(e) => tracing::warn!("broadcast to {group}: a copy's task failed: {e}"),
        }
    }
    out.hosts.sort();
    tracing::info!(
        "broadcast to {group}: signed copies stored by {} messngr hosts, not by {}",
        out.hosts.len(),
        out.failed.len()
    );
    Ok(out)
}

/// One copy to the pinned `host`: its address once it stored it. Only a
/// host on this host's subnet, where the datagram goes: a copy reaches no
/// one the broadcast would not.
async fn copy(
    ctx: &SendContext,
    host: &str,
    frame: &[u8],
    uuid: [u8; 16],
) -> Result<Ipv4Addr, String> {
    let to = NetbiosName::new(host.as_bytes(), suffix::MESSENGER).map_err(|e| e.to_string())?;
    let attempt = async {
        let ip = resolve(&ctx.names, host).await.map_err(|e| e.to_string())?;
        if !on_subnet(ctx, ip) {
            return Err(format!("{ip} is not on this subnet"));
        }
        if ctx.peers.known_legacy(ip, to) {
            return Err(format!("{ip} did not speak messngr lately"));
        }
        match secure::deliver(ctx, to, ip, frame, uuid, host).await {
            Ok(_) => Ok(ip),
            Err(Failure::Final(e)) => Err(e.to_string()),
            Err(Failure::NotMessngr(why)) => Err(format!("not messngr now ({why})")),
        }
    };
    tokio::time::timeout(PER_HOST, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("no answer in {} s", PER_HOST.as_secs())))
}

/// Whether `ip` is on the served interface's subnet.
fn on_subnet(ctx: &SendContext, ip: Ipv4Addr) -> bool {
    let iface = &ctx.settings.iface;
    let mask = u32::from(iface.netmask);
    u32::from(ip) & mask == u32::from(iface.address) & mask
}

/// Fisher-Yates with the system's random numbers (a failure leaves the
/// order as it is).
fn shuffle(v: &mut [String]) {
    for i in (1..v.len()).rev() {
        let mut b = [0u8; 4];
        if getrandom::fill(&mut b).is_err() {
            return;
        }
        let j = usize::try_from(u32::from_le_bytes(b)).unwrap_or(0) % (i + 1);
        v.swap(i, j);
    }
}

/// A broadcast report for a datagram that did not go.
fn no_datagram(target: &str, address: Ipv4Addr) -> SendReport {
    SendReport {
        target: target.to_owned(),
        transport: Transport::Mailslot,
        address,
        outcome: Outcome::Sent,
        replaced: 0,
        blocks: 0,
        native: false,
        secure: false,
        id: None,
        uuid: None,
        warning: None,
    }
}

/// The `\MAILSLOT\MESSNGR` datagram to `group`.
fn group_datagram(ctx: &SendContext, group: &str, oem: &[u8]) -> Result<Vec<u8>, SendError> {
    let to = crate::config::netbios_name("domain", group)
        .map_err(|e| SendError::BadName(e.to_string()))?;
    datagram(ctx, DatagramKind::DirectGroup, to, group.as_bytes(), oem)
}

/// A `\MAILSLOT\MESSNGR` datagram of `kind` to the name `to`, its
/// payload addressed to `label`.
pub(super) fn datagram(
    ctx: &SendContext,
    kind: DatagramKind,
    to: NetbiosName,
    label: &[u8],
    oem: &[u8],
) -> Result<Vec<u8>, SendError> {
    let s = &ctx.settings;
    let from = NetbiosName::truncated(s.netbios_name.as_bytes(), suffix::WORKSTATION);
    let payload = MessngrPayload::new(s.netbios_name.as_bytes(), label, oem);
    let header = DgmHeader::new(NodeType::B, crate::names::random_u16(), s.iface.address);
    messngr_datagram(
        kind,
        header,
        EncodedName {
            name: from,
            scope: s.scope(),
        },
        EncodedName {
            name: to,
            scope: s.scope(),
        },
        &payload,
        SizeLimit::Unfragmented,
    )
    .map_err(|e| {
        SendError::TooLong(format!(
            "a mailslot message must fit one datagram ({e}); shorten it, or send it by SMB"
        ))
    })
}

/// Broadcasts the datagram `bytes` on the interface.
async fn broadcast(
    ctx: &SendContext,
    target: &str,
    group: &str,
    bytes: &[u8],
    text: Text<'_>,
) -> Result<SendReport, SendError> {
    let s = &ctx.settings;
    let dest = SocketAddrV4::new(s.iface.broadcast, crate::datagram::NBDGM_PORT);
    ctx.dgm
        .send_to(bytes, dest)
        .await
        .map_err(|e| SendError::Network(format!("cannot broadcast to {dest}: {e}")))?;
    tracing::info!(
        "mailslot message broadcast to {group} ({} bytes of text)",
        text.oem.len()
    );
    Ok(SendReport {
        target: target.to_owned(),
        transport: Transport::Mailslot,
        address: s.iface.broadcast,
        outcome: Outcome::Sent,
        replaced: text.replaced,
        blocks: 0,
        native: false,
        secure: false,
        id: None,
        uuid: None,
        warning: None,
    })
}

/// The workgroup or domain a `*` or `/domain[:NAME]` target means.
pub(super) fn group_of(ctx: &SendContext, target: &str) -> Result<Option<String>, SendError> {
    if target == "*" {
        return Ok(Some(ctx.settings.workgroup.clone()));
    }
    let Some(rest) = target.strip_prefix("/domain") else {
        return Ok(None);
    };
    match rest.strip_prefix(':') {
        Some(d) if !d.is_empty() => Ok(Some(d.to_ascii_uppercase())),
        None if rest.is_empty() => Ok(Some(ctx.settings.workgroup.clone())),
        _ => Err(SendError::BadRequest(format!(
            "{target:?}: write /domain or /domain:NAME"
        ))),
    }
}
