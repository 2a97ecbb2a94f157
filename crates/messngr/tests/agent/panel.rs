//! A real tray for the tray test: Xfce's panel with only its status tray
//! plugin, which is both a StatusNotifierWatcher and a StatusNotifierHost,
//! on the test desktop's private bus; and `gdbus` to read what our item
//! says on that bus.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::desktop::{self, Desktop};
use crate::support::wait_for;

/// Programs the tray test needs besides the desktop's.
pub const TOOLS: [&str; 3] = ["xfce4-panel", "gdbus", "compare"];

/// xfconfd, the settings daemon the panel reads its layout from; it lives
/// in a multiarch directory and is not on $PATH.
pub fn xfconfd() -> Option<PathBuf> {
    std::fs::read_dir("/usr/lib")
        .ok()?
        .flatten()
        .map(|e| e.path().join("xfce4/xfconf/xfconfd"))
        .find(|p| p.exists())
}

/// Whether the tray tools are installed; under CI=true their absence fails.
pub fn panel_tools() -> bool {
    let mut missing = desktop::missing(&TOOLS);
    if xfconfd().is_none() {
        missing.push("xfconfd");
    }
    desktop::tools_present("tray", &missing)
}

/// One panel along the bottom of the screen (dunst draws at the top),
/// holding only the status tray.
const PANEL_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=10;x=0;y=0"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="size" type="uint" value="48"/>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="systray"/>
  </property>
</channel>
"#;

/// The panel's height in pixels (PANEL_XML's `size`).
pub const PANEL_HEIGHT: u32 = 48;

impl Desktop {
    fn panel_env(&self, c: &mut Command) {
        let home = self.dir.join("panel-home");
        c.env("DISPLAY", &self.display)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("NO_AT_BRIDGE", "1");
    }

    /// Starts xfconfd and xfce4-panel on this desktop and waits until the
    /// panel's tray owns `org.kde.StatusNotifierWatcher`.
    pub fn panel(&mut self) {
        let xml = self
            .dir
            .join("panel-home/config/xfce4/xfconf/xfce-perchannel-xml");
        std::fs::create_dir_all(&xml).unwrap();
        std::fs::write(xml.join("xfce4-panel.xml"), PANEL_XML).unwrap();
        let log = |name: &str| std::fs::File::create(self.dir.join(name)).unwrap();
        let mut c = Command::new(xfconfd().unwrap());
        self.panel_env(&mut c);
        let child = c
            .stdout(log("xfconfd.log"))
            .stderr(log("xfconfd.err"))
            .spawn()
            .unwrap();
        self.procs.0.push(("xfconfd", child));
        wait_for(
            Duration::from_secs(10),
            || self.has_owner("org.xfce.Xfconf"),
            || self.logs(),
        );
        let mut c = Command::new("xfce4-panel");
        self.panel_env(&mut c);
        let child = c
            .arg("--disable-wm-check")
            .stdout(log("panel.log"))
            .stderr(log("panel.err"))
            .spawn()
            .unwrap();
        self.procs.0.push(("panel", child));
        wait_for(
            Duration::from_secs(20),
            || self.has_owner("org.kde.StatusNotifierWatcher"),
            || {
                format!(
                    "{}\n--- panel.err:\n{}",
                    self.logs(),
                    std::fs::read_to_string(self.dir.join("panel.err")).unwrap_or_default()
                )
            },
        );
    }

    /// `gdbus call` on this desktop's bus; `None` if it failed.
    pub fn gdbus(&self, dest: &str, path: &str, method: &str, args: &[&str]) -> Option<String> {
        let call = ["call", "--session", "--dest", dest, "--object-path", path];
        let args = [&call[..], &["--method", method], args].concat();
        self.on_bus("gdbus", &args).map(|o| o.trim().to_owned())
    }

    pub fn has_owner(&self, name: &str) -> bool {
        self.gdbus(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            &[name],
        )
        .is_some_and(|o| o == "(true,)")
    }

    /// One property of the agent's item `dest`, as gdbus prints it.
    pub fn item_property(&self, dest: &str, name: &str) -> Option<String> {
        self.gdbus(
            dest,
            "/StatusNotifierItem",
            "org.freedesktop.DBus.Properties.Get",
            &["org.kde.StatusNotifierItem", name],
        )
    }

    /// The items the panel's watcher has accepted.
    pub fn registered_items(&self) -> String {
        self.gdbus(
            "org.kde.StatusNotifierWatcher",
            "/StatusNotifierWatcher",
            "org.freedesktop.DBus.Properties.Get",
            &[
                "org.kde.StatusNotifierWatcher",
                "RegisteredStatusNotifierItems",
            ],
        )
        .unwrap_or_default()
    }

    /// Records every signal the agent's item `dest` sends into `to`.
    pub fn monitor(&mut self, dest: &str, to: &Path) {
        let child = Command::new("gdbus")
            .args(["monitor", "--session", "--dest", dest])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .stdout(std::fs::File::create(to).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.procs.0.push(("monitor", child));
    }
}

/// How many pixels differ between the bottom `PANEL_HEIGHT` rows of two
/// screenshots (ImageMagick's `compare -metric AE`).
pub fn panel_difference(a: &Path, b: &Path) -> u64 {
    let crop = |p: &Path| {
        let out = p.with_extension("panel.png");
        let o = Command::new("convert")
            .arg(p)
            .args(["-gravity", "south", "-crop"])
            .arg(format!("10000x{PANEL_HEIGHT}+0+0"))
            .arg("+repage")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        out
    };
    let (a, b) = (crop(a), crop(b));
    let o = Command::new("compare")
        .args(["-metric", "AE"])
        .arg(&a)
        .arg(&b)
        .arg("null:")
        .output()
        .unwrap();
    // compare exits 1 when the images differ; the count is on stderr.
    let text = String::from_utf8_lossy(&o.stderr);
    text.split_whitespace()
        .next()
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("compare said {text:?}")) as u64
}
