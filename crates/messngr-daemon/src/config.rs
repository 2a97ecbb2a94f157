//! The daemon's configuration: a commented TOML file, every key optional.
//!
//! Why a module of its own: the daemon and every CLI command read the same
//! file (the CLI needs `socket`, `interface` and `wins_server` too), and every
//! default and every check lives in one place. [`EXAMPLE`] is the commented
//! file `messngr generate config` prints; a test proves it parses to the
//! defaults, so the documentation cannot drift from the code.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use messngr_proto::wire::name::{NAME_CHARS, NetbiosName, suffix};
use serde::Deserialize;

mod alerter;
mod dropins;
mod http;
mod limits;
mod relay;
mod secure;
use crate::policy::{NamePatterns, NetList};
pub use alerter::{Alerter, DEFAULT_COLLAPSE_SECS};
pub use http::{DEFAULT_HTTP_LISTEN, DEFAULT_MAX_BODY, Http};
pub use limits::{Limits, MAX_SESSIONS};
pub use relay::{DEFAULT_DIRECTORY_TTL_SECS, Relay};
pub(crate) use relay::{MAX_DIRECTORY_TTL_SECS, is_group_name};
pub use secure::{DEFAULT_TRUST_FILE, DEFAULT_URGENT_SENDERS, Secure, TrustMode};

/// Where glibc keeps the login records (the default `utmp`).
pub(crate) const UTMP_PATH: &str = "/var/run/utmp";

/// Where the daemon keeps its state when nothing else is configured.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/messngr";
/// The local API socket when nothing else is configured.
pub const DEFAULT_SOCKET: &str = "/run/messngr/messngr.sock";
/// Where `messngr daemon` looks for its config without `--config`.
pub const DEFAULT_CONFIG: &str = "/etc/messngr/messngr.toml";

/// The commented example configuration (all values are the defaults).
pub const EXAMPLE: &str = include_str!("../messngr.toml");

/// Why a configuration was refused. Each message names the key and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// TOML syntax or an unknown key.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What toml said (line, column, key).
        message: String,
    },
    /// A value is not acceptable.
    #[error("{key}: {message}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
}

/// `interface`: one name, or a list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Interfaces {
    /// `interface = "eth0"`.
    One(String),
    /// `interface = ["eth0", "eth1"]`.
    Many(Vec<String>),
}

