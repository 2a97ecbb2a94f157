//! The relay over TLS, as `[relay] ca_file` and `tls://` URLs set it up:
//! the servers present a certificate for their addresses signed by the
//! admin's CA. Mail flows as without it, a capture at the servers' client
//! port holds no subject (the routing the relay sees is hidden from the
//! LAN too), and a host given another CA refuses the servers and says so.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{doctor_relay, has_text, relay, routed_lan, send_queued, wait_published};
use crate::support::{Capture, Daemon, NATS_SERVER, NatsCluster, tempdir, text, wait_for};

/// A CA named `name`, and a certificate it signed for `ips` (the servers'
/// addresses), in `dir`: (the CA's certificate, the servers' certificate,
/// its key), as PEM files.
fn pki(dir: &Path, name: &str, ips: &[String]) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, format!("messngr test CA {name}"));
    let ca = ca.self_signed(&ca_key).expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let mut server = CertificateParams::new(ips.to_vec()).expect("server params");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = server
        .signed_by(&key, &ca, &ca_key)
        .expect("server certificate");
    let write = |file: String, pem: String| {
        let path = dir.join(file);
        std::fs::write(&path, pem).unwrap();
        path
    };
    (
        write(format!("{name}-ca.pem"), ca.pem()),
        write(format!("{name}-server.pem"), server.pem()),
        write(format!("{name}-server.key"), key.serialize_pem()),
    )
}

/// `messngr doctor`'s relay check of `d` (in host 2) fails, saying `says`.
fn doctor_fails(lan: &messngr_lan::Lan, d: &Daemon, says: &str) {
    let doctor = doctor_relay(lan, 2, d);
    assert_eq!(doctor["status"], "fail", "{doctor}");
    assert!(
        doctor["summary"].as_str().is_some_and(|s| s.contains(says)),
        "{doctor}"
    );
}

/// `d` stops (SIGTERM) and exits cleanly.
fn stops_cleanly(d: Daemon) {
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
}

