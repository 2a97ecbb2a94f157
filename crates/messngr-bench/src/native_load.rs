//! `native-load`, a closed-loop load generator of messngr's native messages
//! over NBT sessions, behind `bench/secure.sh` (issue #11).
//!
//! Why it exists: the goal "encrypted, signed messages over persistent
//! sessions at at least 80 % of the rate of the plaintext native path" needs
//! one yardstick for both paths against the same receiver. `N` sessions each
//! send `M` messages, one in flight (the next starts when the last was
//! answered), and a message counts only when the receiver answered Accepted
//! with its uuid — "it is on disk".
//!
//! `--mode plain` sends what an older messngr sends: unsigned native Message
//! frames (KIND 1), which the receiver still accepts unless
//! `require_secure`. `--mode secure` sends what `messngr send` sends to a
//! messngr peer today (crates/messngr-daemon/src/send/secure.rs): a Noise XX
//! handshake as initiator with the bench's own host key and HELLO, then each
//! Message signed by a user key the host key certified, sealed. The receiver
//! pins the bench host (`--host`, default BENCH) at first contact, so every
//! run against one receiver must present the same key: `--host-key FILE`
//! keeps it (made when missing).
//!
//! Blocking sockets, one thread per session, no runtime, as `smb-load`: the
//! client shares the CPU with the receiver under test.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use messngr_proto::wire::nbss::SSN_SRVC_TCP_PORT;
use serde::Serialize;

use crate::cli;
use crate::latency::{Latencies, Latency, per_second, rounded};

mod conn;
mod frames;
#[cfg(test)]
mod tests;

use conn::{Conn, Failure};
pub use frames::BenchHost;

/// Most sessions accepted (one thread each).
pub const MAX_SESSIONS: u64 = 256;
/// Pause after a failed message before the session reconnects.
const ERROR_PAUSE: Duration = Duration::from_millis(10);

/// The two paths measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Unsigned plaintext native Message frames (an older messngr).
    Plain,
    /// Noise XX session, signed Messages sealed (messngr today).
    Secure,
}

/// `native-load`'s command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "native-load",
    about = "Closed-loop load generator of native messngr messages, plaintext or encrypted and signed (messngr benchmarks)"
)]
pub struct Args {
    /// Receiver (TCP port 139, or --port).
    #[arg(long, value_name = "IP")]
    target: Ipv4Addr,
    /// Recipient: the session is called NAME<03> and each message is
    /// addressed to NAME (a name the receiver holds).
    #[arg(long, value_name = "NAME")]
    name: String,
    /// plain: unsigned plaintext frames; secure: handshake, signed, sealed.
    #[arg(long, value_enum, default_value_t = Mode::Secure)]
    mode: Mode,
    /// Sessions, one message in flight each (1 to 256).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = cli::count(1, MAX_SESSIONS))]
    sessions: u64,
    /// Messages per session (1 to 10000000).
    #[arg(long, value_name = "M", default_value_t = 1000, value_parser = cli::count(1, 10_000_000))]
    messages: u64,
    /// Stop starting messages after this many seconds anyway (at most 600).
    #[arg(long, value_name = "SECS", default_value = "600", value_parser = cli::seconds)]
    duration: Duration,
    /// Bytes of text per message (at least the unique marker and a line feed).
    #[arg(long, value_name = "BYTES", default_value_t = 100, value_parser = cli::count(0, 60_000))]
    text_len: u64,
    /// The bench's host name (HELLO, signer, calling name), 1 to 15 characters.
    #[arg(long, value_name = "NAME", default_value = "BENCH", value_parser = host_name)]
    host: String,
    /// The bench host's key file, made when missing (default: a new key per
    /// run, which a receiver that pinned the host refuses).
    #[arg(long, value_name = "FILE")]
    host_key: Option<PathBuf>,
    /// Time allowed for each answer (1 to 60000).
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = cli::count(1, 60_000))]
    timeout_ms: u64,
    /// Receiver port.
    #[arg(long, default_value_t = SSN_SRVC_TCP_PORT)]
    port: u16,
    /// A new session for every message (connect, session request, and in
    /// secure mode the handshake): what messngr's sender did before secure
    /// sessions, one session per `send`.
    #[arg(long)]
    fresh: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

