//! The network checks: who holds the NetBIOS ports, and whether the served
//! interface has a broadcast address.
//!
//! Ports are read from `/proc/net/{udp,tcp}{,6}` (this network namespace's
//! sockets) and their owners from `/proc/*/fd`, as `ss -p` does; nothing
//! is bound or sent. Without root the owners of other users' sockets stay
//! unknown, and the check says so.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use nix::ifaddrs::getifaddrs;
use nix::net::if_::InterfaceFlags;

use super::Check;

/// The subnet's broadcast address of `address`/`prefix`.
fn directed(address: Ipv4Addr, prefix: u32) -> Ipv4Addr {
    let host_bits = u32::MAX.checked_shr(prefix).unwrap_or(0);
    Ipv4Addr::from(u32::from(address) | host_bits)
}

/// A port the daemon serves.
struct Port {
    what: &'static str,
    tcp: bool,
    number: u16,
}

const NETBIOS: [Port; 3] = [
    Port {
        what: "UDP 137 (names)",
        tcp: false,
        number: 137,
    },
    Port {
        what: "UDP 138 (datagrams)",
        tcp: false,
        number: 138,
    },
    Port {
        what: "TCP 139 (sessions)",
        tcp: true,
        number: 139,
    },
];

const RPC: Port = Port {
    what: "UDP 135 (RPC)",
    tcp: false,
    number: 135,
};

/// The socket inodes bound to `port` in this namespace (TCP: listening).
fn inodes(port: &Port) -> Vec<u64> {
    let proto = if port.tcp { "tcp" } else { "udp" };
    let mut out = Vec::new();
    for file in [format!("/proc/net/{proto}"), format!("/proc/net/{proto}6")] {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (f.get(1), f.get(3), f.get(9)) else {
                continue;
            };
            let bound = local
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
                == Some(port.number);
            // TCP 0A: LISTEN; a UDP socket has no listening state.
            if bound
                && (!port.tcp || *state == "0A")
                && let Ok(i) = inode.parse()
            {
                out.push(i);
            }
        }
    }
    out
}

/// Socket inode → (pid, command) of every process we may look into.
fn owners() -> HashMap<u64, (u32, String)> {
    let mut map = HashMap::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return map;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        let comm = std::fs::read_to_string(p.path().join("comm"))
            .map(|c| c.trim().to_owned())
            .unwrap_or_default();
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let t = target.to_string_lossy();
            if let Some(inode) = t
                .strip_prefix("socket:[")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|n| n.parse().ok())
            {
                map.entry(inode).or_insert((pid, comm.clone()));
            }
        }
    }
    map
}

/// `ports`: the NetBIOS ports are free or messngr's when messngr serves
/// them; Samba's when it does not.
pub(super) fn ports(serve_netbios: bool, rpc: bool) -> Check {
    let owners = owners();
    let mut held = Vec::new();
    let mut samba = Vec::new();
    let mut unknown = Vec::new();
    let mut ours = Vec::new();
    let wanted = NETBIOS.iter().chain(rpc.then_some(&RPC));
    for port in wanted {
        for inode in inodes(port) {
            match owners.get(&inode) {
                Some((pid, comm)) if comm == "messngr" => {
                    ours.push(format!("{} (pid {pid})", port.what))
                }
                Some((pid, comm)) => {
                    if comm == "nmbd" || comm == "smbd" {
                        samba.push(comm.clone());
                    }
                    held.push(format!("{} is held by {comm} (pid {pid})", port.what));
                }
                None => unknown.push(port.what),
            }
        }
    }
    held.dedup();
    samba.sort();
    samba.dedup();
    let others: Vec<&String> = held
        .iter()
        .filter(|h| !h.contains(" held by nmbd ") && !h.contains(" held by smbd "))
        .collect();
    if !serve_netbios && !others.is_empty() {
        return Check::fail(
            "ports",
            others
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            "serve_netbios = false leaves the ports to Samba: stop that program so that nmbd and smbd can bind them",
        );
    }
    if !serve_netbios {
        return Check::ok(
            "ports",
            if samba.is_empty() {
                "serve_netbios = false: the NetBIOS ports are left to Samba (no nmbd/smbd holds them now)".to_owned()
            } else {
                format!(
                    "serve_netbios = false: {} hold(s) the NetBIOS ports, as they should",
                    samba.join(" and ")
                )
            },
        );
    }
    if !held.is_empty() {
        let fix = if samba.is_empty() {
            "stop that program, or serve another interface (`interface` in messngr.toml)".to_owned()
        } else {
            "messngr and Samba cannot both serve NetBIOS here: stop Samba's (systemctl disable --now nmbd smbd), \
             or let Samba keep the ports: serve_netbios = false in /etc/messngr/messngr.toml and \
             `message command = /usr/bin/messngr deliver %s %f %L` in smb.conf's [global]".to_owned()
        };
        return Check::fail("ports", held.join("; "), fix);
    }
    if !unknown.is_empty() {
        return Check::skip(
            "ports",
            format!(
                "{} bound by a process this user cannot see (run `sudo messngr doctor`)",
                unknown.join(", ")
            ),
        );
    }
    if ours.is_empty() {
        Check::ok(
            "ports",
            "UDP 137, 138 and TCP 139 are free (the daemon is not serving them now)",
        )
    } else {
        Check::ok("ports", format!("served by messngr: {}", ours.join(", ")))
    }
}

