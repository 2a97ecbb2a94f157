//! The local API: how the `messngr` CLI talks to a running daemon.
//!
//! Why a socket and not signals or files: commands such as `messngr name add`
//! need an answer ("registered", or "conflict: 10.0.0.7 owns it"), and every
//! later feature (inbox, receipts, the web UI) needs the same request/answer
//! path. The protocol is one JSON object per line over a Unix stream socket,
//! so it can be poked with `socat` and read in logs. The caller's uid comes
//! from `SO_PEERCRED`, never from the request.

use std::net::Ipv4Addr;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Longest request line accepted (a request is a few hundred bytes).
pub const MAX_REQUEST_LINE: usize = 64 * 1024;

/// A request from the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// The daemon's names, counters and interface.
    Status,
    /// Our names and their states.
    NameList,
    /// Register `NAME<03>` as a messenger alias.
    NameAdd {
        /// The name (1–15 characters).
        name: String,
    },
    /// Release an alias.
    NameDel {
        /// The name.
        name: String,
    },
    /// Resolve a name (broadcast, or WINS when configured).
    Lookup {
        /// The name.
        name: String,
        /// Its 16th byte.
        suffix: u8,
    },
    /// Ask a host for its names (node status, like `nmblookup -A`).
    NodeStatus {
        /// The host.
        address: Ipv4Addr,
    },
    /// Send a message (`net send` semantics: NAME, `*`, `/domain[:NAME]`).
    Send {
        /// The target as the user wrote it.
        target: String,
        /// The text (UTF-8; encoded to the OEM code page for the wire).
        text: String,
        /// The receiver's address, skipping name resolution (`-I`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<Ipv4Addr>,
        /// `--priority`: carried only by messngr receivers (and to names
        /// held here); a legacy receiver gets a plain message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        priority: Option<messngr_store::Priority>,
        /// `--time SECS`: the receiver's pop-up closes itself after this
        /// long (1–86400); messngr receivers only, like `priority`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        popup_secs: Option<u32>,
    },
    /// List the inbox, newest last.
    Inbox {
        /// Only messages not read yet.
        #[serde(default)]
        unread: bool,
        /// Only messages from this sender (case-insensitive).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// Only messages received at or after this time (Unix ms).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<i64>,
    },
    /// One message, marked read.
    Read {
        /// Its inbox id.
        id: i64,
    },
    /// Answer a message, to its sender, by the way it came.
    Reply {
        /// The message answered.
        id: i64,
        /// The answer.
        text: String,
    },
    /// Delete a message.
    Rm {
        /// Its inbox id.
        id: i64,
    },
    /// Keep the connection open and stream each newly stored message as one
    /// line (see [`crate::follow`]); used by `messngr agent`.
    Follow,
    /// How many received messages the caller may see are unread, and how
    /// many of those are urgent (the agent's tray icon); cheap whatever the
    /// inbox holds.
    Unread,
    /// Ask (`on: None`) or set the caller's do-not-disturb (`messngr
    /// quiet`); see [`crate::quiet`].
    Quiet {
        /// `Some(true)`: quiet on; `Some(false)`: off.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on: Option<bool>,
    },
    /// Store a message another program received (`messngr deliver`, run by
    /// smbd as its `message command`). Any local user may deliver; what is
    /// delivered is unverified, and delivering gives no right to read.
    Deliver {
        /// Who received it: `samba`, the stored transport name.
        transport: String,
        /// The sender's name, as the receiver gave it.
        from: String,
        /// The recipient's name, as the receiver gave it.
        to: String,
        /// The text bytes as the receiver wrote them, in lowercase hex.
        text_hex: String,
    },
}

/// Lowercase hex of `bytes` (the `text_hex` of [`Request::Deliver`]).
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a hex string; `None` if it is not one.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok()))
        .collect()
}

impl Request {
    /// Whether the inbox answers this request.
    pub fn is_inbox(&self) -> bool {
        matches!(
            self,
            Self::Inbox { .. }
                | Self::Read { .. }
                | Self::Rm { .. }
                | Self::Quiet { .. }
                | Self::Unread
        )
    }

