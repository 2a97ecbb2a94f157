//! `secure-probe`: a hostile messngr peer for the attack tests of the secure
//! channel (issue #11). It opens one NBT session (TCP 139) to a receiver,
//! plays one attack — a tampered ciphertext, a replayed session or message,
//! a re-signed or name-claiming identity, malformed frames — and prints one
//! JSON line of what the receiver answered and whether it closed.
//!
//! Why a tool and not test code: the tests run it inside a namespace host
//! (`run_in`), so it is a real peer on the wire, built from the same
//! messngr-proto frames and messngr-secure Noise as the daemon, but free to
//! break the rules. The session and frame plumbing is here; the attacks are
//! in `cases`.

mod cases;

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use messngr_proto::wire::Emit;
use messngr_proto::wire::name::{NetbiosName, suffix};
use messngr_proto::wire::native::{self, Hello, Message, Priority, Repr};
use messngr_proto::wire::nbss::calling::{Framer, Opened, session_answer, session_request};
use messngr_proto::wire::nbss::{self, Repr as Nbss};
use messngr_secure::{Handshake, Identity, Transport};
use serde_json::{Value, json};

pub use cases::run;

/// Which attack to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Case {
    /// A correct session and one validly signed message (with --record,
    /// the bytes sent are kept for replay-session).
    Ok,
    /// A correct handshake, then a signed message with one ciphertext byte flipped.
    Tamper,
    /// The raw bytes of a recorded session (--from), replayed on a new connection.
    ReplaySession,
    /// The same signed message in two sessions.
    ReplayMessage,
    /// A message claiming HOST = --claim-host but certified by the probe's own key.
    Resign,
    /// A handshake whose HELLO names --host (a trusted host's name) with the probe's key.
    ClaimName,
    /// Same as claim-name: the receiver sees a known host with another key.
    KeyChanged,
    /// Malformed frames (--garbage picks which).
    Garbage,
    /// A signed live notice (its own identity) that tries to change the
    /// message --replaces of another author.
    Notice,
    /// A read receipt for message --uuid about recipient --reader, signed
    /// by the probe's own (pinned on first use) key.
    Receipt,
}

/// Which malformed input `--case garbage` sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Garbage {
    /// A HANDSHAKE whose NOISE is not a Noise message.
    Handshake,
    /// A SEALED frame whose chunk is cut short.
    Truncated,
    /// A sealed inner frame with an unknown critical field.
    Critical,
    /// A SEALED frame carrying more than a frame may (two full chunks).
    Oversized,
}

/// `secure-probe --help`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "secure-probe",
    about = "A hostile messngr peer: plays one attack on a receiver's secure sessions and prints one JSON line of what happened"
)]
pub struct Args {
    /// The receiver's IPv4 address.
    #[arg(long)]
    pub target: Ipv4Addr,
    /// The name called (`NAME<03>`) and written in TO.
    #[arg(long, default_value = "H1")]
    pub to: String,
    /// The attack.
    #[arg(long = "case", value_enum)]
    pub case: Case,
    /// The host name the probe presents in its HELLO (and signs as).
    #[arg(long = "name", default_value = "PROBE")]
    pub name: String,
    /// The account named as AUTHOR.
    #[arg(long, default_value = "alice")]
    pub author: String,
    /// The message text.
    #[arg(long, default_value = "probe message")]
    pub text: String,
    /// resign: the host named in the message's HOST field.
    #[arg(long, default_value = "H2")]
    pub claim_host: String,
    /// resign: HOST_KEY as `ed25519:HEX` (e.g. the claimed host's real key); default the probe's.
    #[arg(long)]
    pub host_key: Option<String>,
    /// replay-session: the recorded client bytes.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// ok: write every byte sent to this file.
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// receipt: the message's uuid (32 hex digits).
    #[arg(long)]
    pub uuid: Option<String>,
    /// receipt: READER, the recipient reported on (`H2`, `ALICE@H2`).
    #[arg(long, default_value = "H2")]
    pub reader: String,
    /// garbage: which malformed input.
    #[arg(long, value_enum, default_value = "handshake")]
    pub garbage: Garbage,
    /// notice: the uuid (32 hex digits) of the message to change.
    #[arg(long)]
    pub replaces: Option<String>,
}

