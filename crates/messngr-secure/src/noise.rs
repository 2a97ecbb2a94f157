//! Noise XX sessions, sans-IO: handshake messages and SEALED bodies in, bytes out.
//!
//! The daemon owns sockets and frames; this module owns the cryptography: the pattern and
//! prologue (docs/native.md, "The handshake"), the host key as Noise static key, and the
//! SEALED body format (chunks of `u16 BE length, Noise transport message`). Any failure ends
//! the session: a `Transport` that failed once refuses all further use.

use snow::{Builder, HandshakeState, TransportState};

use crate::keys::Identity;

pub const PATTERN: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
pub const PROLOGUE: &[u8] = b"messngr native 1";
/// The largest inner frame a SEALED body carries; `seal` and `open` refuse more.
pub const MAX_PLAINTEXT: usize = 80 * 1024;
/// A Noise message is at most 65535 bytes, 16 of them the tag.
const MAX_MESSAGE: usize = 65535;
const TAG: usize = 16;
const MAX_CHUNK_PLAINTEXT: usize = MAX_MESSAGE - TAG;

/// A handshake or session failed; the connection must be closed.
#[derive(Debug, thiserror::Error)]
pub enum NoiseError {
    #[error("could not set up Noise ({0}); this is a bug in messngr, please report it")]
    Setup(String),
    #[error(
        "the secure handshake failed ({0}): the peer does not speak messngr's Noise handshake, or the connection was changed on the way; close it"
    )]
    Handshake(String),
    #[error("the handshake is not finished; exchange all three handshake messages first")]
    NotFinished,
    #[error(
        "a sealed frame was tampered with, replayed or reordered (chunk {chunk} failed to decrypt); end the session"
    )]
    Tampered { chunk: usize },
    #[error("a sealed frame is truncated or malformed ({0}); end the session")]
    Malformed(&'static str),
    #[error(
        "{len} bytes is more than a sealed frame carries ({MAX_PLAINTEXT}); split it or refuse it"
    )]
    TooLarge { len: usize },
    #[error("this session already failed and was ended; open a new one")]
    Ended,
}

fn setup(e: snow::Error) -> NoiseError {
    NoiseError::Setup(e.to_string())
}

/// One side of a Noise XX handshake with the host key as static key.
pub struct Handshake {
    state: HandshakeState,
    failed: bool,
}

impl Handshake {
    fn build(me: &Identity, initiator: bool) -> Result<Handshake, NoiseError> {
        let params = PATTERN.parse().map_err(setup)?;
        let private = me.x25519_private();
        let builder = Builder::new(params)
            .local_private_key(&private)
            .map_err(setup)?
            .prologue(PROLOGUE)
            .map_err(setup)?;
        let state = if initiator {
            builder.build_initiator()
        } else {
            builder.build_responder()
        }
        .map_err(setup)?;
        Ok(Handshake {
            state,
            failed: false,
        })
    }

    pub fn initiator(me: &Identity) -> Result<Handshake, NoiseError> {
        Handshake::build(me, true)
    }

    pub fn responder(me: &Identity) -> Result<Handshake, NoiseError> {
        Handshake::build(me, false)
    }

    /// The next handshake message, carrying `payload` (HELLO in messages 2 and 3; message 1
    /// carries it in clear, so send an empty payload there).
    pub fn write(&mut self, payload: &[u8]) -> Result<Vec<u8>, NoiseError> {
        if self.failed {
            return Err(NoiseError::Ended);
        }
        let mut out = vec![0u8; MAX_MESSAGE];
        match self.state.write_message(payload, &mut out) {
            Ok(n) => {
                out.truncate(n);
                Ok(out)
            }
            Err(e) => {
                self.failed = true;
                Err(NoiseError::Handshake(e.to_string()))
            }
        }
    }

    /// Reads the peer's handshake message and returns its payload.
    pub fn read(&mut self, message: &[u8]) -> Result<Vec<u8>, NoiseError> {
        if self.failed {
            return Err(NoiseError::Ended);
        }
        let mut out = vec![0u8; message.len()];
        match self.state.read_message(message, &mut out) {
            Ok(n) => {
                out.truncate(n);
                Ok(out)
            }
            Err(e) => {
                self.failed = true;
                Err(NoiseError::Handshake(e.to_string()))
            }
        }
    }

