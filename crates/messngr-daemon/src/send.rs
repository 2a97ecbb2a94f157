//! Sending: what `messngr send` asks the daemon to do, with `net send`
//! semantics.
//!
//! * `NAME` — resolve `NAME<03>` (broadcast, or WINS first when configured;
//!   skipped with an explicit address), open an NBT session to TCP 139,
//!   send START/TEXT…/END (the `assembly::Sender` machine: ≤ 128-byte
//!   blocks after OEM encoding, group id from the START reply), and report
//!   success only when the receiver acknowledged the END.
//!   With `--priority` or `--time` the message first goes as a native
//!   messngr frame (crate::native) on that session; a peer that is not
//!   messngr gets the SMB message on a new session, and the caller is told
//!   what was dropped. A name this host holds is not sent at all: it is
//!   stored here, with the local sender's uid (crate::local).
//! * `*` — a `\MAILSLOT\MESSNGR` datagram to our workgroup, broadcast;
//!   `/domain[:NAME]` — the same to that workgroup or domain. Datagrams are
//!   not acknowledged: "sent" is all that can be said.
//!
//! The daemon sends, not the CLI, because it owns the NetBIOS name, the
//! datagram socket (source port 138) and the WINS setting.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use messngr_proto::assembly::{Progress, SendError, Sender, SenderConfig};
use messngr_proto::text::{CodePage, LineBreak, encode_message_lossy};
use messngr_proto::wire::Emit;
use messngr_proto::wire::name::{EncodedName, NetbiosName, suffix};
use messngr_proto::wire::nbdgm::{DatagramKind, Header as DgmHeader, NodeType};
use messngr_proto::wire::nbss::{self, Repr as Nbss};
use messngr_proto::wire::smb::mailslot::{MessngrPayload, SizeLimit, messngr_datagram};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};

use crate::api::{Call, Request, Response};
use crate::names::LookupView;
pub use crate::native::Options;
use crate::registry::Registry;
use crate::settings::Settings;

/// TCP port of the session service.
pub const NBSS_PORT: u16 = 139;
/// Time allowed to connect to a receiver.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for each session-service answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// The result of a send, as `messngr send --json` prints it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendView {
    /// The target as given.
    pub target: String,
    /// `smb` or `mailslot`.
    pub transport: String,
    /// Where it went (the receiver, or the broadcast address).
    pub address: Ipv4Addr,
    /// `delivered` (acknowledged by the receiver) or `sent` (datagram).
    pub outcome: String,
    /// Characters the code page could not carry, sent as `?`.
    pub replaced: usize,
    /// SMB text blocks used (0 for a datagram or a native message).
    pub blocks: usize,
    /// Sent as a messngr-to-messngr message (priority and pop-up time
    /// carried), or stored here for a name this host holds.
    #[serde(default)]
    pub native: bool,
    /// What the sender should know, e.g. that priority and `--time` were
    /// dropped because the receiver does not speak messngr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// What the daemon needs to send.
#[derive(Clone)]
pub struct SendContext {
    /// Settings (our name, workgroup, interface).
    pub settings: Arc<Settings>,
    /// The UDP 138 socket (datagrams must come from port 138).
    pub dgm: Arc<UdpSocket>,
    /// The name service, for lookups.
    pub names: mpsc::Sender<Call>,
    /// The names this host holds (a message to one is stored here).
    pub registry: Registry,
    /// The inbox, for those messages.
    pub inbox: Arc<crate::inbox::Inbox>,
}