    /// Whether only root (or the daemon's own user) may make this request.
    pub fn is_privileged(&self) -> bool {
        matches!(self, Self::NameAdd { .. } | Self::NameDel { .. })
    }
}

/// The answer to a request: `{"ok":true,"data":…}` or `{"ok":false,"error":"…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Whether the request succeeded.
    pub ok: bool,
    /// The result, shaped by the request.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
    /// What went wrong, as one line that says what to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A machine-readable failure kind (`not_found`, `conflict`, `denied`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl Response {
    /// Success carrying `data`.
    pub fn ok(data: impl Serialize) -> Self {
        Self {
            ok: true,
            data: serde_json::to_value(data).unwrap_or(serde_json::Value::Null),
            error: None,
            kind: None,
        }
    }

    /// Something that happened (`kind`), streamed to a follower.
    pub fn event(kind: &str, data: impl Serialize) -> Self {
        Self {
            kind: Some(kind.to_owned()),
            ..Self::ok(data)
        }
    }

    /// Failure of `kind` with a message.
    pub fn err(kind: &str, message: impl Into<String>) -> Self {
        Self {
            ok: false,
            data: serde_json::Value::Null,
            error: Some(message.into()),
            kind: Some(kind.to_owned()),
        }
    }
}

/// One request handed to the daemon core, with where to send the answer.
#[derive(Debug)]
pub struct Call {
    /// The request.
    pub request: Request,
    /// The caller's uid (from `SO_PEERCRED`).
    pub uid: u32,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Response>,
}

/// Why the API socket could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
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
pub fn bind(path: &Path) -> Result<UnixListener, ApiError> {
    use std::os::unix::fs::PermissionsExt;
    let err = |source| ApiError::Bind {
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
    let listener = UnixListener::bind(path).map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666)).map_err(err)?;
    Ok(listener)
}

/// Serves API connections until `stop` is cancelled, handing each request to
/// the daemon core through `core`.
/// `feed` serves `Request::Follow`; without one, following is refused.
pub async fn serve(
    listener: UnixListener,
    core: mpsc::Sender<Call>,
    feed: Option<crate::follow::Feed>,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(connection(stream, core.clone(), feed.clone(), stop.clone()));
                }
                Err(e) => {
                    tracing::warn!("api: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }
}

async fn connection(
    stream: UnixStream,
    core: mpsc::Sender<Call>,
    feed: Option<crate::follow::Feed>,
    stop: CancellationToken,
) {
    let uid = match stream.peer_cred() {
        Ok(c) => c.uid(),
        Err(e) => {
            tracing::warn!("api: no peer credentials, closing: {e}");
            return;
        }
    };
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let mut limited = (&mut reader).take(MAX_REQUEST_LINE as u64);
        let read = tokio::select! {
            () = stop.cancelled() => return,
            n = limited.read_until(b'\n', &mut buf) => n,
        };
        match read {
            Ok(0) => return,
            Ok(_) if buf.last() != Some(&b'\n') && buf.len() >= MAX_REQUEST_LINE => {
                tracing::warn!(
                    "api: request line over {MAX_REQUEST_LINE} bytes from uid {uid}, closing"
                );
                return;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!("api: read failed: {e}");
                return;
            }
        }
        let line = String::from_utf8_lossy(&buf);
        let response = match serde_json::from_str::<Request>(&line) {
            Ok(Request::Follow) => match &feed {
                Some(feed) => {
                    crate::follow::stream(
                        reader,
                        write,
                        feed.subscribe(uid),
                        crate::follow::WRITE_TIMEOUT,
                        stop,
                    )
                    .await;
                    return;
                }
                None => Response::err("bad_request", "this daemon cannot stream messages"),
            },
            Err(e) => Response::err("bad_request", format!("cannot parse request: {e}")),
            Ok(request)
                if request.is_privileged() && uid != 0 && uid != nix::unistd::getuid().as_raw() =>
            {
                Response::err(
                    "denied",
                    "only root can change the daemon's names (try sudo)",
                )
            }
            Ok(request) => {
                let (tx, rx) = oneshot::channel();
                let call = Call {
                    request,
                    uid,
                    reply: tx,
                };
                if core.send(call).await.is_err() {
                    return;
                }
                rx.await
                    .unwrap_or_else(|_| Response::err("shutting_down", "the daemon is stopping"))
            }
        };
        let mut out = serde_json::to_vec(&response).unwrap_or_default();
        out.push(b'\n');
        if write.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// Why a request to the daemon failed before it could answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No daemon listens on the socket.
    #[error(
        "cannot reach the messngr daemon at {path}: {source} (is `messngr daemon` running? use --socket or $MESSNGR_SOCKET for another path)"
    )]
    Connect {
        /// The socket path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The connection broke or the answer was not understood.
    #[error("the daemon's answer was cut or garbled: {0}")]
    Protocol(String),
}

