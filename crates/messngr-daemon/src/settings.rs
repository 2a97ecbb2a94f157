//! Settings: the configuration file merged with what the system says (host
//! name, interface addresses), resolved once at start.
//!
//! Why separate from `config`: `Config` is what the user wrote and can be
//! checked anywhere; `Settings` needs the machine (the host name, the
//! interface) and is what the running daemon uses.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use messngr_proto::wire::name::{NetbiosName, suffix};

use crate::config::{Config, ConfigError, Interfaces};
use crate::iface::{Interface, InterfaceError};

/// Why the daemon cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A configuration value is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The interface is unusable.
    #[error(transparent)]
    Interface(#[from] InterfaceError),
    /// A `deliver_users` entry is no account here.
    #[error(
        "deliver_users: there is no account {0:?} on this host (give smbd's guest account, see `guest account` in smb.conf; usually nobody)"
    )]
    NoSuchUser(String),
    /// A `[relay] gateway` name is also an account here: its mail would be
    /// root's (the gateway's copy), and the account would lose it.
    #[error(
        "[relay] gateway: {0:?} is also an account on this host, whose messages would become root's here; a gateway forwards names of people on other sites: remove it from gateway, or use another host as the gateway"
    )]
    GatewayIsAccount(String),
}

/// Everything the running daemon needs, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Our NetBIOS name (upper case, ≤ 15 bytes).
    pub netbios_name: String,
    /// The workgroup.
    pub workgroup: String,
    /// The served interface.
    pub iface: Interface,
    /// More interfaces served (`interface = [..]`), each its own broadcast
    /// domain with its own names; sending goes through `iface`.
    pub more_ifaces: Vec<Interface>,
    /// The API socket.
    pub socket: PathBuf,
    /// The state directory.
    pub state_dir: PathBuf,
    /// The WINS server, if any.
    pub wins_server: Option<Ipv4Addr>,
    /// Configured aliases.
    pub aliases: Vec<String>,
    /// Groups joined (`groups`), upper case.
    pub groups: Vec<String>,
    /// The NetBIOS scope in wire form (empty for none; `scope`).
    pub scope: Vec<u8>,
    /// Whether to register logged-in users.
    pub register_users: bool,
    /// The utmp file to read users from.
    pub utmp: PathBuf,
    /// NBNS datagrams per second per source; 0 = unlimited.
    pub nbns_rate_limit: u32,
    /// First wait before a lost name is claimed again (`None`: never).
    pub name_retry: Option<std::time::Duration>,
    /// Who owns which message and who may see it.
    pub access: crate::access::Access,
    /// Whether to bind UDP 137/138 and TCP 139 (false: Samba feeds us).
    pub serve_netbios: bool,
    /// Whether to bind UDP 135 for MS-MSRP (with `serve_netbios` only).
    pub rpc: bool,
    /// The OEM code page of each legacy peer.
    pub code_pages: crate::codepages::CodePages,
    /// Write messages on the recipients' terminals.
    pub terminals: bool,
    /// Host/alias/workgroup messages go to every logged-in user's terminals.
    pub terminal_host_messages: bool,
    /// The `[[hook]]` programs.
    pub hooks: Vec<crate::config::HookConfig>,
    /// Who besides root may hand messages over (`deliver_users`, as uids).
    pub deliver_uids: Vec<u32>,
    /// The account the daemon drops to when started as root (`user`).
    pub user: String,
    /// Rate limits and session caps on UDP 138 and TCP 139.
    pub limits: crate::config::Limits,
    /// The inbox's limits on received messages.
    pub quota: messngr_store::Quota,
    /// Read messages older than this are deleted (`None`: never).
    pub expire_read_after: Option<std::time::Duration>,
    /// Who may send messages over the network (crate::policy).
    pub policy: crate::policy::Rules,
    /// The API's per-uid request rate and idle timeout.
    pub api_limits: crate::config::ApiLimits,
    /// Keys and trust (`[secure]`).
    pub secure: crate::config::Secure,
    /// The HTTP listener (`[http]`).
    pub http: crate::config::Http,
    /// The NATS relay (`[relay]`).
    pub relay: crate::config::Relay,
    /// `[alerter]`.
    pub alerter: crate::config::Alerter,
}

