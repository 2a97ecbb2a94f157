//! Address lists of the source policy: `allow_from`, `deny_from` and
//! `group_senders`, each a list of CIDR networks, single addresses or the
//! word `lan` (the served interface's own subnet).
//!
//! Why a type of its own: the config validates the lists (a one-line error
//! naming the key and what to write instead) and the rules evaluate them;
//! both need the same parser. The networks themselves are `ipnet`'s.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};

/// The word that stands for the served interface's subnet in a list.
pub(crate) const LAN: &str = "lan";

/// An entry of an address list that is none of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{value:?} is not a network: write an address (\"10.1.2.3\"), a CIDR network (\"10.1.0.0/16\") or \"lan\" (this interface's subnet)"
)]
pub struct BadNetwork {
    /// The entry as written.
    pub value: String,
}

/// A parsed address list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetList {
    /// Whether `lan` is in the list.
    pub lan: bool,
    /// The networks (a single address is a /32 or /128).
    pub nets: Vec<IpNet>,
}

impl NetList {
    /// Parses `values` (`"lan"`, `"10.1.0.0/16"`, `"10.1.2.3"`, IPv6 alike;
    /// surrounding blanks ignored, `LAN` in any case).
    pub fn parse(values: &[String]) -> Result<NetList, BadNetwork> {
        let mut list = NetList::default();
        for raw in values {
            let v = raw.trim();
            if v.eq_ignore_ascii_case(LAN) {
                list.lan = true;
            } else if let Ok(net) = v.parse::<IpNet>() {
                list.nets.push(net.trunc());
            } else if let Ok(ip) = v.parse::<IpAddr>() {
                list.nets.push(IpNet::from(ip));
            } else {
                return Err(BadNetwork { value: raw.clone() });
            }
        }
        Ok(list)
    }

    /// The list holding only `lan`.
    pub fn lan_only() -> NetList {
        NetList {
            lan: true,
            nets: Vec::new(),
        }
    }

    /// Whether `ip` is in the list; `lan` is the served subnet, if known.
    pub fn contains(&self, ip: IpAddr, lan: Option<Ipv4Net>) -> bool {
        let ip = ip.to_canonical();
        (self.lan && on_subnet(ip, lan)) || self.nets.iter().any(|n| n.contains(&ip))
    }
}

/// Whether `ip` is on the subnet `lan` (never, when it is unknown).
pub(crate) fn on_subnet(ip: IpAddr, lan: Option<Ipv4Net>) -> bool {
    match (ip.to_canonical(), lan) {
        (IpAddr::V4(v4), Some(net)) => net.contains(&v4),
        _ => false,
    }
}

/// The subnet of an interface address and its netmask (a netmask that is
/// not a prefix counts as a single address).
pub fn subnet(address: Ipv4Addr, netmask: Ipv4Addr) -> Ipv4Net {
    let prefix = u32::from(netmask).leading_ones();
    let prefix = if u32::from(netmask).count_ones() == prefix {
        prefix
    } else {
        32
    };
    Ipv4Net::new(address, prefix as u8)
        .map(|n| n.trunc())
        .unwrap_or_else(|_| Ipv4Net::from(address))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> Result<NetList, BadNetwork> {
        NetList::parse(&v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_networks_and_the_lan() {
        let lan = Some(subnet(
            Ipv4Addr::new(10, 77, 0, 1),
            Ipv4Addr::new(255, 255, 255, 0),
        ));
        let l = list(&["10.9.0.0/16", " 192.168.5.7 ", "LAN", "fd00::/8"]).unwrap();
        assert!(l.lan);
        assert!(l.contains(ip("10.9.200.1"), lan));
        assert!(!l.contains(ip("10.10.0.1"), lan));
        assert!(l.contains(ip("192.168.5.7"), lan));
        assert!(!l.contains(ip("192.168.5.8"), lan));
        assert!(l.contains(ip("10.77.0.200"), lan));
        assert!(
            !l.contains(ip("10.77.0.200"), None),
            "no LAN known: lan matches nothing"
        );
        assert!(l.contains(ip("fd12::1"), lan));
        assert!(l.contains(ip("::ffff:10.9.1.1"), lan), "v4-mapped v6 is v4");
        let host_bits = list(&["10.9.3.4/16"]).unwrap();
        assert!(
            host_bits.contains(ip("10.9.0.1"), None),
            "host bits are cut"
        );
        assert!(!list(&[]).unwrap().contains(ip("10.77.0.2"), lan));
    }

    #[test]
    fn bad_entries_are_named_with_what_to_write() {
        for bad in [
            "10.0.0.0/33",
            "10.0.0",
            "everyone",
            "",
            "10.0.0.0/8,10.1.0.0/16",
        ] {
            let e = list(&["lan", bad]).unwrap_err();
            assert_eq!(e.value, bad);
            let msg = e.to_string();
            assert!(msg.contains("CIDR") && msg.contains("\"lan\""), "{msg}");
        }
    }

    #[test]
    fn subnets_of_interfaces() {
        let n = subnet(Ipv4Addr::new(10, 77, 0, 9), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(n.to_string(), "10.77.0.0/24");
        let odd = subnet(Ipv4Addr::new(10, 77, 0, 9), Ipv4Addr::new(255, 0, 255, 0));
        assert_eq!(odd.to_string(), "10.77.0.9/32");
        assert!(on_subnet(ip("10.77.0.1"), Some(n)));
        assert!(!on_subnet(ip("10.77.1.1"), Some(n)));
    }
}
