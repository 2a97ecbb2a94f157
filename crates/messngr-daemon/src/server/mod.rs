//! The local API's server: the Unix socket the CLI and the agent talk to.
//!
//! Why a socket and not signals or files: commands need an answer
//! ("registered", or "conflict: 10.0.0.7 owns it"). The protocol is the
//! `messngr-api` crate's: a hello with the API version, then one JSON
//! request per line and one reply per line. The caller's uid comes from
//! `SO_PEERCRED`, never from the request. This module only moves lines:
//! [`dispatch`] answers requests, [`follow`] and [`export`] stream.
//!
//! Bad input ends that connection only: a line that is too long, not a
//! request, or from a client of another API version gets a typed error,
//! one log line, and a closed connection; other clients never notice.
//!
//! One local user cannot take the socket from the others: each uid holds
//! at most [`slots::PER_UID`] connections, its requests are answered at
//! most at `api_rate_limit` per second ([`rate`]: late, not refused), and
//! a connection that sends no request for `api_idle_secs` is closed
//! (`follow` streams excepted: they wait for the daemon, not the client).

mod dispatch;
mod export;
mod follow;
mod rate;
pub(crate) use rate::Rates;
mod slots;
mod token;
mod track;
mod trust;
mod views;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use messngr_api::frame::{self, ReadError, Reply};
use messngr_api::{API_VERSION, ApiError, ErrorKind, Hello, InboxRequest, Request, Welcome};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub(crate) use dispatch::Services;
pub(crate) use export::EXPORT_PAGE;
pub(crate) use follow::Feed;

/// Connections served at once; more wait in the listen queue. Per-user
/// limits are the policy layer's.
pub(crate) const MAX_CONNECTIONS: usize = 512;
/// How long a new connection may take to say hello.
pub(crate) const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one answer may take to reach a client before it is dropped (a
/// client that stops reading must not hold the daemon's memory).
pub(crate) const WRITE_TIMEOUT: Duration = follow::WRITE_TIMEOUT;

/// Writes `bytes` to the client within [`WRITE_TIMEOUT`]; `false` if that
/// failed and the connection is to be dropped.
pub(crate) async fn send(write: &mut OwnedWriteHalf, bytes: &[u8]) -> bool {
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, write.write_all(bytes)).await,
        Ok(Ok(()))
    )
}

/// Why the API socket could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Binding the socket failed.
    #[error(
        "cannot listen on {path}: {source} (is another daemon running? check the `socket` setting)"
    )]
    Bind {
        /// The socket path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Binds the API socket at `path` (creating its directory, replacing a stale
/// socket file) with mode 0666: every local user may ask; privileged requests
/// are checked per call by uid.
///
/// The mode is given by the umask at `bind`, never by a `chmod` of the path
/// afterwards: the daemon binds as root in a directory its dropped user
/// owns, and a chmod by path would follow a symlink that user swapped in
/// for the socket (making, say, /etc/shadow 0666).
pub(crate) fn bind(path: &Path) -> Result<UnixListener, ServeError> {
    use nix::sys::stat::{Mode, umask};
    let err = |source| ServeError::Bind {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "a daemon already answers there",
        )));
    }
    let _ = std::fs::remove_file(path);
    // A socket is made 0777 & !umask; the umask is the process's, so it is
    // set back at once (nothing else creates files while the daemon starts).
    let old = umask(Mode::from_bits_truncate(0o111));
    let listener = UnixListener::bind(path);
    umask(old);
    listener.map_err(err)
}

