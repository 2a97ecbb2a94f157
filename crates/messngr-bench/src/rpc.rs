//! `rpc-load`, a closed-loop load generator of MS-MSRP `NetrSendMessage`
//! calls over connectionless DCE/RPC (UDP 135), behind `bench/rpc.sh`
//! (issue #13: RPC messages accepted per second, stored durably before the
//! response, next to the SMB path in the same run).
//!
//! Each client is one UDP socket and one activity: its calls are that
//! activity's sequence numbers 0, 1, 2…, one in flight (the next starts
//! when the last was answered or timed out), built by the protocol crate's
//! `Request` as `messngr send --transport rpc` builds them. A call counts
//! only when the response carries `ERROR_SUCCESS` — for messngr, "it is on
//! disk". Lost calls are not retransmitted: a timeout is counted.
//!
//! Every text starts with a marker unique to the message
//! (`rpcbench-RUN-C-N`), so that the receiver's store can be counted and
//! checked for duplicates. Plain blocking sockets, one thread per client,
//! as `smb-load`.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::Result;
use messngr_proto::wire::Emit;
use messngr_proto::wire::dcerpc::msrp::NetrSendMessage;
use messngr_proto::wire::dcerpc::{PacketType, Repr, Request, ShortPdu, Uuid};
use serde::Serialize;

use crate::cli;
use crate::latency::{Latencies, Latency, per_second, rounded};

/// Most clients (one thread each).
pub const MAX_CLIENTS: usize = 256;
/// Longest text: what a Windows client sends at most ([MS-MSRP] §3.2.4.4).
pub const MAX_TEXT_LEN: usize = 652;
/// The sender name in every call.
const FROM: &[u8] = b"LOADGEN";

/// `rpc-load`'s command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "rpc-load",
    about = "Closed-loop MS-MSRP NetrSendMessage load generator (messngr benchmarks)"
)]
pub struct Args {
    /// Receiver (UDP port 135, or --port).
    #[arg(long, value_name = "IP")]
    target: Ipv4Addr,
    /// Recipient name (To): one the receiver holds.
    #[arg(long, value_name = "NAME")]
    name: String,
    /// Clients, one call in flight each (1 to 256).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = cli::count(1, MAX_CLIENTS as u64))]
    clients: u64,
    /// How long to start new calls, in seconds (at most 600).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = cli::seconds)]
    duration: Duration,
    /// Bytes of text per message (at least the unique marker, at most 652).
    #[arg(long, value_name = "BYTES", default_value_t = 100, value_parser = cli::count(0, MAX_TEXT_LEN as u64))]
    text_len: u64,
    /// Time allowed for each answer (1 to 60000).
    #[arg(long, value_name = "MS", default_value_t = 2000, value_parser = cli::count(1, 60_000))]
    timeout_ms: u64,
    /// Receiver port.
    #[arg(long, default_value_t = 135)]
    port: u16,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub target: SocketAddrV4,
    pub name: String,
    pub clients: usize,
    pub duration: Duration,
    pub text_len: usize,
    pub timeout: Duration,
    pub json: bool,
}

/// Parses the arguments (without the program name).
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<cli::Parsed<Options>> {
    let a: Args = match cli::parse("rpc-load", args)? {
        cli::Parsed::Help => return Ok(cli::Parsed::Help),
        cli::Parsed::Run(a) => a,
    };
    Ok(cli::Parsed::Run(Options {
        target: SocketAddrV4::new(a.target, a.port),
        name: a.name,
        clients: usize::try_from(a.clients).unwrap_or(MAX_CLIENTS),
        duration: a.duration,
        text_len: usize::try_from(a.text_len).unwrap_or(MAX_TEXT_LEN),
        timeout: Duration::from_millis(a.timeout_ms),
        json: a.json,
    }))
}