#[test]
fn over_tls_mail_flows_the_subjects_are_hidden_and_a_server_of_another_ca_is_refused() {
    let Some(lan) = routed_lan() else { return };
    let dir = tempdir();
    let nodes = [1, 2, 4];
    let ips: Vec<String> = nodes.iter().map(|&h| lan.ip(h).to_string()).collect();
    let (ca, cert, key) = pki(dir.path(), "site", &ips);
    let (other_ca, _, _) = pki(dir.path(), "other", &ips);
    // The servers take clients over TLS only.
    let tls = format!(
        "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n}}\n",
        cert.display(),
        key.display()
    );
    let servers: Vec<String> = ips
        .iter()
        .map(|ip| format!("\"tls://{ip}:4222\""))
        .collect();
    let config = |ca: &Path| {
        format!(
            "[relay]\nservers = [{}]\nca_file = \"{}\"\n",
            servers.join(", "),
            ca.display()
        )
    };
    // H1 starts before the cluster: it says why it cannot connect, and
    // what to check, and connects once the servers run.
    let h1 = Daemon::start(&lan, 3, "H1", &config(&ca));
    h1.wait_log("relay: cannot connect: IO error");
    assert!(
        h1.log().contains("check that nats-server runs"),
        "{}",
        h1.log()
    );
    let nats = NatsCluster::start_with(&lan, &nodes, NATS_SERVER, &tls);
    let h2 = Daemon::start(
        &lan,
        5,
        "H2",
        &format!("names = [\"OPS2\"]\n{}", config(&ca)),
    );
    wait_published(&h1, &nats);
    wait_published(&h2, &nats);
    // Connected, it no longer shows why it could not.
    assert!(
        !relay(&h1)["last_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("cannot connect")),
        "{}",
        relay(&h1)
    );

    // H1 publishes to one of the servers, H2 takes from one: a capture at
    // each server's client port sees both connections.
    let caps: Vec<Capture> = nodes
        .iter()
        .map(|&h| Capture::start_filtered(&lan, h, "tcp port 4222"))
        .collect();
    send_queued(&h1, "sealed, and under TLS");
    let got = h2.wait_inbox(1);
    assert!(has_text(&got, "sealed, and under TLS"), "{got:?}");
    assert_eq!(got[0]["verified"], true, "{}", got[0]);
    let pcaps: Vec<(usize, Vec<u8>)> = caps
        .into_iter()
        .map(|c| {
            let (frames, _, pcap) = c.finish_with_pcap();
            (frames, pcap)
        })
        .collect();
    let has = |pcap: &[u8], needle: &[u8]| pcap.windows(needle.len()).any(|w| w == needle);
    let frames: usize = pcaps.iter().map(|(f, _)| f).sum();
    // Without TLS the publish's subject is on the wire (the main test
    // finds `messngr.mail.4832.4F505332` so); here nothing of NATS's
    // protocol is, past the servers' greeting.
    assert!(frames >= 4, "the captures saw only {frames} frames");
    for (_, pcap) in &pcaps {
        for clear in [&b"messngr.mail"[..], b"HPUB", b"CONNECT {", b"sealed"] {
            assert!(
                !has(pcap, clear),
                "{} crossed the client port in clear",
                String::from_utf8_lossy(clear)
            );
        }
    }

    // A host that trusts another CA refuses the servers: not connected,
    // and its status says why.
    let h3 = Daemon::start(&lan, 2, "H3", &config(&other_ca));
    wait_for(
        Duration::from_secs(20),
        || {
            relay(&h3)["last_error"]
                .as_str()
                .is_some_and(|e| e.to_ascii_lowercase().contains("certificate"))
        },
        || format!("{}\n{}", relay(&h3), h3.log()),
    );
    assert_eq!(relay(&h3)["connected"], false, "{}", relay(&h3));
    let shown = text(&h3.cli_ok(&["status"]));
    assert!(
        shown.contains("relay: NOT connected")
            && shown.contains("last error: cannot connect: IO error: invalid peer certificate"),
        "{shown}"
    );
    // The log says it once, and what to check, however often it is
    // tried (again after about 1, 3 and 7 s; each at debug).
    let warning = "WARN messngr_daemon::relay::client: relay: cannot connect: IO error: invalid peer certificate";
    h3.wait_log(warning);
    std::thread::sleep(Duration::from_secs(5));
    let log = h3.log();
    assert_eq!(log.matches(warning).count(), 1, "{log}");
    assert!(
        log.matches("UnknownIssuer; trying again").count() >= 2,
        "tried again: {log}"
    );
    assert!(log.contains("check [relay] ca_file"), "{log}");
    // `messngr doctor` gives the same reason.
    doctor_fails(&lan, &h3, "invalid peer certificate");
    // Nothing of it reached the cluster: no directory entry written.
    assert_eq!(relay(&h3)["published"], 0, "{}", relay(&h3));
    assert_eq!(relay(&h3)["directory"], false, "{}", relay(&h3));
    // Still trying, it stops cleanly.
    stops_cleanly(h3);

    // What no retry can mend is said at start, and the relay stays off:
    // a seed file holding the public key, a CA file holding no certificate.
    let public = nkeys::KeyPair::new_user().public_key();
    let seed = dir.path().join("public-not-seed.nk");
    std::fs::write(&seed, &public).unwrap();
    let not_pem = dir.path().join("not-a-ca.pem");
    std::fs::write(&not_pem, "not a certificate\n").unwrap();
    for (extra, says) in [
        (
            format!("nkey_seed_file = \"{}\"\n", seed.display()),
            "holds no nkey seed",
        ),
        (String::new(), "holds no PEM certificate"),
    ] {
        let ca = if extra.is_empty() { &not_pem } else { &ca };
        let d = Daemon::start(&lan, 2, "H4", &format!("{}{extra}", config(ca)));
        d.wait_log(says);
        d.wait_log("running without it (fix [relay] and restart)");
        let error = relay(&d)["last_error"].as_str().unwrap_or("").to_owned();
        assert!(error.contains(says), "{}", relay(&d));
        // A send to another site is kept here.
        let o = d.cli_ok(&["send", "OPS2", "kept while the relay is stopped"]);
        assert!(text(&o).contains("kept on this host"), "{}", text(&o));
        // Status and doctor say it is stopped, not retrying.
        let shown = text(&d.cli_ok(&["status"]));
        assert!(
            shown.contains("relay: STOPPED until the daemon is restarted") && shown.contains(says),
            "{shown}"
        );
        doctor_fails(&lan, &d, "stopped until the daemon is restarted");
        stops_cleanly(d);
    }
}
