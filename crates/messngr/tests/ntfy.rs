//! ntfy's publish API (issue #12, point 2) against real daemons on a
//! private namespace LAN: the curl requests of ntfy's documentation
//! (`curl -d "disk full" …/ops`, with `Title`, `Priority`, `Tags` headers,
//! their query-parameter forms, the GET `/trigger` form), and Apprise
//! (Debian's `apprise`, a real client that publishes to ntfy with its JSON
//! form) reach the recipients `[http.topics]` names for the topic, as
//! alerts of the token's account. Without a token, on an unknown topic,
//! from a user who may not raise alerts, with a body that is not text:
//! refused with the reason, in ntfy's error shape, and nothing sent.
//!
//! No ntfy CLI: Debian 12 has no ntfy package (and the tests install
//! nothing from outside Debian). Needs root, curl, setpriv and apprise
//! (`ci/install-deps`); skipped without root, failed under CI.

mod support;

use std::time::Duration;

use support::http::{URL, alerts, bearer, curl, json, root_token, token_of};
use support::{Daemon, TestUser, lan, run_in, text, wait_for};

/// Waits until `d` holds `n` alerts, and returns the newest.
fn wait_alerts(d: &Daemon, n: usize, sender: &Daemon) -> serde_json::Value {
    wait_for(
        Duration::from_secs(15),
        || alerts(d).len() >= n,
        || format!("{:?}\n{}", d.inbox(), sender.log()),
    );
    alerts(d).pop().unwrap_or_default()
}

