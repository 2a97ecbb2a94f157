//! The server against the real clients of `messngr-api`: the handshake,
//! typed answers and streams, and bad input that ends one connection only.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use messngr_api::{ApiError, Client, ClientError, ErrorKind, InboxList, Read, Unread, UnreadView};
use messngr_proto::Transport;
use messngr_store::NewMessage;

use super::*;
use crate::inbox::Inbox;
use crate::quiet::Quiet;

struct Server {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    inbox: Arc<Inbox>,
    stop: CancellationToken,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api.sock");
    let inbox = Arc::new(Inbox::open_at(&dir.path().join("inbox.sqlite")));
    let services = services(&inbox);
    let feed = Feed::new(inbox.stored_sender()).with_quiet(services.quiet.changes());
    let stop = CancellationToken::new();
    let listener = bind(&path).unwrap();
    assert!(
        bind(&path).is_err(),
        "a second daemon must not steal the socket"
    );
    let rates = Rates::new(services.settings.api_limits.rate);
    tokio::spawn(serve(listener, services, feed, rates, stop.clone()));
    Server {
        _dir: dir,
        path,
        inbox,
        stop,
    }
}

/// The services of a daemon whose NetBIOS ports are Samba's.
fn services(inbox: &Arc<Inbox>) -> Services {
    let settings = Arc::new(crate::settings::Settings::example());
    Services {
        relay: None,
        alerter: Arc::new(crate::alerter::Alerter::new(
            settings.clone(),
            Arc::new(crate::live::Live::new(&settings)),
            None,
        )),
        settings,
        inbox: inbox.clone(),
        quiet: Quiet::new(inbox.handle().clone(), crate::access::Access::default()),
        policy: Default::default(),
        secure: Arc::new(crate::secure::testing::secure(
            "H1",
            inbox
                .path()
                .parent()
                .unwrap_or(std::path::Path::new("/tmp")),
        )),
        tokens: Arc::new(
            crate::tokens::Tokens::load(
                inbox
                    .path()
                    .parent()
                    .unwrap_or(std::path::Path::new("/tmp")),
            )
            .unwrap(),
        ),
        web: Arc::default(),
        netbios: None,
        delivered: Arc::default(),
        deliveries: None,
        started: std::time::Instant::now(),
    }
}

