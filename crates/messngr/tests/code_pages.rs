//! Code pages per peer (issue 13): a WinPopup user in Moscow (CP866) and
//! one in Paris (CP850) both read their own letters. Real Samba peers set
//! to those code pages with smb.conf's `dos charset`: `smbclient -M` sends
//! in it, and smbd reads what it receives in it. messngr reads each
//! sender, and writes to each receiver, in the page `code_page` and
//! `[code_pages]` give it (by address range or by name).
//!
//! Needs root and Samba (smbclient, smbd, nmbd); skipped when not root
//! (failed under CI).

mod support;

use std::time::Duration;

use support::{Daemon, SambaClient, Smbd, acknowledged, lan, text, wait_for};

const RUSSIAN: &str = "Привет, мир: ёлка";
const FRENCH: &str = "Café crème, déjà à Noël";

/// `smbclient -M H1 -I 10.77.0.1` from host `i` with `dos charset`
/// `charset`, `message` on its standard input.
fn smbclient(lan: &support::Lan, i: usize, charset: &str, message: &str) -> std::process::Output {
    let option = format!("--option=dos charset={charset}");
    SambaClient::new().message_with(
        lan,
        i,
        "H1",
        Some("10.77.0.1"),
        message.as_bytes(),
        &[&option],
    )
}

#[test]
fn each_sender_is_read_in_its_own_code_page() {
    let Some(lan) = lan(3) else { return };
    // Host 2 (Moscow) writes CP866; everyone else the default, CP850.
    let d = Daemon::start(
        &lan,
        1,
        "H1",
        "code_page = 850\n[code_pages]\n\"10.77.0.2\" = 866",
    );
    d.wait_settled();
    let o = smbclient(&lan, 2, "CP866", RUSSIAN);
    assert!(acknowledged(&o), "{}\n{}", text(&o), d.log());
    let o = smbclient(&lan, 3, "CP850", FRENCH);
    assert!(acknowledged(&o), "{}\n{}", text(&o), d.log());
    let inbox = d.wait_inbox(2);
    let got: Vec<(&str, &str)> = inbox
        .iter()
        .map(|m| {
            (
                m["text"].as_str().unwrap(),
                m["codepage"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(got.contains(&(RUSSIAN, "CP866")), "{got:?}");
    assert!(got.contains(&(FRENCH, "CP850")), "{got:?}");
}

#[test]
fn each_receiver_gets_its_own_code_page() {
    let Some(lan) = lan(3) else { return };
    // H2 (smbd, Moscow) reads CP866, named in [code_pages]; H3 (smbd,
    // Paris) the default.
    let moscow = Smbd::start_conf(&lan, 2, "H2", None, |c| c.set("dos charset", "CP866"));
    let paris = Smbd::start_conf(&lan, 3, "H3", None, |c| c.set("dos charset", "CP850"));
    let d = Daemon::start(&lan, 1, "H1", "[code_pages]\nH2 = \"cp866\"");
    d.wait_settled();
    for (to, ip, words) in [("H2", "10.77.0.2", RUSSIAN), ("H3", "10.77.0.3", FRENCH)] {
        let out = d.cli(&["send", "-I", ip, to, words]);
        assert!(out.status.success(), "{to}: {}\n{}", text(&out), d.log());
    }
    let read = |s: &Smbd| -> Vec<String> {
        s.received()
            .iter()
            .map(|b| String::from_utf8_lossy(b).trim_end().to_owned())
            .collect()
    };
    wait_for(
        Duration::from_secs(10),
        || !read(&moscow).is_empty() && !read(&paris).is_empty(),
        || format!("{}\n{}", moscow.log(), paris.log()),
    );
    assert_eq!(read(&moscow), [RUSSIAN], "{}", moscow.log());
    assert_eq!(read(&paris), [FRENCH], "{}", paris.log());
}

#[test]
fn a_code_page_messngr_does_not_know_is_a_clear_error() {
    let out = support::cli_with_config("code_page = 12345\n", &["status"]);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("code_page") && said.contains("866"), "{said}");
}
