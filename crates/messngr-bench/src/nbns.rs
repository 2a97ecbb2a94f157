//! `nbns-load`, the load generator behind `bench/nbns.sh` (issue #3): `nbns-load` sends
//! unicast NBNS name queries to one server as fast as it answers and reports
//! how many were answered per second and how long each answer took.
//!
//! Why it exists: the goal "answer name queries at least twice as fast as
//! nmbd, with a p99 latency no worse" needs one yardstick applied to both
//! servers, on the same namespace LAN, with the same client. Samba's
//! `nmblookup` starts a process per query and measures nothing; this tool
//! keeps `N` queries in flight (closed loop: each worker sends the next query
//! when the previous one is answered or timed out) and checks every answer,
//! so a fast server that answers wrongly does not win.
//!
//! Why it is this plain: blocking `std::net::UdpSocket`s, one thread per
//! worker, no runtime. The client shares the CPU with the server under test,
//! so it must be cheap per query: the request is built once with the
//! `messngr-proto` codec and only its NAME_TRN_ID is patched per send.
//!
//! Sources: messngr limits how many datagrams one source address may send per
//! second (`messngr-daemon`'s `limit` module), as a LAN of many hosts would
//! look to it. `--source` lets the workers send from several addresses of the
//! client host so that the server's capacity, not that per-host limit, is
//! measured; with a single source the limit is what you see.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use messngr_proto::wire::Emit;
use messngr_proto::wire::name::{EncodedName, NetbiosName};
use messngr_proto::wire::nbns::{Opcode, PORT, Rcode, Repr};
use serde::Serialize;

use crate::cli;
use crate::latency::{Latencies, Latency, per_second, rounded};

#[cfg(test)]
mod tests;

/// Most workers accepted.
pub const MAX_CONCURRENCY: usize = 256;
/// Most source addresses accepted (each is one socket).
pub const MAX_SOURCES: usize = 512;

/// `nbns-load`'s command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "nbns-load",
    about = "Closed-loop NBNS name query load generator (messngr benchmarks)"
)]
pub struct Args {
    /// Server to query (UDP port 137, or --port).
    #[arg(long, value_name = "IP")]
    target: Ipv4Addr,
    /// Name to ask for, e.g. BENCHBOX#03.
    #[arg(long, value_name = "NAME#xx", value_parser = parse_name)]
    name: NetbiosName,
    /// Address the answer must carry (default: the target).
    #[arg(long, value_name = "IP")]
    expect: Option<Ipv4Addr>,
    /// How long to run, in seconds (at most 600).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = cli::seconds)]
    duration: Duration,
    /// Workers, each with one query in flight (1 to 256).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = cli::count(1, MAX_CONCURRENCY as u64))]
    concurrency: u64,
    /// A query unanswered this long is lost (1 to 60000).
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = cli::count(1, 60_000))]
    timeout_ms: u64,
    /// Send from this address (IP) or these (IP-IP, same /24); repeatable;
    /// default: the kernel's choice.
    #[arg(long = "source", value_name = "SPEC", value_parser = parse_sources)]
    sources: Vec<Vec<Ipv4Addr>>,
    /// Server port.
    #[arg(long, default_value_t = PORT)]
    port: u16,
    /// Send one query every 250 ms until one is answered correctly (exit 0)
    /// or the duration ends (exit 1).
    #[arg(long)]
    probe: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The server.
    pub target: SocketAddrV4,
    /// The name asked for.
    pub name: NetbiosName,
    /// The address a correct answer carries.
    pub expect: Ipv4Addr,
    /// Run time.
    pub duration: Duration,
    /// Workers.
    pub concurrency: usize,
    /// Per-query timeout.
    pub timeout: Duration,
    /// Source addresses (empty: unspecified).
    pub sources: Vec<Ipv4Addr>,
    /// Probe mode.
    pub probe: bool,
    /// JSON output.
    pub json: bool,
}

/// The command line: options, or a request for help.
pub type Command = cli::Parsed<Options>;

