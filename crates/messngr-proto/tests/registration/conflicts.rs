//! Who may take a name away (only an answer to our own registration), and
//! lost names coming back: on the in-memory LAN, with an attacker playing
//! an outside host that can send any datagram from any address.

use std::net::SocketAddrV4;
use std::time::Duration;

use messngr_proto::registration::{Config, Destination, Event, NameService, NameState};
use messngr_proto::wire::Emit;
use messngr_proto::wire::name::EncodedName;
use messngr_proto::wire::nbns::{NbEntries, NbEntry, Ont, Rcode, Repr};

use super::lan::{Lan, ip};
use super::{MS, flags_of, nb, trn_of};

const SEC: Duration = Duration::from_secs(1);

fn x03() -> EncodedName<'static> {
    EncodedName::new(nb("X<03>"))
}

/// 10.77.0.66 on port 137: somebody on the LAN who owns nothing.
fn attacker() -> SocketAddrV4 {
    SocketAddrV4::new(ip(66), 137)
}

fn to(node: u8) -> Destination {
    Destination::Unicast(SocketAddrV4::new(ip(node), 137))
}

fn demand(trn: u16) -> Vec<u8> {
    Repr::name_conflict_demand(trn, x03(), NbEntry::new(false, Ont::B, ip(66)))
        .to_vec()
        .unwrap()
}

fn refusal(trn: u16, rcode: Rcode) -> Vec<u8> {
    let owner = NbEntries::one(NbEntry::new(false, Ont::B, ip(66)));
    Repr::registration_response(trn, x03(), 0, owner, rcode)
        .to_vec()
        .unwrap()
}

/// `bytes` with its OPCODE field set to `opcode`.
fn with_opcode(mut bytes: Vec<u8>, opcode: u8) -> Vec<u8> {
    bytes[2] = (bytes[2] & 0x87) | (opcode << 3);
    bytes
}

/// Does node `i` (0-based) answer a query for X<03>?
fn answers(lan: &mut Lan, node: u8) -> bool {
    lan.wire.clear();
    let q = Repr::name_query_request(0x7777, x03(), false);
    lan.send_from_outside(attacker(), to(node), &q.to_vec().unwrap());
    !lan.sent_by(ip(node)).is_empty()
}

#[test]
fn nothing_unsolicited_takes_a_name_away() {
    let mut lan = Lan::new(1);
    lan.nodes[0].add_name(lan.now, nb("X<03>"), false).unwrap();
    lan.nodes[0]
        .add_name(lan.now, nb("MLAN<00>"), true)
        .unwrap();
    lan.run_until(1000 * MS);
    assert_eq!(lan.events(0).len(), 2);
    let claim_trn = trn_of(&lan.wire[0].bytes);
    assert_eq!(flags_of(&lan.wire[0].bytes), 0x2910);

    let mlan = EncodedName::new(nb("MLAN<00>"));
    let release = |name, group| {
        Repr::release_request(0x5151, name, NbEntry::new(group, Ont::B, ip(66)), true)
            .to_vec()
            .unwrap()
    };
    let attacks: [(Destination, Vec<u8>); 7] = [
        // The unsolicited NAME CONFLICT DEMAND, unicast and broadcast; one
        // carries the id of our (finished) claim.
        (to(1), demand(0x4242)),
        (Destination::Broadcast, demand(claim_trn)),
        // A "defence" of a claim that is over, and a refusal of a refresh
        // (opcode 8) a B-node never sends.
        (to(1), refusal(claim_trn, Rcode::ActErr)),
        (to(1), with_opcode(refusal(0x1234, Rcode::CftErr), 8)),
        // A release of our unique name (MS00-047), unicast and broadcast.
        (to(1), release(x03(), false)),
        (Destination::Broadcast, release(x03(), false)),
        // A member leaving our group is nothing unusual: not counted.
        (Destination::Broadcast, release(mlan, true)),
    ];
    for (dst, bytes) in &attacks {
        lan.send_from_outside(attacker(), *dst, bytes);
    }
    assert!(lan.events(0).is_empty());
    assert_eq!(
        lan.nodes[0].state(&nb("X<03>")),
        Some(NameState::Registered)
    );
    let c = lan.counters(0);
    assert_eq!((c.conflict_demands_ignored, c.releases_ignored), (4, 2));
    assert_eq!(c.conflicts, 0);
    assert!(answers(&mut lan, 1), "X<03> is still answered");
    // And still defended.
    lan.wire.clear();
    let claim = Repr::registration_request(9, x03(), 0, NbEntry::new(false, Ont::B, ip(66)), true);
    lan.send_from_outside(attacker(), Destination::Broadcast, &claim.to_vec().unwrap());
    assert_eq!(flags_of(&lan.sent_by(ip(1))[0].bytes), 0xAD86);
}