impl Settings {
    /// Settings for unit tests: host H1 in MLAN on 127.0.0.1, alias
    /// HELPDESK, nothing on disk.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn example() -> Self {
        Settings {
            netbios_name: "H1".into(),
            workgroup: "MLAN".into(),
            iface: crate::iface::Interface {
                name: [0; 16],
                address: std::net::Ipv4Addr::LOCALHOST,
                netmask: std::net::Ipv4Addr::LOCALHOST,
                broadcast: std::net::Ipv4Addr::LOCALHOST,
                mac: [0; 6],
            },
            more_ifaces: Vec::new(),
            socket: "/x".into(),
            state_dir: "/x".into(),
            wins_server: None,
            aliases: vec!["HELPDESK".into()],
            groups: Vec::new(),
            scope: Vec::new(),
            register_users: true,
            utmp: "/x".into(),
            nbns_rate_limit: 0,
            name_retry: None,
            access: crate::access::Access::default(),
            serve_netbios: true,
            rpc: false,
            code_pages: crate::codepages::CodePages::default(),
            terminals: true,
            terminal_host_messages: true,
            hooks: Vec::new(),
            deliver_uids: Vec::new(),
            user: crate::config::DEFAULT_USER.into(),
            limits: crate::config::Limits::default(),
            quota: messngr_store::Quota::default(),
            expire_read_after: None,
            policy: crate::policy::Rules::default(),
            api_limits: crate::config::ApiLimits::default(),
            secure: crate::config::Secure::default(),
            http: crate::config::Http::default(),
            relay: crate::config::Relay::default(),
            alerter: crate::config::Alerter::default(),
        }
    }

    /// Refuses a `[relay] gateway` name that is also an account here: that
    /// account's messages would become root's (the gateway's copy). At
    /// start; a reload only warns (the gateway list waits for a restart).
    pub(crate) fn check_gateway(&self) -> Result<(), SettingsError> {
        match self.relay.gateway.iter().find(|g| is_account(g)) {
            Some(g) => Err(SettingsError::GatewayIsAccount(g.trim().to_owned())),
            None => Ok(()),
        }
    }

    /// The policy these settings make: their rules and limits.
    pub(crate) fn policy(&self) -> crate::policy::Policy {
        crate::policy::Policy::new(
            self.policy.clone(),
            crate::policy::Limits::new(&self.limits.rates(), std::time::Instant::now()),
        )
    }

    /// Resolves `cfg` against this machine.
    pub fn resolve(cfg: &Config) -> Result<Self, SettingsError> {
        let hostname = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        let netbios_name = cfg.netbios_name(&hostname)?;
        let mut aliases: Vec<String> = cfg.names.iter().map(|n| n.to_ascii_uppercase()).collect();
        // The gateway's names are answered for here too (and forwarded).
        for a in cfg.aliases.keys().chain(&cfg.relay.gateway) {
            let a = a.to_ascii_uppercase();
            if !aliases.contains(&a) {
                aliases.push(a);
            }
        }
        let access = access(cfg, &netbios_name);
        let wanted = cfg.interface.as_ref().map(Interfaces::names);
        let (first, more) = match wanted.as_deref() {
            Some([first, more @ ..]) => (Some(*first), more),
            _ => (None, &[][..]),
        };
        let iface = crate::iface::find(first)?;
        let mut more_ifaces = Vec::new();
        for name in more {
            let i = crate::iface::find(Some(name))?;
            if i.name() != iface.name()
                && !more_ifaces.iter().any(|m: &Interface| m.name() == i.name())
            {
                more_ifaces.push(i);
            }
        }
        let policy = crate::policy::Rules {
            lan: Some(crate::policy::subnet(iface.address, iface.netmask)),
            other_lans: more_ifaces
                .iter()
                .map(|i| crate::policy::subnet(i.address, i.netmask))
                .collect(),
            allow_from: cfg.allow_from()?,
            deny_from: cfg.deny_from()?,
            allow_names: cfg.allow_names()?,
            deny_names: cfg.deny_names()?,
            group_senders: cfg.group_senders()?,
            workgroup: cfg.workgroup(),
            wins_server: cfg.wins_server,
            require_verified_from: cfg.secure.require_verified_from()?,
            require_verified_names: cfg.secure.require_verified_names()?,
            urgent_senders: cfg.secure.urgent_senders()?,
            require_secure: cfg.secure.require_secure(),
        };
        Ok(Self {
            netbios_name,
            workgroup: cfg.workgroup(),
            iface,
            more_ifaces,
            socket: cfg.socket(),
            state_dir: cfg.state_dir(),
            wins_server: cfg.wins_server,
            aliases,
            groups: cfg
                .groups
                .iter()
                .map(|g| g.trim().to_ascii_uppercase())
                .collect(),
            scope: cfg.scope_labels()?,
            register_users: cfg.register_users(),
            utmp: cfg.utmp(),
            nbns_rate_limit: cfg.nbns_rate_limit(),
            name_retry: cfg.name_retry(),
            access,
            serve_netbios: cfg.serve_netbios(),
            rpc: cfg.rpc(),
            code_pages: cfg.code_pages()?,
            terminals: cfg.terminals(),
            terminal_host_messages: cfg.terminal_host_messages(),
            hooks: cfg.hooks.clone(),
            deliver_uids: cfg
                .deliver_users
                .iter()
                .map(|name| {
                    nix::unistd::User::from_name(name)
                        .ok()
                        .flatten()
                        .map(|u| u.uid.as_raw())
                        .ok_or_else(|| SettingsError::NoSuchUser(name.clone()))
                })
                .collect::<Result<_, _>>()?,
            user: cfg.user(),
            limits: cfg.limits.clone(),
            quota: messngr_store::Quota {
                max_messages: cfg.max_messages(),
                max_messages_per_owner: cfg.max_messages_per_owner(),
            },
            expire_read_after: cfg.expire_read_after(),
            policy,
            api_limits: cfg.api_limits(),
            secure: cfg.secure.clone(),
            http: cfg.http.clone(),
            relay: cfg.relay.clone(),
            alerter: cfg.alerter.clone(),
        })
    }

    /// The NetBIOS scope every name of this host lives in.
    pub fn scope(&self) -> messngr_proto::wire::name::Scope<'_> {
        messngr_proto::wire::name::Scope::from_labels(&self.scope)
            .unwrap_or(messngr_proto::wire::name::Scope::EMPTY)
    }

    /// The names claimed at start, with group flag and where they come from:
    /// `NAME<00>`, `NAME<03>`, `NAME<20>`, `WORKGROUP<00>` (group), every
    /// alias as `ALIAS<03>` and every group joined as `GROUP<03>` — what
    /// Windows registers for a workstation with the Messenger running
    /// ([MS-MSRP] §3.2.3; nmbd registers the same three host names).
    pub fn initial_names(&self) -> Vec<(NetbiosName, bool, &'static str)> {
        let host = |s| NetbiosName::truncated(self.netbios_name.as_bytes(), s);
        let mut v = vec![
            (host(suffix::WORKSTATION), false, "host"),
            (host(suffix::MESSENGER), false, "host"),
            (host(suffix::SERVER), false, "host"),
            (
                NetbiosName::truncated(self.workgroup.as_bytes(), suffix::WORKSTATION),
                true,
                "workgroup",
            ),
        ];
        for a in &self.aliases {
            v.push((
                NetbiosName::truncated(a.as_bytes(), suffix::MESSENGER),
                false,
                "alias",
            ));
        }
        for g in &self.groups {
            v.push((
                NetbiosName::truncated(g.as_bytes(), suffix::MESSENGER),
                true,
                "group",
            ));
        }
        v
    }
}

