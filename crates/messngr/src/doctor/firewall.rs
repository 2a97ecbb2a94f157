//! `firewall`: whether the nftables ruleset drops the NetBIOS ports.
//!
//! Read with `nft -j list ruleset` (this network namespace's; root only),
//! walked as the kernel walks it for a packet to each port: every base
//! chain on the input (and prerouting) hook, rule by rule. A rule that
//! drops or rejects the port (or everything) with no other condition is a
//! failure; a rule that accepts it ends that chain; a chain whose policy
//! is drop and that never accepts the port is a failure. Rules with other
//! conditions (`ct state`, addresses, interfaces) are passed over: they
//! depend on the packet, and `ip saddr 10.0.0.0/24 udp dport 137 accept`
//! is how a LAN-only rule looks. Unconditional `jump`/`goto` (or one on
//! the port alone) is followed into the user chain; a conditional one
//! (`iifname "eth0" jump lan_in`) is not, nor are iptables-legacy rules.

use serde_json::Value;

use super::Check;

/// A port as the firewall sees it.
#[derive(Clone, Copy)]
struct Port {
    proto: &'static str,
    number: u64,
}

impl std::fmt::Display for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.proto.to_uppercase(), self.number)
    }
}

/// Whether `right` (a number, a set, a range) holds `n`.
fn holds(right: &Value, n: u64) -> bool {
    match right {
        Value::Number(v) => v.as_u64() == Some(n),
        Value::Object(o) => {
            if let Some(Value::Array(r)) = o.get("range") {
                let lo = r.first().and_then(Value::as_u64).unwrap_or(u64::MAX);
                let hi = r.get(1).and_then(Value::as_u64).unwrap_or(0);
                lo <= n && n <= hi
            } else if let Some(Value::Array(set)) = o.get("set") {
                set.iter().any(|e| holds(e, n))
            } else {
                false
            }
        }
        Value::Array(set) => set.iter().any(|e| holds(e, n)),
        _ => false,
    }
}

