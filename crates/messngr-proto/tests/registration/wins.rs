//! H-node: registration, refresh, release and queries through a WINS server
//! (played by the test), with the fall-back to broadcast.

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use messngr_proto::registration::{
    Config, Destination, Event, MIN_REFRESH_INTERVAL, NameService, NameState, Transmit,
};
use messngr_proto::wire::Emit;
use messngr_proto::wire::name::EncodedName;
use messngr_proto::wire::nbns::{Flags, NbEntries, NbEntry, Ont, Rcode, Repr};

use super::lan::ip;
use super::{MS, flags_of, nb, trn_of};

const SEC: Duration = Duration::from_secs(1);

fn wins() -> SocketAddrV4 {
    SocketAddrV4::new(ip(200), 137)
}

fn h_node() -> (NameService, Instant) {
    let mut c = Config::new(ip(1)).with_wins(wins());
    c.first_trn_id = 0x100;
    (NameService::new(c), Instant::now())
}

fn drain(ns: &mut NameService) -> Vec<Transmit> {
    std::iter::from_fn(|| ns.poll_transmit(Instant::now())).collect()
}

fn recvbox() -> EncodedName<'static> {
    EncodedName::new(nb("RECVBOX<03>"))
}

fn our_entry() -> NbEntries<'static> {
    NbEntries::one(NbEntry::new(false, Ont::H, ip(1)))
}

/// WINS's answer to the registration or refresh in `request`.
fn answer(request: &Transmit, ttl: u32, rcode: Rcode) -> Vec<u8> {
    let trn = trn_of(&request.bytes);
    Repr::registration_response(trn, recvbox(), ttl, our_entry(), rcode)
        .to_vec()
        .unwrap()
}

#[test]
fn registers_with_wins_and_refreshes_at_half_the_ttl() {
    let (mut ns, t0) = h_node();
    ns.add_name(t0, nb("RECVBOX<03>"), false).unwrap();
    let reg = drain(&mut ns);
    assert_eq!(reg.len(), 1);
    assert_eq!(reg[0].destination, Destination::Unicast(wins()));
    assert_eq!(flags_of(&reg[0].bytes), 0x2900);
    let repr = Repr::parse(&reg[0].bytes).unwrap();
    let rr = repr.additional.first().unwrap();
    assert_eq!(rr.ttl, 259_200);
    assert_eq!(
        rr.nb_entries().unwrap().first(),
        Some(NbEntry::new(false, Ont::H, ip(1)))
    );
    assert_eq!(ns.poll_timeout(), Some(t0 + 1500 * MS));

    let granted = t0 + 10 * MS;
    ns.handle(granted, wins(), &answer(&reg[0], 600, Rcode::NoError));
    assert_eq!(
        ns.poll_event(),
        Some(Event::NameClaimed {
            name: nb("RECVBOX<03>")
        })
    );
    assert_eq!(ns.state(&nb("RECVBOX<03>")), Some(NameState::Registered));
    assert!(
        drain(&mut ns).is_empty(),
        "no overwrite demand after a WINS registration"
    );
    assert_eq!(ns.poll_timeout(), Some(granted + 300 * SEC));

    let at = granted + 300 * SEC;
    ns.handle_timeout(at);
    let refresh = drain(&mut ns);
    assert_eq!(refresh.len(), 1);
    assert_eq!(refresh[0].destination, Destination::Unicast(wins()));
    assert_eq!(flags_of(&refresh[0].bytes), 0x4000);
    assert_ne!(trn_of(&refresh[0].bytes), trn_of(&reg[0].bytes));
    ns.handle(at, wins(), &answer(&refresh[0], 1200, Rcode::NoError));
    assert_eq!(ns.poll_event(), None);
    assert_eq!(ns.poll_timeout(), Some(at + 600 * SEC));

    // WINS goes silent: three refreshes 1.5 s apart, then the next round later.
    let round = at + 600 * SEC;
    for k in 0..3u32 {
        ns.handle_timeout(round + k * 1500 * MS);
        assert_eq!(drain(&mut ns).len(), 1);
    }
    ns.handle_timeout(round + 4500 * MS);
    assert!(drain(&mut ns).is_empty());
    assert_eq!(
        ns.poll_timeout(),
        Some(round + 4500 * MS + MIN_REFRESH_INTERVAL)
    );
    assert_eq!(ns.state(&nb("RECVBOX<03>")), Some(NameState::Registered));

    // Shutdown: release to WINS and by broadcast.
    ns.shutdown(round + 5 * SEC);
    let release: Vec<(Destination, u16)> = drain(&mut ns)
        .iter()
        .map(|t| (t.destination, flags_of(&t.bytes)))
        .collect();
    assert_eq!(
        release,
        [
            (Destination::Unicast(wins()), 0x3000),
            (Destination::Broadcast, 0x3010)
        ]
    );
}

