//! `http-load`, a closed-loop load generator of HTTP publishes (`POST
//! /v1/messages`) over keep-alive connections, behind `bench/http.sh`
//! (issue #12, Performance).
//!
//! Why it exists: "HTTP publishes per second, stored durably before the
//! 200, next to the SMB figure" needs the same yardstick as `smb-load`:
//! `N` connections, each with one request in flight (closed loop), a
//! publish counted only when it was answered `200` — for messngr that is
//! the promise "it is on disk" — and its latency from the first byte of the
//! request to the end of the answer.
//!
//! Why a raw HTTP/1.1 client over `std::net::TcpStream`: it shares the CPU
//! with the daemon under test, so it must be cheap per request, and it must
//! keep its connection (no client library deciding to reconnect). Requests
//! are written whole (`Content-Length`), answers read by their
//! `Content-Length`; an answer without one, or with `connection: close`,
//! ends the connection and the next request opens another (counted).
//!
//! Every text starts with a marker unique to the request
//! (`httpbench-RUN-C-N`), so the receiver's store can be counted and checked
//! for duplicates, as `smb-load`'s are.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use crate::cli;
use crate::latency::{Latencies, Latency, per_second, rounded};

/// Most connections accepted (one thread each; the daemon allows 32 per
/// address).
pub const MAX_CONNECTIONS: usize = 32;
/// Longest text accepted (the daemon's limit is 64 KiB).
pub const MAX_TEXT_LEN: usize = 64 * 1024 - 1;
/// Largest answer read (a send's answer is a few hundred bytes).
const MAX_ANSWER: usize = 64 * 1024;
/// Pause after a failed request before the next, so that a receiver
/// refusing everything is not hammered by a spinning loop.
const ERROR_PAUSE: Duration = Duration::from_millis(10);

/// `http-load`'s command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "http-load",
    about = "Closed-loop HTTP publish load generator (POST /v1/messages, keep-alive; messngr benchmarks)"
)]
pub struct Args {
    /// The daemon's HTTP listener.
    #[arg(long, value_name = "IP")]
    target: Ipv4Addr,
    /// Its port.
    #[arg(long, default_value_t = 839)]
    port: u16,
    /// A token (`messngr token create`), sent as `Authorization: Bearer`.
    #[arg(long, value_name = "TOKEN")]
    token: String,
    /// The recipient, as `messngr send` takes it.
    #[arg(long, value_name = "NAME")]
    to: String,
    /// Keep-alive connections, one request in flight each (1 to 32).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = cli::count(1, MAX_CONNECTIONS as u64))]
    connections: u64,
    /// How long to start new requests, in seconds (at most 600).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = cli::seconds)]
    duration: Duration,
    /// Bytes of text per message (at least the unique marker).
    #[arg(long, value_name = "BYTES", default_value_t = 100, value_parser = cli::count(0, MAX_TEXT_LEN as u64))]
    text_len: u64,
    /// Ask for a sender's copy of each publish (`"track": true`), as
    /// `messngr send` keeps one.
    #[arg(long)]
    track: bool,
    /// Stop after N requests in all.
    #[arg(long, value_name = "N", default_value_t = 10_000_000, value_parser = cli::count(1, u64::MAX))]
    max_messages: u64,
    /// Time allowed for each answer (1 to 60000).
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = cli::count(1, 60_000))]
    timeout_ms: u64,
    /// `GET /v1/messages?limit=1` every 250 ms until one is answered 200
    /// (exit 0) or the duration ends (exit 1): the listener is up and the
    /// token valid.
    #[arg(long)]
    probe: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The listener.
    pub target: SocketAddrV4,
    /// The token.
    pub token: String,
    /// The recipient.
    pub to: String,
    /// Connections, one request in flight each.
    pub connections: usize,
    /// How long to start new requests.
    pub duration: Duration,
    /// Bytes of text per message.
    pub text_len: usize,
    /// `"track": true` in every request.
    pub track: bool,
    /// Requests in all, at most.
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
    let a: Args = match cli::parse("http-load", args)? {
        cli::Parsed::Help => return Ok(Command::Help),
        cli::Parsed::Run(a) => a,
    };
    if a.token.trim().is_empty() || a.to.trim().is_empty() {
        anyhow::bail!("--token and --to must not be empty");
    }
    Ok(Command::Run(Options {
        target: SocketAddrV4::new(a.target, a.port),
        token: a.token,
        to: a.to,
        connections: usize::try_from(a.connections).unwrap_or(MAX_CONNECTIONS),
        duration: a.duration,
        text_len: usize::try_from(a.text_len).unwrap_or(MAX_TEXT_LEN),
        track: a.track,
        max_messages: a.max_messages,
        timeout: Duration::from_millis(a.timeout_ms),
        probe: a.probe,
        json: a.json,
    }))
}

