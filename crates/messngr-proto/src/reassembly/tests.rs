//! Unit and property tests (unwrap is how a test fails).
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;
use crate::wire::Emit;
use crate::wire::nbdgm::{self, ErrorCode, Header, MAX_UNFRAGMENTED_LEN, NodeType};

fn name(s: &str) -> EncodedName<'static> {
    EncodedName::new(s.parse().unwrap())
}

fn header(ip: u8, dgm_id: u16) -> Header {
    Header::new(NodeType::B, dgm_id, Ipv4Addr::new(10, 77, 0, ip))
}

fn user_data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed))
        .collect()
}

/// The two UDP payloads of a datagram split at 548 bytes.
fn fragments(h: Header, data: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let whole = Repr::datagram(
        DatagramKind::DirectGroup,
        h,
        name("SENDERBOX"),
        name("MLAN#03"),
        data,
    );
    let (a, b) = whole.split(MAX_UNFRAGMENTED_LEN).unwrap();
    (a.to_vec().unwrap(), b.unwrap().to_vec().unwrap())
}

/// What a [`Complete`] said, owned, so the reassembler can be used again.
fn owned(outcome: Outcome<'_>) -> Result<(Source, Vec<u8>, u8), String> {
    match outcome {
        Outcome::Complete(c) => {
            assert_eq!(c.names.source, name("SENDERBOX"));
            assert_eq!(c.names.destination, name("MLAN#03"));
            assert_eq!(c.kind, DatagramKind::DirectGroup);
            Ok((c.source, c.data.to_vec(), c.fragments))
        }
        other => Err(format!("{other:?}")),
    }
}

fn feed(r: &mut Reassembler, now: Instant, bytes: &[u8]) -> Result<(Source, Vec<u8>, u8), String> {
    owned(r.handle(now, Repr::parse(bytes).unwrap()))
}

#[test]
fn unfragmented_datagrams_pass_through_without_a_copy() {
    let data = user_data(100, 1);
    let bytes = Repr::datagram(
        DatagramKind::DirectGroup,
        header(2, 5),
        name("SENDERBOX"),
        name("MLAN#03"),
        &data,
    )
    .to_vec()
    .unwrap();
    let mut r = Reassembler::default();
    let Outcome::Complete(c) = r.handle(Instant::now(), Repr::parse(&bytes).unwrap()) else {
        panic!("not complete");
    };
    assert_eq!(c.data, data);
    assert!(
        bytes.as_ptr_range().contains(&c.data.as_ptr()),
        "borrowed from the input"
    );
    assert_eq!(c.fragments, 1);
    assert_eq!(
        c.source,
        Source {
            ip: Ipv4Addr::new(10, 77, 0, 2),
            port: 138,
            dgm_id: 5
        }
    );
    assert_eq!(r.stats().whole, 1);
    assert_eq!((r.pending(), r.held_bytes()), (0, 0));
}

#[test]
fn two_fragments_in_either_order() {
    let data = user_data(700, 2);
    let (a, b) = fragments(header(2, 9), &data);
    let now = Instant::now();
    for (x, y) in [(&a, &b), (&b, &a)] {
        let mut r = Reassembler::default();
        assert_eq!(feed(&mut r, now, x), Err("Pending".into()));
        assert_eq!(r.pending(), 1);
        assert!(r.held_bytes() > 0);
        assert_eq!(r.poll_timeout(), Some(now + FRAGMENT_TO));
        let (source, got, n) = feed(&mut r, now + Duration::from_millis(10), y).unwrap();
        assert_eq!((source.dgm_id, got, n), (9, data.clone(), 2));
        assert_eq!(
            (r.pending(), r.held_bytes(), r.stats().reassembled),
            (0, 0, 1)
        );
        assert_eq!(r.poll_timeout(), None);
    }
}

#[test]
fn packet_offset_of_the_continuation_is_not_trusted() {
    let data = user_data(700, 3);
    let (a, mut b) = fragments(header(2, 9), &data);
    b[12..14].copy_from_slice(&(700u16 - 466).to_be_bytes()); // the RFC formula's value
    let mut r = Reassembler::default();
    let now = Instant::now();
    feed(&mut r, now, &a).unwrap_err();
    assert_eq!(feed(&mut r, now, &b).unwrap().1, data);
}

