//! The network interface the daemon serves: its IPv4 address, netmask,
//! broadcast address and MAC.
//!
//! Why: NBNS answers carry our address, registrations go to the subnet's
//! broadcast address, node status carries the MAC, and we must recognise our
//! own broadcasts when they come back. All of it is read from the interface
//! (`getifaddrs`), never configured twice.

use std::net::Ipv4Addr;

use nix::ifaddrs::getifaddrs;
use nix::net::if_::InterfaceFlags;

/// What the daemon needs to know about its interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interface {
    /// Interface name, e.g. `eth0` (at most 15 bytes on Linux).
    pub name: [u8; 16],
    /// Our IPv4 address on it.
    pub address: Ipv4Addr,
    /// Its netmask.
    pub netmask: Ipv4Addr,
    /// The subnet's broadcast address.
    pub broadcast: Ipv4Addr,
    /// The hardware address (zeros when there is none).
    pub mac: [u8; 6],
}

impl Interface {
    /// The interface name as text.
    pub fn name(&self) -> &str {
        let end = self
            .name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.name.len());
        std::str::from_utf8(&self.name[..end]).unwrap_or("?")
    }
}

/// Why no interface could be used.
#[derive(Debug, thiserror::Error)]
pub enum InterfaceError {
    /// `getifaddrs` failed.
    #[error("cannot list network interfaces: {0}")]
    List(#[from] nix::Error),
    /// The configured interface does not exist or has no IPv4 address.
    #[error(
        "interface {0:?} has no IPv4 address (or does not exist): set `interface` in the config to one `ip -4 addr` lists"
    )]
    NoAddress(String),
    /// No interface qualifies.
    #[error(
        "no network interface is up with an IPv4 address (besides loopback): set `interface` in the config"
    )]
    NoneUp,
}

/// Finds `wanted`, or the first interface that is up, not loopback and has
/// IPv4, when `wanted` is `None`.
pub fn find(wanted: Option<&str>) -> Result<Interface, InterfaceError> {
    let addrs: Vec<_> = getifaddrs()?.collect();
    let mac_of = |name: &str| {
        addrs
            .iter()
            .filter(|a| a.interface_name == name)
            .find_map(|a| a.address.as_ref()?.as_link_addr()?.addr())
            .unwrap_or([0; 6])
    };
    for a in &addrs {
        if let Some(w) = wanted {
            if a.interface_name != w {
                continue;
            }
        } else if a.flags.contains(InterfaceFlags::IFF_LOOPBACK)
            || !a.flags.contains(InterfaceFlags::IFF_UP)
        {
            continue;
        }
        let Some(sin) = a.address.as_ref().and_then(|s| s.as_sockaddr_in()) else {
            continue;
        };
        let address = sin.ip();
        let netmask = a
            .netmask
            .as_ref()
            .and_then(|s| s.as_sockaddr_in())
            .map_or(Ipv4Addr::new(255, 255, 255, 0), |m| m.ip());
        let reported = a
            .broadcast
            .as_ref()
            .and_then(|s| s.as_sockaddr_in())
            .map(|b| b.ip());
        let broadcast = broadcast_of(address, netmask, reported);
        let mut name = [0u8; 16];
        for (d, s) in name.iter_mut().zip(a.interface_name.bytes().take(15)) {
            *d = s;
        }
        return Ok(Interface {
            name,
            address,
            netmask,
            broadcast,
            mac: mac_of(&a.interface_name),
        });
    }
    Err(match wanted {
        Some(w) => InterfaceError::NoAddress(w.to_owned()),
        None => InterfaceError::NoneUp,
    })
}

/// The interface's broadcast address: the one configured, or computed
/// from address and mask when none is. An address added without `brd`
/// reports none — getifaddrs then gives the interface's own address (or
/// nothing), and every broadcast (name claims, `*`) would have gone to
/// this host alone.
fn broadcast_of(address: Ipv4Addr, netmask: Ipv4Addr, reported: Option<Ipv4Addr>) -> Ipv4Addr {
    match reported {
        Some(b) if b != address && !b.is_unspecified() => b,
        _ => directed_broadcast(address, netmask),
    }
}

/// The subnet's broadcast address computed from address and mask.
pub fn directed_broadcast(address: Ipv4Addr, netmask: Ipv4Addr) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(address) | !u32::from(netmask))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_without_brd_still_gets_its_subnets_broadcast() {
        let (a, m) = (
            Ipv4Addr::new(10, 77, 1, 254),
            Ipv4Addr::new(255, 255, 255, 0),
        );
        let subnet = Ipv4Addr::new(10, 77, 1, 255);
        assert_eq!(broadcast_of(a, m, Some(a)), subnet);
        assert_eq!(broadcast_of(a, m, Some(Ipv4Addr::UNSPECIFIED)), subnet);
        assert_eq!(broadcast_of(a, m, None), subnet);
        let set = Ipv4Addr::new(10, 77, 255, 255);
        assert_eq!(broadcast_of(a, m, Some(set)), set);
    }

    #[test]
    fn broadcast_is_computed_from_the_mask() {
        let b = directed_broadcast(Ipv4Addr::new(10, 77, 0, 3), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(b, Ipv4Addr::new(10, 77, 0, 255));
    }

    #[test]
    fn loopback_is_found_by_name_and_a_missing_interface_is_named() {
        let lo = find(Some("lo")).unwrap();
        assert_eq!(lo.address, Ipv4Addr::LOCALHOST);
        assert_eq!(lo.name(), "lo");
        let err = find(Some("nosuch0")).unwrap_err().to_string();
        assert!(
            err.contains("nosuch0") && err.contains("interface"),
            "{err}"
        );
    }
}
