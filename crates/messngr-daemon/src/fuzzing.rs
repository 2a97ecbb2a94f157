//! The daemon's receive paths driven in memory, for the fuzz target
//! `fuzz/fuzz_targets/daemon.rs` (feature `fuzzing`; not part of the API).
//!
//! Why here and not in the fuzz crate: the paths are the daemon's own
//! private code (`session::connection` over any byte stream,
//! `native::receive`, the UDP 138 handler) and the inbox behind them (charset
//! decoding, owner, quotas, the store), and they should stay private. One
//! harness per process: a current-thread runtime, the names H1<03>,
//! ALICE<03>, HELPDESK<03> and those the captured vectors call (TARGET<03>,
//! RECVBOX<03>), the LAN 10.77.0.0/24 with the default limits, and a real inbox on a
//! tmpfs directory (`/dev/shm` when there is one), fed by the same
//! `inbox::run` task as in the daemon. What the fuzzer looks for: panics,
//! hangs (libFuzzer's -timeout), and unbounded memory (-rss_limit_mb).
#![allow(clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

use crate::datagram::Datagrams;
use crate::inbox::Inbox;
use crate::intake::{Delivery, InboxSender};
use crate::policy::Policy;
use crate::registry::Registry;
use crate::settings::Settings;

/// Everything the receive paths need, made once per process.
struct Harness {
    rt: Runtime,
    names: Registry,
    policy: Arc<Policy>,
    inbox: InboxSender,
    store: crate::inbox::receipts::Recorder,
    secure: crate::secure::Secure,
    datagrams: Mutex<Datagrams>,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            std::path::PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        remove_stale(&base);
        let dir = base.join(format!("{PREFIX}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a state directory");
        let mut settings = Settings::example();
        settings.state_dir = dir;
        settings.iface.address = Ipv4Addr::new(10, 77, 0, 1);
        settings.iface.netmask = Ipv4Addr::new(255, 255, 255, 0);
        settings.iface.broadcast = Ipv4Addr::new(10, 77, 0, 255);
        settings.policy.lan = Some(crate::policy::subnet(
            settings.iface.address,
            settings.iface.netmask,
        ));
        // Bounded, so a long run neither fills /dev/shm nor stops storing
        // early: past it every message takes the quota refusal path.
        settings.quota = messngr_store::Quota {
            max_messages: Some(20_000),
            max_messages_per_owner: Some(5_000),
        };
        let inbox = Arc::new(Inbox::open(&settings).expect("an inbox"));
        // A host key of its own, made in the state directory: a fuzzed
        // handshake meets the real responder.
        let secure = crate::secure::Secure::open(&settings).expect("keys");
        let policy = Arc::new(settings.policy());
        let names = Registry::default();
        for n in [
            "H1#03",
            "ALICE#03",
            "HELPDESK#03",
            "TARGET#03",
            "RECVBOX#03",
        ] {
            names.insert(n.parse().expect("a NetBIOS name"));
        }
        let (tx, rx) = tokio::sync::mpsc::channel::<Delivery>(256);
        let store = inbox.receipts().clone();
        rt.spawn(crate::inbox::run(inbox, rx, policy.clone()));
        let datagrams = Mutex::new(Datagrams::new(
            settings.iface.address,
            settings.workgroup.clone(),
        ));
        Harness {
            rt,
            names,
            policy,
            inbox: tx,
            store,
            secure,
            datagrams,
        }
    })
}

impl Harness {
    fn ctx(&self) -> crate::native::Ctx<'_> {
        crate::native::Ctx {
            names: &self.names,
            policy: &self.policy,
            inbox: &self.inbox,
            secure: &self.secure,
            store: &self.store,
        }
    }
}

/// The state directories' prefix; the process id follows.
const PREFIX: &str = "messngr-fuzz-";

/// Removes the state directories of fuzz runs that are gone (libFuzzer
/// ends a process without running destructors, so nobody else does).
fn remove_stale(base: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else {
            continue;
        };
        if !std::path::Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// A peer on the served LAN (the policy admits it).
const PEER: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2), 40000));

/// Feeds `data` to a TCP 139 session as its whole byte stream, cut into
/// reads of a size the first byte chooses, then closes; reads every reply.
pub fn session(data: &[u8]) {
    let h = harness();
    let (chunk, bytes) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c).max(1), rest),
        None => (1, data),
    };
    h.rt.block_on(async {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let stop = tokio_util::sync::CancellationToken::new();
        let served = crate::session::connection(server, PEER, h.ctx(), &stop);
        let feed = async {
            for part in bytes.chunks(chunk) {
                if client.write_all(part).await.is_err() {
                    break;
                }
            }
            let _ = client.shutdown().await;
            let mut sink = Vec::new();
            let _ = client.read_to_end(&mut sink).await;
        };
        // A session that neither ends at EOF nor within its deadlines is a
        // hang: libFuzzer's -timeout reports it.
        let _ = tokio::join!(served, feed);
    });
}

/// One native frame as the first SESSION MESSAGE payload of a session.
pub fn native(data: &[u8]) {
    let h = harness();
    h.rt.block_on(async {
        let ctx = h.ctx();
        let mut channel = crate::native::Channel::default();
        let answer = channel.frame(data, PEER, ctx).await;
        assert!(
            !answer.reply.is_empty() || answer.close.is_some(),
            "every native frame gets an answer or a reason"
        );
    });
}

/// UDP 138: `data` is a series of datagrams, each a length byte pair
/// (big-endian) then that many bytes, from one of four sources on the LAN
/// (the top bits of the length pick it), so fragments can be reassembled.
pub fn datagrams(data: &[u8]) {
    let h = harness();
    let mut rest = data;
    let mut handed = Vec::new();
    {
        let Ok(mut d) = h.datagrams.lock() else {
            return;
        };
        let now = Instant::now();
        let mut at = Duration::ZERO;
        while let [hi, lo, tail @ ..] = rest {
            let len = usize::from(u16::from_be_bytes([*hi & 0x0F, *lo]));
            let from = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2 + (*hi >> 6)), 138);
            let (one, next) = tail.split_at(len.min(tail.len()));
            at += Duration::from_millis(u64::from(*hi >> 4 & 0x03) * 500);
            if let Some(m) = d.handle(now + at, one, from, &h.names, &h.policy) {
                handed.push(m);
            }
            rest = next;
        }
        d.handle_timeout(now + at + Duration::from_secs(60));
    }
    h.rt.block_on(async {
        for message in handed {
            let _ = crate::intake::store(&h.inbox, message).await;
        }
    });
}
