use super::*;
use crate::Report as _;
use messngr_proto::assembly::{Action, Receiver, ReceiverConfig, Refusal};
use messngr_proto::wire::Emit;
use messngr_proto::wire::nbss::{self, Repr as Nbss};
use std::io::{Read, Write};
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
    let tag = run_tag().unwrap();
    assert_eq!(tag.len(), 8);
    assert!(tag.bytes().all(|b| b.is_ascii_hexdigit()), "{tag}");
    assert_ne!(tag, run_tag().unwrap());
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
    let r = run(&o).unwrap();
    assert_eq!(
        (r.tally.accepted, r.tally.errors()),
        (5, 0),
        "{}",
        r.human()
    );
    assert_eq!(r.tally.connections, 1);
    let r = run(&Options { fresh: true, ..o }).unwrap();
    assert_eq!((r.tally.accepted, r.tally.connections), (5, 5));
    assert!(r.latency.p50_us <= r.latency.p99_us && r.latency.p99_us <= r.latency.max_us);
    // The keys bench/messages.sh reads, in their order, on one line.
    let json = r.json().unwrap();
    let v = crate::tests::json_line(
        &json,
        &[
            "target",
            "name",
            "sessions",
            "fresh",
            "text_len",
            "duration_s",
            "attempted",
            "accepted",
            "errors",
            "connect_errors",
            "session_errors",
            "refused",
            "timeouts",
            "io_errors",
            "protocol_errors",
            "connections",
            "rate",
            "p50_us",
            "p90_us",
            "p99_us",
            "max_us",
        ],
    );
    assert_eq!(
        (&v["accepted"], &v["errors"], &v["fresh"]),
        (&5.into(), &0.into(), &true.into())
    );
    assert_eq!(
        (&v["name"], &v["text_len"]),
        (&"BENCHBOX".into(), &300.into())
    );
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
    let r = run(&o).unwrap();
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
        let r = run(&opts(port, "BENCHBOX", true)).unwrap();
        assert_eq!(r.tally.connect, 5);
    }));
}