/// Parses the arguments (without the program name).
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command> {
    let a: Args = match cli::parse("nbns-load", args)? {
        cli::Parsed::Help => return Ok(Command::Help),
        cli::Parsed::Run(a) => a,
    };
    let sources: Vec<Ipv4Addr> = a.sources.into_iter().flatten().collect();
    if sources.len() > MAX_SOURCES {
        bail!("--source: at most {MAX_SOURCES} addresses");
    }
    Ok(Command::Run(Options {
        target: SocketAddrV4::new(a.target, a.port),
        name: a.name,
        expect: a.expect.unwrap_or(a.target),
        duration: a.duration,
        concurrency: usize::try_from(a.concurrency).unwrap_or(MAX_CONCURRENCY),
        timeout: Duration::from_millis(a.timeout_ms),
        sources,
        probe: a.probe,
        json: a.json,
    }))
}

fn parse_name(v: &str) -> Result<NetbiosName> {
    v.parse()
        .map_err(|e| anyhow::anyhow!("{e} (a name like BENCHBOX#03)"))
}

fn parse_ip(opt: &str, v: &str) -> Result<Ipv4Addr> {
    v.parse()
        .with_context(|| format!("{opt} {v:?}: not an IPv4 address"))
}

/// `IP` or `IP-IP` (an inclusive range within one /24).
pub fn parse_sources(spec: &str) -> Result<Vec<Ipv4Addr>> {
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(vec![parse_ip("--source", spec)?]);
    };
    let (a, b) = (parse_ip("--source", a)?, parse_ip("--source", b)?);
    let (oa, ob) = (a.octets(), b.octets());
    if oa[..3] != ob[..3] || oa[3] > ob[3] {
        bail!("--source {spec:?}: a range is FIRST-LAST within one /24, FIRST <= LAST");
    }
    Ok((oa[3]..=ob[3])
        .map(|last| Ipv4Addr::new(oa[0], oa[1], oa[2], last))
        .collect())
}

/// The query every worker sends: built with the codec as `nmblookup -U`
/// sends it (unicast, RD clear: flags 0x0000). Only the first two bytes
/// (NAME_TRN_ID) change from query to query.
pub fn query_template(name: NetbiosName) -> Result<Vec<u8>> {
    let mut repr = Repr::name_query_request(0, EncodedName::new(name), false);
    repr.flags.recursion_desired = false;
    repr.to_vec()
        .map_err(|e| anyhow::anyhow!("cannot encode the query: {e}"))
}

/// What one received datagram means for the query waiting for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A positive name query response for our name carrying the expected address.
    Answer,
    /// A response to our query, but not the right one (negative, wrong name
    /// or address, does not parse).
    Wrong,
    /// Not for this query (another NAME_TRN_ID: a late answer to a query
    /// already counted as lost, or a stranger).
    Stale,
}

/// Judges `bytes` as the answer to query `trn_id` for `name`.
pub fn judge(bytes: &[u8], trn_id: u16, name: &NetbiosName, expect: Ipv4Addr) -> Verdict {
    let Some(id) = bytes.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
        return Verdict::Stale;
    };
    if id != trn_id {
        return Verdict::Stale;
    }
    let Ok(repr) = Repr::parse(bytes) else {
        return Verdict::Wrong;
    };
    let f = repr.flags;
    if !f.response || f.opcode != Opcode::Query || f.rcode != Rcode::NoError {
        return Verdict::Wrong;
    }
    let Some(rr) = repr.answers.first() else {
        return Verdict::Wrong;
    };
    let name_ok = rr.name.netbios().is_some_and(|n| n.name == *name);
    let addr_ok = rr
        .nb_entries()
        .is_some_and(|e| e.iter().any(|o| o.address == expect));
    if name_ok && addr_ok {
        Verdict::Answer
    } else {
        Verdict::Wrong
    }
}

/// NAME_TRN_IDs: one counter for all workers, so that ids in flight are
/// distinct (a worker has one query in flight; 65 536 ids wrap far slower
/// than any timeout).
#[derive(Debug, Default)]
pub struct TrnIds(AtomicU16);

