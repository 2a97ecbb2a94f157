//! The agent's checks, for the desktop user who runs `messngr doctor`: a
//! D-Bus session bus, a notification server on it (the pop-ups), and a
//! tray (StatusNotifierWatcher, the unread count).
//!
//! On a machine without a desktop session (a server, root over ssh) these
//! are skipped, not failed: the agent is not meant to run there.

use std::time::Duration;

use super::Check;

const NOTIFICATIONS: &str = "org.freedesktop.Notifications";
const WATCHER: &str = "org.kde.StatusNotifierWatcher";

/// Whether a session bus is to be expected: its address, or the
/// systemd-logind default socket of this user.
fn session_bus_expected() -> bool {
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        || std::path::Path::new(&format!("/run/user/{}/bus", nix::unistd::getuid())).exists()
}

/// `dbus`, `notify`, `tray`.
pub(super) fn checks() -> Vec<Check> {
    // Root has no desktop session of its own, and a session bus address
    // kept from a user's environment (`sudo -E`, `su`) is the user's to
    // choose: root never connects to it.
    if nix::unistd::geteuid().is_root() {
        return vec![Check::skip(
            "dbus",
            "run as root: the agent's checks (D-Bus, notifications, tray) need `messngr doctor` run as the desktop user",
        )];
    }
    let desktop = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .find_map(|v| std::env::var(v).ok().map(|d| format!("{v}={d}")));
    if !session_bus_expected() {
        return vec![match desktop {
            Some(d) => Check::fail(
                "dbus",
                format!(
                    "a desktop ({d}) without a D-Bus session bus: the agent cannot show pop-ups"
                ),
                "install dbus-user-session (or start the session with dbus-run-session) and log in again",
            ),
            None => Check::skip(
                "dbus",
                "no desktop session here (no D-Bus session bus): run `messngr doctor` as a desktop user to check the agent",
            ),
        }];
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return vec![Check::skip("dbus", format!("cannot start a runtime: {e}"))],
    };
    rt.block_on(async {
        match tokio::time::timeout(Duration::from_secs(5), bus()).await {
            Ok(checks) => checks,
            Err(_) => vec![Check::fail(
                "dbus",
                "the D-Bus session bus did not answer within 5 s",
                "log out and in again; `busctl --user list` shows what runs on it",
            )],
        }
    })
}

async fn bus() -> Vec<Check> {
    let conn = match zbus::Connection::session().await {
        Ok(c) => c,
        Err(e) => {
            return vec![Check::fail(
                "dbus",
                format!("cannot connect to the D-Bus session bus: {e}"),
                "check DBUS_SESSION_BUS_ADDRESS (run doctor from the desktop's terminal, not su or sudo)",
            )];
        }
    };
    let mut out = vec![Check::ok("dbus", "the D-Bus session bus answers")];
    let Ok(dbus) = zbus::fdo::DBusProxy::new(&conn).await else {
        out.push(Check::skip(
            "notify",
            "the bus does not answer org.freedesktop.DBus",
        ));
        return out;
    };
    let has = |name: &'static str| {
        let dbus = dbus.clone();
        async move {
            match zbus::names::BusName::try_from(name) {
                Ok(n) => dbus.name_has_owner(n).await.unwrap_or(false),
                Err(_) => false,
            }
        }
    };
    let activatable = dbus.list_activatable_names().await.unwrap_or_default();
    let can_start = activatable.iter().any(|n| n.as_str() == NOTIFICATIONS);
    out.push(if has(NOTIFICATIONS).await {
        let info: Option<(String, String, String, String)> = conn
            .call_method(
                Some(NOTIFICATIONS),
                "/org/freedesktop/Notifications",
                Some(NOTIFICATIONS),
                "GetServerInformation",
                &(),
            )
            .await
            .ok()
            .and_then(|r| r.body().deserialize().ok());
        Check::ok(
            "notify",
            match info {
                Some((name, vendor, version, _)) => {
                    format!("notification server {name} {version} ({vendor})")
                }
                None => "a notification server runs".to_owned(),
            },
        )
    } else if can_start {
        Check::ok(
            "notify",
            "a notification server starts on demand (D-Bus activation)",
        )
    } else {
        Check::fail(
            "notify",
            "no notification server on the session bus: the agent's pop-ups have nowhere to go",
            "install and start one: the desktop's own, or dunst, xfce4-notifyd, mako",
        )
    });
    out.push(if has(WATCHER).await {
        Check::ok("tray", "a tray (StatusNotifierWatcher) shows the unread count")
    } else {
        Check::fail(
            "tray",
            "no tray (StatusNotifierWatcher) on the session bus: the unread count is not shown",
            "add a StatusNotifierItem tray (xfce4-panel's Status Tray plugin, KDE Plasma, GNOME's AppIndicator extension), or run `messngr agent --no-tray`",
        )
    });
    out
}
