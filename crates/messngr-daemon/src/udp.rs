//! Sockets for the NetBIOS ports (UDP 137/138, TCP 139), set up the way the
//! protocol needs.
//!
//! Why by hand (socket2) and not `UdpSocket::bind`: a NetBIOS node must
//! receive broadcasts and unicasts on one port (so it binds the wildcard
//! address), send broadcasts (`SO_BROADCAST`), and serve exactly one
//! interface (`SO_BINDTODEVICE`), so that a host with several networks does
//! not answer on the wrong one. A large receive buffer absorbs bursts (a
//! flood from one host must not push out everyone else's queries).

use std::net::{Ipv4Addr, SocketAddrV4};

use socket2::{Domain, Protocol, Socket, Type};

use crate::iface::Interface;

/// Receive buffer asked for on every NetBIOS UDP socket.
pub const RECV_BUFFER: usize = 4 << 20;

/// Binds `0.0.0.0:port` on `iface`, non-blocking, ready for tokio.
pub fn bind(iface: &Interface, port: u16) -> std::io::Result<tokio::net::UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_broadcast(true)?;
    // Best effort: the kernel caps it at net.core.rmem_max.
    let _ = s.set_recv_buffer_size(RECV_BUFFER);
    if iface.name() != "lo" {
        s.bind_device(Some(iface.name().as_bytes()))?;
    }
    s.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port).into())?;
    s.set_nonblocking(true)?;
    tokio::net::UdpSocket::from_std(s.into())
}

/// Listens on `0.0.0.0:port` (TCP) on `iface`, ready for tokio.
pub fn listen_tcp(iface: &Interface, port: u16) -> std::io::Result<tokio::net::TcpListener> {
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    if iface.name() != "lo" {
        s.bind_device(Some(iface.name().as_bytes()))?;
    }
    s.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port).into())?;
    s.listen(128)?;
    s.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(s.into())
}

/// Binds `ADDRESS:port` (UDP), the interface's own address only: a socket
/// for a service that must not hear broadcasts (RPC on UDP 135).
pub fn bind_unicast(iface: &Interface, port: u16) -> std::io::Result<tokio::net::UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    let _ = s.set_recv_buffer_size(RECV_BUFFER);
    if iface.name() != "lo" {
        s.bind_device(Some(iface.name().as_bytes()))?;
    }
    s.bind(&SocketAddrV4::new(iface.address, port).into())?;
    s.set_nonblocking(true)?;
    tokio::net::UdpSocket::from_std(s.into())
}