#[test]
fn during_our_claim_only_an_answer_with_its_id_counts() {
    let mut lan = Lan::new(1);
    lan.nodes[0].add_name(lan.now, nb("X<03>"), false).unwrap();
    lan.deliver();
    let trn = trn_of(&lan.wire[0].bytes);
    // Wrong id, a refresh-response opcode, a non-refusal RCODE: ignored.
    for bytes in [
        demand(trn.wrapping_add(1)),
        with_opcode(refusal(trn, Rcode::ActErr), 8),
        refusal(trn, Rcode::SrvErr),
    ] {
        lan.send_from_outside(attacker(), to(1), &bytes);
    }
    assert_eq!(lan.counters(0).conflict_demands_ignored, 3);
    assert!(lan.events(0).is_empty());
    // A conflict demand answering our claim (its id) is a refusal: lost.
    lan.send_from_outside(attacker(), to(1), &demand(trn));
    assert_eq!(
        lan.events(0),
        [Event::NameConflict {
            name: nb("X<03>"),
            by: ip(66)
        }]
    );
    let info = lan.nodes[0].names().next().unwrap();
    assert_eq!(info.state, NameState::Conflict);
    assert_eq!(info.held_by, Some(ip(66)));
    assert_eq!(info.retry_at, Some(lan.now + 60 * SEC));
    assert!(!answers(&mut lan, 1));
    // Nobody defends it a minute later: ours again.
    lan.run_until(61 * SEC);
    assert_eq!(lan.events(0), [Event::NameClaimed { name: nb("X<03>") }]);
    assert!(answers(&mut lan, 1));
    let info = lan.nodes[0].names().next().unwrap();
    assert_eq!((info.held_by, info.retry_at), (None, None));
}

#[test]
fn a_lost_name_is_claimed_again_with_backoff_until_the_holder_leaves() {
    let mut lan = Lan::new(2);
    lan.nodes[1].add_name(lan.now, nb("X<03>"), false).unwrap();
    lan.run_until(1000 * MS);
    lan.events(1);
    lan.wire.clear();
    lan.nodes[0].add_name(lan.now, nb("X<03>"), false).unwrap();
    lan.run_until(2000 * MS);
    assert_eq!(
        lan.events(0),
        [Event::NameConflict {
            name: nb("X<03>"),
            by: ip(2)
        }]
    );
    // Node 2 keeps the name for two hours: node 1 asks again after 1, 2,
    // 4, 8, 16 and then every 30 minutes, refused each time.
    lan.run_until(2 * 3600 * SEC);
    let claims: Vec<(Duration, u16)> = lan
        .sent_by(ip(1))
        .iter()
        .map(|s| (s.at - lan.t0, trn_of(&s.bytes)))
        .collect();
    let gaps: Vec<u64> = claims
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).as_secs())
        .collect();
    assert_eq!(gaps, [60, 120, 240, 480, 960, 1800, 1800]);
    assert!(
        claims.windows(2).all(|w| w[0].1 != w[1].1),
        "a new id each round"
    );
    assert!(
        lan.sent_by(ip(1))
            .iter()
            .all(|s| flags_of(&s.bytes) == 0x2910)
    );
    assert_eq!(lan.counters(1).defended, 8);
    assert_eq!(lan.counters(0).conflicts, 8);
    assert_eq!(lan.events(0).len(), 7);
    assert!(lan.events(1).is_empty());

    // Node 2 leaves; at its next round node 1 takes the name.
    lan.nodes[1].shutdown(lan.now);
    let next = lan.nodes[0].names().next().unwrap().retry_at.unwrap();
    lan.run_until(next - lan.t0 + SEC);
    assert_eq!(lan.events(0), [Event::NameClaimed { name: nb("X<03>") }]);
    assert_eq!(
        lan.nodes[0].state(&nb("X<03>")),
        Some(NameState::Registered)
    );
}

