//! Paging, search and export at the command line, through the real paths:
//! messages handed over with `messngr deliver` (the Samba hand-off, so no
//! network is needed) to a daemon with `serve_netbios = false`, then read
//! back with `messngr inbox`, `search` and `export`.
//!
//! Needs root for the namespace the daemon runs in; skipped otherwise,
//! failed under CI.

mod support;

use support::{Daemon, Lan, text};

const N: usize = 120;

fn deliver(d: &Daemon, dir: &std::path::Path, i: usize) {
    let word = if i.is_multiple_of(10) {
        " zanzibar"
    } else {
        ""
    };
    let file = dir.join(format!("m{i}"));
    std::fs::write(&file, format!("message {i}{word}")).unwrap();
    let o = d.cli(&["deliver", file.to_str().unwrap(), "alice", "H1"]);
    assert!(o.status.success(), "{}\n{}", text(&o), d.log());
}

fn lines(o: &std::process::Output) -> Vec<String> {
    assert!(o.status.success(), "{}", text(o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_inbox_pages_like_tail_search_finds_words_and_export_streams_all() {
    let Some(lan) = Lan::up(1).expect("build the test LAN") else {
        return;
    };
    let d = Daemon::start(&lan, 1, "H1", "serve_netbios = false\n");
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..N {
        deliver(&d, tmp.path(), i);
    }
    let all = d.inbox();
    assert_eq!(all.len(), N, "{}", d.log());
    let id = |i: usize| all[i]["id"].as_i64().unwrap();

    // Without --limit: the newest 50, oldest first, and how many are older.
    let out = lines(&d.cli(&["inbox"]));
    assert_eq!(
        out[0],
        format!("… 70 older messages: messngr inbox --before {}", id(70))
    );
    assert_eq!(out.len(), 2 + 50, "{out:#?}");
    assert!(out[2].contains(" message 70"), "{}", out[2]);
    assert!(out[51].ends_with(" message 119"), "{}", out[51]);
    let json: Vec<serde_json::Value> =
        serde_json::from_slice(&d.cli(&["inbox", "--json"]).stdout).unwrap();
    assert_eq!(json.len(), 50);
    assert_eq!(json[0]["text"], "message 70 zanzibar");

    // The next page back.
    let before = id(70).to_string();
    let out = lines(&d.cli(&["inbox", "--limit", "20", "--before", &before]));
    assert_eq!(
        out[0],
        format!(
            "… 50 older messages: messngr inbox --limit 20 --before {}",
            id(50)
        )
    );
    assert!(out[2].contains(" message 50") && out[21].ends_with(" message 69"));
    let first_page = lines(&d.cli(&["inbox", "--limit", "50", "--before", &id(50).to_string()]));
    assert_eq!(
        first_page.len(),
        1 + 50,
        "no 'older' line on the oldest page"
    );

    // Search: every word, whole, case-insensitive; operators are literal.
    let hits: Vec<serde_json::Value> =
        serde_json::from_slice(&d.cli(&["search", "--json", "ZANZIBAR"]).stdout).unwrap();
    let texts: Vec<&str> = hits.iter().map(|m| m["text"].as_str().unwrap()).collect();
    let want: Vec<String> = (0..N)
        .step_by(10)
        .map(|i| format!("message {i} zanzibar"))
        .collect();
    assert_eq!(texts, want);
    let out = lines(&d.cli(&["search", "--limit", "5", "zanzibar", "message"]));
    assert!(
        out[0]
            .starts_with("… 7 older messages: messngr search zanzibar message --limit 5 --before"),
        "{out:#?}"
    );
    for odd in ["NEAR(zanzibar", "zan\"zibar", "-message", "message AND"] {
        let o = d.cli(&["search", "--", odd]);
        assert!(o.status.success(), "{odd:?}: {}", text(&o));
    }
    let o = d.cli(&["search", "*"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("give at least one word"), "{}", text(&o));
    let none = lines(&d.cli(&["search", "carrier-pigeon"]));
    assert_eq!(none, ["No messages."]);

    // Export: every message, in order, as the daemon streams it.
    let export = lines(&d.cli(&["export"]));
    assert_eq!(export.len(), N);
    for (i, l) in export.iter().enumerate() {
        let m: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(
            m["text"]
                .as_str()
                .unwrap()
                .starts_with(&format!("message {i}"))
        );
    }

    // Mistakes get one line that says what to do.
    let o = d.cli(&["inbox", "--limit", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--limit"), "{}", text(&o));
}

#[test]
fn a_reply_goes_to_the_sender_only_never_to_a_group_it_names() {
    let Some(lan) = Lan::up(1).expect("build the test LAN") else {
        return;
    };
    let d = Daemon::start(&lan, 1, "H1", "");
    d.wait_settled();
    let tmp = tempfile::tempdir().unwrap();
    // Sender names a peer chose: each would make a reply a broadcast or a
    // message to every user here.
    for (i, from) in ["*", "/domain:EVIL", "/users", "/domain"]
        .iter()
        .enumerate()
    {
        let file = tmp.path().join(format!("r{i}"));
        std::fs::write(&file, "answer me").unwrap();
        let o = d.cli(&["deliver", file.to_str().unwrap(), from, "H1"]);
        assert!(o.status.success(), "{}", text(&o));
        let id = d.inbox().last().unwrap()["id"].to_string();
        let o = d.cli(&["reply", &id, "hello all"]);
        assert_eq!(o.status.code(), Some(2), "{from}: {}", text(&o));
        assert!(
            text(&o).contains("not a name a reply can go to"),
            "{from}: {}",
            text(&o)
        );
    }
    assert!(
        !d.log().contains("mailslot message broadcast"),
        "{}",
        d.log()
    );
}