impl Interfaces {
    /// The names, in order.
    pub fn names(&self) -> Vec<&str> {
        match self {
            Interfaces::One(n) => vec![n.as_str()],
            Interfaces::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// The configuration as written in the file (before defaults that need the
/// system, such as the host name, are applied).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The host's NetBIOS name; default: the host name, upper-cased, cut to 15 bytes.
    pub netbios_name: Option<String>,
    /// Workgroup (or NT domain) the host belongs to.
    pub workgroup: Option<String>,
    /// The network interface, or several (`["eth0", "eth1"]`, each its own
    /// broadcast domain; the first sends); default: the first one that is
    /// up, not loopback, with IPv4.
    pub interface: Option<Interfaces>,
    /// State directory (inbox, keys).
    pub state_dir: Option<PathBuf>,
    /// The local API socket the CLI talks to.
    pub socket: Option<PathBuf>,
    /// A WINS server: when set, names are registered and resolved there too (H-node).
    pub wins_server: Option<Ipv4Addr>,
    /// Extra messenger aliases, registered as `ALIAS<03>`.
    #[serde(default)]
    pub names: Vec<String>,
    /// The NetBIOS scope (`corp.example`; default none): names in another
    /// scope are other names, and this host's are invisible there.
    pub scope: Option<String>,
    /// Groups to join, registered as the group name `GROUP<03>`: `net send
    /// /domain:GROUP` reaches every member.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Register `USER<03>` for users logged in on this host.
    pub register_users: Option<bool>,
    /// The utmp file logged-in users are read from.
    pub utmp: Option<PathBuf>,
    /// NBNS datagrams per second accepted from one source address (bursts
    /// of twice that); 0 turns the limit off.
    pub nbns_rate_limit: Option<u32>,
    /// Seconds after losing a name to another host before it is claimed
    /// again; each further loss doubles the wait, up to 30 times this
    /// (default 60: 1 min to 30 min). 0: never claim a lost name again.
    pub name_retry_secs: Option<u64>,
    /// Whether messages to the host or workgroup name are shown to every
    /// local user (default yes); otherwise only to root and `admin_group`.
    pub host_messages_visible_to_all: Option<bool>,
    /// A group whose members see every user's messages, as root does.
    pub admin_group: Option<String>,
    /// Accounts besides root that may hand messages over with `messngr
    /// deliver` (smbd's guest account, which runs its `message command`).
    #[serde(default)]
    pub deliver_users: Vec<String>,
    /// Serve NetBIOS (UDP 137/138, TCP 139). `false`: Samba owns the ports
    /// and hands messages over with `messngr deliver` (its `message command`).
    pub serve_netbios: Option<bool>,
    /// Serve MS-MSRP `NetrSendMessage` over connectionless DCE/RPC on UDP
    /// 135 (the Windows NT/2000/XP `net send` fallback, and the 2003 pop-up
    /// spam vector): off unless an administrator turns it on.
    pub rpc: Option<bool>,
    /// Aliases with an owner: `ALIAS = "user"`. Each is registered as
    /// `ALIAS<03>` (like `names`), and its messages belong to that user.
    #[serde(default)]
    pub aliases: std::collections::BTreeMap<String, String>,
    /// Write each message on the recipient's terminals (`write`-style).
    pub terminals: Option<bool>,
    /// Messages to the host name, an alias or the workgroup go to the
    /// terminals of every logged-in user (otherwise to nobody's).
    pub terminal_host_messages: Option<bool>,
    /// The account the daemon runs as once its ports are bound (started as
    /// root, it always drops to it; `nobody` if it does not exist).
    pub user: Option<String>,
    /// Flood protection on UDP 138 and TCP 139 (the `[limits]` table).
    #[serde(default)]
    pub limits: Limits,
    /// Keys, trust and what must be verified (the `[secure]` table).
    #[serde(default)]
    pub secure: Secure,
    /// The NATS relay between sites (the `[relay]` table).
    #[serde(default)]
    pub relay: Relay,
    /// The HTTP listener (the `[http]` table).
    #[serde(default)]
    pub http: Http,
    /// Who is told of alerts, and who may raise them (the `[alerter]`
    /// table).
    #[serde(default)]
    pub alerter: Alerter,
    /// Received messages the inbox holds at most (everyone's); the next
    /// is refused ("no room"). 0: no limit.
    pub max_messages: Option<u64>,
    /// Received messages one local user (or the host, for messages that
    /// belong to nobody) holds at most. 0: no limit.
    pub max_messages_per_owner: Option<u64>,
    /// Read received messages older than this many days are deleted.
    /// 0: never.
    pub expire_read_after_days: Option<u32>,
    /// Sources admitted besides the served interface's subnet: CIDR
    /// networks or addresses (`"10.1.0.0/16"`, `"10.1.2.3"`).
    #[serde(default)]
    pub allow_from: Vec<String>,
    /// Sources refused wherever they are (wins over `allow_from` and the LAN).
    #[serde(default)]
    pub deny_from: Vec<String>,
    /// When set, only messages from these sender names (`*` globs,
    /// case-insensitive) are admitted.
    #[serde(default)]
    pub allow_names: Vec<String>,
    /// Sender names refused (`*` globs, case-insensitive).
    #[serde(default)]
    pub deny_names: Vec<String>,
    /// Who may send to the workgroup or `*`: networks, addresses or `"lan"`;
    /// default `["lan"]`.
    pub group_senders: Option<Vec<String>>,
    /// The OEM code page of legacy text (`850`, `"cp866"`); default 850.
    pub code_page: Option<crate::codepages::CodePageValue>,
    /// Code pages of particular peers: a NetBIOS name, or an address or
    /// range, to a code page.
    #[serde(default)]
    pub code_pages: std::collections::BTreeMap<String, crate::codepages::CodePageValue>,
    /// Programs run for each message (`[[hook]]` tables).
    #[serde(default, rename = "hook")]
    pub hooks: Vec<HookConfig>,
    /// API requests per second one local uid may make (bursts of four
    /// times that); more are answered late, not refused. Root and the
    /// daemon's user are exempt; 0 turns the limit off.
    pub api_rate_limit: Option<u32>,
    /// Seconds an API connection may stay silent between requests before
    /// the daemon closes it (`follow` streams excepted).
    pub api_idle_secs: Option<u64>,
}

/// How much of the API socket one local user may take, besides the
/// per-uid connection cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiLimits {
    /// Requests per second per uid (0: unlimited); the burst is 4×.
    pub rate: u32,
    /// A connection silent this long between requests is closed.
    pub idle: std::time::Duration,
}

/// Default API requests per second per uid.
pub const DEFAULT_API_RATE: u32 = 50;
/// Default idle time before an API connection is closed (seconds).
pub const DEFAULT_API_IDLE_SECS: u64 = 300;

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            rate: DEFAULT_API_RATE,
            idle: std::time::Duration::from_secs(DEFAULT_API_IDLE_SECS),
        }
    }
}