/// Sends one request and waits for its answer (blocking; the CLI has no runtime).
pub fn call(path: &Path, request: &Request) -> Result<Response, ClientError> {
    use std::io::{BufRead, Write};
    let mut stream =
        std::os::unix::net::UnixStream::connect(path).map_err(|source| ClientError::Connect {
            path: path.display().to_string(),
            source,
        })?;
    let mut line = serde_json::to_vec(request).map_err(|e| ClientError::Protocol(e.to_string()))?;
    line.push(b'\n');
    stream
        .write_all(&line)
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
    let mut answer = String::new();
    std::io::BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
    serde_json::from_str(&answer).map_err(|e| ClientError::Protocol(format!("{e}: {answer:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_a_stable_json_form() {
        let r = Request::NameAdd {
            name: "HELPDESK".into(),
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"request":"name_add","name":"HELPDESK"}"#
        );
        let back: Request =
            serde_json::from_str(r#"{"request":"lookup","name":"H1","suffix":3}"#).unwrap();
        assert_eq!(
            back,
            Request::Lookup {
                name: "H1".into(),
                suffix: 3
            }
        );
        assert!(serde_json::from_str::<Request>(r#"{"request":"format_disk"}"#).is_err());
    }

    #[test]
    fn deliver_carries_bytes_as_hex() {
        let bytes = b"caf\xe9\r\n\x00\xff";
        assert_eq!(to_hex(bytes), "636166e90d0a00ff");
        assert_eq!(from_hex(&to_hex(bytes)).unwrap(), bytes);
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex("+1"), None);
        assert_eq!(from_hex("").unwrap(), b"");
    }

    #[tokio::test]
    async fn a_request_travels_to_the_core_and_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.sock");
        let listener = bind(&path).unwrap();
        assert!(
            bind(&path).is_err(),
            "a second daemon must not steal the socket"
        );
        let (tx, mut rx) = mpsc::channel(4);
        let stop = CancellationToken::new();
        tokio::spawn(serve(listener, tx, None, stop.clone()));
        tokio::spawn(async move {
            while let Some(call) = rx.recv().await {
                let _ = call.reply.send(Response::ok(format!(
                    "{:?} from {}",
                    call.request, call.uid
                )));
            }
        });
        let p = path.clone();
        let answer = tokio::task::spawn_blocking(move || call(&p, &Request::Status))
            .await
            .unwrap()
            .unwrap();
        assert!(answer.ok);
        assert!(answer.data.as_str().unwrap().starts_with("Status from"));
        let p = path.clone();
        let garbled = tokio::task::spawn_blocking(move || {
            use std::io::{BufRead, Write};
            let mut s = std::os::unix::net::UnixStream::connect(&p).unwrap();
            s.write_all(b"{not json\n").unwrap();
            let mut l = String::new();
            std::io::BufReader::new(&s).read_line(&mut l).unwrap();
            l
        })
        .await
        .unwrap();
        assert!(garbled.contains("bad_request"), "{garbled}");
        stop.cancel();
    }
}
