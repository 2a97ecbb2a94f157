//! Which local account a loopback connection comes from.
//!
//! Why: every local account shares 127.0.0.1, and a browser sends a
//! cookie to every port of a host — a page another user serves on
//! 127.0.0.1:8080 is "the same site" as ours. So a web session (and a
//! `messngr web` sign-in code) is bound to the account whose program
//! opened the connection, as the kernel reports it: the owner of the
//! client's socket in `/proc/net/tcp` (or `tcp6`), found by its two
//! addresses. A session opened by one account's browser is refused to any
//! other's, and a sign-in code is good only for the account that asked
//! for it. A LAN connection has no such owner here (its sessions are
//! bound to "from the LAN"; tokens there cross the network anyway).

use std::net::{IpAddr, SocketAddr};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// Where a connection comes from: loopback (its two addresses, to ask the
/// kernel whose it is), or the LAN. Asked only when a cookie or a sign-in
/// code needs it: a token's request never reads the socket table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    /// A program on this host: the connection from `client` to `server`;
    /// `None` when our own address was not known (nothing is bound then).
    Local(Option<(SocketAddr, SocketAddr)>),
    /// Another host.
    Lan,
}

impl Peer {
    /// The peer of a connection from `peer` to our `local` address.
    pub(crate) fn of(local: Option<SocketAddr>, peer: SocketAddr) -> Peer {
        if !peer.ip().to_canonical().is_loopback() {
            return Peer::Lan;
        }
        Peer::Local(local.map(|l| (peer, l)))
    }

    /// The account a session or code opened from here is bound to: the
    /// local uid (from the kernel's socket table), or `None` for the LAN.
    /// `Err` when a local connection's owner is unknown (then nothing is
    /// bound, nothing is opened).
    pub(crate) fn binding(self) -> Result<Option<u32>, ()> {
        match self {
            Peer::Lan => Ok(None),
            Peer::Local(Some((client, server))) => owner(server, client).map(Some).ok_or(()),
            Peer::Local(None) => Err(()),
        }
    }

    /// The peer a request's connection recorded.
    pub(crate) fn from_parts(parts: &Parts) -> Peer {
        // Set on every connection (http::connection); absent only in unit
        // tests, where "a local program we cannot name" is the safe answer.
        parts
            .extensions
            .get::<Peer>()
            .copied()
            .unwrap_or(Peer::Local(None))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer::from_parts(parts))
    }
}

/// The uid owning the client socket of the TCP connection `peer` →
/// `local`, from `/proc/net/tcp` and `/proc/net/tcp6`.
fn owner(local: SocketAddr, peer: SocketAddr) -> Option<u32> {
    let files: &[&str] = match peer.ip() {
        IpAddr::V4(_) => &["/proc/net/tcp", "/proc/net/tcp6"],
        IpAddr::V6(_) => &["/proc/net/tcp6", "/proc/net/tcp"],
    };
    files.iter().find_map(|f| {
        let table = std::fs::read_to_string(f).ok()?;
        find(&table, peer, local)
    })
}

/// The uid of the row whose local address is `from` and remote is `to`.
fn find(table: &str, from: SocketAddr, to: SocketAddr) -> Option<u32> {
    table.lines().skip(1).find_map(|row| {
        let cols: Vec<&str> = row.split_whitespace().collect();
        let (l, r, uid) = (cols.get(1)?, cols.get(2)?, cols.get(7)?);
        (same(l, from) && same(r, to))
            .then(|| uid.parse().ok())
            .flatten()
    })
}

/// Whether `/proc/net/tcp*`'s `HEXADDR:HEXPORT` is `addr`. The address is
/// in the kernel's byte order: each 32-bit word little-endian.
fn same(field: &str, addr: SocketAddr) -> bool {
    let Some((a, p)) = field.split_once(':') else {
        return false;
    };
    if u16::from_str_radix(p, 16).ok() != Some(addr.port()) {
        return false;
    }
    let Ok(bytes) = hex::decode(a) else {
        return false;
    };
    let words: Vec<u8> = bytes
        .chunks(4)
        .flat_map(|w| w.iter().rev().copied())
        .collect();
    let ip = match words.len() {
        4 => <[u8; 4]>::try_from(words.as_slice()).map(IpAddr::from),
        16 => <[u8; 16]>::try_from(words.as_slice()).map(IpAddr::from),
        _ => return false,
    };
    ip.is_ok_and(|ip| ip.to_canonical() == addr.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_of_proc_net_tcp_names_its_owner() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:C350 0100007F:0347 01 00000000:00000000 00:00000000 00000000  1000        0 12345 1\n   1: 0100007F:0347 0100007F:C350 01 00000000:00000000 00:00000000 00000000   101        0 12346 1\n";
        let client: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let server: SocketAddr = "127.0.0.1:839".parse().unwrap();
        assert_eq!(find(table, client, server), Some(1000));
        assert_eq!(find(table, server, client), Some(101));
        let other: SocketAddr = "127.0.0.1:50001".parse().unwrap();
        assert_eq!(find(table, other, server), None);
        let v6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000000000000000000001000000:C350 00000000000000000000000001000000:0347 01 00000000:00000000 00:00000000 00000000  1000        0 1 1\n";
        let c6: SocketAddr = "[::1]:50000".parse().unwrap();
        let s6: SocketAddr = "[::1]:839".parse().unwrap();
        assert_eq!(find(v6, c6, s6), Some(1000));
    }

    #[test]
    fn our_own_connection_is_found_in_the_kernel_s_table() {
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let local = server.local_addr().unwrap();
        let client = std::net::TcpStream::connect(local).unwrap();
        let peer = client.local_addr().unwrap();
        let me = nix::unistd::getuid().as_raw();
        assert_eq!(Peer::of(Some(local), peer).binding(), Ok(Some(me)));
        assert_eq!(Peer::of(None, peer).binding(), Err(()));
        let lan = Peer::of(Some(local), "10.0.0.2:4000".parse().unwrap());
        assert_eq!((lan, lan.binding()), (Peer::Lan, Ok(None)));
    }
}