/// One `[[hook]]`: a program run (never through a shell) for each message.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HookConfig {
    /// Absolute path of the program.
    pub program: PathBuf,
    /// Its arguments, passed as they are (no expansion of any kind).
    #[serde(default)]
    pub args: Vec<String>,
    /// Seconds before the hook (its whole process group) is killed; default 10.
    pub timeout_secs: Option<u64>,
    /// Run only for messages to this name (case-insensitive); default: all.
    pub to: Option<String>,
    /// Run as this local user; it must be the daemon's own `user` (a
    /// daemon without root cannot start programs as anyone else); default:
    /// as the daemon's user.
    pub user: Option<String>,
}

/// Default `name_retry_secs`: a minute.
pub const DEFAULT_NAME_RETRY_SECS: u64 = 60;
/// Largest `name_retry_secs`.
pub const MAX_NAME_RETRY_SECS: u64 = 86_400;
/// The account the daemon drops to when `user` is not set.
pub const DEFAULT_USER: &str = "messngr";
/// Default `max_messages`.
pub const DEFAULT_MAX_MESSAGES: u64 = 100_000;
/// Default `max_messages_per_owner`.
pub const DEFAULT_MAX_MESSAGES_PER_OWNER: u64 = 10_000;
/// Largest `expire_read_after_days`.
const MAX_EXPIRE_DAYS: u32 = 36_500;

/// Default seconds a hook may run.
pub const DEFAULT_HOOK_TIMEOUT_SECS: u64 = 10;

impl HookConfig {
    /// The timeout.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_secs.unwrap_or(DEFAULT_HOOK_TIMEOUT_SECS))
    }
}

impl Config {
    /// Parses a configuration from TOML text (`path` only names it in errors).
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads and parses `path`, then its drop-ins (`messngr.d/*.toml`
    /// beside it, in name order; `config/dropins.rs`).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        dropins::load(path)
    }