/// Carries out `Request::Send`.
pub async fn send(
    ctx: &SendContext,
    target: &str,
    text: &str,
    address: Option<Ipv4Addr>,
    opts: Options,
) -> Response {
    if opts
        .popup_secs
        .is_some_and(|s| !(1..=messngr_proto::wire::native::MAX_POPUP_SECS).contains(&s))
    {
        return Response::err("bad_request", "--time takes 1 to 86400 seconds");
    }
    let cp = CodePage::default();
    let encoded = encode_message_lossy(text, cp, LineBreak::CrLf);
    if encoded.bytes.is_empty() {
        return Response::err("bad_request", "the message is empty: give some text");
    }
    let group = if target == "*" {
        Some(ctx.settings.workgroup.clone())
    } else if let Some(rest) = target.strip_prefix("/domain") {
        match rest.strip_prefix(':') {
            Some(d) if !d.is_empty() => Some(d.to_ascii_uppercase()),
            None if rest.is_empty() => Some(ctx.settings.workgroup.clone()),
            _ => {
                return Response::err(
                    "bad_request",
                    format!("{target:?}: write /domain or /domain:NAME"),
                );
            }
        }
    } else {
        None
    };
    if target == "/users" {
        return send_users(ctx, text, &encoded.bytes, encoded.replaced, opts).await;
    }
    let message = Text {
        utf8: text,
        oem: &encoded.bytes,
        replaced: encoded.replaced,
    };
    match group {
        Some(g) => {
            let mut r = send_group(ctx, target, &g, &encoded.bytes, encoded.replaced).await;
            if r.ok && opts.wants_native() {
                r = with_warning(
                    r,
                    "a broadcast is a legacy datagram: priority and --time were dropped".into(),
                );
            }
            r
        }
        None => send_direct(ctx, target, address, message, opts).await,
    }
}

/// The text as typed, and as the legacy wire carries it.
#[derive(Debug, Clone, Copy)]
struct Text<'a> {
    utf8: &'a str,
    oem: &'a [u8],
    replaced: usize,
}

/// Adds `warning` to a successful send's view.
fn with_warning(r: Response, warning: String) -> Response {
    match serde_json::from_value::<SendView>(r.data.clone()) {
        Ok(v) => Response::ok(SendView {
            warning: Some(warning),
            ..v
        }),
        Err(_) => r,
    }
}

/// `/users`: every user with a session on this host, each through its own
/// `USER<03>` name here (so the message takes the same path, and lands in
/// the same inbox, as one from the network).
async fn send_users(
    ctx: &SendContext,
    utf8: &str,
    oem: &[u8],
    replaced: usize,
    opts: Options,
) -> Response {
    let users = match crate::users::logged_in(&ctx.settings.utmp) {
        Ok(u) => u,
        Err(e) => {
            return Response::err(
                "not_found",
                format!("cannot read {}: {e}", ctx.settings.utmp.display()),
            );
        }
    };
    if users.is_empty() {
        return Response::err("not_found", "no user has a session on this host");
    }
    let mut sent = Vec::new();
    for user in &users {
        let text = Text {
            utf8,
            oem,
            replaced,
        };
        let r = send_direct(ctx, user, Some(ctx.settings.iface.address), text, opts).await;
        if !r.ok {
            return r;
        }
        sent.push(r.data);
    }
    Response::ok(sent)
}

async fn send_group(
    ctx: &SendContext,
    target: &str,
    group: &str,
    text: &[u8],
    replaced: usize,
) -> Response {
    let s = &ctx.settings;
    let from = NetbiosName::truncated(s.netbios_name.as_bytes(), suffix::WORKSTATION);
    let to = match crate::config::netbios_name("domain", group) {
        Ok(n) => n,
        Err(e) => return Response::err("bad_name", e.to_string()),
    };
    let payload = MessngrPayload::new(s.netbios_name.as_bytes(), group.as_bytes(), text);
    let header = DgmHeader::new(NodeType::B, crate::names::random_u16(), s.iface.address);
    let bytes = match messngr_datagram(
        DatagramKind::DirectGroup,
        header,
        EncodedName::new(from),
        EncodedName::new(to),
        &payload,
        SizeLimit::Unfragmented,
    ) {
        Ok(b) => b,
        Err(e) => {
            return Response::err(
                "too_long",
                format!(
                    "a broadcast message must fit one datagram ({e}); shorten it or send to a name"
                ),
            );
        }
    };
    let dest = SocketAddrV4::new(s.iface.broadcast, crate::datagram::NBDGM_PORT);
    if let Err(e) = ctx.dgm.send_to(&bytes, dest).await {
        return Response::err("network", format!("cannot broadcast to {dest}: {e}"));
    }
    tracing::info!(
        "mailslot message broadcast to {group} ({} bytes of text)",
        text.len()
    );
    Response::ok(SendView {
        target: target.to_owned(),
        transport: "mailslot".into(),
        address: s.iface.broadcast,
        outcome: "sent".into(),
        replaced,
        blocks: 0,
        native: false,
        warning: None,
    })
}