#[test]
fn reclaiming_can_be_switched_off() {
    let mut c = Config::new(ip(1));
    c.reclaim_after = None;
    let mut lan = Lan::new(2);
    lan.nodes[0] = NameService::new(c);
    lan.nodes[1].add_name(lan.now, nb("X<03>"), false).unwrap();
    lan.run_until(1000 * MS);
    lan.nodes[0].add_name(lan.now, nb("X<03>"), false).unwrap();
    lan.run_until(2000 * MS);
    assert!(matches!(lan.events(0)[..], [Event::NameConflict { .. }]));
    assert_eq!(lan.nodes[0].poll_timeout(), None);
    assert_eq!(lan.nodes[0].names().next().unwrap().retry_at, None);
}

/// WINS at 10.77.0.200: registration, refresh and conflict, and forgeries.
#[test]
fn wins_refusals_count_only_from_wins_to_a_request_in_flight() {
    let wins = SocketAddrV4::new(ip(200), 137);
    let t0 = std::time::Instant::now();
    let mut ns = NameService::new(Config::new(ip(1)).with_wins(wins));
    let drain = |ns: &mut NameService| -> Vec<Vec<u8>> {
        std::iter::from_fn(|| ns.poll_transmit(t0))
            .map(|t| t.bytes)
            .collect()
    };
    let answer = |trn: u16, rcode: Rcode| {
        let owner = NbEntries::one(NbEntry::new(false, Ont::H, ip(1)));
        Repr::registration_response(trn, x03(), 600, owner, rcode)
            .to_vec()
            .unwrap()
    };
    ns.add_name(t0, nb("X<03>"), false).unwrap();
    let reg = drain(&mut ns).remove(0);
    ns.handle(t0, wins, &answer(trn_of(&reg), Rcode::NoError));
    assert_eq!(
        ns.poll_event(),
        Some(Event::NameClaimed { name: nb("X<03>") })
    );
    // Registered, refresh due at 300 s. Forged refusals: from elsewhere with
    // the right id, from WINS to a refresh not sent, a conflict demand.
    ns.handle(t0 + SEC, attacker(), &answer(trn_of(&reg), Rcode::CftErr));
    ns.handle(
        t0 + SEC,
        wins,
        &with_opcode(answer(trn_of(&reg), Rcode::ActErr), 8),
    );
    ns.handle(t0 + SEC, wins, &demand(0x4242));
    assert_eq!(ns.poll_event(), None);
    assert_eq!(ns.state(&nb("X<03>")), Some(NameState::Registered));
    assert_eq!(ns.counters().conflict_demands_ignored, 3);
    // Refresh in flight, refused by WINS: lost, to WINS.
    for round in 0..2 {
        let due = ns.poll_timeout().unwrap();
        ns.handle_timeout(due);
        let refresh = drain(&mut ns).remove(0);
        assert_eq!(flags_of(&refresh) & 0x7800, 8 << 11, "a refresh");
        let refused = with_opcode(answer(trn_of(&refresh), Rcode::CftErr), 8);
        ns.handle(due, wins, &refused);
        assert_eq!(
            ns.poll_event(),
            Some(Event::NameConflict {
                name: nb("X<03>"),
                by: ip(200)
            })
        );
        // Claimed again one minute later (both rounds: a success in between
        // starts the wait over), at WINS first.
        assert_eq!(ns.poll_timeout(), Some(due + 60 * SEC), "round {round}");
        ns.handle_timeout(due + 60 * SEC);
        let again = drain(&mut ns).remove(0);
        assert_eq!(flags_of(&again), 0x2900);
        assert_ne!(trn_of(&again), trn_of(&refresh));
        ns.handle(
            due + 60 * SEC,
            wins,
            &answer(trn_of(&again), Rcode::NoError),
        );
        assert_eq!(
            ns.poll_event(),
            Some(Event::NameClaimed { name: nb("X<03>") })
        );
    }
}