    /// Checks every value that can be checked without the system.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(n) = &self.netbios_name {
            netbios_name("netbios_name", n)?;
        }
        if let Some(w) = &self.workgroup {
            netbios_name("workgroup", w)?;
        }
        for g in &self.groups {
            netbios_name("groups", g)?;
        }
        self.scope_labels()?;
        for n in &self.names {
            netbios_name("names", n)?;
        }
        for n in &self.relay.gateway {
            netbios_name("relay.gateway", n)?;
            let held = |x: &String| x.eq_ignore_ascii_case(n);
            if self.names.iter().any(held) || self.aliases.keys().any(held) {
                return Err(ConfigError::Invalid {
                    key: "relay.gateway",
                    message: format!(
                        "{n} is also in names or aliases: a gateway name is another site's person, not held here"
                    ),
                });
            }
        }
        for (alias, owner) in &self.aliases {
            netbios_name("aliases", alias)?;
            if owner.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    key: "aliases",
                    message: format!("{alias}: the owner must be a local user name"),
                });
            }
        }
        if self
            .name_retry_secs
            .is_some_and(|s| s > MAX_NAME_RETRY_SECS)
        {
            return Err(ConfigError::Invalid {
                key: "name_retry_secs",
                message: format!(
                    "at most {MAX_NAME_RETRY_SECS} (a day); 0 never claims a lost name again"
                ),
            });
        }
        if let Some(u) = &self.user {
            let u = u.trim();
            if u.is_empty() || u == "root" || u.chars().any(|c| c.is_whitespace() || c == '/') {
                return Err(ConfigError::Invalid {
                    key: "user",
                    message: format!(
                        "{u:?}: name the unprivileged local account the daemon runs as (default {DEFAULT_USER}); it never stays root"
                    ),
                });
            }
        }
        self.limits.validate()?;
        self.secure.validate()?;
        self.http.validate()?;
        self.relay.validate()?;
        if self.relay.enabled() && !self.serve_netbios() {
            // Messages through the relay are for names this daemon holds;
            // with Samba holding them, every one would be refused.
            return Err(ConfigError::Invalid {
                key: "relay.servers",
                message: "the relay needs serve_netbios = true (with Samba holding the names, nothing could be delivered): remove [relay] servers, or let messngr serve NetBIOS".into(),
            });
        }
        self.alerter.validate()?;
        self.allow_from()?;
        self.deny_from()?;
        self.group_senders()?;
        self.allow_names()?;
        self.deny_names()?;
        self.code_pages()?;
        for h in &self.hooks {
            if !h.program.is_absolute() {
                return Err(ConfigError::Invalid {
                    key: "hook.program",
                    message: format!(
                        "{} is not an absolute path (hooks are run directly, without a shell or $PATH)",
                        h.program.display()
                    ),
                });
            }
            if h.timeout_secs == Some(0) {
                return Err(ConfigError::Invalid {
                    key: "hook.timeout_secs",
                    message: "must be at least 1".into(),
                });
            }
        }
        let (total, per_owner) = (self.max_messages(), self.max_messages_per_owner());
        if let (Some(total), Some(per_owner)) = (total, per_owner)
            && per_owner > total
        {
            return Err(ConfigError::Invalid {
                key: "max_messages_per_owner",
                message: format!(
                    "{per_owner} is more than max_messages ({total}): lower it or raise max_messages"
                ),
            });
        }
        if self
            .expire_read_after_days
            .is_some_and(|d| d > MAX_EXPIRE_DAYS)
        {
            return Err(ConfigError::Invalid {
                key: "expire_read_after_days",
                message: format!("at most {MAX_EXPIRE_DAYS} (100 years); 0 keeps read messages"),
            });
        }
        if self.api_idle_secs == Some(0) {
            return Err(ConfigError::Invalid {
                key: "api_idle_secs",
                message:
                    "must be at least 1 (seconds a silent API connection stays open; default 300)"
                        .into(),
            });
        }
        Ok(())
    }

    /// Received messages held at most (default 100 000; `None`: no limit).
    pub fn max_messages(&self) -> Option<u64> {
        Some(self.max_messages.unwrap_or(DEFAULT_MAX_MESSAGES)).filter(|n| *n > 0)
    }

    /// Received messages one owner holds at most (default 10 000; `None`:
    /// no limit).
    pub fn max_messages_per_owner(&self) -> Option<u64> {
        Some(
            self.max_messages_per_owner
                .unwrap_or(DEFAULT_MAX_MESSAGES_PER_OWNER),
        )
        .filter(|n| *n > 0)
    }

    /// After how long read messages are deleted (default never).
    pub fn expire_read_after(&self) -> Option<std::time::Duration> {
        match self.expire_read_after_days.unwrap_or(0) {
            0 => None,
            d => Some(std::time::Duration::from_secs(u64::from(d) * 24 * 3600)),
        }
    }

    /// The workgroup, default `WORKGROUP`.
    pub fn workgroup(&self) -> String {
        self.workgroup
            .clone()
            .unwrap_or_else(|| "WORKGROUP".into())
            .to_ascii_uppercase()
    }

    /// The state directory.
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(|| DEFAULT_STATE_DIR.into())
    }

    /// The account the daemon runs as (default `messngr`).
    pub fn user(&self) -> String {
        self.user
            .as_deref()
            .map_or(DEFAULT_USER, str::trim)
            .to_owned()
    }

    /// The API socket.
    pub fn socket(&self) -> PathBuf {
        self.socket.clone().unwrap_or_else(|| DEFAULT_SOCKET.into())
    }

    /// NBNS datagrams per second per source (default 200; 0 = unlimited).
    pub fn nbns_rate_limit(&self) -> u32 {
        self.nbns_rate_limit.unwrap_or(200)
    }

    /// The first wait before a lost name is claimed again (default 60 s;
    /// `None`: never, `name_retry_secs = 0`).
    pub fn name_retry(&self) -> Option<std::time::Duration> {
        match self.name_retry_secs.unwrap_or(DEFAULT_NAME_RETRY_SECS) {
            0 => None,
            s => Some(std::time::Duration::from_secs(s)),
        }
    }

    /// The API's per-uid request rate and idle timeout (defaults 50/s,
    /// 300 s).
    pub fn api_limits(&self) -> ApiLimits {
        ApiLimits {
            rate: self.api_rate_limit.unwrap_or(DEFAULT_API_RATE),
            idle: std::time::Duration::from_secs(
                self.api_idle_secs.unwrap_or(DEFAULT_API_IDLE_SECS),
            ),
        }
    }

    /// The utmp file (default `/var/run/utmp`).
    pub fn utmp(&self) -> PathBuf {
        self.utmp.clone().unwrap_or_else(|| UTMP_PATH.into())
    }

    /// Whether host and workgroup messages are everyone's (default yes).
    pub fn host_messages_visible_to_all(&self) -> bool {
        self.host_messages_visible_to_all.unwrap_or(true)
    }

    /// Whether to serve the NetBIOS ports (default yes).
    pub fn serve_netbios(&self) -> bool {
        self.serve_netbios.unwrap_or(true)
    }

    /// Whether to serve RPC on UDP 135 (default no).
    pub fn rpc(&self) -> bool {
        self.rpc.unwrap_or(false)
    }

    /// Whether to register logged-in users (default yes).
    pub fn register_users(&self) -> bool {
        self.register_users.unwrap_or(true)
    }

    /// Whether to write messages on terminals (default yes).
    pub fn terminals(&self) -> bool {
        self.terminals.unwrap_or(true)
    }

    /// Whether host, alias and workgroup messages go to every logged-in
    /// user's terminals (default no: anyone on the LAN may send them).
    pub fn terminal_host_messages(&self) -> bool {
        self.terminal_host_messages.unwrap_or(false)
    }

    /// `allow_from`, parsed.
    pub fn allow_from(&self) -> Result<NetList, ConfigError> {
        nets("allow_from", &self.allow_from)
    }

    /// `deny_from`, parsed.
    pub fn deny_from(&self) -> Result<NetList, ConfigError> {
        nets("deny_from", &self.deny_from)
    }

    /// `group_senders`, parsed (default: the LAN).
    pub fn group_senders(&self) -> Result<NetList, ConfigError> {
        match &self.group_senders {
            Some(v) => nets("group_senders", v),
            None => Ok(NetList::lan_only()),
        }
    }

    /// `scope` in wire form (empty for none).
    pub fn scope_labels(&self) -> Result<Vec<u8>, ConfigError> {
        let dotted = self.scope.as_deref().unwrap_or_default().trim();
        messngr_proto::wire::name::scope_labels(dotted).map_err(|e| ConfigError::Invalid {
            key: "scope",
            message: format!(
                "{dotted:?}: {e} (write labels of 1 to 63 characters joined by dots, such as \"corp.example\")"
            ),
        })
    }

    /// `code_page` and `[code_pages]`, resolved.
    pub fn code_pages(&self) -> Result<crate::codepages::CodePages, ConfigError> {
        crate::codepages::CodePages::parse(self.code_page.as_ref(), &self.code_pages)
            .map_err(|(key, message)| ConfigError::Invalid { key, message })
    }

    /// `allow_names`, parsed.
    pub fn allow_names(&self) -> Result<NamePatterns, ConfigError> {
        patterns("allow_names", &self.allow_names)
    }

    /// `deny_names`, parsed.
    pub fn deny_names(&self) -> Result<NamePatterns, ConfigError> {
        patterns("deny_names", &self.deny_names)
    }

    /// The NetBIOS name: configured, or derived from `hostname`.
    pub fn netbios_name(&self, hostname: &str) -> Result<String, ConfigError> {
        match &self.netbios_name {
            Some(n) => Ok(n.to_ascii_uppercase()),
            None => {
                let short = hostname.split('.').next().unwrap_or_default();
                let cut: String = short
                    .chars()
                    .take(NAME_CHARS)
                    .collect::<String>()
                    .to_ascii_uppercase();
                netbios_name("netbios_name (from the host name)", &cut)?;
                Ok(cut)
            }
        }
    }
}