fn host_name(v: &str) -> Result<String> {
    messngr_secure::host_name(v).map_err(|e| anyhow::anyhow!("{e}"))
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The receiver.
    pub target: SocketAddrV4,
    /// The recipient (`NAME<03>`).
    pub name: String,
    /// Secure mode.
    pub secure: bool,
    /// Sessions.
    pub sessions: usize,
    /// Messages per session.
    pub messages: u64,
    /// Longest run.
    pub duration: Duration,
    /// Bytes of text per message.
    pub text_len: usize,
    /// Bench host name.
    pub host: String,
    /// Bench host key file.
    pub host_key: Option<PathBuf>,
    /// Time allowed for each answer.
    pub timeout: Duration,
    /// A new session for every message.
    pub fresh: bool,
    /// JSON output.
    pub json: bool,
}

/// Parses the arguments (without the program name).
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<cli::Parsed<Options>> {
    let a: Args = match cli::parse("native-load", args)? {
        cli::Parsed::Help => return Ok(cli::Parsed::Help),
        cli::Parsed::Run(a) => a,
    };
    Ok(cli::Parsed::Run(Options {
        target: SocketAddrV4::new(a.target, a.port),
        name: a.name,
        secure: a.mode == Mode::Secure,
        sessions: usize::try_from(a.sessions).unwrap_or(1),
        messages: a.messages,
        duration: a.duration,
        text_len: usize::try_from(a.text_len).unwrap_or(100),
        host: a.host,
        host_key: a.host_key,
        timeout: Duration::from_millis(a.timeout_ms),
        fresh: a.fresh,
        json: a.json,
    }))
}

/// The text of message `seq` of session `session` in run `tag`.
fn message_text(tag: &str, session: usize, seq: u64, len: usize) -> String {
    let mut t = format!("nativebench-{tag}-{session}-{seq} ");
    while t.len() + 1 < len {
        t.push('x');
    }
    t.push('\n');
    t
}

/// What one session thread saw.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    attempted: u64,
    accepted: u64,
    /// Failures by kind, in [`Failure`] order.
    failures: [u64; 7],
    connections: u64,
    latencies: Latencies,
    /// Connect + session request + handshake, per connection.
    opens: Latencies,
}

impl Tally {
    fn errors(&self) -> u64 {
        self.failures.iter().sum()
    }
}

impl crate::Tally for Tally {
    fn merge(&mut self, o: Tally) {
        self.attempted += o.attempted;
        self.accepted += o.accepted;
        for (a, b) in self.failures.iter_mut().zip(o.failures) {
            *a += b;
        }
        self.connections += o.connections;
        self.latencies.merge(&o.latencies);
        self.opens.merge(&o.opens);
    }
}