/// What one rule does to a packet to `port`.
enum Effect {
    /// Not this packet's rule (another port), or it depends on more.
    PassOver,
    Accept,
    /// Drops or rejects it, whatever else the packet is.
    Block(&'static str),
    /// Jumps (or goes) to that chain, whatever else the packet is.
    Jump(String),
}

fn effect(expr: &[Value], port: Port) -> Effect {
    let mut ports_match: Option<bool> = None;
    let mut conditional = false;
    let mut verdict = None;
    let mut jump = None;
    for e in expr {
        if let Some(m) = e.get("match") {
            let payload = m.pointer("/left/payload");
            let field = payload.and_then(|p| p.get("field")).and_then(Value::as_str);
            let proto = payload
                .and_then(|p| p.get("protocol"))
                .and_then(Value::as_str);
            let op = m.get("op").and_then(Value::as_str).unwrap_or("==");
            match (field, proto) {
                (Some("dport"), Some(p)) if op == "==" || op == "in" => {
                    let right = m.get("right").unwrap_or(&Value::Null);
                    let same = (p == port.proto || p == "th") && holds(right, port.number);
                    ports_match = Some(ports_match.unwrap_or(true) && same);
                }
                _ => {
                    let l4 = m.pointer("/left/meta/key").and_then(Value::as_str) == Some("l4proto");
                    if l4 && op == "==" {
                        let right = m.get("right").and_then(Value::as_str).unwrap_or("");
                        if right != port.proto {
                            ports_match = Some(false);
                        }
                    } else {
                        conditional = true;
                    }
                }
            }
        }
        for v in ["accept", "drop", "reject"] {
            if e.get(v).is_some() {
                verdict = Some(v);
            }
        }
        for v in ["jump", "goto"] {
            if let Some(target) = e.pointer(&format!("/{v}/target")).and_then(Value::as_str) {
                jump = Some(target.to_owned());
            }
        }
    }
    if let Some(target) = jump {
        return match ports_match {
            Some(false) => Effect::PassOver,
            _ if conditional => Effect::PassOver,
            _ => Effect::Jump(target),
        };
    }
    match (ports_match, verdict) {
        (Some(false), _) | (_, None) => Effect::PassOver,
        (_, Some("accept")) if ports_match == Some(true) || !conditional => Effect::Accept,
        (_, Some(v @ ("drop" | "reject"))) if !conditional => Effect::Block(v),
        _ => Effect::PassOver,
    }
}

/// How a packet leaves a chain.
enum Walk {
    Accepted,
    Blocked(String),
    /// Past its last rule: the base chain's policy decides.
    Fell,
}

/// How many chains deep jumps are followed (nft itself allows 16).
const MAX_DEPTH: usize = 16;

/// Walks `port`'s packet through chain `family table name`, into the
/// chains it jumps to unconditionally.
fn walk(
    items: &[Value],
    (family, table, name): (&str, &str, &str),
    port: Port,
    depth: usize,
) -> Walk {
    for rule in items.iter().filter_map(|i| i.get("rule")) {
        let here = rule.get("table").and_then(Value::as_str) == Some(table)
            && rule.get("chain").and_then(Value::as_str) == Some(name)
            && rule.get("family").and_then(Value::as_str) == Some(family);
        if !here {
            continue;
        }
        let expr = rule
            .get("expr")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        match effect(expr, port) {
            Effect::PassOver => {}
            Effect::Accept => return Walk::Accepted,
            Effect::Block(v) => {
                let handle = rule.get("handle").and_then(Value::as_u64).unwrap_or(0);
                return Walk::Blocked(format!(
                    "{port}: rule {handle} of chain {family} {table} {name} does {v}"
                ));
            }
            Effect::Jump(target) if depth < MAX_DEPTH => {
                match walk(items, (family, table, &target), port, depth + 1) {
                    Walk::Fell => {}
                    decided => return decided,
                }
            }
            Effect::Jump(_) => {}
        }
    }
    Walk::Fell
}

/// Why `port` does not get through `ruleset`, if it does not.
fn blocked(ruleset: &Value, port: Port) -> Option<String> {
    let items = ruleset.get("nftables")?.as_array()?;
    for chain in items.iter().filter_map(|i| i.get("chain")) {
        let hook = chain.get("hook").and_then(Value::as_str).unwrap_or("");
        let family = chain.get("family").and_then(Value::as_str).unwrap_or("");
        if !(hook == "input" || hook == "prerouting") || !(family == "inet" || family == "ip") {
            continue;
        }
        let (table, name) = (
            chain.get("table").and_then(Value::as_str).unwrap_or("?"),
            chain.get("name").and_then(Value::as_str).unwrap_or("?"),
        );
        match walk(items, (family, table, name), port, 0) {
            Walk::Accepted => {}
            Walk::Blocked(why) => return Some(why),
            Walk::Fell if chain.get("policy").and_then(Value::as_str) == Some("drop") => {
                return Some(format!(
                    "{port}: chain {family} {table} {name} drops by policy and no rule accepts it"
                ));
            }
            Walk::Fell => {}
        }
    }
    None
}

/// `firewall`: UDP 137/138 and TCP 139 (UDP 135 with `rpc`) get through.
pub(super) fn check(serve_netbios: bool, rpc: bool) -> Check {
    let out = match std::process::Command::new("nft")
        .args(["-j", "list", "ruleset"])
        .output()
    {
        Ok(o) => o,
        Err(_) => {
            return Check::skip(
                "firewall",
                "nft is not installed: no nftables ruleset to check (iptables-legacy rules are not read)",
            );
        }
    };
    if !out.status.success() {
        return Check::skip(
            "firewall",
            format!(
                "cannot read the nftables ruleset ({}): run `sudo messngr doctor`",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        );
    }
    let Ok(ruleset) = serde_json::from_slice::<Value>(&out.stdout) else {
        return Check::skip(
            "firewall",
            "nft printed a ruleset this check does not understand",
        );
    };
    let mut ports = vec![
        Port {
            proto: "udp",
            number: 137,
        },
        Port {
            proto: "udp",
            number: 138,
        },
        Port {
            proto: "tcp",
            number: 139,
        },
    ];
    if rpc && serve_netbios {
        ports.push(Port {
            proto: "udp",
            number: 135,
        });
    }
    let problems: Vec<String> = ports.iter().filter_map(|p| blocked(&ruleset, *p)).collect();
    if problems.is_empty() {
        Check::ok("firewall", "nftables lets UDP 137, 138 and TCP 139 in")
    } else {
        Check::fail(
            "firewall",
            problems.join("; "),
            "admit the LAN before that rule, e.g. nft insert rule inet filter input ip saddr 10.0.0.0/24 udp dport { 137, 138 } accept; \
             and the same with tcp dport 139 (docs/firewall.md has the whole ruleset)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ruleset(policy: &str, rules: &[&str]) -> Value {
        let mut items = vec![
            serde_json::json!({"chain": {"family": "inet", "table": "filter",
            "name": "input", "hook": "input", "policy": policy}}),
        ];
        for (i, r) in rules.iter().enumerate() {
            let expr: Value = serde_json::from_str(r).unwrap();
            items.push(
                serde_json::json!({"rule": {"family": "inet", "table": "filter",
                "chain": "input", "handle": i + 2, "expr": expr}}),
            );
        }
        serde_json::json!({ "nftables": items })
    }

    const UDP137: Port = Port {
        proto: "udp",
        number: 137,
    };
    const TCP139: Port = Port {
        proto: "tcp",
        number: 139,
    };
    const DROP_137_139: &str = r#"[{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}},
        "right": {"range": [137, 139]}}}, {"drop": null}]"#;
    const LAN_ACCEPT: &str = r#"[{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
        "right": {"prefix": {"addr": "10.0.0.0", "len": 24}}}},
        {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}},
        "right": {"set": [137, 138]}}}, {"accept": null}]"#;
    const ESTABLISHED: &str = r#"[{"match": {"op": "in", "left": {"ct": {"key": "state"}},
        "right": ["established", "related"]}}, {"accept": null}]"#;

    #[test]
    fn a_drop_of_the_port_range_is_found_and_other_ports_pass() {
        let r = ruleset("accept", &[DROP_137_139]);
        assert!(
            blocked(&r, UDP137)
                .unwrap()
                .contains("rule 2 of chain inet filter input does drop")
        );
        assert!(blocked(&r, TCP139).is_none(), "the drop is for udp only");
    }

    #[test]
    fn a_drop_policy_needs_an_accept_for_the_port() {
        let r = ruleset("drop", &[ESTABLISHED]);
        assert!(blocked(&r, UDP137).unwrap().contains("drops by policy"));
        let r = ruleset("drop", &[ESTABLISHED, LAN_ACCEPT]);
        assert!(blocked(&r, UDP137).is_none());
        assert!(blocked(&r, TCP139).is_some(), "only udp 137/138 accepted");
    }

    #[test]
    fn a_drop_in_a_user_chain_jumped_to_is_found() {
        let mut r = ruleset("accept", &[r#"[{"jump": {"target": "udp_in"}}]"#]);
        let items = r["nftables"].as_array_mut().unwrap();
        items.push(
            serde_json::json!({"chain": {"family": "inet", "table": "filter", "name": "udp_in"}}),
        );
        let drop: Value = serde_json::from_str(DROP_137_139).unwrap();
        items.push(
            serde_json::json!({"rule": {"family": "inet", "table": "filter",
            "chain": "udp_in", "handle": 9, "expr": drop}}),
        );
        let why = blocked(&r, UDP137).unwrap();
        assert!(
            why.contains("rule 9 of chain inet filter udp_in does drop"),
            "{why}"
        );
        assert!(blocked(&r, TCP139).is_none());
    }

    #[test]
    fn an_empty_or_open_ruleset_blocks_nothing() {
        assert!(blocked(&serde_json::json!({"nftables": []}), UDP137).is_none());
        assert!(blocked(&ruleset("accept", &[ESTABLISHED]), TCP139).is_none());
    }
}