/// Runs blocking client code off the runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// Writes `lines` on a raw connection and returns every line read until the
/// daemon closes it. The daemon may close before every line is written
/// (that is what bad input gets): a write refused with EPIPE ends writing,
/// and a read that finds the connection reset (the daemon closed with
/// lines of ours unread) ends reading, its answers before that kept.
fn raw(path: &std::path::Path, lines: &[&[u8]]) -> Vec<String> {
    let mut s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    for l in lines {
        match s.write_all(l) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => break,
            Err(e) => panic!("write: {e}"),
        }
    }
    let mut answers = Vec::new();
    for l in BufReader::new(s).lines() {
        match l {
            Ok(l) => answers.push(l),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("read: {e}"),
        }
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_calls_and_an_export_travel_both_ways() {
    let srv = server().await;
    for i in 0..1203 {
        let text = format!("message {i}");
        let m = NewMessage::received(Transport::Smb, "H2", "H1", &text, text.as_bytes());
        srv.inbox.handle().insert(m).await.unwrap();
    }
    let path = srv.path.clone();
    blocking(move || {
        let mut c = Client::connect(&path).unwrap();
        assert_eq!(c.welcome().api, messngr_api::API_VERSION);
        let page = c.call(InboxList::default()).unwrap();
        assert_eq!(page.messages.len(), 50);
        assert_eq!(page.older, 1153);
        assert_eq!(page.messages.last().unwrap().text, "message 1202");
        assert_eq!(
            c.call(Unread {}).unwrap(),
            UnreadView {
                count: 1203,
                urgent: 0
            }
        );
        match c.call(Read { id: 99_999 }) {
            Err(ClientError::Daemon(ApiError { kind, .. })) => {
                assert_eq!(kind, ErrorKind::NotFound)
            }
            other => panic!("{other:?}"),
        }
        // The same connection goes on after a refusal; an export streams
        // every message once, in order, across the server's pages.
        let texts: Vec<String> = c.export().unwrap().map(|m| m.unwrap().text).collect();
        assert_eq!(texts.len(), 1203);
        assert_eq!(texts[0], "message 0");
        assert_eq!(texts[1202], "message 1202");
    })
    .await;
    srv.stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_ends_one_connection_and_says_why() {
    let srv = server().await;
    let path = srv.path.clone();
    blocking(move || {
        // A client of this version stays connected throughout.
        let mut good = Client::connect(&path).unwrap();
        // messngr 0.1's client: a request first, read as {"ok":false,…}.
        let old = raw(&path, &[b"{\"request\":\"status\"}\n"]);
        assert_eq!(old.len(), 1, "{old:?}");
        let v: serde_json::Value = serde_json::from_str(&old[0]).unwrap();
        assert_eq!(
            (v["ok"].as_bool(), v["kind"].as_str()),
            (Some(false), Some("version"))
        );
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .contains("older than the daemon"),
            "{v}"
        );
        // A client from the future.
        let newer = raw(
            &path,
            &[b"{\"hello\":{\"api\":99,\"client\":\"messngr 9\"}}\n"],
        );
        assert!(
            newer[0].contains("\"version\"") && newer[0].contains("99"),
            "{newer:?}"
        );
        // An unknown request after a good hello: an answer, then closed.
        let hello = messngr_api::frame::encode(&messngr_api::Hello::new("test"));
        let unknown = raw(
            &path,
            &[&hello, b"{\"format_disk\":{}}\n", b"{\"status\":{}}\n"],
        );
        assert_eq!(unknown.len(), 2, "answered once, then closed: {unknown:?}");
        assert!(unknown[1].contains("bad_request"), "{unknown:?}");
        // A line over the limit: refused, closed.
        let mut long = vec![b'x'; messngr_api::MAX_LINE + 10];
        long.push(b'\n');
        let cut = raw(&path, &[&hello, &long]);
        assert_eq!(cut.len(), 2, "{cut:?}");
        assert!(cut[1].contains("bad_request"), "{cut:?}");
        // A hand-over bigger than any WinPopup message.
        let big = messngr_api::Deliver {
            transport: Transport::Samba,
            from: "alice".into(),
            to: "H1".into(),
            text: vec![b'x'; messngr_api::MAX_DELIVER_TEXT + 1],
        };
        match good.call(big) {
            Err(ClientError::Daemon(e)) => assert_eq!(e.kind, ErrorKind::TooLong),
            other => panic!("{other:?}"),
        }
        // Garbage instead of a hello.
        let garbage = raw(&path, &[b"\x00\xff{{{\n"]);
        assert!(garbage[0].contains("hello"), "{garbage:?}");
        // The good client never noticed.
        assert_eq!(good.call(Unread {}).unwrap(), UnreadView::default());
    })
    .await;
    srv.stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_need_netbios_say_it_is_samba_s() {
    let srv = server().await;
    let path = srv.path.clone();
    blocking(move || {
        let err = messngr_api::call(
            &path,
            messngr_api::Lookup {
                name: "H2".into(),
                suffix: 0x03,
            },
        )
        .unwrap_err();
        assert!(
            matches!(&err, ClientError::Daemon(e) if e.kind == ErrorKind::Disabled),
            "{err:?}"
        );
        // Status still answers: no names, but the rest is this daemon's.
        let s = messngr_api::call(&path, messngr_api::Status {}).unwrap();
        assert!(!s.netbios && s.names.is_empty(), "{s:?}");
    })
    .await;
    srv.stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_uid_cannot_hold_every_connection() {
    let srv = server().await;
    let path = srv.path.clone();
    blocking(move || {
        let mut held: Vec<Client> = (0..super::slots::PER_UID)
            .map(|_| Client::connect(&path).unwrap())
            .collect();
        match Client::connect(&path) {
            Err(ClientError::Daemon(e)) => {
                assert_eq!(e.kind, ErrorKind::Denied);
                assert!(e.message.contains("close some"), "{}", e.message);
            }
            other => panic!("{other:?}"),
        }
        // Those held still work; one closed makes room.
        assert_eq!(held[0].call(Unread {}).unwrap(), UnreadView::default());
        held.pop();
        let mut again = None;
        for _ in 0..50 {
            if let Ok(c) = Client::connect(&path) {
                again = Some(c);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(again.is_some(), "a place given back is usable");
    })
    .await;
    srv.stop.cancel();
}

/// The daemon binds its socket as root in a directory its dropped user
/// owns: that user must not be able to make root chmod another file by
/// swapping a symlink in for the socket right after it is bound.
#[test]
fn binding_never_changes_the_mode_of_what_a_swapped_in_symlink_names() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, b"x").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let path = dir.path().join("api.sock");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let racer = {
        let (dir, secret, path, stop) = (
            dir.path().to_owned(),
            secret.clone(),
            path.clone(),
            stop.clone(),
        );
        std::thread::spawn(move || {
            let tmp = dir.join("link");
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::remove_file(&tmp);
                let _ = std::os::unix::fs::symlink(&secret, &tmp);
                let _ = std::fs::rename(&tmp, &path);
            }
        })
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let mut bound = 0;
    for _ in 0..20_000 {
        if let Ok(listener) = bind(&path) {
            bound += 1;
            drop(listener);
        }
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
        if mode != 0o600 {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            racer.join().unwrap();
            panic!("bind made {} mode {mode:o}", secret.display());
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    racer.join().unwrap();
    assert!(bound > 0, "the socket was never bound");
    // Without the racer the socket is 0666, for every local user.
    let _ = std::fs::remove_file(&path);
    let _listener = bind(&path).unwrap();
    let mode = std::fs::symlink_metadata(&path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o666);
}

/// Who may ask is checked where requests are answered, not by the socket
/// loop: whatever calls [`Services::answer`] gets the refusal.
#[tokio::test]
async fn only_root_changes_names_and_hands_messages_over() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Arc::new(Inbox::open_at(&dir.path().join("inbox.sqlite")));
    let services = services(&inbox);
    let someone = if nix::unistd::getuid().as_raw() == 61_000 {
        61_001
    } else {
        61_000
    };
    let deliver = messngr_api::Deliver {
        transport: Transport::Samba,
        from: "MALLORY".into(),
        to: "H1".into(),
        text: b"hi".to_vec(),
    };
    for request in [
        messngr_api::Request::from(messngr_api::NameAdd {
            name: "EVIL".into(),
            group: false,
        }),
        messngr_api::Request::from(messngr_api::NameAdd {
            name: "EVILGROUP".into(),
            group: true,
        }),
        messngr_api::Request::from(messngr_api::NameDel { name: "H1".into() }),
        deliver.into(),
    ] {
        let reply = services.answer(someone, request.clone()).await;
        match frame::decode::<Reply<serde_json::Value>>(&reply).unwrap() {
            Reply::Error(e) => assert_eq!(e.kind, ErrorKind::Denied, "{request:?}: {e:?}"),
            Reply::Ok(v) => panic!("{request:?} answered for uid {someone}: {v}"),
        }
    }
}