/// One session thread: `messages` messages back to back (until `end`). A
/// failed message drops the connection; the next one reconnects.
fn worker(o: &Options, host: &BenchHost, tag: [u8; 8], id: usize, end: Instant) -> Tally {
    let mut t = Tally::default();
    let mut conn: Option<Conn> = None;
    let tag_hex = hex::encode(tag);
    for seq in 0..o.messages {
        if Instant::now() >= end {
            break;
        }
        let mut uuid = [0u8; 16];
        uuid[..8].copy_from_slice(&tag);
        uuid[8..12].copy_from_slice(&u32::try_from(id).unwrap_or(u32::MAX).to_be_bytes());
        uuid[12..].copy_from_slice(&u32::try_from(seq).unwrap_or(u32::MAX).to_be_bytes());
        let text = message_text(&tag_hex, id, seq, o.text_len);
        t.attempted += 1;
        let Ok(frame) = host.message(uuid, &o.name, &text, o.secure) else {
            t.failures[Failure::Protocol as usize] += 1;
            continue;
        };
        let started = Instant::now();
        if conn.is_none() {
            t.connections += 1;
            match Conn::open(o, host) {
                Ok(c) => {
                    t.opens.record(started.elapsed());
                    conn = Some(c);
                }
                Err(f) => {
                    t.failures[f as usize] += 1;
                    std::thread::sleep(ERROR_PAUSE);
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        match c.send(&frame, uuid) {
            Ok(()) => {
                t.accepted += 1;
                t.latencies.record(started.elapsed());
                if o.fresh {
                    conn = None;
                }
            }
            Err(f) => {
                t.failures[f as usize] += 1;
                conn = None;
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
    /// Wall time from the first connect to the last session's end.
    pub elapsed: Duration,
    /// Counts.
    pub tally: Tally,
}

impl Report {
    /// Accepted messages per second.
    pub fn rate(&self) -> f64 {
        per_second(self.tally.accepted, self.elapsed)
    }

    fn mode(&self) -> Mode {
        if self.options.secure {
            Mode::Secure
        } else {
            Mode::Plain
        }
    }
}

impl crate::Report for Report {
    fn human(&self) -> String {
        let (t, o) = (&self.tally, &self.options);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "native-load: {} for {}<03>, {:?}{}, {} session(s) x {} messages, {:.1} s",
            o.target,
            o.name,
            self.mode(),
            if o.fresh {
                ", a session per message"
            } else {
                ""
            },
            o.sessions,
            o.messages,
            self.elapsed.as_secs_f64()
        );
        let f = &t.failures;
        let _ = writeln!(
            s,
            "  attempted {}  accepted {}  errors {} (connect {}, session {}, handshake {}, refused {}, timeout {}, io {}, protocol {})  connections {}",
            t.attempted,
            t.accepted,
            t.errors(),
            f[0],
            f[1],
            f[2],
            f[3],
            f[4],
            f[5],
            f[6],
            t.connections
        );
        let _ = writeln!(s, "  {:.0} accepted/s", self.rate());
        let open = t.opens.percentiles();
        let _ = writeln!(
            s,
            "  session open µs: p50 {}  max {}",
            open.p50_us, open.max_us
        );
        s + &t.latencies.percentiles().human()
    }

    fn json(&self) -> serde_json::Result<String> {
        let (t, o) = (&self.tally, &self.options);
        let f = &t.failures;
        let open = t.opens.percentiles();
        serde_json::to_string(&Json {
            target: o.target.to_string(),
            name: &o.name,
            mode: self.mode(),
            fresh: o.fresh,
            sessions: o.sessions,
            messages_per_session: o.messages,
            text_len: message_text("0000000000000000", 0, 0, o.text_len).len(),
            duration_s: rounded(self.elapsed.as_secs_f64(), 3),
            attempted: t.attempted,
            accepted: t.accepted,
            errors: t.errors(),
            connect_errors: f[0],
            session_errors: f[1],
            handshake_errors: f[2],
            refused: f[3],
            timeouts: f[4],
            io_errors: f[5],
            protocol_errors: f[6],
            connections: t.connections,
            open_p50_us: open.p50_us,
            open_max_us: open.max_us,
            rate: rounded(self.rate(), 1),
            latency: t.latencies.percentiles(),
        })
    }
}

/// [`Report::json`]'s fields, in the order printed.
#[derive(Serialize)]
struct Json<'a> {
    target: String,
    name: &'a str,
    mode: Mode,
    fresh: bool,
    sessions: usize,
    messages_per_session: u64,
    text_len: usize,
    duration_s: f64,
    attempted: u64,
    accepted: u64,
    errors: u64,
    connect_errors: u64,
    session_errors: u64,
    handshake_errors: u64,
    refused: u64,
    timeouts: u64,
    io_errors: u64,
    protocol_errors: u64,
    connections: u64,
    open_p50_us: u64,
    open_max_us: u64,
    rate: f64,
    #[serde(flatten)]
    latency: Latency,
}

/// Runs the load and reports.
pub fn run(o: &Options) -> Result<Report> {
    let host = BenchHost::new(&o.host, o.host_key.as_deref())?;
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag).map_err(|e| anyhow::anyhow!("no random run tag: {e}"))?;
    let start = Instant::now();
    let end = start + o.duration;
    let tally = crate::closed_loop(o.sessions, |id| worker(o, &host, tag, id, end));
    Ok(Report {
        options: o.clone(),
        elapsed: start.elapsed(),
        tally,
    })
}