/// The text of request `seq` of connection `conn` in run `tag`: the unique
/// marker, padded with `x` to `len` bytes (never cut).
fn message_text(tag: &str, conn: usize, seq: u64, len: usize) -> String {
    let mut t = format!("httpbench-{tag}-{conn}-{seq} ");
    while t.len() < len {
        t.push('x');
    }
    t
}

/// The whole request publishing `text` to `o.to`.
fn publish(o: &Options, text: &str) -> Vec<u8> {
    let body = serde_json::json!({ "to": o.to, "text": text, "track": o.track }).to_string();
    format!(
        "POST /v1/messages HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        o.target,
        o.token,
        body.len()
    )
    .into_bytes()
}

/// Why a request was not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// No connection.
    Connect,
    /// Answered, but not 200.
    Status,
    /// No answer in time.
    Timeout,
    /// The connection failed or closed.
    Io,
    /// Not an HTTP answer this client understands.
    Protocol,
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => Failure::Timeout,
            _ => Failure::Io,
        }
    }
}

/// An answer's status, and whether the connection may be used again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Answer {
    status: u16,
    keep_alive: bool,
}

/// Reads one answer's head and body from `r` (`buf` is scratch).
fn read_answer(r: &mut impl Read, buf: &mut Vec<u8>) -> Result<Answer, Failure> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_ANSWER {
            return Err(Failure::Protocol);
        }
        let n = r.read(&mut chunk)?;
        if n == 0 {
            return Err(Failure::Io);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| Failure::Protocol)?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.strip_prefix("HTTP/1.1 "))
        .and_then(|l| l.get(..3))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or(Failure::Protocol)?;
    let (mut length, mut keep_alive) = (None, true);
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("content-length") {
            length = v.parse::<usize>().ok();
        } else if k.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close") {
            keep_alive = false;
        }
    }
    let Some(length) = length.filter(|n| *n <= MAX_ANSWER) else {
        // Chunked or unbounded: read no further, use a new connection.
        return Ok(Answer {
            status,
            keep_alive: false,
        });
    };
    let mut have = buf.len() - head_end;
    while have < length {
        let n = r.read(&mut chunk)?;
        if n == 0 {
            return Err(Failure::Io);
        }
        have += n;
    }
    Ok(Answer { status, keep_alive })
}

/// One request on `conn` (opened when `None`); the connection is kept for
/// the next only when the answer allows it.
fn request(
    o: &Options,
    conn: &mut Option<TcpStream>,
    bytes: &[u8],
    buf: &mut Vec<u8>,
    t: &mut Tally,
) -> Result<u16, Failure> {
    let mut stream = match conn.take() {
        Some(s) => s,
        None => {
            t.connections += 1;
            let s = TcpStream::connect_timeout(&o.target.into(), o.timeout)
                .map_err(|_| Failure::Connect)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(o.timeout))?;
            s.set_write_timeout(Some(o.timeout))?;
            s
        }
    };
    stream.write_all(bytes)?;
    let answer = read_answer(&mut stream, buf)?;
    if answer.keep_alive {
        *conn = Some(stream);
    }
    Ok(answer.status)
}

/// What one connection's thread saw.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    attempted: u64,
    /// Answered 200.
    accepted: u64,
    connect: u64,
    status: u64,
    timeout: u64,
    io: u64,
    protocol: u64,
    /// TCP connections opened.
    connections: u64,
    /// Per accepted request: first byte written to the end of the answer.
    latencies: Latencies,
}

impl Tally {
    fn count(&mut self, f: Failure) {
        match f {
            Failure::Connect => self.connect += 1,
            Failure::Status => self.status += 1,
            Failure::Timeout => self.timeout += 1,
            Failure::Io => self.io += 1,
            Failure::Protocol => self.protocol += 1,
        }
    }

    fn errors(&self) -> u64 {
        self.connect + self.status + self.timeout + self.io + self.protocol
    }
}

impl crate::Tally for Tally {
    fn merge(&mut self, o: Tally) {
        self.attempted += o.attempted;
        self.accepted += o.accepted;
        self.connect += o.connect;
        self.status += o.status;
        self.timeout += o.timeout;
        self.io += o.io;
        self.protocol += o.protocol;
        self.connections += o.connections;
        self.latencies.merge(&o.latencies);
    }
}