impl TrnIds {
    /// The next id.
    pub fn next(&self) -> u16 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

/// What one worker saw.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Queries sent.
    pub sent: u64,
    /// Correct answers.
    pub answered: u64,
    /// Queries without a correct or wrong answer within the timeout.
    pub lost: u64,
    /// Wrong answers (see [`Verdict::Wrong`]).
    pub wrong: u64,
    /// Datagrams that answered nothing in flight ([`Verdict::Stale`], or from another address).
    pub stale: u64,
    /// Sends that failed.
    pub send_errors: u64,
    /// Latency of every correct answer.
    pub latencies: Latencies,
}

impl crate::Tally for Tally {
    fn merge(&mut self, other: Tally) {
        self.sent += other.sent;
        self.answered += other.answered;
        self.lost += other.lost;
        self.wrong += other.wrong;
        self.stale += other.stale;
        self.send_errors += other.send_errors;
        self.latencies.merge(&other.latencies);
    }
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct Report {
    /// What was run.
    pub options: Options,
    /// Wall time from the first send to the last worker's end.
    pub elapsed: Duration,
    /// Counts.
    pub tally: Tally,
    /// Latency percentiles of correct answers.
    pub latency: Latency,
}

impl Report {
    fn new(options: Options, elapsed: Duration, tally: Tally) -> Self {
        Self {
            latency: tally.latencies.percentiles(),
            options,
            elapsed,
            tally,
        }
    }

    /// Correct answers per second.
    pub fn rate(&self) -> f64 {
        per_second(self.tally.answered, self.elapsed)
    }
}

impl crate::Report for Report {
    /// The report for people.
    fn human(&self) -> String {
        let t = &self.tally;
        let o = &self.options;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "nbns-load: {} for {} with {} workers from {} source(s), {:.1} s",
            o.target,
            o.name,
            o.concurrency,
            o.sources.len().max(1),
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(
            s,
            "  sent {}  answered {}  lost {}  wrong {}  stale {}  send errors {}",
            t.sent, t.answered, t.lost, t.wrong, t.stale, t.send_errors
        );
        let _ = writeln!(s, "  {:.0} answered/s", self.rate());
        s + &self.latency.human()
    }

    /// The report as one JSON object (one line; bench/nbns.sh reads it).
    fn json(&self) -> serde_json::Result<String> {
        let (t, o) = (&self.tally, &self.options);
        serde_json::to_string(&Json {
            target: o.target.to_string(),
            name: o.name.to_string(),
            concurrency: o.concurrency,
            sources: o.sources.len().max(1),
            duration_s: rounded(self.elapsed.as_secs_f64(), 3),
            sent: t.sent,
            answered: t.answered,
            lost: t.lost,
            wrong: t.wrong,
            stale: t.stale,
            send_errors: t.send_errors,
            rate: rounded(self.rate(), 1),
            latency: self.latency,
        })
    }
}

/// [`Report::json`]'s fields, in the order printed.
#[derive(Serialize)]
struct Json {
    target: String,
    name: String,
    concurrency: usize,
    sources: usize,
    duration_s: f64,
    sent: u64,
    answered: u64,
    lost: u64,
    wrong: u64,
    stale: u64,
    send_errors: u64,
    rate: f64,
    #[serde(flatten)]
    latency: Latency,
}

/// The sockets of worker `w`: one per source address it owns. Sources are
/// dealt round-robin, so each address is used by one worker when there are
/// at least as many sources as workers, and shared (with distinct ports)
/// otherwise.
fn worker_sockets(o: &Options, w: usize) -> Result<Vec<UdpSocket>> {
    let mine: Vec<Ipv4Addr> = if o.sources.is_empty() {
        vec![Ipv4Addr::UNSPECIFIED]
    } else if o.sources.len() <= o.concurrency {
        vec![o.sources[w % o.sources.len()]]
    } else {
        o.sources
            .iter()
            .copied()
            .skip(w)
            .step_by(o.concurrency)
            .collect()
    };
    mine.into_iter()
        .map(|ip| {
            let s = UdpSocket::bind(SocketAddrV4::new(ip, 0))
                .with_context(|| format!("cannot bind a UDP socket on {ip}"))?;
            s.set_read_timeout(Some(o.timeout))?;
            Ok(s)
        })
        .collect()
}

/// One worker: query, wait for the answer or the timeout, repeat until `end`.
fn worker(o: &Options, sockets: &[UdpSocket], ids: &TrnIds, end: Instant) -> Tally {
    let mut tally = Tally::default();
    let Ok(mut request) = query_template(o.name) else {
        return tally;
    };
    let mut buf = [0u8; 1500];
    let target = SocketAddr::V4(o.target);
    let mut turn = 0;
    while Instant::now() < end {
        let socket = &sockets[turn % sockets.len()];
        turn = turn.wrapping_add(1);
        let id = ids.next();
        request[..2].copy_from_slice(&id.to_be_bytes());
        let sent_at = Instant::now();
        if socket.send_to(&request, target).is_err() {
            tally.send_errors += 1;
            // Do not spin on a persistent error (no route, no buffer).
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        tally.sent += 1;
        let deadline = sent_at + o.timeout;
        let mut shortened = false;
        loop {
            match socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    let verdict = if from == target {
                        judge(&buf[..n], id, &o.name, o.expect)
                    } else {
                        Verdict::Stale
                    };
                    match verdict {
                        Verdict::Answer => {
                            tally.answered += 1;
                            tally.latencies.record(sent_at.elapsed());
                            break;
                        }
                        Verdict::Wrong => {
                            tally.wrong += 1;
                            break;
                        }
                        Verdict::Stale => {
                            tally.stale += 1;
                            let left = deadline.saturating_duration_since(Instant::now());
                            if left.is_zero() || socket.set_read_timeout(Some(left)).is_err() {
                                tally.lost += 1;
                                break;
                            }
                            shortened = true;
                        }
                    }
                }
                Err(_) => {
                    // Timed out (WouldBlock / TimedOut) or a receive error: lost.
                    tally.lost += 1;
                    break;
                }
            }
        }
        if shortened {
            let _ = socket.set_read_timeout(Some(o.timeout));
        }
    }
    tally
}