/// Serves API connections until `stop` is cancelled.
pub(crate) async fn serve(
    listener: UnixListener,
    services: Services,
    feed: Feed,
    rates: Rates,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let per_uid = slots::Slots::default();
    let limits = services.settings.api_limits;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let uid = match stream.peer_cred() {
                        Ok(c) => c.uid(),
                        Err(e) => {
                            tracing::warn!("api: no peer credentials, closing: {e}");
                            continue;
                        }
                    };
                    let Some(mine) = per_uid.take(uid) else {
                        tokio::spawn(refuse_busy(stream, uid));
                        continue;
                    };
                    let (services, feed, stop) = (services.clone(), feed.clone(), stop.clone());
                    let limits = Limits { rates: rates.clone(), idle: limits.idle };
                    tokio::spawn(async move {
                        connection(stream, uid, services, feed, limits, stop).await;
                        drop(mine);
                        drop(slot);
                    });
                }
                Err(e) => {
                    tracing::warn!("api: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// What the first line of a connection turned out to be.
enum Greeting {
    /// A hello of our version, from this client.
    Welcome(String),
    /// Anything else: the line to answer before closing, and why.
    Refuse(Vec<u8>, String),
}

/// Reads a client's first line (see the `messngr-api` crate's `hello`).
fn greet(line: &[u8]) -> Greeting {
    let version = |msg: String| encode_err(ErrorKind::Version, msg);
    match frame::decode::<Hello>(line) {
        Ok(Hello::Hello { api, client }) if api == API_VERSION => Greeting::Welcome(client),
        Ok(Hello::Hello { api, client }) => {
            let (older, newer) = if api < API_VERSION {
                ("the client", "the daemon")
            } else {
                ("the daemon", "the client")
            };
            let why = format!(
                "{client} speaks API version {api}, this daemon {API_VERSION}: {older} is older than {newer}; use the messngr command that came with the daemon, or restart the daemon after an upgrade"
            );
            Greeting::Refuse(version(why.clone()), why)
        }
        Err(_) if is_version_1(line) => {
            // messngr 0.1's client sent a request first and reads
            // {"ok":false,"error":…}: answer in its own form.
            let why = format!(
                "this messngr command is older than the daemon (API version 1; the daemon speaks {API_VERSION}): use the messngr command that came with the daemon"
            );
            let old = serde_json::json!({"ok": false, "error": why, "kind": "version"});
            Greeting::Refuse(frame::encode(&old), why)
        }
        Err(e) => {
            let why = format!("a connection must start with a hello ({e})");
            Greeting::Refuse(encode_err(ErrorKind::BadRequest, why.clone()), why)
        }
    }
}

/// Whether `line` is a request of API version 1 (`{"request":"…",…}`).
fn is_version_1(line: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(line)
        .ok()
        .is_some_and(|v| v.get("request").is_some_and(serde_json::Value::is_string))
}

fn encode_err(kind: ErrorKind, message: String) -> Vec<u8> {
    frame::encode(&Reply::<()>::Error(ApiError::new(kind, message)))
}

/// Answers a connection over its uid's bound and closes it.
async fn refuse_busy(stream: UnixStream, uid: u32) {
    let (_, mut write) = stream.into_split();
    let why = format!(
        "uid {uid} already holds {} connections to the daemon: close some and try again",
        slots::PER_UID
    );
    send(&mut write, &encode_err(ErrorKind::Denied, why)).await;
}

/// What one connection may take: its uid's request rate, and how long it
/// may stay silent.
struct Limits {
    rates: rate::Rates,
    idle: Duration,
}

async fn connection(
    stream: UnixStream,
    uid: u32,
    services: Services,
    feed: Feed,
    limits: Limits,
    stop: CancellationToken,
) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut buf = Vec::new();
    // The greeting, within HELLO_TIMEOUT.
    let hello = next_line(&mut reader, &mut buf, uid, &mut write, &stop);
    match tokio::time::timeout(HELLO_TIMEOUT, hello).await {
        Ok(Some(())) => {}
        Ok(None) => return,
        Err(_) => {
            tracing::debug!("api: uid {uid} said no hello within {HELLO_TIMEOUT:?}; closed");
            return;
        }
    }
    match greet(&buf) {
        Greeting::Welcome(client) => {
            tracing::debug!("api: uid {uid} connected ({})", loggable(&client));
            let welcome = Welcome {
                api: API_VERSION,
                daemon: concat!("messngr ", env!("CARGO_PKG_VERSION")).to_owned(),
            };
            if !send(&mut write, &frame::encode(&Reply::Ok(welcome))).await {
                return;
            }
        }
        Greeting::Refuse(answer, why) => {
            tracing::warn!("api: uid {uid} refused: {}", loggable(&why));
            send(&mut write, &answer).await;
            return;
        }
    }
    loop {
        let next = next_line(&mut reader, &mut buf, uid, &mut write, &stop);
        match tokio::time::timeout(limits.idle, next).await {
            Ok(Some(())) => {}
            Ok(None) => return,
            Err(_) => {
                tracing::debug!(
                    "api: uid {uid} sent no request for {:?}; closed",
                    limits.idle
                );
                return;
            }
        }
        let wait = limits.rates.delay(uid, std::time::Instant::now());
        if !wait.is_zero() {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
        let request = match frame::decode::<Request>(&buf) {
            Ok(r) => r,
            Err(e) => {
                let why = format!("not a request: {e}");
                tracing::warn!("api: uid {uid}: {why}; closing");
                send(&mut write, &encode_err(ErrorKind::BadRequest, why)).await;
                return;
            }
        };
        let answer = match request {
            Request::Follow(_) => {
                follow::stream(
                    reader,
                    write,
                    feed.subscribe(uid)
                        .counting(services.delivered.clone(), crate::people::Sink::Follow),
                    follow::WRITE_TIMEOUT,
                    stop,
                )
                .await;
                return;
            }
            Request::Inbox(InboxRequest::Export(_)) => {
                if !export::stream(&services.inbox, uid, &mut write).await {
                    return;
                }
                continue;
            }
            // A wait for receipts ends when the daemon stops.
            r @ Request::Track(_) => tokio::select! {
                () = stop.cancelled() => return,
                a = services.answer(uid, r) => a,
            },
            r => services.answer(uid, r).await,
        };
        if !send(&mut write, &answer).await {
            tracing::info!("api: uid {uid} stopped reading its answers; dropped");
            return;
        }
    }
}

/// A client-chosen string as a log may show it: one line, escaped, short.
fn loggable(s: &str) -> String {
    let mut shown: String = s.escape_debug().take(200).collect();
    if s.chars().count() > 200 {
        shown.push('…');
    }
    shown
}

/// Reads the next request line into `buf`; `None` when the connection is
/// over (closed, stopped, or a bad line, which is answered and logged).
async fn next_line(
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    buf: &mut Vec<u8>,
    uid: u32,
    write: &mut OwnedWriteHalf,
    stop: &CancellationToken,
) -> Option<()> {
    let read = tokio::select! {
        () = stop.cancelled() => return None,
        r = frame::read_line_async(reader, buf, frame::MAX_LINE) => r,
    };
    match read {
        Ok(true) => Some(()),
        Ok(false) => None,
        Err(e @ ReadError::TooLong) => {
            tracing::warn!("api: uid {uid}: {e}; closing");
            send(
                write,
                &encode_err(ErrorKind::BadRequest, format!("request: {e}")),
            )
            .await;
            None
        }
        Err(e) => {
            tracing::debug!("api: uid {uid}: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests;