/// One connection's thread: requests back to back until `end` or the
/// shared budget is spent.
fn worker(o: &Options, tag: &str, id: usize, end: Instant, budget: &AtomicU64) -> Tally {
    let mut t = Tally::default();
    let mut conn = None;
    let mut buf = Vec::with_capacity(4096);
    let mut seq = 0u64;
    while Instant::now() < end && budget.fetch_add(1, Ordering::Relaxed) < o.max_messages {
        let bytes = publish(o, &message_text(tag, id, seq, o.text_len));
        seq += 1;
        t.attempted += 1;
        let started = Instant::now();
        match request(o, &mut conn, &bytes, &mut buf, &mut t) {
            Ok(200) => {
                t.accepted += 1;
                t.latencies.record(started.elapsed());
            }
            Ok(_) => {
                t.count(Failure::Status);
                std::thread::sleep(ERROR_PAUSE);
            }
            Err(f) => {
                t.count(f);
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
    /// Wall time from the first request to the last connection's end.
    pub elapsed: Duration,
    /// Counts.
    pub tally: Tally,
    /// Latency percentiles of accepted requests.
    pub latency: Latency,
}

impl Report {
    /// Accepted requests per second.
    pub fn rate(&self) -> f64 {
        per_second(self.tally.accepted, self.elapsed)
    }
}

impl crate::Report for Report {
    fn human(&self) -> String {
        let (t, o) = (&self.tally, &self.options);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "http-load: POST http://{}/v1/messages to {}, {} keep-alive connection(s), {}-byte texts, {:.1} s",
            o.target,
            o.to,
            o.connections,
            message_text("00000000", 0, 0, o.text_len).len(),
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(
            s,
            "  attempted {}  accepted {}  errors {} (connect {}, status {}, timeout {}, io {}, protocol {})  connections {}",
            t.attempted,
            t.accepted,
            t.errors(),
            t.connect,
            t.status,
            t.timeout,
            t.io,
            t.protocol,
            t.connections
        );
        let _ = writeln!(s, "  {:.0} accepted/s", self.rate());
        s + &self.latency.human()
    }

    fn json(&self) -> serde_json::Result<String> {
        let (t, o) = (&self.tally, &self.options);
        serde_json::to_string(&Json {
            target: o.target.to_string(),
            to: &o.to,
            connections: o.connections,
            text_len: message_text("00000000", 0, 0, o.text_len).len(),
            duration_s: rounded(self.elapsed.as_secs_f64(), 3),
            attempted: t.attempted,
            accepted: t.accepted,
            errors: t.errors(),
            connect_errors: t.connect,
            status_errors: t.status,
            timeouts: t.timeout,
            io_errors: t.io,
            protocol_errors: t.protocol,
            connections_opened: t.connections,
            rate: rounded(self.rate(), 1),
            latency: self.latency,
        })
    }
}

/// [`Report::json`]'s fields, in the order printed.
#[derive(Serialize)]
struct Json<'a> {
    target: String,
    to: &'a str,
    connections: usize,
    text_len: usize,
    duration_s: f64,
    attempted: u64,
    accepted: u64,
    errors: u64,
    connect_errors: u64,
    status_errors: u64,
    timeouts: u64,
    io_errors: u64,
    protocol_errors: u64,
    connections_opened: u64,
    rate: f64,
    #[serde(flatten)]
    latency: Latency,
}

/// A random tag (8 hex digits) unique to the run.
fn run_tag() -> Result<String> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no random run tag: {e}"))?;
    Ok(hex::encode(bytes))
}

/// Runs the load for `o.duration` and reports.
pub fn run(o: &Options) -> Result<Report> {
    let tag = run_tag()?;
    let budget = AtomicU64::new(0);
    let start = Instant::now();
    let end = start + o.duration;
    let tally = crate::closed_loop(o.connections, |id| worker(o, &tag, id, end, &budget));
    Ok(Report {
        latency: tally.latencies.percentiles(),
        options: o.clone(),
        elapsed: start.elapsed(),
        tally,
    })
}

/// Probe mode: `GET /v1/messages?limit=1` every 250 ms until one is
/// answered 200 (returns how long it took) or the duration ends (`None`).
pub fn probe(o: &Options) -> Option<Duration> {
    let start = Instant::now();
    let interval = Duration::from_millis(250);
    let o = Options {
        timeout: interval,
        ..o.clone()
    };
    let get = format!(
        "GET /v1/messages?limit=1 HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\r\n",
        o.target, o.token
    );
    let mut buf = Vec::new();
    while start.elapsed() < o.duration {
        let tried = Instant::now();
        let mut t = Tally::default();
        if request(&o, &mut None, get.as_bytes(), &mut buf, &mut t) == Ok(200) {
            return Some(start.elapsed());
        }
        if let Some(left) = interval.checked_sub(tried.elapsed()) {
            std::thread::sleep(left);
        }
    }
    None
}

#[cfg(test)]
mod tests;
