//! The freedesktop Notifications client: `Notify` out, `ActionInvoked` and
//! `NotificationClosed` in, all on one session-bus connection.
//!
//! Why not notify-rust: it opens a new bus connection (a socket) for every
//! pop-up and keeps it while the pop-up waits for an action, so a catch-up
//! of a thousand unread messages would run into the usual 1024 open-files
//! limit; and its action wait unwraps D-Bus errors (a panic when the bus
//! goes away). Here one connection carries every pop-up of an agent
//! session, and every failure is an error value the agent logs and retries
//! after. The notification server sends its action signals to the
//! connection that sent `Notify` (dunst, GNOME and Plasma all do), which is
//! why sending and listening share this connection.

use std::collections::HashMap;

use futures_lite::{Stream, StreamExt};
use zbus::Variant;

use super::popup::{ACTION_MARK_READ, ACTION_REPLY, Popup};

const DESTINATION: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";
const INTERFACE: &str = "org.freedesktop.Notifications";

/// How long the notification server may take to answer `Notify`.
pub const NOTIFY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(25);

/// What the notification server told us about one of our pop-ups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The user chose an action (`reply`, `mark-read`, or `default`).
    Action {
        /// The server's notification id.
        id: u32,
        /// The action key.
        key: String,
    },
    /// The pop-up is gone (expired, dismissed, or closed by an action).
    Closed {
        /// The server's notification id.
        id: u32,
    },
}

/// A connection to the session bus's notification server.
pub struct Notifier {
    proxy: zbus::Proxy<'static>,
    /// The server renders body markup (`body-markup` capability).
    pub markup: bool,
}

impl Notifier {
    /// Connects to the session bus and asks the server what it can do; an
    /// error means no session bus or no notification server on it.
    pub async fn connect() -> anyhow::Result<Notifier> {
        let hint = "is DBUS_SESSION_BUS_ADDRESS set and a notification daemon running?";
        let conn = zbus::Connection::session()
            .await
            .map_err(|e| anyhow::anyhow!("no D-Bus session bus ({e}; {hint})"))?;
        let proxy = zbus::Proxy::new_owned(conn, DESTINATION, PATH, INTERFACE).await?;
        let caps: Vec<String> = proxy.call("GetCapabilities", &()).await.map_err(|e| {
            anyhow::anyhow!("no desktop notification server on the session bus ({e}; {hint})")
        })?;
        Ok(Notifier {
            proxy,
            markup: caps.iter().any(|c| c == "body-markup"),
        })
    }

    /// Every action and close signal from now on, ours or not (match the
    /// ids). Subscribe before the first [`Notifier::show`], or an early
    /// click could be missed.
    pub async fn events(&self) -> anyhow::Result<impl Stream<Item = Event> + Unpin + use<>> {
        let invoked = self.proxy.receive_signal("ActionInvoked").await?;
        let closed = self.proxy.receive_signal("NotificationClosed").await?;
        let invoked = invoked.filter_map(|m| {
            let (id, key): (u32, String) = m.body().deserialize().ok()?;
            Some(Event::Action { id, key })
        });
        let closed = closed.filter_map(|m| {
            let (id, _reason): (u32, u32) = m.body().deserialize().ok()?;
            Some(Event::Closed { id })
        });
        Ok(invoked.or(closed))
    }

    /// Shows `popup` with the actions Reply and Mark read; the server's id.
    /// A server that does not answer within [`NOTIFY_TIMEOUT`] is an error
    /// (the agent reconnects; the message stays unread).
    pub async fn show(&self, popup: &Popup, replaces: u32) -> anyhow::Result<u32> {
        tokio::time::timeout(NOTIFY_TIMEOUT, self.notify(popup, replaces))
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "the notification server did not answer within {} s",
                    NOTIFY_TIMEOUT.as_secs()
                )
            })?
    }

    /// `replaces`: the id of our pop-up this one takes the place of (0:
    /// none), as the specification's `replaces_id`.
    async fn notify(&self, popup: &Popup, replaces: u32) -> anyhow::Result<u32> {
        let actions = vec![ACTION_REPLY, "Reply", ACTION_MARK_READ, "Mark read"];
        let mut hints: HashMap<&str, Variant<'_>> = HashMap::new();
        hints.insert("urgency", Variant::U8(popup.urgency()));
        hints.insert("desktop-entry", Variant::from("messngr-agent"));
        let id: u32 = self
            .proxy
            .call(
                "Notify",
                &(
                    "messngr",
                    replaces,
                    "mail-message-new",
                    popup.summary.as_str(),
                    popup.body.as_str(),
                    actions,
                    hints,
                    popup.expire_timeout_ms(),
                ),
            )
            .await?;
        Ok(id)
    }
}
