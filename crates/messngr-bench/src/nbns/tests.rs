use super::*;
use crate::Report as _;
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
    // The keys bench/nbns.sh reads, in their order, on one line.
    let json = report.json().unwrap();
    let v = crate::tests::json_line(
        &json,
        &[
            "target",
            "name",
            "concurrency",
            "sources",
            "duration_s",
            "sent",
            "answered",
            "lost",
            "wrong",
            "stale",
            "send_errors",
            "rate",
            "p50_us",
            "p90_us",
            "p99_us",
            "max_us",
        ],
    );
    assert_eq!(v["answered"], t.answered);
    assert_eq!(v["p99_us"], report.latency.p99_us);
    assert_eq!(v["target"], format!("127.0.0.1:{port}"));
}
