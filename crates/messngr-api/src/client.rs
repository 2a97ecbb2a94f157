//! The blocking client: what the `messngr` command uses (it has no async
//! runtime). One connection, a handshake, then calls.
//!
//! The pieces both clients share — the hello line, reading the welcome,
//! reading a reply — are the `pub(crate)` functions at the bottom, so the
//! async client ([`crate::AsyncClient`]) differs only in how it moves bytes.

use std::io::{BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::frame::{self, Reply};
use crate::hello::{API_VERSION, Hello, Welcome};
use crate::inbox::Export;
use crate::message::MessageView;
use crate::request::{Call, Request};
use crate::stream::ExportItem;

/// Why a call got no answer from the daemon, or a refusal.
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
    /// The daemon speaks another version of the API.
    #[error("{0}")]
    Version(String),
    /// The connection broke or the answer was not understood.
    #[error("the daemon's answer was cut or garbled: {0}")]
    Protocol(String),
    /// The daemon answered with a refusal.
    #[error(transparent)]
    Daemon(#[from] ApiError),
}

/// A connection to the daemon, past the handshake.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    welcome: Welcome,
    buf: Vec<u8>,
}

impl Client {
    /// Connects to the daemon at `path` and says hello.
    pub fn connect(path: &Path) -> Result<Client, ClientError> {
        let writer = UnixStream::connect(path).map_err(|source| connect_error(path, source))?;
        let reader = BufReader::new(writer.try_clone().map_err(protocol)?);
        let mut client = Client {
            reader,
            writer,
            welcome: Welcome {
                api: 0,
                daemon: String::new(),
            },
            buf: Vec::new(),
        };
        // A daemon that refuses the connection (too many of this uid's)
        // says why and closes, maybe before our hello is written: then
        // the write fails (EPIPE), and its answer is still there to read.
        let sent = client.send(&hello());
        if let Err(e) = client.read() {
            sent?;
            return Err(e);
        }
        client.welcome = welcome(&client.buf, path)?;
        Ok(client)
    }

    /// What the daemon said about itself.
    pub fn welcome(&self) -> &Welcome {
        &self.welcome
    }

    /// Makes one call and returns its answer (a refusal is
    /// [`ClientError::Daemon`]).
    pub fn call<C: Call>(&mut self, call: C) -> Result<C::Output, ClientError> {
        self.send(&Into::<Request>::into(call))?;
        self.read()?;
        reply(&self.buf)
    }

    /// Asks for every message the caller may see; the answer is read as it
    /// comes, one message at a time.
    pub fn export(mut self) -> Result<Exporter, ClientError> {
        self.send(&Request::from(Export {}))?;
        Ok(Exporter {
            client: self,
            count: 0,
            done: false,
        })
    }

    fn send(&mut self, value: &impl serde::Serialize) -> Result<(), ClientError> {
        self.writer
            .write_all(&frame::encode(value))
            .map_err(protocol)
    }

    fn read(&mut self) -> Result<(), ClientError> {
        match frame::read_line(&mut self.reader, &mut self.buf, frame::MAX_REPLY_LINE) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ClientError::Protocol(
                "the daemon closed the connection without an answer".into(),
            )),
            Err(e) => Err(protocol(e)),
        }
    }
}

/// Connects, makes one call, and hangs up.
pub fn call<C: Call>(path: &Path, c: C) -> Result<C::Output, ClientError> {
    Client::connect(path)?.call(c)
}

/// The messages of an export, oldest first, as the daemon sends them.
#[derive(Debug)]
pub struct Exporter {
    client: Client,
    count: u64,
    done: bool,
}

impl Iterator for Exporter {
    type Item = Result<MessageView, ClientError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self
            .client
            .read()
            .and_then(|()| frame::decode::<ExportItem>(&self.client.buf).map_err(protocol));
        match item {
            Ok(ExportItem::Message(m)) => {
                self.count += 1;
                Some(Ok(*m))
            }
            Ok(ExportItem::End { count }) => {
                self.done = true;
                (count != self.count).then(|| {
                    Err(ClientError::Protocol(format!(
                        "the export ended after {} of {count} messages",
                        self.count
                    )))
                })
            }
            Ok(ExportItem::Error(e)) => {
                self.done = true;
                Some(Err(e.into()))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// The first line a client sends.
pub(crate) fn hello() -> Hello {
    Hello::new(concat!("messngr ", env!("CARGO_PKG_VERSION")))
}

pub(crate) fn connect_error(path: &Path, source: std::io::Error) -> ClientError {
    ClientError::Connect {
        path: path.display().to_string(),
        source,
    }
}

pub(crate) fn protocol(e: impl std::fmt::Display) -> ClientError {
    ClientError::Protocol(e.to_string())
}

/// Reads the daemon's answer to the hello. A daemon of API version 1 (no
/// handshake) answers `{"ok":false,…}` to a line it cannot parse: that is
/// told apart from garbage, so the user learns which side to upgrade.
pub(crate) fn welcome(line: &[u8], path: &Path) -> Result<Welcome, ClientError> {
    match frame::decode::<Reply<Welcome>>(line) {
        Ok(Reply::Ok(w)) => Ok(w),
        Ok(Reply::Error(e)) => Err(e.into()),
        Err(e) => {
            let old = serde_json::from_slice::<serde_json::Value>(line)
                .ok()
                .is_some_and(|v| v.get("ok").is_some_and(serde_json::Value::is_boolean));
            Err(if old {
                ClientError::Version(format!(
                    "the daemon at {} is older than this messngr command (it does not speak API version {API_VERSION}): restart the daemon with the new messngr (systemctl restart messngr)",
                    path.display()
                ))
            } else {
                protocol(e)
            })
        }
    }
}

/// Reads one reply line as a `T` or the daemon's refusal.
pub(crate) fn reply<T: DeserializeOwned>(line: &[u8]) -> Result<T, ClientError> {
    let reply: Reply<T> = frame::decode(line)
        .map_err(|e| ClientError::Protocol(format!("{e}: {:?}", String::from_utf8_lossy(line))))?;
    Ok(Result::from(reply)?)
}