async fn send_direct(
    ctx: &SendContext,
    target: &str,
    address: Option<Ipv4Addr>,
    text: Text<'_>,
    opts: Options,
) -> Response {
    let to = match crate::config::netbios_name("target", target) {
        Ok(n) => n,
        Err(e) => return Response::err("bad_name", e.to_string()),
    };
    let here = address.is_none_or(|a| a == ctx.settings.iface.address);
    if here && ctx.registry.accepts_messages_for(&to) {
        return crate::local::send(ctx, target, text.utf8, opts).await;
    }
    let ip = match address {
        Some(ip) => ip,
        None => match resolve(ctx, target).await {
            Ok(ip) => ip,
            Err(r) => return r,
        },
    };
    let view = |transport: &str, blocks, native, warning| SendView {
        target: target.to_owned(),
        transport: transport.into(),
        address: ip,
        outcome: "delivered".into(),
        replaced: if native { 0 } else { text.replaced },
        blocks,
        native,
        warning,
    };
    let mut warning = None;
    if opts.wants_native() {
        match crate::native::attempt(ctx, to, ip, target, text.utf8, opts).await {
            Ok(()) => return Response::ok(view("messngr", 0, true, None)),
            Err(crate::native::Failure::Final(r)) => return r,
            Err(crate::native::Failure::NotMessngr(_)) => {
                warning = Some(format!(
                    "{} does not speak messngr: sent as a plain message; priority and --time were dropped",
                    target.to_ascii_uppercase()
                ));
            }
        }
    }
    match session(ctx, to, ip, text.oem).await {
        Ok(blocks) => {
            tracing::info!("message to {to} at {ip} delivered ({blocks} blocks)");
            Response::ok(view("smb", blocks, false, warning))
        }
        Err(r) => r,
    }
}

/// Resolves `NAME<03>` through the name service (broadcast or WINS).
async fn resolve(ctx: &SendContext, name: &str) -> Result<Ipv4Addr, Response> {
    let (tx, rx) = oneshot::channel();
    let call = Call {
        request: Request::Lookup {
            name: name.to_owned(),
            suffix: suffix::MESSENGER,
        },
        uid: 0,
        reply: tx,
    };
    if ctx.names.send(call).await.is_err() {
        return Err(Response::err("shutting_down", "the daemon is stopping"));
    }
    let r = rx
        .await
        .unwrap_or_else(|_| Response::err("shutting_down", "the daemon is stopping"));
    if !r.ok {
        return Err(Response::err(
            "not_found",
            format!(
                "{}<03> not found: nobody answered for it (check the name, or give its address with -I)",
                name.to_ascii_uppercase()
            ),
        ));
    }
    serde_json::from_value::<LookupView>(r.data)
        .ok()
        .and_then(|v| v.addresses.first().copied())
        .ok_or_else(|| {
            Response::err(
                "not_found",
                format!("{name}<03>: the answer carried no address"),
            )
        })
}

