//! The daemon's calling side of an NBT session (TCP 139): connect, the
//! SESSION REQUEST and its answer, then whole packets both ways.
//!
//! One client for both senders — the SMB message commands (`send`) and
//! messngr's native frames (`send::native`). The opening rules and the
//! stream cutting are `messngr_proto::wire::nbss::calling`, which the load
//! generator shares; this module only moves bytes, with deadlines.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use messngr_proto::wire::Emit;
use messngr_proto::wire::name::NetbiosName;
use messngr_proto::wire::name::Scope;
use messngr_proto::wire::nbss::calling::{Framer, Opened, session_answer, session_request_in};
use messngr_proto::wire::nbss::{self, Repr as Nbss};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// TCP port of the session service.
pub(crate) const NBSS_PORT: u16 = 139;
/// Time allowed to connect to a receiver.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for each session-service answer.
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a session could not be opened or went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OutboundError {
    /// The network failed: no connection, no answer, a broken stream.
    #[error("{0}")]
    Network(String),
    /// The receiver refused the session.
    #[error("{0}")]
    Refused(String),
}

/// An open NBT session to a receiver.
pub(crate) struct Session {
    stream: TcpStream,
    framer: Framer,
    /// The receiver's address.
    pub(crate) peer: Ipv4Addr,
}

impl Session {
    /// Connects to `ip` and asks `called` for a session from `calling`.
    pub(crate) async fn open(
        calling: NetbiosName,
        called: NetbiosName,
        scope: Scope<'_>,
        ip: Ipv4Addr,
    ) -> Result<Session, OutboundError> {
        let net = OutboundError::Network;
        let addr = SocketAddrV4::new(ip, NBSS_PORT);
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(net(format!("cannot connect to {addr}: {e}"))),
            Err(_) => {
                return Err(net(format!(
                    "no answer from {addr} within {CONNECT_TIMEOUT:?}"
                )));
            }
        };
        let _ = stream.set_nodelay(true);
        let mut s = Session {
            stream,
            framer: Framer::new(nbss::DEFAULT_MAX_FRAME_LEN),
            peer: ip,
        };
        let request = session_request_in(called, calling, scope)
            .map_err(|e| net(format!("cannot encode a session request for {called}: {e}")))?;
        s.write_bytes(&request).await?;
        let answer = s.read_frame(ANSWER_TIMEOUT).await?;
        match session_answer(&answer) {
            Ok(Opened::Yes) => Ok(s),
            Ok(Opened::Refused(code)) => Err(OutboundError::Refused(format!(
                "{ip} refused a session for {called}: {code:?}"
            ))),
            Ok(Opened::Unexpected(what)) => Err(net(format!(
                "{ip} answered the session request with {what}"
            ))),
            Err(e) => Err(net(format!("{ip} sent a malformed session answer: {e}"))),
        }
    }

    /// Writes one NBSS packet.
    pub(crate) async fn write(&mut self, packet: &Nbss<'_>) -> Result<(), OutboundError> {
        let bytes = packet
            .to_vec()
            .map_err(|e| OutboundError::Network(format!("cannot encode {packet:?}: {e}")))?;
        self.write_bytes(&bytes).await
    }

    async fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), OutboundError> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|e| OutboundError::Network(format!("write failed: {e}")))
    }

    /// Reads one whole NBSS packet, waiting at most `limit`.
    pub(crate) async fn read_frame(&mut self, limit: Duration) -> Result<Vec<u8>, OutboundError> {
        let net = OutboundError::Network;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(frame) = self
                .framer
                .next_frame()
                .map_err(|e| net(format!("bad frame: {e}")))?
            {
                return Ok(frame);
            }
            let mut chunk = [0u8; 2048];
            let n = tokio::time::timeout_at(deadline, self.stream.read(&mut chunk))
                .await
                .map_err(|_| net(format!("no answer within {limit:?}")))?
                .map_err(|e| net(format!("read failed: {e}")))?;
            if n == 0 {
                return Err(net("the receiver closed the connection".into()));
            }
            self.framer.push(&chunk[..n]);
        }
    }
}