#[test]
fn silent_wins_falls_back_to_a_broadcast_claim() {
    let (mut ns, t0) = h_node();
    ns.add_name(t0, nb("RECVBOX<03>"), false).unwrap();
    let mut log: Vec<(Instant, Transmit)> = drain(&mut ns).into_iter().map(|t| (t0, t)).collect();
    while let Some(at) = ns.poll_timeout() {
        ns.handle_timeout(at);
        log.extend(drain(&mut ns).into_iter().map(|t| (at, t)));
    }
    let seen: Vec<(u32, Destination, u16)> = log
        .iter()
        .map(|(at, t)| {
            (
                (*at - t0).as_millis() as u32,
                t.destination,
                flags_of(&t.bytes),
            )
        })
        .collect();
    let u = Destination::Unicast(wins());
    let b = Destination::Broadcast;
    assert_eq!(
        seen,
        [
            (0, u, 0x2900),
            (1500, u, 0x2900),
            (3000, u, 0x2900),
            (4500, b, 0x2910),
            (4750, b, 0x2910),
            (5000, b, 0x2910),
            (5250, b, 0x2810),
        ]
    );
    let bcast = Repr::parse(&log[3].1.bytes).unwrap();
    let rr = bcast.additional.first().unwrap();
    assert_eq!(rr.ttl, 0);
    assert_eq!(
        rr.nb_entries().unwrap().first().unwrap().flags.ont(),
        Ont::H
    );
    assert_eq!(
        ns.poll_event(),
        Some(Event::NameClaimed {
            name: nb("RECVBOX<03>")
        })
    );
    assert_eq!(ns.counters().wins_fallbacks, 1);
    assert_eq!(
        ns.poll_timeout(),
        None,
        "no refresh for a name claimed by broadcast"
    );
}

#[test]
fn wack_negative_answer_challenge_and_spoofed_answers() {
    let (mut ns, t0) = h_node();
    ns.add_name(t0, nb("RECVBOX<03>"), false).unwrap();
    let reg = drain(&mut ns).remove(0);
    // A positive answer from someone else is not WINS's.
    ns.handle(
        t0,
        SocketAddrV4::new(ip(66), 137),
        &answer(&reg, 600, Rcode::NoError),
    );
    assert_eq!(ns.counters().ignored, 1);
    assert!(matches!(
        ns.state(&nb("RECVBOX<03>")),
        Some(NameState::Registering { .. })
    ));
    // WACK: wait 10 s more, without retransmitting.
    let wack = Repr::wack(trn_of(&reg.bytes), recvbox(), 10, Flags::from_bits(0x2900));
    ns.handle(t0 + SEC, wins(), &wack.to_vec().unwrap());
    assert_eq!(ns.poll_timeout(), Some(t0 + 11 * SEC));
    // Then a refusal.
    ns.handle(t0 + 2 * SEC, wins(), &answer(&reg, 0, Rcode::ActErr));
    assert_eq!(
        ns.poll_event(),
        Some(Event::NameConflict {
            name: nb("RECVBOX<03>"),
            by: *wins().ip()
        })
    );
    // Claimed again in a minute (RECLAIM_AFTER).
    assert_eq!(ns.poll_timeout(), Some(t0 + 62 * SEC));

    // End-node challenge: WINS names the owner; we give up (conflict with it).
    ns.add_name(t0, nb("OTHER<03>"), false).unwrap();
    let reg = drain(&mut ns).remove(0);
    let owner = NbEntries::one(NbEntry::new(false, Ont::B, ip(7)));
    let challenge = Repr::end_node_challenge_response(
        trn_of(&reg.bytes),
        EncodedName::new(nb("OTHER<03>")),
        0,
        owner,
    );
    ns.handle(t0, wins(), &challenge.to_vec().unwrap());
    assert_eq!(
        ns.poll_event(),
        Some(Event::NameConflict {
            name: nb("OTHER<03>"),
            by: ip(7)
        })
    );
}

#[test]
fn queries_ask_wins_first() {
    let (mut ns, t0) = h_node();
    let target = EncodedName::new(nb("TARGET<03>"));
    // WINS knows the name.
    let q1 = ns.query(t0, nb("TARGET<03>"));
    let ask = drain(&mut ns).remove(0);
    assert_eq!(
        (ask.destination, flags_of(&ask.bytes)),
        (Destination::Unicast(wins()), 0x0100)
    );
    let owner = NbEntries::one(NbEntry::new(false, Ont::H, ip(9)));
    let yes = Repr::positive_query_response(trn_of(&ask.bytes), target, 300, owner, true);
    ns.handle(t0, wins(), &yes.to_vec().unwrap());
    assert_eq!(
        ns.poll_event(),
        Some(Event::QueryResult {
            id: q1,
            name: nb("TARGET<03>"),
            addresses: vec![ip(9)]
        })
    );
    // WINS says no: broadcast at once, then fail after the broadcast schedule.
    let q2 = ns.query(t0, nb("TARGET<03>"));
    let ask = drain(&mut ns).remove(0);
    let no = Repr::negative_query_response(trn_of(&ask.bytes), target, Rcode::NamErr);
    ns.handle(t0, wins(), &no.to_vec().unwrap());
    let bcast = drain(&mut ns).remove(0);
    assert_eq!(
        (bcast.destination, flags_of(&bcast.bytes)),
        (Destination::Broadcast, 0x0110)
    );
    assert_eq!(trn_of(&bcast.bytes), trn_of(&ask.bytes));
    for t in [250, 500, 750] {
        ns.handle_timeout(t0 + t * MS);
    }
    assert_eq!(
        ns.poll_event(),
        Some(Event::QueryFailed {
            id: q2,
            name: nb("TARGET<03>")
        })
    );
    // WINS silent: three unicasts 1.5 s apart, then broadcast.
    ns.query(t0, nb("TARGET<03>"));
    drain(&mut ns);
    for t in [1500, 3000] {
        ns.handle_timeout(t0 + t * MS);
        assert_eq!(drain(&mut ns)[0].destination, Destination::Unicast(wins()));
    }
    ns.handle_timeout(t0 + 4500 * MS);
    assert_eq!(drain(&mut ns)[0].destination, Destination::Broadcast);
    assert_eq!(ns.counters().wins_fallbacks, 2);
}
