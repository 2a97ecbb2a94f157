//! One NBT session of `smb-load` to the receiver: the session request for
//! `NAME<03>`, then messages as `messngr send` sends them, each counted only
//! when its END is answered with success.
//!
//! Why apart from the load loop: this is the protocol, the rest is counting.
//! The opening and the stream cutting are messngr-proto's
//! `wire::nbss::calling`, shared with the daemon's senders; only the
//! blocking byte moving is here.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use messngr_proto::assembly::{Progress, SendError, Sender, SenderConfig};
use messngr_proto::wire::Emit;
use messngr_proto::wire::name::{NetbiosName, suffix};
use messngr_proto::wire::nbss::calling::{Framer, Opened, session_answer, session_request};
use messngr_proto::wire::nbss::{self, Repr as Nbss};

use super::{CALLING, Options};

/// Why a message was not acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// TCP connect failed or timed out.
    Connect,
    /// The session request was answered negatively (or not at all).
    Session,
    /// The receiver answered a message command with an error status.
    Refused,
    /// No answer within the timeout.
    Timeout,
    /// The connection broke or the peer closed it.
    Io,
    /// An answer that makes no sense (malformed, wrong command).
    Protocol,
}

/// One NBT session to the receiver.
pub(crate) struct Session {
    stream: TcpStream,
    framer: Framer,
}

fn io_failure(e: &std::io::Error) -> Failure {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => Failure::Timeout,
        _ => Failure::Io,
    }
}

impl Session {
    /// Connects and asks for a session with `NAME<03>`.
    pub(crate) fn open(o: &Options) -> Result<Session, Failure> {
        let stream = TcpStream::connect_timeout(&SocketAddr::V4(o.target), o.timeout)
            .map_err(|_| Failure::Connect)?;
        // Each request is one small write answered before the next: Nagle
        // would hold nothing back here, but delayed ACKs on the peer could.
        let _ = stream.set_nodelay(true);
        stream
            .set_read_timeout(Some(o.timeout))
            .map_err(|_| Failure::Io)?;
        stream
            .set_write_timeout(Some(o.timeout))
            .map_err(|_| Failure::Io)?;
        let mut s = Session {
            stream,
            framer: Framer::new(nbss::DEFAULT_MAX_FRAME_LEN),
        };
        let request = session_request(
            NetbiosName::truncated(o.name.as_bytes(), suffix::MESSENGER),
            NetbiosName::truncated(CALLING, suffix::WORKSTATION),
        )
        .map_err(|_| Failure::Protocol)?;
        s.write_bytes(&request)?;
        let frame = s.read_frame()?;
        match session_answer(&frame) {
            Ok(Opened::Yes) => Ok(s),
            Ok(_) => Err(Failure::Session),
            Err(_) => Err(Failure::Protocol),
        }
    }

    fn write(&mut self, packet: &Nbss<'_>) -> Result<(), Failure> {
        let bytes = packet.to_vec().map_err(|_| Failure::Protocol)?;
        self.write_bytes(&bytes)
    }

    fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.stream.write_all(bytes).map_err(|e| io_failure(&e))
    }

    /// Reads one whole NBSS packet (keep-alives included).
    fn read_frame(&mut self) -> Result<Vec<u8>, Failure> {
        loop {
            if let Some(frame) = self.framer.next_frame().map_err(|_| Failure::Protocol)? {
                return Ok(frame);
            }
            let mut chunk = [0u8; 2048];
            let n = self.stream.read(&mut chunk).map_err(|e| io_failure(&e))?;
            if n == 0 {
                return Err(Failure::Io);
            }
            self.framer.push(&chunk[..n]);
        }
    }

    /// Sends one message and waits for every reply: `Ok` only when the END
    /// was answered with success.
    pub(crate) fn send(&mut self, o: &Options, text: &[u8]) -> Result<(), Failure> {
        let config = SenderConfig {
            reply_timeout: o.timeout,
            ..SenderConfig::default()
        };
        let mut sender = Sender::new(CALLING, o.name.as_bytes(), text, config);
        loop {
            while let Some(smb) = sender.poll_request(Instant::now()) {
                self.write(&Nbss::SessionMessage { payload: &smb })?;
            }
            let frame = self.read_frame()?;
            let payload = match Nbss::parse(&frame) {
                Ok(Nbss::SessionMessage { payload }) => payload,
                Ok(Nbss::SessionKeepAlive) => continue,
                _ => return Err(Failure::Protocol),
            };
            match sender.handle_reply(payload) {
                Progress::Pending => {}
                Progress::Done => return Ok(()),
                Progress::Failed(SendError::Refused { .. }) => return Err(Failure::Refused),
                Progress::Failed(_) => return Err(Failure::Protocol),
            }
        }
    }
}