fn nets(key: &'static str, values: &[String]) -> Result<NetList, ConfigError> {
    NetList::parse(values).map_err(|e| ConfigError::Invalid {
        key,
        message: e.to_string(),
    })
}

fn patterns(key: &'static str, values: &[String]) -> Result<NamePatterns, ConfigError> {
    NamePatterns::parse(values).map_err(|e| ConfigError::Invalid {
        key,
        message: e.to_string(),
    })
}

/// Checks that `value` can be a NetBIOS name: 1–15 ASCII bytes, printable,
/// no `*` at the start, none of `\ / : * ? " < > |` (which Windows refuses).
pub fn netbios_name(key: &'static str, value: &str) -> Result<NetbiosName, ConfigError> {
    let bad = |message: String| ConfigError::Invalid { key, message };
    if !value.is_ascii() || value.bytes().any(|b| !b.is_ascii_graphic() && b != b' ') {
        return Err(bad(format!(
            "{value:?} is not a NetBIOS name: use printable ASCII only"
        )));
    }
    if let Some(c) = value.chars().find(|c| "\\/:*?\"<>|".contains(*c)) {
        return Err(bad(format!(
            "{value:?} contains {c:?}, which NetBIOS names cannot"
        )));
    }
    NetbiosName::new(value.as_bytes(), suffix::MESSENGER)
        .map_err(|e| bad(format!("{value:?}: {e} (1 to 15 characters)")))
}

#[cfg(test)]
mod tests;
