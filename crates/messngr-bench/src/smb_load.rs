//! `smb-load` — a closed-loop load generator of SMB messages (`net send`,
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
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use messngr_bench::{Latency, cli};
use messngr_proto::assembly::{Progress, SendError, Sender, SenderConfig};
use messngr_proto::wire::Emit;
use messngr_proto::wire::name::{EncodedName, NetbiosName, suffix};
use messngr_proto::wire::nbss::{self, Repr as Nbss, SSN_SRVC_TCP_PORT};

/// Most sessions accepted (one thread each).
const MAX_SESSIONS: usize = 256;
/// Longest text accepted (the receivers' limit is 64 KiB; 1600 bytes is
/// the classic Messenger limit).
const MAX_TEXT_LEN: usize = 64 * 1024 - 1;
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
struct Args {
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
struct Options {
    target: SocketAddrV4,
    name: String,
    sessions: usize,
    duration: Duration,
    fresh: bool,
    text_len: usize,
    max_messages: u64,
    timeout: Duration,
    probe: bool,
    json: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Command {
    Run(Options),
    Help,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command> {
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

/// Why a message was not acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
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
struct Session {
    stream: TcpStream,
    buf: Vec<u8>,
}

fn io_failure(e: &std::io::Error) -> Failure {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => Failure::Timeout,
        _ => Failure::Io,
    }
}

impl Session {
    /// Connects and asks for a session with `NAME<03>`.
    fn open(o: &Options) -> Result<Session, Failure> {
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
            buf: Vec::with_capacity(512),
        };
        let request = Nbss::SessionRequest {
            called: EncodedName::new(NetbiosName::truncated(o.name.as_bytes(), suffix::MESSENGER)),
            calling: EncodedName::new(NetbiosName::truncated(CALLING, suffix::WORKSTATION)),
        };
        s.write(&request)?;
        let frame = s.read_frame()?;
        match Nbss::parse(&frame) {
            Ok(Nbss::PositiveSessionResponse) => Ok(s),
            Ok(_) => Err(Failure::Session),
            Err(_) => Err(Failure::Protocol),
        }
    }

    fn write(&mut self, packet: &Nbss<'_>) -> Result<(), Failure> {
        let bytes = packet.to_vec().map_err(|_| Failure::Protocol)?;
        self.stream.write_all(&bytes).map_err(|e| io_failure(&e))
    }

    /// Reads one whole NBSS packet (keep-alives included).
    fn read_frame(&mut self) -> Result<Vec<u8>, Failure> {
        loop {
            if let Some(n) = nbss::frame_len(&self.buf, nbss::DEFAULT_MAX_FRAME_LEN)
                .map_err(|_| Failure::Protocol)?
            {
                return Ok(self.buf.drain(..n).collect());
            }
            let mut chunk = [0u8; 2048];
            let n = self.stream.read(&mut chunk).map_err(|e| io_failure(&e))?;
            if n == 0 {
                return Err(Failure::Io);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends one message and waits for every reply: `Ok` only when the END
    /// was answered with success.
    fn send(&mut self, o: &Options, text: &[u8]) -> Result<(), Failure> {
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

/// What one session thread saw.
#[derive(Debug, Default, Clone)]
struct Tally {
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
    /// Per accepted message, µs: from the first byte of the message (the
    /// connect, with `--fresh`) to the success reply to END.
    latencies_us: Vec<u32>,
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
        self.latencies_us.extend(o.latencies_us);
    }
}

/// A tag that differs between runs (and between the runs of one process),
/// so that markers stay unique across the loads of a benchmark.
fn run_tag() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    format!("{:08x}", h.finish() as u32)
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
                let us = started.elapsed().as_micros();
                t.accepted += 1;
                t.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
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
struct Report {
    options: Options,
    elapsed: Duration,
    tally: Tally,
    latency: Latency,
}

impl Report {
    fn new(options: Options, elapsed: Duration, mut tally: Tally) -> Report {
        Report {
            latency: Latency::of(&mut tally.latencies_us),
            options,
            elapsed,
            tally,
        }
    }

    /// Accepted messages per second.
    fn rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.tally.accepted as f64 / s
        } else {
            0.0
        }
    }

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
        let _ = writeln!(
            s,
            "  latency µs: p50 {}  p90 {}  p99 {}  max {}",
            self.latency.p50_us, self.latency.p90_us, self.latency.p99_us, self.latency.max_us
        );
        s
    }

    fn json(&self) -> String {
        let (t, o) = (&self.tally, &self.options);
        format!(
            "{{\"target\":\"{}\",\"name\":\"{}\",\"sessions\":{},\"fresh\":{},\"text_len\":{},\
             \"duration_s\":{:.3},\"attempted\":{},\"accepted\":{},\"errors\":{},\
             \"connect_errors\":{},\"session_errors\":{},\"refused\":{},\"timeouts\":{},\
             \"io_errors\":{},\"protocol_errors\":{},\"connections\":{},\"rate\":{:.1},\
             \"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\"max_us\":{}}}",
            o.target,
            o.name.replace(['"', '\\'], "_"),
            o.sessions,
            o.fresh,
            message_text("00000000", 0, 0, o.text_len).len(),
            self.elapsed.as_secs_f64(),
            t.attempted,
            t.accepted,
            t.errors(),
            t.connect,
            t.session,
            t.refused,
            t.timeout,
            t.io,
            t.protocol,
            t.connections,
            self.rate(),
            self.latency.p50_us,
            self.latency.p90_us,
            self.latency.p99_us,
            self.latency.max_us
        )
    }
}

/// Runs the load for `o.duration` and reports.
fn run(o: &Options) -> Report {
    let tag = run_tag();
    let budget = AtomicU64::new(0);
    let start = Instant::now();
    let end = start + o.duration;
    let tally = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..o.sessions)
            .map(|id| {
                let (budget, tag) = (&budget, tag.as_str());
                scope.spawn(move || worker(o, tag, id, end, budget))
            })
            .collect();
        let mut total = Tally::default();
        for h in handles {
            if let Ok(t) = h.join() {
                total.merge(t);
            }
        }
        total
    });
    Report::new(o.clone(), start.elapsed(), tally)
}

