//! `smb-load`, a closed-loop load generator of SMB messages (`net send`,
//! `smbclient -M`) over NBT sessions, behind `bench/messages.sh` (issue #4,
//! point 7).
//!
//! Why it exists: the goals "accept at least 20x smbd's messages per second
//! on persistent sessions, 5x with a fresh connection per message" need one
//! yardstick applied to both receivers. `smbclient -M` starts a process per
//! message and measures nothing; this tool keeps `N` sessions busy, each
//! with one message in flight (closed loop: the next message starts when the
//! previous END was answered), and counts a message only when the receiver
//! acknowledged its END with a success status — for messngr that is the
//! promise "it is on disk", so a fast receiver that drops messages does not
//! win.
//!
//! What goes on the wire is what `messngr send` sends, built by the same
//! code: `assembly::Sender` cuts the text into START (0xD5) / TEXT (0xD7)… /
//! END (0xD6) and follows the replies; each SMB travels in an NBSS SESSION
//! MESSAGE after a SESSION REQUEST for `NAME<03>` from `LOADGEN<00>`. No
//! NEGOTIATE: smbd accepts the multi-block message commands without one (and
//! ignores the called name); messngr checks the called name, so `--name`
//! must be one it holds.
//!
//! Every text starts with a marker unique to the message (`msgbench-RUN-S-N`:
//! a random run tag, the session, a sequence number)
//! and ends with a line feed, so the receiver's store can be counted and
//! checked for duplicates (one line per message in smbd's file).
//!
//! Why it is this plain: blocking `std::net::TcpStream`s, one thread per
//! session, no runtime. The client shares the CPU with the receiver under
//! test, so it must be cheap per message.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use messngr_proto::wire::name::{NetbiosName, suffix};
use messngr_proto::wire::nbss::SSN_SRVC_TCP_PORT;
use serde::Serialize;

use crate::cli;
use crate::latency::{Latencies, Latency, per_second, rounded};

mod session;
#[cfg(test)]
mod tests;

use session::{Failure, Session};

/// Most sessions accepted (one thread each).
pub const MAX_SESSIONS: usize = 256;
/// Longest text accepted (the receivers' limit is 64 KiB; 1600 bytes is
/// the classic Messenger limit).
pub const MAX_TEXT_LEN: usize = 64 * 1024 - 1;
/// Pause after a failed message before the session reconnects, so that a
/// receiver refusing everything is not hammered by a spinning loop.
const ERROR_PAUSE: Duration = Duration::from_millis(10);
/// The calling name of every session (`LOADGEN<00>`) and the sender name
/// in every message.
const CALLING: &[u8] = b"LOADGEN";

/// `smb-load`'s command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "smb-load",
    about = "Closed-loop SMB message load generator (messngr benchmarks)"
)]
pub struct Args {
    /// Receiver (TCP port 139, or --port).
    #[arg(long, value_name = "IP")]
    target: Ipv4Addr,
    /// Recipient: the session is called NAME<03> and each message is
    /// addressed to NAME (messngr checks it).
    #[arg(long, value_name = "NAME", value_parser = messenger_name)]
    name: String,
    /// Sessions, one message in flight each (1 to 256).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = cli::count(1, MAX_SESSIONS as u64))]
    sessions: u64,
    /// How long to start new messages, in seconds (at most 600).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = cli::seconds)]
    duration: Duration,
    /// A new TCP connection and session request per message (default: each
    /// session stays open for the whole run).
    #[arg(long)]
    fresh: bool,
    /// Bytes of text per message (at least the unique marker plus a line
    /// feed, at most 65535).
    #[arg(long, value_name = "BYTES", default_value_t = 100, value_parser = cli::count(0, MAX_TEXT_LEN as u64))]
    text_len: u64,
    /// Stop after N messages in all.
    #[arg(long, value_name = "N", default_value_t = 10_000_000, value_parser = cli::count(1, u64::MAX))]
    max_messages: u64,
    /// Time allowed for each answer (1 to 60000).
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = cli::count(1, 60_000))]
    timeout_ms: u64,
    /// Receiver port.
    #[arg(long, default_value_t = SSN_SRVC_TCP_PORT)]
    port: u16,
    /// Open a session (no message) every 250 ms until one is accepted (exit
    /// 0) or the duration ends (exit 1).
    #[arg(long)]
    probe: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The receiver.
    pub target: SocketAddrV4,
    /// The recipient (`NAME<03>`).
    pub name: String,
    /// Sessions, one message in flight each.
    pub sessions: usize,
    /// How long to start new messages.
    pub duration: Duration,
    /// A new connection per message.
    pub fresh: bool,
    /// Bytes of text per message (at least the marker).
    pub text_len: usize,
    /// Messages in all, at most.
    pub max_messages: u64,
    /// Time allowed for each answer.
    pub timeout: Duration,
    /// Probe mode.
    pub probe: bool,
    /// JSON output.
    pub json: bool,
}