#[test]
fn ntfy_s_documented_curl_requests_and_apprise_publish_to_a_topic() {
    let Some(lan) = lan(2) else { return };
    let d1 = Daemon::start(&lan, 1, "H1", "[http.topics]\nops = [\"H2\"]");
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();
    // H2 vets H1's key: H1's root may then send urgent.
    d2.vet(&d1, "H1");
    let token = root_token(&d1);
    let ops = format!("{URL}/ops");

    // ntfy's first example, without a token: 401 in ntfy's shape.
    let (code, body) = curl(&lan, 1, &["-d", "disk full", &ops]);
    assert_eq!(code, 401, "{body}");
    let e = json(&body);
    assert_eq!(e["http"], 401, "{e}");
    assert!(e["error"].as_str().unwrap().contains("token"), "{e}");

    // With the token as ntfy's `-u :tk_…` passes it.
    let (code, body) = curl(
        &lan,
        1,
        &["-u", &format!(":{token}"), "-d", "disk full", &ops],
    );
    assert_eq!(code, 200, "{body}\n{}", d1.log());
    let v = json(&body);
    assert_eq!(
        (&v["event"], &v["topic"], &v["message"]),
        (&"message".into(), &"ops".into(), &"disk full".into()),
        "{v}"
    );
    assert!(v["id"].is_string() && v["time"].is_u64(), "{v}");
    let got = wait_alerts(&d2, 1, &d1);
    assert_eq!(got["text"], "disk full", "{}", got);
    assert_eq!(got["author"], "root@H1");
    assert_eq!(got["verified"], true);

    // Title, Priority and Tags headers (ntfy's names and X- forms).
    let (code, body) = curl(
        &lan,
        1,
        &[
            "-H",
            &bearer(&token),
            "-H",
            "Title: Backup",
            "-H",
            "X-Priority: urgent",
            "-H",
            "Tags: warning,skull",
            "-d",
            "The nightly backup failed",
            &ops,
        ],
    );
    assert_eq!(code, 200, "{body}");
    let v = json(&body);
    assert_eq!(
        (&v["title"], &v["priority"]),
        (&"Backup".into(), &5.into()),
        "{v}"
    );
    assert_eq!(v["tags"], serde_json::json!(["warning", "skull"]));
    let got = wait_alerts(&d2, 2, &d1);
    let m = &got;
    assert_eq!(m["title"], "Backup", "{m}");
    assert_eq!(m["text"], "The nightly backup failed\nTags: warning, skull");
    assert_eq!(m["priority"], "urgent", "{m}");

    // The query-parameter forms, and the GET trigger.
    let (code, body) = curl(
        &lan,
        1,
        &[
            "-H",
            &bearer(&token),
            "-d",
            "Disk at 91%",
            &format!("{ops}?title=Disks&priority=low&tags=disk"),
        ],
    );
    assert_eq!(code, 200, "{body}");
    let got = wait_alerts(&d2, 3, &d1);
    assert_eq!(
        (&got["title"], &got["priority"]),
        (&"Disks".into(), &"low".into())
    );
    let (code, body) = curl(
        &lan,
        1,
        &["-u", &format!(":{token}"), &format!("{ops}/trigger")],
    );
    assert_eq!(code, 200, "{body}");
    let got = wait_alerts(&d2, 4, &d1);
    assert_eq!(got["text"], "triggered");

    // A signed-in browser's session cookie cannot publish (any page it
    // shows could load the GET form): a token is needed.
    let o = d1.cli_ok(&["web", "--print"]);
    let link = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    let jar = support::tempdir();
    let jar = jar.path().join("cookies");
    let jar = jar.to_str().unwrap();
    let (code, _) = curl(&lan, 1, &["-c", jar, &link]);
    assert_eq!(code, 303, "signed in with messngr web's link");
    let (code, body) = curl(
        &lan,
        1,
        &["-b", jar, &format!("{ops}/trigger?message=forged")],
    );
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("browser session"), "{body}");
    // Nor with a credential that is not a token beside it: it is refused,
    // never replaced by the cookie.
    let (code, body) = curl(
        &lan,
        1,
        &["-b", jar, &format!("{ops}/trigger?message=forged&auth=eA")],
    );
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("not a token"), "{body}");

    // The same publish again: collapsed into the first, not sent again.
    let (code, body) = curl(
        &lan,
        1,
        &["-u", &format!(":{token}"), "-d", "disk full", &ops],
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(json(&body)["messngr"]["collapsed"], true, "{body}");
    wait_for(
        Duration::from_secs(10),
        || alerts(&d2).iter().any(|m| m["repeats"] == 2),
        || format!("{:?}", d2.inbox()),
    );
    assert_eq!(alerts(&d2).len(), 4);

    // Apprise, a real ntfy client (its JSON publish to /, basic auth).
    let o = run_in(
        &lan,
        1,
        "apprise",
        &[
            "-vv",
            "-t",
            "From Apprise",
            "-b",
            "apprise says hello",
            &format!("ntfy://messngr:{token}@127.0.0.1:839/ops?priority=high&tags=robot"),
        ],
    );
    assert!(o.status.success(), "{}\n{}", text(&o), d1.log());
    let got = wait_alerts(&d2, 5, &d1);
    assert_eq!(
        (&got["title"], &got["text"], &got["priority"]),
        (
            &"From Apprise".into(),
            &"apprise says hello\nTags: robot".into(),
            &"urgent".into()
        ),
        "{}",
        got
    );

    // Refusals: an unknown topic says how to add it; a body that is not
    // text; a wrong priority. Nothing reaches H2.
    let (code, body) = curl(
        &lan,
        1,
        &[
            "-u",
            &format!(":{token}"),
            "-d",
            "x",
            &format!("{URL}/nope"),
        ],
    );
    assert_eq!(code, 404, "{body}");
    assert!(
        json(&body)["error"]
            .as_str()
            .unwrap()
            .contains("[http.topics]"),
        "{body}"
    );
    let (code, body) = curl(
        &lan,
        1,
        &[
            "-u",
            &format!(":{token}"),
            "--data-binary",
            "@/bin/true",
            &ops,
        ],
    );
    assert_eq!(code, 400, "{body}");
    let (code, body) = curl(
        &lan,
        1,
        &[
            "-u",
            &format!(":{token}"),
            "-H",
            "Priority: 9",
            "-d",
            "x",
            &ops,
        ],
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("1 to 5"), "{body}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(alerts(&d2).len(), 5, "{:?}", d2.inbox());
}

#[test]
fn a_token_of_a_user_who_may_not_raise_alerts_publishes_nothing() {
    let Some(lan) = lan(1) else { return };
    let user = TestUser::create("n");
    let d = Daemon::start(&lan, 1, "H1", "[http.topics]\nops = [\"root\"]");
    d.open_to_users();
    d.wait_settled();
    let token = token_of(&user.cli(&d.socket(), &["token", "create"]));
    let (code, body) = curl(
        &lan,
        1,
        &[
            "-u",
            &format!(":{token}"),
            "-d",
            "let me in",
            &format!("{URL}/ops"),
        ],
    );
    assert_eq!(code, 403, "{body}\n{}", d.log());
    let said = json(&body)["error"].as_str().unwrap().to_owned();
    assert!(
        said.contains(&format!("{} may not raise alerts", user.name)) && said.contains("raisers"),
        "{said}"
    );
    assert!(
        d.inbox().iter().all(|m| m["alert"] != true),
        "{:?}",
        d.inbox()
    );
}