/// Probe mode: a session request (no message) every 250 ms until one is
/// accepted (returns how long it took) or the duration ends (`None`).
fn probe(o: &Options) -> Option<Duration> {
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

fn main() -> ExitCode {
    match main_inner() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("smb-load: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn main_inner() -> Result<ExitCode> {
    let o = match parse_args(std::env::args().skip(1))? {
        Command::Help => {
            cli::print_help::<Args>();
            return Ok(ExitCode::SUCCESS);
        }
        Command::Run(o) => o,
    };
    if o.probe {
        return Ok(match probe(&o) {
            Some(after) => {
                println!(
                    "smb-load: {} accepted a session for {}<03> after {} ms",
                    o.target,
                    o.name,
                    after.as_millis()
                );
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "smb-load: {} accepted no session for {}<03> within {:.1} s",
                    o.target,
                    o.name,
                    o.duration.as_secs_f64()
                );
                ExitCode::from(1)
            }
        });
    }
    let report = run(&o);
    if o.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.human());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use messngr_proto::assembly::{Action, Receiver, ReceiverConfig, Refusal};
    use std::net::TcpListener;
    use std::sync::Mutex;

    fn args(s: &str) -> Result<Command> {
        parse_args(s.split_whitespace().map(str::to_owned))
    }

    fn options(s: &str) -> Options {
        match args(s).unwrap() {
            Command::Run(o) => o,
            Command::Help => panic!("help"),
        }
    }

    #[test]
    fn arguments_parse_with_defaults() {
        let o = options("--target 10.77.0.1 --name BENCHBOX");
        assert_eq!(o.target, "10.77.0.1:139".parse().unwrap());
        assert_eq!((o.sessions, o.duration.as_secs()), (8, 10));
        assert_eq!((o.fresh, o.text_len, o.json), (false, 100, false));
        let o = options(
            "--target 10.77.0.1 --name x --sessions 3 --duration 0.5 --fresh --text-len 1600 --json --port 1139",
        );
        assert_eq!(o.target.port(), 1139);
        assert_eq!((o.sessions, o.duration), (3, Duration::from_millis(500)));
        assert!(o.fresh && o.json);
        assert_eq!(o.text_len, 1600);
        assert_eq!(args("--help").unwrap(), Command::Help);
        for bad in [
            "--name X",
            "--target 10.77.0.1",
            "--target 10.77.0.1 --name SIXTEENCHARSLONG",
            "--target 10.77.0.1 --name X --sessions 0",
            "--target 10.77.0.1 --name X --duration 0",
            "--target 10.77.0.1 --name X --text-len 70000",
            "--target 10.77.0.1 --name X --max-messages 0",
            "--target 10.77.0.1 --name X --bogus",
        ] {
            assert!(args(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn texts_are_unique_lines_of_the_asked_length() {
        let a = message_text("t7", 1, 2, 100);
        assert_eq!(a.len(), 100);
        assert!(a.starts_with(b"msgbench-t7-1-2 "));
        assert_eq!(a.iter().filter(|&&b| b == b'\n').count(), 1);
        assert_eq!(a.last(), Some(&b'\n'));
        assert_ne!(a, message_text("t7", 1, 3, 100));
        assert_ne!(a, message_text("t7", 2, 2, 100));
        assert_ne!(a, message_text("t8", 1, 2, 100));
        // Too short for the marker: the marker wins.
        assert_eq!(message_text("t7", 1, 2, 1), b"msgbench-t7-1-2 \n");
        let tag = run_tag();
        assert_eq!(tag.len(), 8);
        assert_ne!(tag, run_tag());
    }

    /// A receiver on loopback built from `assembly::Receiver`: accepts
    /// sessions for `called`, acknowledges every message (or refuses the
    /// ones containing "refuse"), records the texts.
    fn serve(listener: TcpListener, called: &'static str, texts: &Mutex<Vec<Vec<u8>>>) {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = Vec::new();
            let mut rx: Option<Receiver> = None;
            'conn: loop {
                while let Ok(Some(n)) = nbss::frame_len(&buf, 8192) {
                    let frame: Vec<u8> = buf.drain(..n).collect();
                    let answer = match Nbss::parse(&frame).unwrap() {
                        Nbss::SessionRequest { called: c, .. } => {
                            if c.name == NetbiosName::truncated(called.as_bytes(), 3) {
                                rx = Some(Receiver::new(ReceiverConfig::default(), Instant::now()));
                                Nbss::PositiveSessionResponse.to_vec().unwrap()
                            } else {
                                let no = Nbss::NegativeSessionResponse {
                                    error_code: nbss::ErrorCode::CalledNameNotPresent,
                                };
                                let _ = stream.write_all(&no.to_vec().unwrap());
                                break 'conn;
                            }
                        }
                        Nbss::SessionMessage { payload } => {
                            let rx = rx.as_mut().unwrap();
                            let smb = match rx.handle(Instant::now(), payload) {
                                Action::Reply(smb) => smb,
                                Action::Deliver { token, message } => {
                                    if message.text.windows(6).any(|w| w == b"refuse") {
                                        rx.refuse(token, Refusal::NoRoom).unwrap()
                                    } else {
                                        texts.lock().unwrap().push(message.text);
                                        rx.accept(token).unwrap()
                                    }
                                }
                                other => panic!("{other:?}"),
                            };
                            Nbss::SessionMessage { payload: &smb }.to_vec().unwrap()
                        }
                        other => panic!("{other:?}"),
                    };
                    if stream.write_all(&answer).is_err() {
                        break 'conn;
                    }
                }
                let mut chunk = [0u8; 2048];
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        }
    }

    fn loopback(called: &'static str) -> (u16, &'static Mutex<Vec<Vec<u8>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let texts: &'static Mutex<Vec<Vec<u8>>> = Box::leak(Box::default());
        std::thread::spawn(move || serve(listener, called, texts));
        (port, texts)
    }

    fn opts(port: u16, name: &str, fresh: bool) -> Options {
        Options {
            target: SocketAddrV4::new(Ipv4Addr::LOCALHOST, port),
            name: name.into(),
            sessions: 1,
            duration: Duration::from_secs(5),
            fresh,
            text_len: 300,
            max_messages: 5,
            timeout: Duration::from_secs(5),
            probe: false,
            json: true,
        }
    }

    /// Every accepted message arrived whole; `--fresh` opens one connection
    /// per message, persistent sessions one in all.
    #[test]
    fn runs_count_what_the_receiver_acknowledged() {
        let (port, texts) = loopback("BENCHBOX");
        let o = opts(port, "BENCHBOX", false);
        assert!(probe(&o).is_some());
        let r = run(&o);
        assert_eq!(
            (r.tally.accepted, r.tally.errors()),
            (5, 0),
            "{}",
            r.human()
        );
        assert_eq!(r.tally.connections, 1);
        let r = run(&Options { fresh: true, ..o });
        assert_eq!((r.tally.accepted, r.tally.connections), (5, 5));
        assert!(r.latency.p50_us <= r.latency.p99_us && r.latency.p99_us <= r.latency.max_us);
        assert!(r.json().contains("\"accepted\":5,"), "{}", r.json());
        let texts = texts.lock().unwrap();
        assert_eq!(texts.len(), 10);
        // Three blocks each (300 bytes), unique, as built.
        let mut sorted = texts.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 10);
        assert!(texts.iter().all(|t| t.len() == 300 && t.ends_with(b"\n")));
    }

    #[test]
    fn refusals_and_foreign_names_are_errors() {
        let (port, _) = loopback("BENCHBOX");
        let o = opts(port, "OTHER", false);
        assert!(
            probe(&Options {
                duration: Duration::from_millis(300),
                ..o.clone()
            })
            .is_none()
        );
        let r = run(&o);
        assert_eq!((r.tally.accepted, r.tally.session), (0, 5), "{}", r.human());
        // A receiver that refuses at END: counted, never accepted.
        let o = opts(port, "BENCHBOX", false);
        let mut s = Session::open(&o).unwrap();
        assert_eq!(s.send(&o, b"please refuse me"), Err(Failure::Refused));
        assert_eq!(s.send(&o, b"but take me"), Ok(()));
        // Nobody listening.
        drop(TcpListener::bind("127.0.0.1:0").map(|l| {
            let port = l.local_addr().unwrap().port();
            drop(l);
            let r = run(&opts(port, "BENCHBOX", true));
            assert_eq!(r.tally.connect, 5);
        }));
    }
}