/// Whether `name` is an account here, as a NetBIOS name (upper case on the
/// wire) is matched to one (`Access::owner_with`): as written, upper case,
/// lower case.
pub(crate) fn is_account(name: &str) -> bool {
    let name = name.trim();
    [name.to_owned(), name.to_uppercase(), name.to_lowercase()]
        .iter()
        .any(|n| matches!(nix::unistd::User::from_name(n), Ok(Some(_))))
}

/// Who owns what is stored here for a `[relay] gateway` name: another
/// site's person's mail is root's until forwarded (`send::gateway`).
pub(crate) const GATEWAY_OWNER: &str = "root";

/// Who owns and sees what is stored here, by the configuration. A name
/// this host is a secure gateway for (`[relay] gateway`) is another site's
/// person: what comes for it is root's until it is forwarded, not a host
/// message every local user may read.
fn access(cfg: &Config, netbios_name: &str) -> crate::access::Access {
    let gateway = cfg
        .relay
        .gateway
        .iter()
        .map(|g| (g.trim().to_ascii_uppercase(), GATEWAY_OWNER.to_owned()));
    crate::access::Access {
        host: netbios_name.to_owned(),
        workgroup: cfg.workgroup(),
        groups: cfg
            .groups
            .iter()
            .map(|g| g.trim().to_ascii_uppercase())
            .collect(),
        alias_owners: cfg
            .aliases
            .iter()
            .map(|(a, u)| (a.to_ascii_uppercase(), u.trim().to_owned()))
            .chain(gateway)
            .collect(),
        host_messages_visible_to_all: cfg.host_messages_visible_to_all(),
        admin_group: cfg.admin_group.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateway_name_is_roots_not_every_users() {
        let cfg = Config::from_toml(
            "[aliases]\nhelpdesk = \"carol\"\n[relay]\nservers = [\"nats://10.0.0.1\"]\ngateway = [\"alice\"]\n",
            std::path::Path::new("messngr.toml"),
        )
        .unwrap();
        let a = access(&cfg, "GW");
        let user = |n: &str| Ok(Some(n.to_owned()));
        assert_eq!(a.owner_with("ALICE", user).as_deref(), Some("root"));
        assert_eq!(a.owner_with("HELPDESK", user).as_deref(), Some("carol"));
        assert_eq!(a.owner_with("GW", user), None);
        let bob = crate::access::Caller {
            uid: 1000,
            user: Some("bob".into()),
            admin: false,
            person: true,
        };
        assert!(!a.may_see(&bob, a.owner_with("ALICE", user).as_deref()));
    }

    #[test]
    fn a_gateway_name_that_is_an_account_here_is_refused() {
        // root is an account on every host; ALICE is not one here.
        assert!(is_account("ROOT"));
        assert!(!is_account("MSGRNOSUCHACCT"));
        let cfg = Config::from_toml(
            "[relay]\nservers = [\"nats://10.0.0.1\"]\ngateway = [\"msgrnosuchacct\", \"Root\"]\n",
            std::path::Path::new("messngr.toml"),
        )
        .unwrap();
        let mut s = Settings::example();
        s.relay = cfg.relay;
        let e = s.check_gateway().unwrap_err();
        assert!(
            matches!(&e, SettingsError::GatewayIsAccount(n) if n == "Root"),
            "{e}"
        );
    }
}
