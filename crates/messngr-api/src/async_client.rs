//! The async client (feature `tokio`): what the desktop agent uses, so that
//! a call never blocks its runtime, and the follow stream.
//!
//! It shares the handshake and reply parsing with the blocking client
//! (`client.rs`); only the byte moving is async here.

use std::path::Path;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

use crate::client::{ClientError, connect_error, hello, protocol, reply, welcome};
use crate::frame;
use crate::hello::Welcome;
use crate::request::Call;
use crate::stream::{Follow, FollowEvent, Following};

/// An async connection to the daemon, past the handshake.
#[derive(Debug)]
pub struct AsyncClient {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    welcome: Welcome,
    buf: Vec<u8>,
}

impl AsyncClient {
    /// Connects to the daemon at `path` and says hello.
    pub async fn connect(path: &Path) -> Result<AsyncClient, ClientError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|source| connect_error(path, source))?;
        let (read, writer) = stream.into_split();
        let mut client = AsyncClient {
            reader: BufReader::new(read),
            writer,
            welcome: Welcome {
                api: 0,
                daemon: String::new(),
            },
            buf: Vec::new(),
        };
        client.send(&hello()).await?;
        client.read().await?;
        client.welcome = welcome(&client.buf, path)?;
        Ok(client)
    }

    /// What the daemon said about itself.
    pub fn welcome(&self) -> &Welcome {
        &self.welcome
    }

    /// Makes one call and returns its answer.
    pub async fn call<C: Call>(&mut self, call: C) -> Result<C::Output, ClientError> {
        self.send(&Into::<crate::Request>::into(call)).await?;
        self.read().await?;
        reply(&self.buf)
    }

    /// Turns this connection into a follow stream: every message stored
    /// from now on that the caller may see, and its quiet changes.
    pub async fn follow(mut self) -> Result<Follower, ClientError> {
        self.send(&crate::Request::from(Follow {})).await?;
        self.read().await?;
        let Following {} = reply(&self.buf)?;
        Ok(Follower { client: self })
    }

    async fn send(&mut self, value: &impl serde::Serialize) -> Result<(), ClientError> {
        self.writer
            .write_all(&frame::encode(value))
            .await
            .map_err(protocol)
    }

    /// Reads a line; `Ok(false)` when the daemon hung up between lines.
    async fn read_or_end(&mut self) -> Result<bool, ClientError> {
        frame::read_line_async(&mut self.reader, &mut self.buf, frame::MAX_REPLY_LINE)
            .await
            .map_err(protocol)
    }

    async fn read(&mut self) -> Result<(), ClientError> {
        if self.read_or_end().await? {
            Ok(())
        } else {
            Err(ClientError::Protocol(
                "the daemon closed the connection without an answer".into(),
            ))
        }
    }
}

/// A follow stream ([`AsyncClient::follow`]).
#[derive(Debug)]
pub struct Follower {
    client: AsyncClient,
}

impl Follower {
    /// The next event; `Ok(None)` when the daemon closed the stream.
    pub async fn next(&mut self) -> Result<Option<FollowEvent>, ClientError> {
        if !self.client.read_or_end().await? {
            return Ok(None);
        }
        frame::decode(&self.client.buf).map(Some).map_err(protocol)
    }
}