    /// The peer's X25519 static key, once its handshake message carrying it was read.
    pub fn remote_static(&self) -> Option<[u8; 32]> {
        self.state
            .get_remote_static()
            .and_then(|k| k.try_into().ok())
    }

    pub fn is_finished(&self) -> bool {
        !self.failed && self.state.is_handshake_finished()
    }

    pub fn into_transport(self) -> Result<Transport, NoiseError> {
        if self.failed {
            return Err(NoiseError::Ended);
        }
        if !self.state.is_handshake_finished() {
            return Err(NoiseError::NotFinished);
        }
        let state = self.state.into_transport_mode().map_err(setup)?;
        Ok(Transport {
            state,
            failed: false,
        })
    }
}

/// An established session: seals and opens SEALED bodies.
pub struct Transport {
    state: TransportState,
    failed: bool,
}

impl Transport {
    /// The body of a SEALED frame: chunks `u16 BE length, Noise transport message` (each
    /// message at most 65535 bytes, so plaintext pieces at most 65519). An empty plaintext
    /// is one chunk holding only a tag.
    pub fn seal(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, NoiseError> {
        if self.failed {
            return Err(NoiseError::Ended);
        }
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(NoiseError::TooLarge {
                len: plaintext.len(),
            });
        }
        let pieces = plaintext.len().div_ceil(MAX_CHUNK_PLAINTEXT).max(1);
        let mut body = Vec::with_capacity(plaintext.len() + pieces * (2 + TAG));
        let mut buf = vec![0u8; plaintext.len().min(MAX_CHUNK_PLAINTEXT) + TAG];
        let mut chunks = plaintext.chunks(MAX_CHUNK_PLAINTEXT);
        let first: &[u8] = chunks.next().unwrap_or(&[]);
        for piece in std::iter::once(first).chain(chunks) {
            let n = match self.state.write_message(piece, &mut buf) {
                Ok(n) => n,
                Err(e) => {
                    self.failed = true;
                    return Err(NoiseError::Setup(e.to_string()));
                }
            };
            let len = u16::try_from(n).map_err(|_| NoiseError::Setup("chunk over 65535".into()))?;
            body.extend_from_slice(&len.to_be_bytes());
            body.extend_from_slice(&buf[..n]);
        }
        Ok(body)
    }

    /// Opens such a body; any chunk that fails (tampered, replayed, reordered, truncated,
    /// trailing bytes) is an error, after which the session must end.
    pub fn open(&mut self, body: &[u8]) -> Result<Vec<u8>, NoiseError> {
        if self.failed {
            return Err(NoiseError::Ended);
        }
        let opened = self.open_chunks(body);
        if opened.is_err() {
            self.failed = true;
        }
        opened
    }

    fn open_chunks(&mut self, body: &[u8]) -> Result<Vec<u8>, NoiseError> {
        if body.is_empty() {
            return Err(NoiseError::Malformed("no chunk"));
        }
        let mut plaintext = Vec::new();
        let mut buf = Vec::new();
        let mut rest = body;
        let mut chunk = 0;
        while !rest.is_empty() {
            let (head, after) = rest
                .split_first_chunk::<2>()
                .ok_or(NoiseError::Malformed("a chunk length is cut off"))?;
            let len = usize::from(u16::from_be_bytes(*head));
            if len < TAG {
                return Err(NoiseError::Malformed("a chunk is shorter than its tag"));
            }
            if after.len() < len {
                return Err(NoiseError::Malformed("the last chunk is cut off"));
            }
            let (message, after) = after.split_at(len);
            if plaintext.len() + (len - TAG) > MAX_PLAINTEXT {
                return Err(NoiseError::TooLarge {
                    len: plaintext.len() + (len - TAG),
                });
            }
            buf.resize(len - TAG, 0);
            let n = self
                .state
                .read_message(message, &mut buf)
                .map_err(|_| NoiseError::Tampered { chunk })?;
            plaintext.extend_from_slice(&buf[..n]);
            rest = after;
            chunk += 1;
        }
        Ok(plaintext)
    }

    /// The peer's X25519 static key (as seen in the handshake).
    pub fn remote_static(&self) -> Option<[u8; 32]> {
        self.state
            .get_remote_static()
            .and_then(|k| k.try_into().ok())
    }
}

#[cfg(test)]
mod tests;
