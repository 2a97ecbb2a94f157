//! The rules as plain functions: sources, names, groups, and the order in
//! which they are asked (deny before allow, source before name).
#![allow(clippy::unwrap_used)]

use super::*;
use crate::policy::cidr::subnet;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn nets(v: &[&str]) -> NetList {
    NetList::parse(&strings(v)).unwrap()
}

fn names(v: &[&str]) -> NamePatterns {
    NamePatterns::parse(&strings(v)).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The defaults on 10.77.0.1/24: the LAN only, groups from the LAN only.
fn lan_rules() -> Rules {
    Rules {
        lan: Some(subnet(
            Ipv4Addr::new(10, 77, 0, 1),
            Ipv4Addr::new(255, 255, 255, 0),
        )),
        group_senders: NetList::lan_only(),
        workgroup: "MLAN".into(),
        ..Rules::default()
    }
}

fn reason(v: Verdict) -> Option<Refusal> {
    v.err().map(|(r, _)| r)
}

#[test]
fn lan_only_by_default() {
    let r = lan_rules();
    assert_eq!(reason(r.source(ip("10.77.0.2"))), None);
    assert_eq!(reason(r.source(ip("10.77.1.2"))), Some(Refusal::OffLan));
    assert_eq!(reason(r.source(ip("192.168.1.1"))), Some(Refusal::OffLan));
    assert_eq!(reason(r.source(ip("fd00::1"))), Some(Refusal::OffLan));
    let unknown = Rules::default();
    assert_eq!(
        reason(unknown.source(ip("10.77.0.2"))),
        Some(Refusal::OffLan),
        "no interface known: nothing is on the LAN"
    );
}

#[test]
fn allow_from_admits_and_deny_from_wins() {
    let r = Rules {
        allow_from: nets(&["10.77.1.0/24", "10.99.0.5"]),
        deny_from: nets(&["10.77.1.66", "10.77.0.13"]),
        ..lan_rules()
    };
    assert_eq!(reason(r.source(ip("10.77.1.2"))), None);
    assert_eq!(reason(r.source(ip("10.99.0.5"))), None);
    assert_eq!(reason(r.source(ip("10.99.0.6"))), Some(Refusal::OffLan));
    assert_eq!(
        reason(r.source(ip("10.77.1.66"))),
        Some(Refusal::DeniedSource),
        "deny wins over allow_from"
    );
    assert_eq!(
        reason(r.source(ip("10.77.0.13"))),
        Some(Refusal::DeniedSource),
        "deny wins over the LAN"
    );
    let no_lan = Rules {
        deny_from: nets(&["lan"]),
        allow_from: nets(&["10.77.0.5"]),
        ..lan_rules()
    };
    assert_eq!(
        reason(no_lan.source(ip("10.77.0.5"))),
        Some(Refusal::DeniedSource)
    );
}

#[test]
fn the_wins_server_may_talk_to_the_name_service_only() {
    let r = Rules {
        wins_server: Some(Ipv4Addr::new(10, 50, 0, 2)),
        ..lan_rules()
    };
    assert_eq!(reason(r.name_service(ip("10.50.0.2"))), None);
    assert_eq!(reason(r.name_service(ip("10.77.0.9"))), None);
    assert_eq!(
        reason(r.name_service(ip("10.50.0.3"))),
        Some(Refusal::OffLan)
    );
    assert_eq!(reason(r.source(ip("10.50.0.2"))), Some(Refusal::OffLan));
}

#[test]
fn sender_names_are_matched_case_insensitively_with_stars() {
    let r = Rules {
        deny_names: names(&["spam*", "*BOT", "evil"]),
        ..lan_rules()
    };
    for ok in [&b"alice"[..], b"EVILER", b"botnet", b"ROBOTS", b""] {
        assert_eq!(reason(r.sender_name(ok)), None, "{ok:?}");
    }
    for no in [
        &b"SPAMMER"[..],
        b"spam",
        b"robot",
        b"Evil",
        b"evil   ",
        b"evil\0\0",
    ] {
        assert_eq!(
            reason(r.sender_name(no)),
            Some(Refusal::DeniedName),
            "{no:?}"
        );
    }
    let only = Rules {
        allow_names: names(&["ALICE", "ops-*"]),
        deny_names: names(&["ops-intern"]),
        ..lan_rules()
    };
    assert_eq!(reason(only.sender_name(b"alice")), None);
    assert_eq!(reason(only.sender_name(b"OPS-night")), None);
    assert_eq!(reason(only.sender_name(b"bob")), Some(Refusal::DeniedName));
    assert_eq!(
        reason(only.sender_name(b"ops-intern")),
        Some(Refusal::DeniedName),
        "deny wins over allow_names"
    );
}

#[test]
fn globs() {
    let m = |p: &str, n: &str| names(&[p]).matches(n.as_bytes());
    assert!(m("*", "anything"));
    assert!(m("a*b*c", "AxxBxxC"));
    assert!(m("a*b*c", "abc"));
    assert!(!m("a*b*c", "abcd"));
    assert!(m("*c", "abcabc"));
    assert!(!m("ab", "abc"));
    assert!(m("a**", "a"));
    assert!(!m("x", ""));
}

#[test]
fn bad_name_patterns_are_refused() {
    for bad in ["", "  ", "caf\u{e9}", "tab\there"] {
        let e = NamePatterns::parse(&strings(&[bad])).unwrap_err();
        assert!(e.to_string().contains("printable ASCII"), "{e}");
    }
}

#[test]
fn group_messages_need_a_group_sender() {
    let r = Rules {
        allow_from: nets(&["10.77.1.0/24"]),
        ..lan_rules()
    };
    // A direct message from an allowed off-LAN host is fine, a group one is not.
    assert_eq!(
        reason(r.message(ip("10.77.1.5"), b"bob", b"H1", false)),
        None
    );
    for (to, group) in [(&b"H1"[..], true), (b"mlan", false), (b"*", false)] {
        assert_eq!(
            reason(r.message(ip("10.77.1.5"), b"bob", to, group)),
            Some(Refusal::GroupNotAllowed),
            "{to:?} {group}"
        );
        assert_eq!(reason(r.message(ip("10.77.0.5"), b"bob", to, group)), None);
    }
    let wider = Rules {
        group_senders: nets(&["lan", "10.77.1.0/24"]),
        ..r.clone()
    };
    assert_eq!(
        reason(wider.message(ip("10.77.1.5"), b"bob", b"MLAN", true)),
        None
    );
    let nobody = Rules {
        group_senders: NetList::default(),
        ..r
    };
    assert_eq!(
        reason(nobody.message(ip("10.77.0.5"), b"bob", b"*", true)),
        Some(Refusal::GroupNotAllowed)
    );
}

#[test]
fn the_source_is_asked_before_the_name() {
    let r = Rules {
        deny_names: names(&["*"]),
        ..lan_rules()
    };
    assert_eq!(
        reason(r.message(ip("10.9.9.9"), b"x", b"H1", false)),
        Some(Refusal::OffLan)
    );
    assert_eq!(
        reason(r.message(ip("10.77.0.9"), b"x", b"H1", false)),
        Some(Refusal::DeniedName)
    );
}

#[test]
fn the_policy_counts_what_the_rules_refuse() {
    let p = Policy::new(lan_rules(), Default::default());
    assert!(p.admit_source("TCP 139", ip("10.77.0.2")).is_ok());
    assert_eq!(
        p.admit_source("TCP 139", ip("10.77.9.2")),
        Err(Refusal::OffLan)
    );
    assert_eq!(
        p.admit_message(
            messngr_proto::Transport::Mailslot,
            ip("10.77.0.2"),
            b"a",
            b"*",
            true
        ),
        Ok(())
    );
    assert_eq!(p.refusals().get(Refusal::OffLan), 1);
    assert_eq!(p.refusals().snapshot().len(), 1);
}

/// No host sends from the LAN's broadcast or network address (or from a
/// broadcast, multicast or unspecified one): a packet claiming to is forged,
/// and answering it (a name query) would broadcast the answer to the LAN.
#[test]
fn broadcast_and_network_sources_are_refused() {
    let r = Rules {
        allow_from: nets(&["0.0.0.0/0"]),
        group_senders: nets(&["0.0.0.0/0"]),
        ..lan_rules()
    };
    for forged in [
        "10.77.0.255",
        "10.77.0.0",
        "255.255.255.255",
        "0.0.0.0",
        "224.0.0.1",
        "::ffff:10.77.0.255",
    ] {
        assert_eq!(
            reason(r.source(ip(forged))),
            Some(Refusal::DeniedSource),
            "{forged}"
        );
        assert!(r.name_service(ip(forged)).is_err(), "{forged}");
    }
    assert_eq!(reason(r.source(ip("10.77.0.254"))), None);
    assert_eq!(reason(r.source(ip("10.77.0.1"))), None);
    // A /31 or /32 "LAN" has no broadcast or network address to refuse.
    let p2p = Rules {
        lan: Some(subnet(
            Ipv4Addr::new(10, 77, 0, 0),
            Ipv4Addr::new(255, 255, 255, 254),
        )),
        ..Rules::default()
    };
    assert_eq!(reason(p2p.source(ip("10.77.0.0"))), None);
    assert_eq!(reason(p2p.source(ip("10.77.0.1"))), None);
}