#[test]
fn duplicates_first_copy_wins() {
    let data = user_data(600, 4);
    let (a, b) = fragments(header(2, 1), &data);
    let mut other_a = a.clone();
    *other_a.last_mut().unwrap() ^= 0xFF;
    let mut r = Reassembler::default();
    let now = Instant::now();
    feed(&mut r, now, &a).unwrap_err();
    assert_eq!(feed(&mut r, now, &a), Err("Dropped(Duplicate)".into()));
    assert_eq!(
        feed(&mut r, now, &other_a),
        Err("Dropped(Duplicate)".into())
    );
    assert_eq!(feed(&mut r, now, &b).unwrap().1, data);
    // Late copies of a completed datagram's fragments are duplicates too...
    assert_eq!(feed(&mut r, now, &b), Err("Dropped(Duplicate)".into()));
    assert_eq!(feed(&mut r, now, &a), Err("Dropped(Duplicate)".into()));
    assert_eq!(r.stats().duplicates, 4);
    assert_eq!(r.stats().dropped(), 4);
    assert_eq!(r.pending(), 0);
    // ...until the timeout has passed.
    assert_eq!(feed(&mut r, now + FRAGMENT_TO, &a), Err("Pending".into()));
}

#[test]
fn incomplete_datagrams_expire_after_fragment_to() {
    let data = user_data(600, 5);
    let (a, b) = fragments(header(2, 1), &data);
    let t0 = Instant::now();
    let mut r = Reassembler::default();
    feed(&mut r, t0, &a).unwrap_err();
    r.handle_timeout(t0 + FRAGMENT_TO - Duration::from_millis(1));
    assert_eq!(r.pending(), 1);
    r.handle_timeout(t0 + FRAGMENT_TO);
    assert_eq!((r.pending(), r.held_bytes(), r.stats().expired), (0, 0, 1));
    // A continuation after the timeout waits alone, and expires in turn.
    let t1 = t0 + FRAGMENT_TO + Duration::from_millis(5);
    assert_eq!(feed(&mut r, t1, &b), Err("Pending".into()));
    assert_eq!(r.poll_timeout(), Some(t1 + FRAGMENT_TO));
    // Handling a packet also expires what is due.
    let c = Repr::datagram(
        DatagramKind::DirectGroup,
        header(3, 1),
        name("SENDERBOX"),
        name("MLAN#03"),
        b"x",
    )
    .to_vec()
    .unwrap();
    feed(&mut r, t1 + FRAGMENT_TO, &c).unwrap();
    assert_eq!((r.pending(), r.stats().expired), (0, 2));
}

#[test]
fn later_pieces_do_not_extend_the_timeout() {
    let config = Config {
        timeout: Duration::from_secs(1),
        ..Config::default()
    };
    let mut r = Reassembler::new(config);
    let t0 = Instant::now();
    let (a, _) = fragments(header(2, 1), &user_data(600, 6));
    feed(&mut r, t0, &a).unwrap_err();
    feed(&mut r, t0 + Duration::from_millis(900), &a).unwrap_err();
    assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_secs(1)));
}

#[test]
fn memory_is_bounded_by_evicting_the_oldest() {
    let config = Config {
        max_pending: 2,
        ..Config::default()
    };
    let mut r = Reassembler::new(config);
    let now = Instant::now();
    let frags: Vec<_> = (0..3)
        .map(|i| fragments(header(2, i), &user_data(600, i as u8)))
        .collect();
    for (a, _) in &frags {
        feed(&mut r, now, a).unwrap_err();
    }
    assert_eq!((r.pending(), r.stats().evicted), (2, 1));
    // The oldest is gone: its continuation now waits alone (evicting again).
    assert_eq!(feed(&mut r, now, &frags[0].1), Err("Pending".into()));
    assert_eq!(r.stats().evicted, 2);
    assert_eq!(feed(&mut r, now, &frags[2].1).unwrap().1, user_data(600, 2));

    let config = Config {
        max_buffered_bytes: 1000,
        ..Config::default()
    };
    let mut r = Reassembler::new(config);
    let (a, _) = fragments(header(2, 1), &user_data(600, 1));
    let (c, _) = fragments(header(2, 2), &user_data(600, 2));
    feed(&mut r, now, &a).unwrap_err();
    feed(&mut r, now, &c).unwrap_err();
    assert_eq!((r.pending(), r.stats().evicted), (1, 1));
    assert!(r.held_bytes() <= 1000);
    let big = Repr::datagram(
        DatagramKind::DirectGroup,
        header(2, 3),
        name("SENDERBOX"),
        name("MLAN#03"),
        &[0; 1500],
    );
    let (first, _) = big.split(1100).unwrap();
    assert_eq!(r.handle(now, first), Outcome::Dropped(DropReason::TooLarge));
    assert_eq!(r.stats().too_large, 1);
}

