//! NBNS packets: whatever parses must emit, parse back to an equal `Repr`
//! and emit the same bytes again. The same bytes are then fed to a B-node
//! (from a neighbour) and to an H-node (from its WINS server), both holding
//! names in every state with a query in flight: nothing may panic, and
//! every packet they send must parse.
#![no_main]
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use messngr_proto::registration::{Config, NameService};
use messngr_proto::wire::Emit;
use messngr_proto::wire::nbns::{NbEntries, NbEntry, Ont, Rcode, Repr};

const MS: Duration = Duration::from_millis(1);

fn wins() -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 200), 137)
}

/// Sends every queued packet into the void, checking that it parses;
/// returns the NAME_TRN_ID of the last one.
fn flush(ns: &mut NameService, t: Instant) -> Option<u16> {
    let mut last = None;
    while let Some(tx) = ns.poll_transmit(t) {
        let repr = Repr::parse(&tx.bytes).expect("the name service sends packets that parse");
        last = Some(repr.trn_id);
    }
    while ns.poll_event().is_some() {}
    last
}

/// A node with registered unique and group names, one name still
/// registering and a query in flight. As an H-node, RECVBOX<03> is
/// registered with WINS and in its first refresh round.
fn node(t0: Instant, h: bool) -> NameService {
    let mut config = Config::new(Ipv4Addr::new(10, 77, 0, 5));
    if h {
        config = config.with_wins(wins());
    }
    let mut ns = NameService::new(config);
    for (name, group) in [
        ("RECVBOX<03>", false),
        ("RECVBOX<00>", false),
        ("MLAN<00>", true),
    ] {
        let _ = ns.add_name(t0, name.parse().expect("name"), group);
        if h && name == "RECVBOX<03>" {
            let trn = flush(&mut ns, t0).expect("a registration");
            let owner = NbEntries::one(NbEntry::new(false, Ont::H, Ipv4Addr::new(10, 77, 0, 5)));
            let name = messngr_proto::wire::name::EncodedName::new(name.parse().expect("name"));
            let ok = Repr::registration_response(trn, name, 600, owner, Rcode::NoError);
            ns.handle(t0, wins(), &ok.to_vec().expect("emits"));
        }
    }
    let mut t = t0;
    while let Some(at) = ns.poll_timeout().filter(|&at| at <= t0 + 300_000 * MS) {
        t = at;
        ns.handle_timeout(t);
    }
    let _ = ns.add_name(t, "LATE<03>".parse().expect("name"), false);
    ns.query(t, "TARGET<03>".parse().expect("name"));
    flush(&mut ns, t);
    ns
}

fuzz_target!(|data: &[u8]| {
    if let Ok(repr) = Repr::parse(data) {
        let bytes = repr.to_vec().expect("a parsed packet emits");
        assert_eq!(bytes.len(), repr.buffer_len());
        let again = Repr::parse(&bytes).expect("an emitted packet parses");
        assert_eq!(again, repr);
        assert_eq!(again.to_vec().expect("emits"), bytes, "emit is not stable");
    }

    let t0 = Instant::now();
    for (h, from) in [
        (false, SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2), 137)),
        (true, wins()),
    ] {
        let mut ns = node(t0, h);
        let t = ns.poll_timeout().unwrap_or(t0);
        let before = *ns.counters();
        ns.handle(t, from, data);
        assert_eq!(ns.counters().received, before.received + 1);
        flush(&mut ns, t);
        ns.shutdown(t + MS);
        while let Some(at) = ns.poll_timeout() {
            ns.handle_timeout(at);
            flush(&mut ns, at);
        }
        assert!(ns.names().next().is_none());
        assert!(ns.is_idle());
    }
});
