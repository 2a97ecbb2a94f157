//! The configuration file: the example parses to the defaults, every key
//! parses, and every bad value is refused with a one-line message.

use super::*;

#[test]
fn the_example_file_parses_to_the_defaults() {
    let cfg = Config::from_toml(EXAMPLE, Path::new("messngr.toml")).unwrap();
    assert_eq!(cfg, Config::default());
    assert_eq!(cfg.workgroup(), "WORKGROUP");
    assert_eq!(cfg.socket(), PathBuf::from(DEFAULT_SOCKET));
    assert!(cfg.register_users());
    assert!(cfg.host_messages_visible_to_all());
    assert!(cfg.serve_netbios());
    assert_eq!(cfg.name_retry(), Some(std::time::Duration::from_secs(60)));
    assert_eq!(cfg.user(), DEFAULT_USER);
    assert_eq!(cfg.limits.sessions_per_source(), 16);
    assert_eq!(cfg.max_messages(), Some(DEFAULT_MAX_MESSAGES));
    assert_eq!(
        cfg.max_messages_per_owner(),
        Some(DEFAULT_MAX_MESSAGES_PER_OWNER)
    );
    assert_eq!(cfg.expire_read_after(), None);
    assert!(!cfg.terminal_host_messages());
    assert_eq!(cfg.group_senders().unwrap(), NetList::lan_only());
    assert!(cfg.allow_from().unwrap().nets.is_empty());
    assert_eq!(cfg.api_limits(), ApiLimits::default());
    assert_eq!(cfg.secure.trust(), TrustMode::Tofu);
    assert_eq!(cfg.secure.trust_file(), PathBuf::from(DEFAULT_TRUST_FILE));
    assert!(!cfg.secure.require_secure());
    assert!(cfg.secure.require_verified_from().unwrap().nets.is_empty());
}

#[test]
fn every_key_parses() {
    let cfg = Config::from_toml(
        r#"
        netbios_name = "h1"
        workgroup = "mlan"
        interface = "eth0"
        state_dir = "/tmp/x"
        socket = "/tmp/x/s"
        wins_server = "10.0.0.2"
        names = ["HELPDESK", "ops"]
        register_users = false
        nbns_rate_limit = 0
        name_retry_secs = 0
        host_messages_visible_to_all = false
        admin_group = "wheel"
        serve_netbios = false
        terminals = false
        terminal_host_messages = false
        user = "msgd"
        max_messages = 0
        max_messages_per_owner = 50
        expire_read_after_days = 2
        allow_from = ["10.1.0.0/16", "192.168.7.7"]
        deny_from = ["10.1.2.0/24"]
        allow_names = ["ALICE", "ops-*"]
        deny_names = ["spam*"]
        group_senders = ["lan", "10.1.0.0/16"]
        api_rate_limit = 0
        api_idle_secs = 30

        [aliases]
        HELPDESK = "carol"

        [limits]
        datagrams_per_source = 1
        datagrams_total = 2
        mailslot_messages_per_source = 3
        mailslot_messages_total = 4
        new_sessions_per_source = 5
        new_sessions_total = 6
        sessions_per_source = 7
        session_messages_per_source = 8
        session_messages_total = 0

        [secure]
        trust = "file"
        trust_file = "/etc/x/trust"
        require_secure = true
        require_verified_from = ["lan"]
        require_verified_names = ["BOSS*"]

        [[hook]]
        program = "/usr/local/bin/on-message"
        args = ["--from", "$MESSNGR_FROM"]
        timeout_secs = 3
        to = "alice"
        user = "nobody"
        "#,
        Path::new("t.toml"),
    )
    .unwrap();
    assert_eq!(cfg.netbios_name("ignored").unwrap(), "H1");
    assert_eq!(cfg.workgroup(), "MLAN");
    assert_eq!(cfg.wins_server, Some(Ipv4Addr::new(10, 0, 0, 2)));
    assert_eq!(cfg.names, ["HELPDESK", "ops"]);
    assert_eq!(cfg.nbns_rate_limit(), 0);
    assert_eq!(cfg.name_retry(), None);
    assert!(!cfg.host_messages_visible_to_all());
    assert_eq!(cfg.admin_group.as_deref(), Some("wheel"));
    assert!(!cfg.serve_netbios());
    assert_eq!(cfg.aliases["HELPDESK"], "carol");
    assert!(!cfg.terminals() && !cfg.terminal_host_messages());
    assert_eq!(cfg.user(), "msgd");
    assert_eq!(cfg.max_messages(), None, "0: no limit");
    assert_eq!(cfg.max_messages_per_owner(), Some(50));
    assert_eq!(
        cfg.expire_read_after(),
        Some(std::time::Duration::from_secs(2 * 86_400))
    );
    assert_eq!(cfg.allow_from().unwrap().nets.len(), 2);
    assert_eq!(cfg.deny_from().unwrap().nets.len(), 1);
    assert!(cfg.allow_names().unwrap().matches(b"OPS-1"));
    assert!(cfg.deny_names().unwrap().matches(b"SPAMMER"));
    assert!(cfg.group_senders().unwrap().lan);
    assert_eq!(
        cfg.api_limits(),
        ApiLimits {
            rate: 0,
            idle: std::time::Duration::from_secs(30)
        }
    );
    assert_eq!(cfg.hooks.len(), 1);
    assert_eq!(cfg.hooks[0].args, ["--from", "$MESSNGR_FROM"]);
    assert_eq!(cfg.hooks[0].timeout(), std::time::Duration::from_secs(3));
    assert_eq!(cfg.hooks[0].to.as_deref(), Some("alice"));
    let l = cfg.limits.rates();
    assert_eq!(
        [
            l.datagrams_per_source,
            l.datagrams_total,
            l.mailslot_messages_per_source,
            l.mailslot_messages_total,
            l.new_sessions_per_source,
            l.new_sessions_total,
            l.sessions_per_source,
            l.session_messages_per_source,
            l.session_messages_total,
        ],
        [1, 2, 3, 4, 5, 6, 7, 8, 0]
    );
    assert_eq!(cfg.secure.trust(), TrustMode::File);
    assert_eq!(cfg.secure.trust_file(), PathBuf::from("/etc/x/trust"));
    assert!(cfg.secure.require_secure());
    assert_eq!(cfg.secure.require_verified_from().unwrap().nets.len(), 0);
    assert!(cfg.secure.require_verified_from().unwrap().lan);
    assert!(
        cfg.secure
            .require_verified_names()
            .unwrap()
            .matches(b"boss1")
    );
}

