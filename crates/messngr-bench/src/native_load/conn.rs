//! One session of `native-load` to the receiver, blocking: TCP 139, the
//! SESSION REQUEST for `NAME<03>`, then (secure mode) the Noise handshake,
//! then one message at a time, each counted only when the receiver answered
//! Accepted with its uuid.
//!
//! Why apart from the load loop: this moves bytes, `frames` builds them, the
//! load loop counts.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};

use messngr_proto::wire::Emit;
use messngr_proto::wire::name::{NetbiosName, suffix};
use messngr_proto::wire::nbss::calling::{Framer, Opened, session_answer, session_request};
use messngr_proto::wire::nbss::{self, Repr as Nbss};
use messngr_secure::Transport;

use super::Options;
use super::frames::{self, Answer, BenchHost};

/// Why a message was not acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// TCP connect failed or timed out.
    Connect,
    /// The session request was answered negatively (or not at all).
    Session,
    /// The Noise handshake failed or was refused.
    Handshake,
    /// The receiver answered Refused.
    Refused,
    /// No answer within the timeout.
    Timeout,
    /// The connection broke or the peer closed it.
    Io,
    /// An answer that makes no sense (malformed, wrong uuid, bad seal).
    Protocol,
}

fn io_failure(e: &std::io::Error) -> Failure {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => Failure::Timeout,
        _ => Failure::Io,
    }
}

/// One native session to the receiver.
pub(crate) struct Conn {
    stream: TcpStream,
    framer: Framer,
    /// The secure session, in secure mode.
    transport: Option<Transport>,
}

impl Conn {
    /// Connects, asks for `NAME<03>` as the bench host, and in secure mode
    /// runs the handshake as initiator.
    pub(crate) fn open(o: &Options, host: &BenchHost) -> Result<Conn, Failure> {
        let stream = TcpStream::connect_timeout(&SocketAddr::V4(o.target), o.timeout)
            .map_err(|_| Failure::Connect)?;
        let _ = stream.set_nodelay(true);
        stream
            .set_read_timeout(Some(o.timeout))
            .map_err(|_| Failure::Io)?;
        stream
            .set_write_timeout(Some(o.timeout))
            .map_err(|_| Failure::Io)?;
        let mut c = Conn {
            stream,
            framer: Framer::new(nbss::DEFAULT_MAX_FRAME_LEN),
            transport: None,
        };
        let request = session_request(
            NetbiosName::truncated(o.name.as_bytes(), suffix::MESSENGER),
            NetbiosName::truncated(host.name().as_bytes(), suffix::WORKSTATION),
        )
        .map_err(|_| Failure::Protocol)?;
        c.stream.write_all(&request).map_err(|e| io_failure(&e))?;
        let frame = c.read_frame()?;
        match session_answer(&frame) {
            Ok(Opened::Yes) => {}
            Ok(_) => return Err(Failure::Session),
            Err(_) => return Err(Failure::Protocol),
        }
        if o.secure {
            let (hs, first) = host.handshake().map_err(|_| Failure::Handshake)?;
            c.write(&first)?;
            let answer = c.read_payload()?;
            let (_, last, transport) = host.finish(hs, &answer).map_err(|_| Failure::Handshake)?;
            c.write(&last)?;
            c.transport = Some(transport);
        }
        Ok(c)
    }

    /// Sends one Message frame (sealed in secure mode) and waits for its
    /// answer: `Ok` only for Accepted with `uuid`.
    pub(crate) fn send(&mut self, frame: &[u8], uuid: [u8; 16]) -> Result<(), Failure> {
        match self.transport.as_mut() {
            Some(t) => {
                let sealed = frames::seal(t, frame).map_err(|_| Failure::Protocol)?;
                self.write(&sealed)?;
            }
            None => self.write(frame)?,
        }
        let payload = self.read_payload()?;
        match frames::answer(&payload, self.transport.as_mut()) {
            Ok(Answer::Accepted(u)) if u == uuid => Ok(()),
            Ok(Answer::Refused(_)) => Err(Failure::Refused),
            Ok(Answer::Accepted(_)) | Err(_) => Err(Failure::Protocol),
        }
    }

    /// Writes one native frame as a SESSION MESSAGE.
    fn write(&mut self, native: &[u8]) -> Result<(), Failure> {
        let bytes = Nbss::SessionMessage { payload: native }
            .to_vec()
            .map_err(|_| Failure::Protocol)?;
        self.stream.write_all(&bytes).map_err(|e| io_failure(&e))
    }

    /// The payload of the next SESSION MESSAGE (keep-alives skipped).
    fn read_payload(&mut self) -> Result<Vec<u8>, Failure> {
        loop {
            let frame = self.read_frame()?;
            match Nbss::parse(&frame) {
                Ok(Nbss::SessionMessage { payload }) => return Ok(payload.to_vec()),
                Ok(Nbss::SessionKeepAlive) => continue,
                _ => return Err(Failure::Protocol),
            }
        }
    }

    /// Reads one whole NBSS packet.
    fn read_frame(&mut self) -> Result<Vec<u8>, Failure> {
        loop {
            if let Some(frame) = self.framer.next_frame().map_err(|_| Failure::Protocol)? {
                return Ok(frame);
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).map_err(|e| io_failure(&e))?;
            if n == 0 {
                return Err(Failure::Io);
            }
            self.framer.push(&chunk[..n]);
        }
    }
}