/// The text of call `seq` of client `client` in run `tag` (the marker is
/// never cut: a short `len` gives a longer text).
fn message_text(tag: &str, client: usize, seq: u32, len: usize) -> Vec<u8> {
    let mut t = format!("rpcbench-{tag}-{client}-{seq} ").into_bytes();
    while t.len() < len {
        t.push(b'x');
    }
    t
}

/// What one client counted.
#[derive(Debug, Default)]
pub struct Tally {
    attempted: u64,
    accepted: u64,
    /// Answered with another status, a reject or a fault.
    refused: u64,
    timeouts: u64,
    io_errors: u64,
    latencies: Latencies,
}

impl crate::Tally for Tally {
    fn merge(&mut self, o: Tally) {
        self.attempted += o.attempted;
        self.accepted += o.accepted;
        self.refused += o.refused;
        self.timeouts += o.timeouts;
        self.io_errors += o.io_errors;
        self.latencies.merge(&o.latencies);
    }
}

/// What became of one call.
enum Answer {
    Accepted,
    Refused,
    Timeout,
}

/// One client thread: calls back to back until `end`.
fn worker(o: &Options, tag: &str, id: usize, end: Instant) -> Tally {
    let mut t = Tally::default();
    let socket = match client_socket(o) {
        Ok(s) => s,
        Err(_) => {
            t.io_errors += 1;
            return t;
        }
    };
    let mut act = [0u8; 16];
    if getrandom::fill(&mut act).is_err() {
        t.io_errors += 1;
        return t;
    }
    let act = Uuid::from_bytes(act);
    let mut seq = 0u32;
    while Instant::now() < end {
        let text = message_text(tag, id, seq, o.text_len);
        t.attempted += 1;
        let started = Instant::now();
        match call(&socket, o, act, seq, &text) {
            Ok(Answer::Accepted) => {
                t.accepted += 1;
                t.latencies.record(started.elapsed());
            }
            Ok(Answer::Refused) => t.refused += 1,
            Ok(Answer::Timeout) => t.timeouts += 1,
            Err(_) => t.io_errors += 1,
        }
        seq = seq.wrapping_add(1);
    }
    t
}

fn client_socket(o: &Options) -> std::io::Result<UdpSocket> {
    let s = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
    s.connect(o.target)?;
    s.set_read_timeout(Some(o.timeout))?;
    Ok(s)
}

/// One call: the request, then its answer (others are skipped).
fn call(socket: &UdpSocket, o: &Options, act: Uuid, seq: u32, text: &[u8]) -> Result<Answer> {
    let request = Request::new(
        act,
        seq,
        NetrSendMessage::new(FROM, o.name.as_bytes(), text),
    );
    socket.send(&request.to_vec()?)?;
    let deadline = Instant::now() + o.timeout;
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        let n = match socket.recv(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(Answer::Timeout);
            }
            Err(e) => return Err(e.into()),
        };
        let Ok(repr) = Repr::parse_bytes(&buf[..n]) else {
            continue;
        };
        if repr.header.act_id != act || repr.header.seqnum != seq {
            continue;
        }
        let Ok(pdu) = ShortPdu::parse(&repr) else {
            continue;
        };
        return Ok(match (pdu.header.ptype, pdu.status) {
            (PacketType::Response, Some(0)) => {
                // Let the server forget the call, as a client does.
                let _ = socket.send(&ShortPdu::ack(&pdu.header).to_vec()?);
                Answer::Accepted
            }
            (PacketType::Working, _) => continue,
            _ => Answer::Refused,
        });
    }
    Ok(Answer::Timeout)
}

/// The result of a run.
pub struct Report {
    options: Options,
    elapsed: Duration,
    tally: Tally,
    latency: Latency,
}

impl Report {
    fn rate(&self) -> f64 {
        per_second(self.tally.accepted, self.elapsed)
    }

    fn errors(&self) -> u64 {
        let t = &self.tally;
        t.refused + t.timeouts + t.io_errors
    }
}

