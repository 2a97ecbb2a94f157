//! # messngr-bench
//!
//! The load generator behind `bench/nbns.sh` (issue #3): `nbns-load` sends
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

pub mod cli;

pub use cli::MAX_DURATION;

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
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run with these options.
    Run(Options),
    /// `--help`.
    Help,
}

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
    /// Latency of every correct answer, µs.
    pub latencies_us: Vec<u32>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.sent += other.sent;
        self.answered += other.answered;
        self.lost += other.lost;
        self.wrong += other.wrong;
        self.stale += other.stale;
        self.send_errors += other.send_errors;
        self.latencies_us.extend(other.latencies_us);
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

/// Latency percentiles (µs), nearest rank; zeros when nothing was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latency {
    /// Median.
    pub p50_us: u32,
    /// p90.
    pub p90_us: u32,
    /// p99.
    pub p99_us: u32,
    /// Slowest.
    pub max_us: u32,
}

impl Latency {
    /// Sorts `latencies_us` and reads the percentiles off it.
    pub fn of(latencies_us: &mut [u32]) -> Latency {
        latencies_us.sort_unstable();
        let l = &*latencies_us;
        Latency {
            p50_us: percentile(l, 50.0),
            p90_us: percentile(l, 90.0),
            p99_us: percentile(l, 99.0),
            max_us: l.last().copied().unwrap_or(0),
        }
    }
}

impl Report {
    fn new(options: Options, elapsed: Duration, mut tally: Tally) -> Self {
        Self {
            latency: Latency::of(&mut tally.latencies_us),
            options,
            elapsed,
            tally,
        }
    }

    /// Correct answers per second.
    pub fn rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.tally.answered as f64 / s
        } else {
            0.0
        }
    }

    /// The report for people.
    pub fn human(&self) -> String {
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
        let _ = writeln!(
            s,
            "  latency µs: p50 {}  p90 {}  p99 {}  max {}",
            self.latency.p50_us, self.latency.p90_us, self.latency.p99_us, self.latency.max_us
        );
        s
    }

    /// The report as one JSON object (one line).
    pub fn json(&self) -> String {
        let t = &self.tally;
        let o = &self.options;
        format!(
            "{{\"target\":\"{}\",\"name\":\"{}\",\"concurrency\":{},\"sources\":{},\
             \"duration_s\":{:.3},\"sent\":{},\"answered\":{},\"lost\":{},\"wrong\":{},\
             \"stale\":{},\"send_errors\":{},\"rate\":{:.1},\"p50_us\":{},\"p90_us\":{},\
             \"p99_us\":{},\"max_us\":{}}}",
            o.target,
            json_escape(&o.name.to_string()),
            o.concurrency,
            o.sources.len().max(1),
            self.elapsed.as_secs_f64(),
            t.sent,
            t.answered,
            t.lost,
            t.wrong,
            t.stale,
            t.send_errors,
            self.rate(),
            self.latency.p50_us,
            self.latency.p90_us,
            self.latency.p99_us,
            self.latency.max_us
        )
    }
}

fn json_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c if c.is_control() => format!("\\u{:04x}", u32::from(c)).chars().collect(),
            c => vec![c],
        })
        .collect()
}