/// `broadcast`: every served interface has an IPv4 address on a subnet it
/// can broadcast to. A point-to-point link (tun, WireGuard) or a /31 or /32
/// address has none: B-node name claims, lookups and `net send *` reach no
/// one. (An address added without `brd` is fine: the kernel routes the
/// subnet's broadcast address all the same, and the daemon uses it.)
pub(super) fn broadcast(serve_netbios: bool, wanted: &[String]) -> Vec<Check> {
    if !serve_netbios {
        return vec![Check::skip(
            "broadcast",
            "serve_netbios = false: Samba's nmbd does the broadcasts",
        )];
    }
    let addrs: Vec<_> = match getifaddrs() {
        Ok(a) => a.collect(),
        Err(e) => {
            return vec![Check::skip(
                "broadcast",
                format!("cannot list the interfaces: {e}"),
            )];
        }
    };
    let v4 = |a: &nix::ifaddrs::InterfaceAddress| {
        a.address
            .as_ref()
            .and_then(|s| s.as_sockaddr_in())
            .map(|s| s.ip())
    };
    let names: Vec<String> = if wanted.is_empty() {
        addrs
            .iter()
            .find(|a| {
                v4(a).is_some()
                    && a.flags.contains(InterfaceFlags::IFF_UP)
                    && !a.flags.contains(InterfaceFlags::IFF_LOOPBACK)
            })
            .map(|a| vec![a.interface_name.clone()])
            .unwrap_or_default()
    } else {
        wanted.to_vec()
    };
    if names.is_empty() {
        return vec![Check::fail(
            "broadcast",
            "no interface is up with an IPv4 address",
            "bring one up (ip link set eth0 up; ip address add 10.0.0.5/24 brd + dev eth0), or name it: interface = \"eth0\"",
        )];
    }
    names
        .iter()
        .map(|name| {
            let Some(a) = addrs.iter().find(|a| &a.interface_name == name && v4(a).is_some()) else {
                return Check::fail(
                    "broadcast",
                    format!("interface {name} has no IPv4 address (or does not exist)"),
                    format!("give it one: ip address add 10.0.0.5/24 brd + dev {name}, or change `interface` in messngr.toml"),
                );
            };
            let address = v4(a).unwrap_or(Ipv4Addr::UNSPECIFIED);
            let mask = a
                .netmask
                .as_ref()
                .and_then(|s| s.as_sockaddr_in())
                .map_or(32, |m| u32::from(m.ip()).count_ones());
            let brd = a
                .broadcast
                .as_ref()
                .and_then(|s| s.as_sockaddr_in())
                .map(|b| b.ip())
                .filter(|b| *b != address && !b.is_unspecified());
            let can = a.flags.contains(InterfaceFlags::IFF_BROADCAST);
            if !can || mask >= 31 {
                let why = if can {
                    format!("a /{mask} has no other hosts to broadcast to")
                } else {
                    "the interface cannot broadcast (point-to-point, tunnel or VPN)".to_owned()
                };
                let fix = if can {
                    format!(
                        "give {name} the LAN's prefix (/24 here as an example): ip address del {address}/{mask} dev {name} && ip address add {address}/24 brd + dev {name}; or serve the LAN's interface (`interface` in messngr.toml); across routers use a WINS server (wins_server)"
                    )
                } else {
                    "serve the LAN's interface instead (`interface` in messngr.toml); across routers or a VPN use a WINS server (wins_server)".to_owned()
                };
                return Check::fail(
                    "broadcast",
                    format!(
                        "{name} {address}/{mask} has no broadcast address: {why}, so name claims, lookups and `net send *` reach no one"
                    ),
                    fix,
                );
            }
            let computed = directed(address, mask);
            Check::ok(
                "broadcast",
                match brd {
                    Some(b) => format!("{name} {address}/{mask} broadcast {b}"),
                    None => format!(
                        "{name} {address}/{mask} broadcast {computed} (none configured: the subnet's, as the kernel routes it)"
                    ),
                },
            )
        })
        .collect()
}