impl crate::Report for Report {
    fn human(&self) -> String {
        let (t, o) = (&self.tally, &self.options);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "rpc-load: {} for {}, {} client(s), {}-byte texts, {:.1} s",
            o.target,
            o.name,
            o.clients,
            message_text("00000000", 0, 0, o.text_len).len(),
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(
            s,
            "  attempted {}  accepted {}  errors {} (refused {}, timeout {}, io {})",
            t.attempted,
            t.accepted,
            self.errors(),
            t.refused,
            t.timeouts,
            t.io_errors
        );
        let _ = writeln!(s, "  {:.0} accepted/s", self.rate());
        s + &self.latency.human()
    }

    fn json(&self) -> serde_json::Result<String> {
        let (t, o) = (&self.tally, &self.options);
        serde_json::to_string(&Json {
            target: o.target.to_string(),
            name: &o.name,
            clients: o.clients,
            text_len: message_text("00000000", 0, 0, o.text_len).len(),
            duration_s: rounded(self.elapsed.as_secs_f64(), 3),
            attempted: t.attempted,
            accepted: t.accepted,
            errors: self.errors(),
            refused: t.refused,
            timeouts: t.timeouts,
            io_errors: t.io_errors,
            rate: rounded(self.rate(), 1),
            latency: self.latency,
        })
    }
}

/// [`Report`]'s JSON fields, in the order printed.
#[derive(Serialize)]
struct Json<'a> {
    target: String,
    name: &'a str,
    clients: usize,
    text_len: usize,
    duration_s: f64,
    attempted: u64,
    accepted: u64,
    errors: u64,
    refused: u64,
    timeouts: u64,
    io_errors: u64,
    rate: f64,
    #[serde(flatten)]
    latency: Latency,
}

/// Runs the load for `o.duration` and reports.
pub fn run(o: &Options) -> Result<Report> {
    let mut tag = [0u8; 4];
    getrandom::fill(&mut tag).map_err(|e| anyhow::anyhow!("no random run tag: {e}"))?;
    let tag = hex::encode(tag);
    let start = Instant::now();
    let end = start + o.duration;
    let tally = crate::closed_loop(o.clients, |id| worker(o, &tag, id, end));
    Ok(Report {
        latency: tally.latencies.percentiles(),
        options: o.clone(),
        elapsed: start.elapsed(),
        tally,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_unique_and_sized() {
        let a = message_text("t", 1, 2, 100);
        assert_eq!(a.len(), 100);
        assert!(a.starts_with(b"rpcbench-t-1-2 "));
        assert_ne!(a, message_text("t", 1, 3, 100));
        assert!(message_text("t", 1, 2, 0).starts_with(b"rpcbench-t-1-2"));
    }

    #[test]
    fn a_call_is_a_request_the_server_accepts() {
        let o = Options {
            target: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 135),
            name: "BENCHBOX".into(),
            clients: 1,
            duration: Duration::from_secs(1),
            text_len: 100,
            timeout: Duration::from_secs(1),
            json: false,
        };
        let text = message_text("t", 0, 7, o.text_len);
        let r = Request::new(
            Uuid::from_bytes([1; 16]),
            7,
            NetrSendMessage::new(FROM, b"BENCHBOX", &text),
        );
        let bytes = r.to_vec().unwrap();
        let mut server = messngr_proto::wire::dcerpc::MsrpServer::new(
            messngr_proto::wire::dcerpc::server::Config::new(1),
        );
        match server.handle(Instant::now(), Ipv4Addr::LOCALHOST.into(), &bytes, false) {
            messngr_proto::wire::dcerpc::server::Action::Deliver(c) => {
                assert_eq!(c.message.text.as_bytes(), &text[..]);
                assert_eq!(c.message.to.as_bytes(), o.name.as_bytes());
            }
            other => panic!("{other:?}"),
        }
    }
}