/// Nearest-rank percentile of sorted values (0 when empty).
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
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
                            let us = sent_at.elapsed().as_micros();
                            tally.answered += 1;
                            tally
                                .latencies_us
                                .push(u32::try_from(us).unwrap_or(u32::MAX));
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
    let ids = TrnIds(AtomicU16::new(seed_u16()));
    let start = Instant::now();
    let end = start + o.duration;
    let tally = std::thread::scope(|scope| {
        let handles: Vec<_> = sockets
            .iter()
            .map(|s| {
                let ids = &ids;
                scope.spawn(move || worker(o, s, ids, end))
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
    let ids = TrnIds(AtomicU16::new(seed_u16()));
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

/// A start value for NAME_TRN_IDs that differs between runs.
fn seed_u16() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish() as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use messngr_proto::wire::nbns::{NbEntries, NbEntry, Ont};

    fn name() -> NetbiosName {
        "BENCHBOX#03".parse().unwrap()
    }

    fn answer(trn_id: u16, name: NetbiosName, ip: Ipv4Addr) -> Vec<u8> {
        let owner = NbEntries::one(NbEntry::new(false, Ont::B, ip));
        Repr::positive_query_response(trn_id, EncodedName::new(name), 0, owner, true)
            .to_vec()
            .unwrap()
    }

    #[test]
    fn the_query_is_what_nmblookup_u_sends() {
        let q = query_template(name()).unwrap();
        assert_eq!(&q[2..4], &[0x00, 0x00], "unicast, RD clear");
        let repr = Repr::parse(&q).unwrap();
        assert_eq!(repr.question.unwrap().name.name, name());
        assert!(repr.answers.is_empty() && repr.additional.is_empty());
    }

    #[test]
    fn answers_are_judged() {
        let ip = Ipv4Addr::new(10, 77, 0, 1);
        let n = name();
        assert_eq!(judge(&answer(7, n, ip), 7, &n, ip), Verdict::Answer);
        assert_eq!(judge(&answer(8, n, ip), 7, &n, ip), Verdict::Stale);
        let other = Ipv4Addr::new(10, 77, 0, 9);
        assert_eq!(judge(&answer(7, n, other), 7, &n, ip), Verdict::Wrong);
        let other_name: NetbiosName = "BENCHBOX#20".parse().unwrap();
        assert_eq!(judge(&answer(7, other_name, ip), 7, &n, ip), Verdict::Wrong);
        let negative = Repr::negative_query_response(7, EncodedName::new(n), Rcode::NamErr)
            .to_vec()
            .unwrap();
        assert_eq!(judge(&negative, 7, &n, ip), Verdict::Wrong);
        assert_eq!(judge(&[0, 7, 0x85], 7, &n, ip), Verdict::Wrong);
        assert_eq!(judge(&[0], 7, &n, ip), Verdict::Stale);
        // Our own query echoed back is not an answer.
        let mut q = query_template(n).unwrap();
        q[..2].copy_from_slice(&7u16.to_be_bytes());
        assert_eq!(judge(&q, 7, &n, ip), Verdict::Wrong);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[5], 99.0), 5);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn arguments_parse_with_defaults() {
        let args = |s: &str| parse_args(s.split_whitespace().map(str::to_owned));
        let Command::Run(o) = args("--target 10.77.0.1 --name BENCHBOX#03").unwrap() else {
            panic!("not a run");
        };
        assert_eq!(o.target, "10.77.0.1:137".parse().unwrap());
        assert_eq!(o.expect, Ipv4Addr::new(10, 77, 0, 1));
        assert_eq!((o.concurrency, o.duration.as_secs()), (8, 10));
        let Command::Run(o) = args(
            "--target 10.77.0.1 --name X#20 --source 10.77.0.100-10.77.0.102 --source 10.77.0.9 --duration 0.5 --json",
        )
        .unwrap() else {
            panic!("not a run");
        };
        assert_eq!(o.sources.len(), 4);
        assert_eq!(o.duration, Duration::from_millis(500));
        assert!(o.json);
        assert_eq!(args("--help").unwrap(), Command::Help);
        for bad in [
            "--name X",
            "--target 10.77.0.1",
            "--target x --name X",
            "--target 10.77.0.1 --name X --concurrency 0",
            "--target 10.77.0.1 --name X --duration -1",
            "--target 10.77.0.1 --name X --source 10.77.0.9-10.77.0.1",
            "--target 10.77.0.1 --name X --bogus",
            "--target 10.77.0.1 --name X --port",
        ] {
            assert!(args(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn sources_are_dealt_to_workers() {
        let mut o = match parse_args(
            "--target 127.0.0.1 --name X --concurrency 2 --source 127.0.0.1-127.0.0.5"
                .split_whitespace()
                .map(str::to_owned),
        )
        .unwrap()
        {
            Command::Run(o) => o,
            Command::Help => panic!(),
        };
        let ips = |w: usize, o: &Options| -> Vec<Ipv4Addr> {
            worker_sockets(o, w)
                .unwrap()
                .iter()
                .map(|s| match s.local_addr().unwrap() {
                    SocketAddr::V4(a) => *a.ip(),
                    SocketAddr::V6(_) => panic!(),
                })
                .collect()
        };
        assert_eq!(ips(0, &o).len(), 3);
        assert_eq!(ips(1, &o).len(), 2);
        o.concurrency = 8;
        assert_eq!(ips(6, &o), [Ipv4Addr::new(127, 0, 0, 2)]);
    }

    /// A whole run against a tiny in-process responder on loopback.
    #[test]
    fn a_short_run_counts_answers() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let port = server.local_addr().unwrap().port();
        let stop = std::sync::atomic::AtomicBool::new(false);
        let report = std::thread::scope(|s| {
            s.spawn(|| {
                let mut buf = [0u8; 1500];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok((n, from)) = server.recv_from(&mut buf) {
                        let q = Repr::parse(&buf[..n]).unwrap();
                        let a = answer(q.trn_id, name(), Ipv4Addr::LOCALHOST);
                        server.send_to(&a, from).unwrap();
                    }
                }
            });
            let o = Options {
                target: SocketAddrV4::new(Ipv4Addr::LOCALHOST, port),
                name: name(),
                expect: Ipv4Addr::LOCALHOST,
                duration: Duration::from_millis(200),
                concurrency: 2,
                timeout: Duration::from_millis(200),
                sources: vec![],
                probe: false,
                json: true,
            };
            assert!(probe(&o).unwrap().is_some());
            let r = run(&o).unwrap();
            stop.store(true, Ordering::Relaxed);
            r
        });
        let t = &report.tally;
        assert!(t.answered > 0, "{}", report.human());
        assert_eq!(t.sent, t.answered + t.lost + t.wrong);
        assert_eq!(t.wrong, 0);
        assert!(
            report.latency.p50_us <= report.latency.p99_us
                && report.latency.p99_us <= report.latency.max_us
        );
        assert!(report.json().contains("\"answered\":"));
    }
}