/// Runs the load for `o.duration` and reports.
pub fn run(o: &Options) -> Result<Report> {
    query_template(o.name)?;
    let sockets: Vec<Vec<UdpSocket>> = (0..o.concurrency)
        .map(|w| worker_sockets(o, w))
        .collect::<Result<_>>()?;
    let ids = TrnIds(AtomicU16::new(seed_u16()?));
    let start = Instant::now();
    let end = start + o.duration;
    let tally = crate::closed_loop(sockets.len(), |w| worker(o, &sockets[w], &ids, end));
    Ok(Report::new(o.clone(), start.elapsed(), tally))
}

/// Probe mode: one query every 250 ms until a correct answer (returns the
/// time it took) or the duration ends (`None`).
pub fn probe(o: &Options) -> Result<Option<Duration>> {
    let interval = Duration::from_millis(250);
    let socket = UdpSocket::bind(SocketAddrV4::new(
        o.sources.first().copied().unwrap_or(Ipv4Addr::UNSPECIFIED),
        0,
    ))
    .context("cannot bind a UDP socket")?;
    socket.set_read_timeout(Some(interval))?;
    let mut request = query_template(o.name)?;
    let ids = TrnIds(AtomicU16::new(seed_u16()?));
    let start = Instant::now();
    let target = SocketAddr::V4(o.target);
    let mut buf = [0u8; 1500];
    while start.elapsed() < o.duration {
        let id = ids.next();
        request[..2].copy_from_slice(&id.to_be_bytes());
        let sent_at = Instant::now();
        // A failed send (no route yet) is retried at the next interval.
        let _ = socket.send_to(&request, target);
        while let Some(left) = (sent_at + interval).checked_duration_since(Instant::now()) {
            if left.is_zero() || socket.set_read_timeout(Some(left)).is_err() {
                break;
            }
            match socket.recv_from(&mut buf) {
                Ok((n, from)) if from == target => {
                    if judge(&buf[..n], id, &o.name, o.expect) == Verdict::Answer {
                        return Ok(Some(start.elapsed()));
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    Ok(None)
}

/// A random start value for NAME_TRN_IDs, so that runs differ.
fn seed_u16() -> Result<u16> {
    let mut bytes = [0u8; 2];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no random NAME_TRN_ID: {e}"))?;
    Ok(u16::from_be_bytes(bytes))
}
