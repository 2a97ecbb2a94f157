//! The relay with `[relay] credentials`: a `.creds` file of NATS's JWT
//! accounts, the servers in operator mode (an operator, a system account
//! and the relay's account, preloaded in a memory resolver), as `nsc`
//! would set them up. The JWTs are made here, signed with nkeys, in the
//! form nats-server checks (`nats-io/jwt` v2: a header, the claims, an
//! Ed25519 signature by the issuer, each base64url).

use std::path::{Path, PathBuf};

use super::{has_text, relay, routed_lan, send_queued, wait_published};
use crate::support::{CURRENT_NATS_SERVER, Daemon, NATS_SERVER, NatsCluster, tempdir, wait_for};
use base64::Engine;

/// A JWT of `claims` for `subject`, issued (signed) by `issuer`.
fn jwt(issuer: &nkeys::KeyPair, subject: &str, name: &str, nats: serde_json::Value) -> String {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let header = b64(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let claims = serde_json::json!({
        "jti": format!("{}{}", name.to_uppercase(), &subject[1..20]),
        "iat": 1_700_000_000u64,
        "iss": issuer.public_key(),
        "name": name,
        "sub": subject,
        "nats": nats,
    });
    let claims = b64(claims.to_string().as_bytes());
    let signed = format!("{header}.{claims}");
    let signature = issuer.sign(signed.as_bytes()).expect("sign");
    format!("{signed}.{}", b64(&signature))
}

/// An account's claims: JetStream allowed, or not (the system account).
fn account(jetstream: bool) -> serde_json::Value {
    let js = if jetstream { -1 } else { 0 };
    serde_json::json!({
        "limits": {
            "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
            "wildcards": true, "conn": -1, "leaf": -1,
            "mem_storage": js, "disk_storage": js, "streams": js, "consumer": js
        },
        "default_permissions": {"pub": {}, "sub": {}},
        "type": "account",
        "version": 2
    })
}

/// A `.creds` file for a new user of `account` (signed by its key), as
/// `nsc generate creds` writes it, in `dir`.
fn creds(dir: &Path, name: &str, account: &nkeys::KeyPair) -> PathBuf {
    let user = nkeys::KeyPair::new_user();
    let token = jwt(
        account,
        &user.public_key(),
        name,
        serde_json::json!({
            "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1,
            "type": "user", "version": 2
        }),
    );
    let path = dir.join(format!("{name}.creds"));
    std::fs::write(
        &path,
        format!(
            "-----BEGIN NATS USER JWT-----\n{token}\n------END NATS USER JWT------\n\n\
             ************************* IMPORTANT *************************\n\
             NKEY Seed printed below can be used to sign and prove identity.\n\
             NKEYs are sensitive and should be treated as secrets.\n\n\
             -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n\n\
             *************************************************************\n",
            user.seed().expect("seed")
        ),
    )
    .unwrap();
    path
}

#[test]
fn with_credentials_of_a_jwt_account_mail_flows_and_a_stranger_is_refused() {
    credentials_on(NATS_SERVER);
}

/// The same on a current server.
#[test]
fn credentials_on_a_current_nats_server() {
    credentials_on(CURRENT_NATS_SERVER);
}

fn credentials_on(server: &'static str) {
    let Some(lan) = routed_lan() else { return };
    let dir = tempdir();
    let operator = nkeys::KeyPair::new_operator();
    let system = nkeys::KeyPair::new_account();
    let relay_account = nkeys::KeyPair::new_account();
    let operator_jwt = jwt(
        &operator,
        &operator.public_key(),
        "ORG",
        serde_json::json!({"type": "operator", "version": 2}),
    );
    let mode = format!(
        "operator: \"{operator_jwt}\"\nsystem_account: \"{sys}\"\nresolver: MEMORY\n\
         resolver_preload: {{\n  {sys}: \"{}\"\n  {acc}: \"{}\"\n}}\n",
        jwt(&operator, &system.public_key(), "SYS", account(false)),
        jwt(
            &operator,
            &relay_account.public_key(),
            "RELAY",
            account(true)
        ),
        sys = system.public_key(),
        acc = relay_account.public_key(),
    );
    let nats = NatsCluster::start_with(&lan, &[1, 2, 4], server, &mode);
    let config =
        |creds: &Path| nats.relay_config(&lan, &format!("credentials = \"{}\"\n", creds.display()));
    let h1 = Daemon::start(
        &lan,
        3,
        "H1",
        &config(&creds(dir.path(), "h1", &relay_account)),
    );
    let h2 = Daemon::start(
        &lan,
        5,
        "H2",
        &format!(
            "names = [\"OPS2\"]\n{}",
            config(&creds(dir.path(), "h2", &relay_account))
        ),
    );
    wait_published(&h1, &nats);
    wait_published(&h2, &nats);
    send_queued(&h1, "with a JWT account's credentials");
    assert!(has_text(
        &h2.wait_inbox(1),
        "with a JWT account's credentials"
    ));

    // Credentials of an account the operator never signed, and none at
    // all: both refused by the servers (so the two above were let in by
    // their credentials), and each host says why and what to check.
    let stranger = nkeys::KeyPair::new_account();
    let h3 = Daemon::start(&lan, 2, "H3", &config(&creds(dir.path(), "h3", &stranger)));
    let h4 = Daemon::start(&lan, 1, "H4", &nats.relay_config(&lan, ""));
    for d in [&h3, &h4] {
        wait_for(
            std::time::Duration::from_secs(20),
            || {
                relay(d)["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("authorization violation"))
            },
            || format!("{}\n{}", relay(d), d.log()),
        );
        assert_eq!(relay(d)["connected"], false, "{}", relay(d));
        d.wait_log("check [relay] credentials or nkey_seed_file");
    }
}