#[test]
fn mistakes_are_named() {
    let err = |t: &str| {
        Config::from_toml(t, Path::new("t.toml"))
            .unwrap_err()
            .to_string()
    };
    assert!(err("netbios_name = \"SIXTEEN-CHARS-XX\"").contains("netbios_name"));
    assert!(err("names = [\"a*b\"]").contains("names"));
    assert!(err("wins_server = \"not an ip\"").contains("wins_server"));
    assert!(err("colour = \"blue\"").contains("unknown field"));
    assert!(err("name_retry_secs = 86401").contains("name_retry_secs"));
    assert!(err("[aliases]\nHELPDESK = \"\"").contains("aliases"));
    assert!(err("[aliases]\n\"A/B\" = \"x\"").contains("aliases"));
    assert!(err("[[hook]]\nprogram = \"notify-send\"").contains("hook.program"));
    assert!(err("user = \"root\"").contains("never stays root"));
    assert!(err("user = \"\"").starts_with("user: "));
    assert!(err("[[hook]]\nprogram = \"/bin/true\"\ntimeout_secs = 0").contains("timeout"));
    assert!(err("[limits]\nsessions_per_source = 257").contains("limits.sessions_per_source"));
    assert!(err("[limits]\nsessions = 3").contains("unknown field"));
    assert!(err("max_messages = 10\nmax_messages_per_owner = 11").contains("raise max_messages"));
    assert!(err("max_messages_per_owner = 100001").contains("max_messages_per_owner"));
    assert!(err("expire_read_after_days = 99999").contains("expire_read_after_days"));
    assert!(err("max_messages = -1").contains("max_messages"));
    for (key, value) in [
        ("allow_from", "\"10.0.0.0/33\""),
        ("deny_from", "\"everyone\""),
        ("group_senders", "\"10.1\""),
        ("allow_names", "\"\""),
        ("deny_names", "\"caf\u{e9}\""),
    ] {
        let e = err(&format!("{key} = [{value}]"));
        assert!(e.starts_with(&format!("{key}: ")), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
    assert!(err("api_idle_secs = 0").contains("api_idle_secs"));
    assert!(err("[secure]\ntrust = \"maybe\"").contains("unknown variant"));
    assert!(err("[secure]\ntrust_file = \"trust\"").contains("secure.trust_file"));
    assert!(
        err("[secure]\nrequire_verified_from = [\"10.1\"]")
            .starts_with("secure.require_verified_from: ")
    );
}

#[test]
fn the_host_name_becomes_the_netbios_name() {
    let cfg = Config::default();
    assert_eq!(cfg.netbios_name("box7.example.org").unwrap(), "BOX7");
    assert_eq!(
        cfg.netbios_name("a-very-long-host-name").unwrap(),
        "A-VERY-LONG-HOS"
    );
}

#[test]
fn the_relay_is_read_and_needs_messngr_to_serve_netbios() {
    let relay = "[relay]\nservers = [\"nats://10.0.0.1:4222\"]\ndirectory_ttl_secs = 60\n";
    let cfg = Config::from_toml(relay, Path::new("messngr.toml")).unwrap();
    assert!(cfg.relay.enabled());
    assert_eq!(cfg.relay.replicas(), 1);
    assert_eq!(
        cfg.relay.directory_ttl(),
        std::time::Duration::from_secs(60)
    );
    let with_samba = format!("serve_netbios = false\n{relay}");
    let e = Config::from_toml(&with_samba, Path::new("messngr.toml")).unwrap_err();
    assert!(e.to_string().contains("serve_netbios = true"), "{e}");
    let senders = format!("{relay}org_senders = [\"dave\", \"@staff\"]\n");
    let cfg = Config::from_toml(&senders, Path::new("messngr.toml")).unwrap();
    assert_eq!(cfg.relay.org_senders, ["dave", "@staff"]);
    for wrong in ["\"\"", "\"@\"", "\"two words\""] {
        let bad = format!("{relay}org_senders = [{wrong}]\n");
        let e = Config::from_toml(&bad, Path::new("messngr.toml")).unwrap_err();
        assert!(e.to_string().contains("relay.org_senders"), "{e}");
    }
    let bad = "[relay]\nservers = [\"10.0.0.1:4222\"]\n";
    let e = Config::from_toml(bad, Path::new("messngr.toml")).unwrap_err();
    assert!(e.to_string().contains("relay.servers"), "{e}");
}
