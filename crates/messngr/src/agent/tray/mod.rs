//! The agent's tray icon: a StatusNotifierItem with the unread count.
//!
//! Why it exists: pop-ups go away, the count should not. Desktop panels
//! (KDE Plasma, Xfce's status tray, Cinnamon, waybar, GNOME with the
//! AppIndicator extension) show items that follow the freedesktop/KDE
//! StatusNotifierItem protocol. We implement its small D-Bus interface
//! directly on zbus 6 (which the agent's notifications use too) rather than
//! with `ksni`, which would pull a second zbus major into the tree.
//!
//! What the item does: it owns `org.kde.StatusNotifierItem-<pid>-1`, serves
//! `org.kde.StatusNotifierItem` at `/StatusNotifierItem` and registers with
//! `org.kde.StatusNotifierWatcher` now, and again whenever a watcher
//! appears later (a panel started after the agent). The count comes from
//! the daemon (`Request::Unread`: a count per owner from SQL, never the messages), asked
//! after the agent's own hooks ([`refresh`]) and every [`POLL`] (a message
//! read with `messngr read` in a terminal changes it too). Activating the
//! icon (a left or middle click) pops up again the unread messages whose
//! pop-up has closed ([`activated`]; do-not-disturb still holds back the
//! non-urgent ones); there is no menu. Everything here is best effort:
//! without a session bus or a tray the agent logs one line and its pop-ups
//! work as before.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use futures_lite::StreamExt;
use tokio::sync::Notify;
use zbus::{Connection, interface, object_server::SignalEmitter};

mod look;
pub use look::{Look, Unread};

/// Where the item lives on its connection.
pub const ITEM_PATH: &str = "/StatusNotifierItem";
/// The watcher's well-known name (and interface).
pub const WATCHER: &str = "org.kde.StatusNotifierWatcher";
/// The watcher's object.
pub const WATCHER_PATH: &str = "/StatusNotifierWatcher";
/// How often the count is asked for when nothing poked it.
pub const POLL: Duration = Duration::from_secs(3);

/// An icon pixmap list: (width, height, ARGB32 bytes); we send names only.
type Pixmaps = Vec<(i32, i32, Vec<u8>)>;

/// The D-Bus object: `org.kde.StatusNotifierItem`.
struct Item {
    unread: Unread,
    look: Look,
}

#[interface(name = "org.kde.StatusNotifierItem")]
impl Item {
    /// Left click: show the unread messages again (see [`activated`]).
    fn activate(&self, x: i32, y: i32) {
        let _ = (x, y);
        SHARED.activate.notify_one();
    }

    /// Middle click: the same as a left click.
    fn secondary_activate(&self, x: i32, y: i32) {
        let _ = (x, y);
        SHARED.activate.notify_one();
    }

    /// No menu (`ItemIsMenu` is false and there is no `Menu`).
    fn context_menu(&self, x: i32, y: i32) {
        let _ = (x, y);
    }

    /// Scrolling means nothing here.
    fn scroll(&self, delta: i32, orientation: &str) {
        let _ = (delta, orientation);
    }

    #[zbus(property)]
    fn category(&self) -> &str {
        "Communications"
    }

    #[zbus(property)]
    fn id(&self) -> &str {
        "messngr"
    }

    #[zbus(property)]
    fn title(&self) -> String {
        self.look.title.clone()
    }

    #[zbus(property)]
    fn status(&self) -> &str {
        self.look.status
    }

    #[zbus(property)]
    fn window_id(&self) -> i32 {
        0
    }

    #[zbus(property)]
    fn icon_name(&self) -> &str {
        self.look.icon
    }

    #[zbus(property)]
    fn icon_pixmap(&self) -> Pixmaps {
        Vec::new()
    }

    #[zbus(property)]
    fn overlay_icon_name(&self) -> &str {
        ""
    }

    #[zbus(property)]
    fn overlay_icon_pixmap(&self) -> Pixmaps {
        Vec::new()
    }

    #[zbus(property)]
    fn attention_icon_name(&self) -> &str {
        "mail-mark-important"
    }

    #[zbus(property)]
    fn attention_icon_pixmap(&self) -> Pixmaps {
        Vec::new()
    }

    #[zbus(property)]
    fn attention_movie_name(&self) -> &str {
        ""
    }

    /// (icon name, icon pixmaps, title, text).
    #[zbus(property)]
    fn tool_tip(&self) -> (String, Pixmaps, String, String) {
        (
            self.look.icon.to_owned(),
            Vec::new(),
            "messngr".to_owned(),
            self.look.tooltip.clone(),
        )
    }

    #[zbus(property)]
    fn item_is_menu(&self) -> bool {
        false
    }

