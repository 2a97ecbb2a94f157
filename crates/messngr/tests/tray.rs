//! `messngr agent`'s tray icon for real: Xvfb, a private D-Bus session bus
//! with dunst, and Xfce's panel with its status tray plugin as the
//! StatusNotifierWatcher and host (a real tray, not one the test fakes).
//! Messages go from one namespace host's daemon to the other's; the agent
//! follows the receiving daemon. What the item says is read over the bus
//! with `gdbus` (its properties, the signals it sends, the watcher's list
//! of registered items); that the panel draws it is judged by screenshots
//! of the panel before and after (kept in
//! `<target>/test-artifacts/tray-*.png`).
//!
//! Needs root, the agent test's tools and xfce4-panel, xfconf, libglib2.0-bin
//! (`ci/install-deps`); skipped with a message otherwise, failed under CI.

#[path = "agent/desktop.rs"]
mod desktop;
#[path = "agent/panel.rs"]
mod panel;
mod support;

use std::time::Duration;

use desktop::{Desktop, artifacts, desktop_lan};
use panel::{panel_difference, panel_tools};
use support::{Daemon, wait_for};

fn agent_item(desk: &Desktop) -> String {
    let (_, child) = desk
        .procs
        .0
        .iter()
        .find(|(w, _)| *w == "agent")
        .expect("an agent");
    format!("org.kde.StatusNotifierItem-{}-1", child.id())
}

/// Waits until the item's `property` reads `value` (gdbus's rendering).
fn wait_property(desk: &Desktop, d1: &Daemon, item: &str, property: &str, value: &str) {
    let want = format!("(<{value}>,)");
    wait_for(
        Duration::from_secs(20),
        || desk.item_property(item, property).as_deref() == Some(want.as_str()),
        || {
            format!(
                "{property} is {:?}, want {want}\n{}\n{}",
                desk.item_property(item, property),
                desk.logs(),
                d1.log()
            )
        },
    );
}

fn agent_log(desk: &Desktop) -> String {
    std::fs::read_to_string(desk.dir.join("agent.log")).unwrap_or_default()
}