#[test]
fn keys_do_not_mix() {
    let now = Instant::now();
    let mut r = Reassembler::default();
    let (a, _) = fragments(header(2, 1), &user_data(600, 1));
    let (_, other_ip) = fragments(header(3, 1), &user_data(600, 1));
    let (_, other_id) = fragments(header(2, 2), &user_data(600, 1));
    let mut other_port = fragments(header(2, 1), &user_data(600, 1)).1;
    other_port[8..10].copy_from_slice(&139u16.to_be_bytes());
    feed(&mut r, now, &a).unwrap_err();
    for b in [other_ip, other_id, other_port] {
        assert_eq!(feed(&mut r, now, &b), Err("Pending".into()));
    }
    assert_eq!(r.pending(), 4);
}

#[test]
fn what_is_not_reassembled() {
    let now = Instant::now();
    let mut r = Reassembler::default();
    let err = Repr::error(header(2, 1), ErrorCode::DestinationNameNotPresent);
    assert_eq!(
        r.handle(now, err),
        Outcome::Dropped(DropReason::NotADatagram)
    );
    // A continuation that says more follow: the RFC never sends three packets.
    let middle = [0x11, 0x01, 0, 1, 10, 77, 0, 2, 0, 138, 0, 3, 0, 9, 1, 2, 3];
    assert_eq!(
        r.handle(now, nbdgm::Repr::parse(&middle).unwrap()),
        Outcome::Dropped(DropReason::UnsupportedFragment)
    );
    assert_eq!(r.stats().unsupported, 1);
    assert_eq!(r.pending(), 0);
}

/// How each datagram of a simulated exchange is delivered.
#[derive(Debug, Clone)]
struct Plan {
    len: usize,
    drop_first: bool,
    drop_last: bool,
    dup_first: bool,
    dup_last: bool,
}

fn plan() -> impl Strategy<Value = Plan> {
    (1usize..900, any::<[bool; 4]>()).prop_map(|(len, f)| Plan {
        len,
        drop_first: f[0] && f[1],
        drop_last: f[0] && !f[1],
        dup_first: f[2],
        dup_last: f[3],
    })
}

proptest! {
    /// Fragment many datagrams, drop, duplicate and shuffle the packets, feed
    /// them with a fake clock that never reaches the timeout: every datagram
    /// with both pieces (or unfragmented) comes out exactly once, intact.
    #[test]
    fn shuffled_duplicated_and_lost_fragments(
        plans in proptest::collection::vec(plan(), 1..12),
        order in any::<u64>(),
    ) {
        let datas: Vec<Vec<u8>> =
            plans.iter().enumerate().map(|(i, p)| user_data(p.len, i as u8)).collect();
        let mut packets: Vec<(usize, Vec<u8>)> = Vec::new();
        let mut expected = Vec::new();
        for (i, (p, data)) in plans.iter().zip(&datas).enumerate() {
            let whole = Repr::datagram(
                DatagramKind::DirectGroup,
                header(2, i as u16),
                name("SENDERBOX"),
                name("MLAN#03"),
                data,
            );
            match whole.split(MAX_UNFRAGMENTED_LEN).unwrap() {
                (one, None) => {
                    packets.push((i, one.to_vec().unwrap()));
                    expected.push(i);
                }
                (a, Some(b)) => {
                    let (a, b) = (a.to_vec().unwrap(), b.to_vec().unwrap());
                    for (drop, dup, bytes) in [(p.drop_first, p.dup_first, a), (p.drop_last, p.dup_last, b)] {
                        if !drop {
                            if dup {
                                packets.push((i, bytes.clone()));
                            }
                            packets.push((i, bytes));
                        }
                    }
                    if !p.drop_first && !p.drop_last {
                        expected.push(i);
                    }
                }
            }
        }
        // A deterministic shuffle from `order`.
        let mut state = order | 1;
        for k in (1..packets.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            packets.swap(k, (state % (k as u64 + 1)) as usize);
        }

        let t0 = Instant::now();
        let mut r = Reassembler::default();
        let mut got = Vec::new();
        for (step, (_, bytes)) in packets.iter().enumerate() {
            let now = t0 + Duration::from_millis(step as u64);
            if let Ok((source, data, _)) = feed(&mut r, now, bytes) {
                let i = usize::from(source.dgm_id);
                prop_assert_eq!(&data, &datas[i]);
                got.push(i);
            }
            prop_assert!(r.held_bytes() <= r.config().max_buffered_bytes);
            prop_assert!(r.pending() <= r.config().max_pending);
        }
        got.sort_unstable();
        prop_assert_eq!(got, expected);
        r.handle_timeout(t0 + Duration::from_secs(10));
        prop_assert_eq!((r.pending(), r.held_bytes()), (0, 0));
    }
}