/// The command line: options, or a request for help.
pub type Command = cli::Parsed<Options>;

/// Parses the arguments (without the program name).
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command> {
    let a: Args = match cli::parse("smb-load", args)? {
        cli::Parsed::Help => return Ok(Command::Help),
        cli::Parsed::Run(a) => a,
    };
    Ok(Command::Run(Options {
        target: SocketAddrV4::new(a.target, a.port),
        name: a.name,
        sessions: usize::try_from(a.sessions).unwrap_or(MAX_SESSIONS),
        duration: a.duration,
        fresh: a.fresh,
        text_len: usize::try_from(a.text_len).unwrap_or(MAX_TEXT_LEN),
        max_messages: a.max_messages,
        timeout: Duration::from_millis(a.timeout_ms),
        probe: a.probe,
        json: a.json,
    }))
}

/// A name that can be called as `NAME<03>`.
fn messenger_name(v: &str) -> Result<String> {
    NetbiosName::new(v.as_bytes(), suffix::MESSENGER).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(v.to_owned())
}

/// The text of message `seq` of session `session` in run `tag`: the unique
/// marker, padding to `len` bytes, a line feed (the marker is never cut, so
/// a short `len` gives a longer text).
fn message_text(tag: &str, session: usize, seq: u64, len: usize) -> Vec<u8> {
    let mut t = format!("msgbench-{tag}-{session}-{seq} ").into_bytes();
    while t.len() + 1 < len {
        t.push(b'x');
    }
    t.push(b'\n');
    t
}

/// What one session thread saw.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Messages started.
    attempted: u64,
    /// Messages whose END was acknowledged with success.
    accepted: u64,
    /// Failures by kind, in [`Failure`] order.
    connect: u64,
    session: u64,
    refused: u64,
    timeout: u64,
    io: u64,
    protocol: u64,
    /// TCP connections opened.
    connections: u64,
    /// Per accepted message: from the first byte of the message (the
    /// connect, with `--fresh`) to the success reply to END.
    latencies: Latencies,
}

impl Tally {
    fn count(&mut self, f: Failure) {
        match f {
            Failure::Connect => self.connect += 1,
            Failure::Session => self.session += 1,
            Failure::Refused => self.refused += 1,
            Failure::Timeout => self.timeout += 1,
            Failure::Io => self.io += 1,
            Failure::Protocol => self.protocol += 1,
        }
    }

    fn errors(&self) -> u64 {
        self.connect + self.session + self.refused + self.timeout + self.io + self.protocol
    }
}

impl crate::Tally for Tally {
    fn merge(&mut self, o: Tally) {
        self.attempted += o.attempted;
        self.accepted += o.accepted;
        self.connect += o.connect;
        self.session += o.session;
        self.refused += o.refused;
        self.timeout += o.timeout;
        self.io += o.io;
        self.protocol += o.protocol;
        self.connections += o.connections;
        self.latencies.merge(&o.latencies);
    }
}

/// A random tag (8 hex digits) that differs between runs (and between the
/// runs of one process), so that markers stay unique across the loads of a
/// benchmark.
fn run_tag() -> Result<String> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no random run tag: {e}"))?;
    Ok(hex::encode(bytes))
}

/// One session thread: messages back to back until `end` or the shared
/// budget of messages is spent. A failed message drops the connection; the
/// next one reconnects.
fn worker(o: &Options, tag: &str, id: usize, end: Instant, budget: &AtomicU64) -> Tally {
    let mut t = Tally::default();
    let mut session: Option<Session> = None;
    let mut seq = 0u64;
    while Instant::now() < end && budget.fetch_add(1, Ordering::Relaxed) < o.max_messages {
        let text = message_text(tag, id, seq, o.text_len);
        seq += 1;
        t.attempted += 1;
        let started = Instant::now();
        let result = match session.as_mut() {
            Some(s) => s.send(o, &text),
            None => {
                t.connections += 1;
                Session::open(o).and_then(|mut s| {
                    let r = s.send(o, &text);
                    session = Some(s);
                    r
                })
            }
        };
        match result {
            Ok(()) => {
                t.accepted += 1;
                t.latencies.record(started.elapsed());
                if o.fresh {
                    session = None;
                }
            }
            Err(f) => {
                t.count(f);
                session = None;
                std::thread::sleep(ERROR_PAUSE);
            }
        }
    }
    t
}