#[test]
fn the_tray_icon_shows_the_unread_count() {
    if !panel_tools() {
        return;
    }
    let Some((_one_desktop, _lan, [d1, d2])) = desktop_lan::<2>() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut desk = Desktop::start(tmp.path());

    // The agent starts before any tray: its item is on the bus, it says
    // once that there is no tray yet, and it keeps going.
    desk.agent(&d1.socket());
    let item = agent_item(&desk);
    wait_property(&desk, &d1, &item, "Title", "'messngr: 0 unread'");
    wait_property(&desk, &d1, &item, "Status", "'Passive'");
    wait_property(&desk, &d1, &item, "Category", "'Communications'");
    wait_property(&desk, &d1, &item, "Id", "'messngr'");
    wait_property(&desk, &d1, &item, "ItemIsMenu", "false");
    wait_for(
        Duration::from_secs(10),
        || agent_log(&desk).contains("no tray (StatusNotifierWatcher)"),
        || desk.logs(),
    );

    // The panel starts later: the agent registers with its watcher.
    desk.panel();
    wait_for(
        Duration::from_secs(20),
        || desk.registered_items().contains(&item),
        || format!("watcher has {}\n{}", desk.registered_items(), desk.logs()),
    );
    assert!(agent_log(&desk).contains(&format!("tray icon registered as {item}")));
    let signals = tmp.path().join("signals.log");
    desk.monitor(&item, &signals);
    let before = tmp.path().join("before.png");
    desk.screenshot(&before);

    // Two messages from H2: 0 -> 2, and the panel shows the icon.
    for text in ["First of two", "Second of two"] {
        let o = d2.cli(&["send", "H1", text]);
        assert!(o.status.success(), "{}", support::text(&o));
    }
    wait_property(&desk, &d1, &item, "Title", "'messngr: 2 unread'");
    wait_property(&desk, &d1, &item, "Status", "'Active'");
    wait_property(&desk, &d1, &item, "IconName", "'mail-unread'");
    wait_property(
        &desk,
        &d1,
        &item,
        "ToolTip",
        "('mail-unread', @a(iiay) [], 'messngr', '2 unread messages')",
    );
    let png = artifacts().join("tray-icon.png");
    wait_for(
        Duration::from_secs(20),
        || {
            desk.screenshot(&png);
            panel_difference(&before, &png) > 20
        },
        || format!("the panel never changed\n{}", desk.logs()),
    );
    let _ = std::fs::copy(&before, artifacts().join("tray-before.png"));
    let said = std::fs::read_to_string(&signals).unwrap_or_default();
    for signal in ["NewTitle", "NewIcon", "NewToolTip", "NewStatus ('Active',)"] {
        assert!(said.contains(signal), "no {signal} in\n{said}");
    }

    // "Mark read" in a pop-up: 2 -> 1.
    wait_for(
        Duration::from_secs(20),
        || desk.displayed() >= 2,
        || desk.logs(),
    );
    std::fs::write(tmp.path().join("choice"), "Mark read").unwrap();
    desk.dunstctl(&["context"]).expect("dunstctl context");
    wait_property(&desk, &d1, &item, "Title", "'messngr: 1 unread'");
    let unread: Vec<serde_json::Value> = d1
        .inbox()
        .into_iter()
        .filter(|m| m["read_at_ms"].is_null())
        .collect();
    assert_eq!(unread.len(), 1, "{unread:?}");
    let (unread_id, unread_text) = (
        unread[0]["id"].as_i64().unwrap(),
        unread[0]["text"].as_str().unwrap().to_owned(),
    );

    // A click on the icon (Activate) pops up again the unread message whose
    // pop-up was closed, and only that one.
    desk.dunstctl(&["close-all"]).expect("dunstctl close-all");
    wait_for(
        Duration::from_secs(20),
        || {
            desk.gdbus(
                &item,
                "/StatusNotifierItem",
                "org.kde.StatusNotifierItem.Activate",
                &["0", "0"],
            )
            .expect("Activate");
            std::thread::sleep(Duration::from_millis(300));
            desk.displayed() >= 1
        },
        || desk.logs(),
    );
    desk.dunstctl(&["close-all"]).expect("dunstctl close-all");
    let history = desk.dunstctl(&["history"]).unwrap_or_default();
    let h: serde_json::Value = serde_json::from_str(&history).unwrap();
    let bodies: Vec<&str> = h["data"][0]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["body"]["data"].as_str())
        .collect();
    let times = |t: &str| bodies.iter().filter(|b| b.contains(t)).count();
    let read_text = if unread_text == "First of two" {
        "Second of two"
    } else {
        "First of two"
    };
    assert_eq!(times(&unread_text), 2, "{bodies:?}");
    assert_eq!(times(read_text), 1, "{bodies:?}");

    // `messngr read` in a terminal: 1 -> 0, and the item goes passive.
    let o = d1.cli(&["read", &unread_id.to_string()]);
    assert!(o.status.success(), "{}", support::text(&o));
    wait_property(&desk, &d1, &item, "Title", "'messngr: 0 unread'");
    wait_property(&desk, &d1, &item, "Status", "'Passive'");
    wait_property(&desk, &d1, &item, "IconName", "'mail-read'");

    // An urgent unread message asks for attention.
    let mut urgent = messngr_store::NewMessage::received(
        messngr_store::Transport::Messngr,
        "BOSS",
        "H1",
        "Fire drill now",
        b"Fire drill now",
    );
    urgent.priority = messngr_store::Priority::Urgent;
    messngr_store::Store::open(d1.dir.path().join("state").join("inbox.sqlite"))
        .unwrap()
        .insert(&urgent)
        .unwrap();
    wait_property(&desk, &d1, &item, "Status", "'NeedsAttention'");
    wait_property(&desk, &d1, &item, "Title", "'messngr: 1 unread'");
    let said = std::fs::read_to_string(&signals).unwrap_or_default();
    for status in ["('Passive',)", "('NeedsAttention',)"] {
        assert!(said.contains(status), "no NewStatus {status} in\n{said}");
    }

    // An agent started while the tray runs registers at once, and its
    // count is right from the start.
    desk.procs.stop("agent");
    desk.agent(&d1.socket());
    let again = agent_item(&desk);
    assert_ne!(again, item);
    wait_for(
        Duration::from_secs(20),
        || desk.registered_items().contains(&again),
        || format!("watcher has {}\n{}", desk.registered_items(), desk.logs()),
    );
    wait_property(&desk, &d1, &again, "Title", "'messngr: 1 unread'");
    assert!(
        !agent_log(&desk).contains("no tray"),
        "{}",
        agent_log(&desk)
    );
    desk.procs.stop("agent");
}