/// Opens an NBT session to `to` at `ip`: connect, session request, and
/// the positive response; returns the stream and what was read past it.
pub(crate) async fn open(
    ctx: &SendContext,
    to: NetbiosName,
    ip: Ipv4Addr,
) -> Result<(TcpStream, Vec<u8>), Response> {
    let net = |what: String| Response::err("network", what);
    let addr = SocketAddrV4::new(ip, NBSS_PORT);
    let mut stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(net(format!("cannot connect to {addr}: {e}"))),
        Err(_) => {
            return Err(net(format!(
                "no answer from {addr} within {CONNECT_TIMEOUT:?}"
            )));
        }
    };
    let _ = stream.set_nodelay(true);
    let calling = NetbiosName::truncated(ctx.settings.netbios_name.as_bytes(), suffix::WORKSTATION);
    let request = Nbss::SessionRequest {
        called: EncodedName::new(to),
        calling: EncodedName::new(calling),
    };
    let mut buf = Vec::new();
    write(&mut stream, &request).await.map_err(net)?;
    let answer = read_frame(&mut stream, &mut buf).await.map_err(net)?;
    match Nbss::parse(&answer) {
        Ok(Nbss::PositiveSessionResponse) => {}
        Ok(Nbss::NegativeSessionResponse { error_code }) => {
            return Err(Response::err(
                "refused",
                format!("{ip} refused a session for {to}: {error_code:?}"),
            ));
        }
        Ok(other) => {
            return Err(net(format!(
                "{ip} answered the session request with {other:?}"
            )));
        }
        Err(e) => return Err(net(format!("{ip} sent a malformed session answer: {e}"))),
    }
    Ok((stream, buf))
}

/// One NBT session: session request, then the sender machine to the end.
async fn session(
    ctx: &SendContext,
    to: NetbiosName,
    ip: Ipv4Addr,
    text: &[u8],
) -> Result<usize, Response> {
    let net = |what: String| Response::err("network", what);
    let (mut stream, mut buf) = open(ctx, to, ip).await?;
    let from = ctx.settings.netbios_name.as_bytes();
    let mut sender = Sender::new(from, to.name(), text, SenderConfig::default());
    let blocks = sender.block_count();
    loop {
        while let Some(smb) = sender.poll_request(Instant::now()) {
            write(&mut stream, &Nbss::SessionMessage { payload: &smb })
                .await
                .map_err(net)?;
        }
        let frame = read_frame(&mut stream, &mut buf).await.map_err(net)?;
        let payload = match Nbss::parse(&frame) {
            Ok(Nbss::SessionMessage { payload }) => payload.to_vec(),
            Ok(Nbss::SessionKeepAlive) => continue,
            Ok(other) => return Err(net(format!("{ip} sent {other:?} inside the session"))),
            Err(e) => return Err(net(format!("{ip} sent a malformed frame: {e}"))),
        };
        match sender.handle_reply(&payload) {
            Progress::Pending => {}
            Progress::Done => return Ok(blocks),
            Progress::Failed(SendError::Refused { command, status }) => {
                return Err(Response::err(
                    "refused",
                    format!(
                        "{to} at {ip} refused the message ({}, at {command:?})",
                        messngr_proto::assembly::status_text(status)
                    ),
                ));
            }
            Progress::Failed(e) => return Err(net(format!("{ip}: {e}"))),
        }
    }
}

/// Writes one NBSS packet.
pub(crate) async fn write(stream: &mut TcpStream, packet: &Nbss<'_>) -> Result<(), String> {
    let bytes = packet
        .to_vec()
        .map_err(|e| format!("cannot encode {packet:?}: {e}"))?;
    stream
        .write_all(&bytes)
        .await
        .map_err(|e| format!("write failed: {e}"))
}

/// Reads one whole NBSS frame (with [`ANSWER_TIMEOUT`]).
async fn read_frame(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Vec<u8>, String> {
    read_frame_within(stream, buf, ANSWER_TIMEOUT).await
}

/// Reads one whole NBSS frame, waiting at most `limit`.
pub(crate) async fn read_frame_within(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    limit: Duration,
) -> Result<Vec<u8>, String> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(n) = nbss::frame_len(buf, nbss::DEFAULT_MAX_FRAME_LEN)
            .map_err(|e| format!("bad frame: {e}"))?
        {
            return Ok(buf.drain(..n).collect());
        }
        let mut chunk = [0u8; 2048];
        let n = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
            .await
            .map_err(|_| format!("no answer within {limit:?}"))?
            .map_err(|e| format!("read failed: {e}"))?;
        if n == 0 {
            return Err("the receiver closed the connection".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