/// The result of a run.
pub struct Report {
    /// What was run.
    pub options: Options,
    /// Wall time from the first message to the last session's end.
    pub elapsed: Duration,
    /// Counts.
    pub tally: Tally,
    /// Latency percentiles of accepted messages.
    pub latency: Latency,
}

impl Report {
    fn new(options: Options, elapsed: Duration, tally: Tally) -> Report {
        Report {
            latency: tally.latencies.percentiles(),
            options,
            elapsed,
            tally,
        }
    }

    /// Accepted messages per second.
    pub fn rate(&self) -> f64 {
        per_second(self.tally.accepted, self.elapsed)
    }
}

impl crate::Report for Report {
    /// The report for people.
    fn human(&self) -> String {
        let (t, o) = (&self.tally, &self.options);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "smb-load: {} for {}<03>, {} session(s){}, {}-byte texts, {:.1} s",
            o.target,
            o.name,
            o.sessions,
            if o.fresh {
                ", fresh connection per message"
            } else {
                ""
            },
            message_text("00000000", 0, 0, o.text_len).len(),
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(
            s,
            "  attempted {}  accepted {}  errors {} (connect {}, session {}, refused {}, timeout {}, io {}, protocol {})  connections {}",
            t.attempted,
            t.accepted,
            t.errors(),
            t.connect,
            t.session,
            t.refused,
            t.timeout,
            t.io,
            t.protocol,
            t.connections
        );
        let _ = writeln!(s, "  {:.0} accepted/s", self.rate());
        s + &self.latency.human()
    }

    /// The report as one JSON object (one line; bench/messages.sh reads it).
    fn json(&self) -> serde_json::Result<String> {
        let (t, o) = (&self.tally, &self.options);
        serde_json::to_string(&Json {
            target: o.target.to_string(),
            name: &o.name,
            sessions: o.sessions,
            fresh: o.fresh,
            text_len: message_text("00000000", 0, 0, o.text_len).len(),
            duration_s: rounded(self.elapsed.as_secs_f64(), 3),
            attempted: t.attempted,
            accepted: t.accepted,
            errors: t.errors(),
            connect_errors: t.connect,
            session_errors: t.session,
            refused: t.refused,
            timeouts: t.timeout,
            io_errors: t.io,
            protocol_errors: t.protocol,
            connections: t.connections,
            rate: rounded(self.rate(), 1),
            latency: self.latency,
        })
    }
}

/// [`Report::json`]'s fields, in the order printed.
#[derive(Serialize)]
struct Json<'a> {
    target: String,
    name: &'a str,
    sessions: usize,
    fresh: bool,
    text_len: usize,
    duration_s: f64,
    attempted: u64,
    accepted: u64,
    errors: u64,
    connect_errors: u64,
    session_errors: u64,
    refused: u64,
    timeouts: u64,
    io_errors: u64,
    protocol_errors: u64,
    connections: u64,
    rate: f64,
    #[serde(flatten)]
    latency: Latency,
}

/// Runs the load for `o.duration` and reports.
pub fn run(o: &Options) -> Result<Report> {
    let tag = run_tag()?;
    let budget = AtomicU64::new(0);
    let start = Instant::now();
    let end = start + o.duration;
    let tally = crate::closed_loop(o.sessions, |id| worker(o, &tag, id, end, &budget));
    Ok(Report::new(o.clone(), start.elapsed(), tally))
}

/// Probe mode: a session request (no message) every 250 ms until one is
/// accepted (returns how long it took) or the duration ends (`None`).
pub fn probe(o: &Options) -> Option<Duration> {
    let start = Instant::now();
    let interval = Duration::from_millis(250);
    let o = Options {
        timeout: interval,
        ..o.clone()
    };
    while start.elapsed() < o.duration {
        let tried = Instant::now();
        if Session::open(&o).is_ok() {
            return Some(start.elapsed());
        }
        if let Some(left) = interval.checked_sub(tried.elapsed()) {
            std::thread::sleep(left);
        }
    }
    None
}