    #[zbus(signal)]
    async fn new_title(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn new_icon(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn new_attention_icon(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn new_overlay_icon(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn new_tool_tip(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn new_status(emitter: &SignalEmitter<'_>, status: &str) -> zbus::Result<()>;
}

/// Process-wide: one tray per agent, poked from anywhere in it.
struct Shared {
    refresh: Notify,
    activate: Notify,
    conn: Mutex<Option<Connection>>,
}

static SHARED: LazyLock<Arc<Shared>> = LazyLock::new(|| {
    Arc::new(Shared {
        refresh: Notify::new(),
        activate: Notify::new(),
        conn: Mutex::new(None),
    })
});

/// Whether the item is on the bus.
pub fn is_up() -> bool {
    SHARED.conn.lock().is_ok_and(|c| c.is_some())
}

/// Asks for the count now (after a new message, a catch-up, "Mark read");
/// nothing happens without a tray.
pub fn refresh() {
    if is_up() {
        SHARED.refresh.notify_one();
    }
}

/// Returns when someone clicked the icon; never without a tray.
pub async fn activated() {
    SHARED.activate.notified().await;
}

/// The bus name of this process's item.
pub fn bus_name() -> String {
    format!("org.kde.StatusNotifierItem-{}-1", std::process::id())
}

/// [`start`], given up after `limit` (a session bus that never answers).
pub async fn start_within(socket: &Path, limit: Duration) -> anyhow::Result<()> {
    tokio::time::timeout(limit, start(socket))
        .await
        .map_err(|_| anyhow::anyhow!("no tray icon: the D-Bus session bus did not answer"))?
}

/// Puts the item on the session bus and starts following the daemon's
/// count and the watcher. Call again after a failure; a no-op once up.
pub async fn start(socket: &Path) -> anyhow::Result<()> {
    if is_up() {
        return Ok(());
    }
    let name = bus_name();
    let conn = zbus::connection::Builder::session()
        .name(name.clone())
        .serve_at(
            ITEM_PATH,
            Item {
                unread: Unread::default(),
                look: Look::of(Unread::default()),
            },
        )
        .build()
        .await
        .map_err(|e| anyhow::anyhow!("no tray icon: cannot use the D-Bus session bus: {e}"))?;
    if let Ok(mut c) = SHARED.conn.lock() {
        *c = Some(conn.clone());
    }
    tokio::spawn(follow_watcher(conn.clone(), name));
    tokio::spawn(follow_count(conn, socket.to_owned()));
    Ok(())
}

/// Registers with the watcher now and whenever one appears.
async fn follow_watcher(conn: Connection, name: String) {
    let dbus = match zbus::fdo::DBusProxy::new(&conn).await {
        Ok(p) => p,
        Err(e) => return eprintln!("messngr agent: tray icon: {e}"),
    };
    // Subscribed before the first look, so a watcher starting in between
    // is not missed.
    let mut appeared = match dbus
        .receive_name_owner_changed_with_args(&[(0, WATCHER)])
        .await
    {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("messngr agent: tray icon: cannot watch for a tray: {e}");
            None
        }
    };
    let present = match zbus::names::BusName::try_from(WATCHER) {
        Ok(watcher) => dbus.name_has_owner(watcher).await.unwrap_or(false),
        Err(_) => false,
    };
    if present {
        register(&conn, &name).await;
    } else {
        eprintln!(
            "messngr agent: no tray (StatusNotifierWatcher) on the session bus yet; the icon appears when one starts, pop-ups work regardless"
        );
    }
    let Some(stream) = appeared.as_mut() else {
        return;
    };
    while let Some(signal) = stream.next().await {
        if signal.args().is_ok_and(|a| a.new_owner().is_some()) {
            register(&conn, &name).await;
        }
    }
}

async fn register(conn: &Connection, name: &str) {
    match conn
        .call_method(
            Some(WATCHER),
            WATCHER_PATH,
            Some(WATCHER),
            "RegisterStatusNotifierItem",
            &(name,),
        )
        .await
    {
        Ok(_) => eprintln!("messngr agent: tray icon registered as {name}"),
        Err(e) => eprintln!("messngr agent: the tray refused the icon: {e}"),
    }
}

/// Asks the daemon for the count on every poke and every [`POLL`], and
/// shows it when it changed.
async fn follow_count(conn: Connection, socket: PathBuf) {
    loop {
        // Without a daemon the count stays as it was: the follow loop
        // already says that the daemon is away.
        if let Ok(u) = unread_now(&socket).await
            && let Err(e) = show(&conn, u).await
        {
            eprintln!("messngr agent: tray icon: {e}");
        }
        let _ = tokio::time::timeout(POLL, SHARED.refresh.notified()).await;
    }
}

async fn unread_now(socket: &Path) -> anyhow::Result<Unread> {
    let mut client = messngr_api::AsyncClient::connect(socket).await?;
    Ok(Unread::from(client.call(messngr_api::Unread {}).await?))
}

/// Updates the item and tells the tray what changed.
async fn show(conn: &Connection, u: Unread) -> zbus::Result<()> {
    let iface = conn.object_server().interface::<_, Item>(ITEM_PATH).await?;
    let (old, new) = {
        let mut item = iface.get_mut().await;
        if item.unread == u {
            return Ok(());
        }
        let old = item.look.clone();
        item.unread = u;
        item.look = Look::of(u);
        (old, item.look.clone())
    };
    let e = iface.signal_emitter();
    if old.title != new.title {
        Item::new_title(e).await?;
    }
    if old.icon != new.icon {
        Item::new_icon(e).await?;
    }
    if old.tooltip != new.tooltip || old.icon != new.icon {
        Item::new_tool_tip(e).await?;
    }
    if old.status != new.status {
        Item::new_status(e, new.status).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bus_name_follows_the_spec() {
        let name = bus_name();
        assert!(name.starts_with("org.kde.StatusNotifierItem-"), "{name}");
        assert!(name.ends_with("-1"), "{name}");
        assert!(zbus::names::WellKnownName::try_from(name.as_str()).is_ok());
    }
}