/// Longest wait for one answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait to see whether the receiver closes after its answer.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// One NBT session to the receiver, recording what it sends.
pub(crate) struct Conn {
    stream: TcpStream,
    framer: Framer,
    pub(crate) sent: Vec<u8>,
}

/// What the receiver did after a frame.
pub(crate) enum Got {
    /// A native frame (the NBSS payload).
    Frame(Vec<u8>),
    /// It closed the connection.
    Closed,
    /// Nothing within the wait.
    Silent,
}

impl Conn {
    /// Connects to port 139 and asks for a session with `to<03>`.
    pub(crate) fn open(a: &Args) -> Result<Conn> {
        let mut c = Conn::connect(a)?;
        let request = session_request(
            NetbiosName::truncated(a.to.as_bytes(), suffix::MESSENGER),
            NetbiosName::truncated(a.name.as_bytes(), suffix::WORKSTATION),
        )?;
        c.write_raw(&request)?;
        match c.read(ANSWER_TIMEOUT)? {
            Got::Frame(f) => match session_answer(&f)? {
                Opened::Yes => Ok(c),
                other => bail!("the session request was refused: {other:?}"),
            },
            _ => bail!("no answer to the session request"),
        }
    }

    /// Only the TCP connection (for raw replays).
    pub(crate) fn connect(a: &Args) -> Result<Conn> {
        let addr = SocketAddr::from((a.target, 139));
        let stream = TcpStream::connect_timeout(&addr, ANSWER_TIMEOUT)
            .with_context(|| format!("connect to {addr}"))?;
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream,
            framer: Framer::new(nbss::DEFAULT_MAX_FRAME_LEN * 2),
            sent: Vec::new(),
        })
    }

    /// Writes `bytes`; a receiver that resets the connection meanwhile is
    /// not an error here (the next read reports it closed).
    pub(crate) fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.sent.extend_from_slice(bytes);
        match self.stream.write_all(bytes) {
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {
                Ok(())
            }
            other => other.context("write"),
        }
    }

    /// Sends one native frame as a SESSION MESSAGE.
    pub(crate) fn send(&mut self, frame: &[u8]) -> Result<()> {
        let packet = Nbss::SessionMessage { payload: frame }.to_vec()?;
        self.write_raw(&packet)
    }

    /// The next NBSS packet (keep-alives skipped; the session response is
    /// returned whole, other packets as their payload).
    pub(crate) fn read(&mut self, wait: Duration) -> Result<Got> {
        self.stream.set_read_timeout(Some(wait))?;
        loop {
            if let Some(frame) = self.framer.next_frame()? {
                return Ok(match Nbss::parse(&frame)? {
                    Nbss::SessionKeepAlive => continue,
                    Nbss::SessionMessage { payload } => Got::Frame(payload.to_vec()),
                    _ => Got::Frame(frame),
                });
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(Got::Closed),
                Ok(n) => self.framer.push(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Ok(Got::Silent);
                }
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(Got::Closed),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Whether the receiver closes the connection within [`CLOSE_WAIT`].
    pub(crate) fn closes(&mut self) -> Result<bool> {
        Ok(matches!(self.read(CLOSE_WAIT)?, Got::Closed))
    }

    /// Runs the handshake as initiator with HELLO `host` and key `me`.
    pub(crate) fn handshake(&mut self, me: &Identity, host: &str) -> Result<Transport> {
        let mut hs = Handshake::initiator(me)?;
        let first = hs.write(&[])?;
        self.send(&Repr::Handshake { noise: &first }.to_vec()?)?;
        let reply = match self.read(ANSWER_TIMEOUT)? {
            Got::Frame(f) => f,
            _ => bail!("no answer to handshake message 1"),
        };
        let Repr::Handshake { noise } = Repr::parse(&reply)? else {
            bail!(
                "handshake message 1 was answered {:?}",
                describe(&reply, None)
            );
        };
        let hello = hs.read(noise)?;
        Hello::parse(&hello)?;
        let ours = Hello {
            host,
            host_key: *me.public().as_bytes(),
        }
        .to_vec()?;
        let last = hs.write(&ours)?;
        self.send(&Repr::Handshake { noise: &last }.to_vec()?)?;
        Ok(hs.into_transport()?)
    }

    /// Reads one answer: described, opened with `transport` when sealed.
    pub(crate) fn answer(&mut self, transport: Option<&mut Transport>) -> Result<Value> {
        Ok(match self.read(ANSWER_TIMEOUT)? {
            Got::Frame(f) => describe(&f, transport),
            Got::Closed => json!({"kind": "closed"}),
            Got::Silent => json!({"kind": "silent"}),
        })
    }
}

/// A native frame as JSON: kind, and for Refused the reason and text.
pub(crate) fn describe(frame: &[u8], transport: Option<&mut Transport>) -> Value {
    match Repr::parse(frame) {
        Ok(Repr::Sealed { body }) => match transport.map(|t| t.open(body)) {
            Some(Ok(inner)) => {
                let mut v = describe(&inner, None);
                v["sealed"] = json!(true);
                v
            }
            Some(Err(e)) => json!({"kind": "sealed", "error": e.to_string()}),
            None => json!({"kind": "sealed"}),
        },
        Ok(Repr::Refused { uuid, reason, text }) => json!({
            "kind": "refused",
            "reason": u8::from(reason),
            "text": text,
            "uuid": uuid.map(hex::encode),
        }),
        Ok(Repr::Accepted { uuid }) => json!({"kind": "accepted", "uuid": hex::encode(uuid)}),
        Ok(other) => json!({"kind": format!("{:?}", other.kind()).to_lowercase()}),
        Err(e) => match session_answer(frame) {
            Ok(o) => json!({"kind": "session", "answer": format!("{o:?}")}),
            Err(_) => json!({"kind": "unparsable", "error": e.to_string()}),
        },
    }
}

/// Who signs: the probe's host key, its name, and an author key it certifies.
pub(crate) struct Author {
    pub(crate) host: Identity,
    pub(crate) key: Identity,
}

impl Author {
    pub(crate) fn new() -> Result<Author> {
        Ok(Author {
            host: Identity::generate()?,
            key: Identity::generate()?,
        })
    }

    /// A Message frame to `a.to` signed by `a.author`, naming `host` as its
    /// host with `host_key`, certified by the probe's host key for `host`.
    pub(crate) fn message(
        &self,
        a: &Args,
        uuid: [u8; 16],
        host: &str,
        host_key: [u8; 32],
    ) -> Result<Vec<u8>> {
        let author_key = self.key.public();
        let cert = messngr_secure::certify(&self.host, host, &a.author, &author_key);
        let from = host.to_owned();
        let mut m = Message {
            uuid,
            sent_at: Some(1_700_000_000_000),
            from: &from,
            to: &a.to,
            text: &a.text,
            priority: Priority::Normal,
            popup_secs: None,
            signer: Some(native::Signer {
                author: &a.author,
                host,
                author_key: *author_key.as_bytes(),
                host_key,
                cert,
            }),
            signature: None,
            replaces: a
                .replaces
                .as_deref()
                .map(|h| {
                    hex::decode(h)
                        .ok()
                        .and_then(|b| <[u8; 16]>::try_from(b).ok())
                        .ok_or_else(|| anyhow::anyhow!("--replaces takes 32 hex digits"))
                })
                .transpose()?,
            retract: false,
            alert: None,
            expires_at: None,
            vouched: None,
        };
        m.signature = Some(self.key.sign(&Repr::Message(m).signed_bytes()?));
        Ok(Repr::Message(m).to_vec()?)
    }
}

impl Author {
    /// A read Receipt for `uuid` about `a.reader`, signed by `a.author` of
    /// host `a.name` (the probe's own, correctly certified).
    pub(crate) fn receipt(&self, a: &Args, uuid: [u8; 16]) -> Result<Vec<u8>> {
        let author_key = self.key.public();
        let cert = messngr_secure::certify(&self.host, &a.name, &a.author, &author_key);
        let mut r = native::Receipt {
            uuid,
            state: native::ReceiptState::Read,
            reader: &a.reader,
            at: 1_700_000_000_000,
            signer: native::Signer {
                author: &a.author,
                host: &a.name,
                author_key: *author_key.as_bytes(),
                host_key: *self.host.public().as_bytes(),
                cert,
            },
            signature: [0; 64],
        };
        r.signature = self.key.sign(&Repr::Receipt(r).signed_bytes()?);
        Ok(Repr::Receipt(r).to_vec()?)
    }
}

/// A fresh random uuid.
pub(crate) fn uuid() -> Result<[u8; 16]> {
    let mut u = [0u8; 16];
    getrandom::fill(&mut u).map_err(|e| anyhow::anyhow!("no random numbers: {e}"))?;
    Ok(u)
}
