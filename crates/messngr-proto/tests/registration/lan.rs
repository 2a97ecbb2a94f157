//! The in-memory LAN: nodes, a fake clock, and a log of every datagram.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use messngr_proto::registration::{Config, Counters, Destination, Event, NameService, Transmit};

pub fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 77, 0, last)
}

/// One datagram seen on the LAN.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub from: Ipv4Addr,
    pub to: Destination,
    pub bytes: Vec<u8>,
}

pub struct Lan {
    pub t0: Instant,
    pub now: Instant,
    pub nodes: Vec<NameService>,
    pub events: Vec<Vec<Event>>,
    pub wire: Vec<Seen>,
}

impl Lan {
    /// `n` nodes at 10.77.0.1..=n, each with its own NAME_TRN_ID range.
    pub fn new(n: u8) -> Self {
        let nodes = (1..=n)
            .map(|i| {
                let mut c = Config::new(ip(i));
                c.first_trn_id = u16::from(i) << 12;
                c.unit_id = [2, 0x77, 0, 0, 0, i];
                NameService::new(c)
            })
            .collect();
        let t0 = Instant::now();
        Self {
            t0,
            now: t0,
            nodes,
            events: vec![Vec::new(); usize::from(n)],
            wire: Vec::new(),
        }
    }

    pub fn node(&mut self, addr: Ipv4Addr) -> Option<&mut NameService> {
        self.nodes.iter_mut().find(|n| n.config().address == addr)
    }

    /// Carries datagrams until every queue is empty.
    pub fn deliver(&mut self) {
        loop {
            let mut batch = Vec::new();
            for n in &mut self.nodes {
                while let Some(Transmit { destination, bytes }) = n.poll_transmit(self.now) {
                    batch.push((n.config().address, destination, bytes));
                }
            }
            if batch.is_empty() {
                break;
            }
            for (from, to, bytes) in batch {
                self.inject(SocketAddrV4::new(from, 137), to, &bytes);
                self.wire.push(Seen {
                    at: self.now,
                    from,
                    to,
                    bytes,
                });
            }
        }
        for (n, ev) in self.nodes.iter_mut().zip(&mut self.events) {
            ev.extend(std::iter::from_fn(|| n.poll_event()));
        }
    }

    /// Hands `bytes` from `from` to whoever `to` reaches.
    pub fn inject(&mut self, from: SocketAddrV4, to: Destination, bytes: &[u8]) {
        let now = self.now;
        match to {
            Destination::Broadcast => self
                .nodes
                .iter_mut()
                .for_each(|n| n.handle(now, from, bytes)),
            Destination::Unicast(dst) => {
                if let Some(n) = self.node(*dst.ip()) {
                    n.handle(now, from, bytes);
                }
            }
        }
    }

    /// An outside host sends a datagram; its answers are delivered too.
    pub fn send_from_outside(&mut self, from: SocketAddrV4, to: Destination, bytes: &[u8]) {
        self.inject(from, to, bytes);
        self.deliver();
    }

    /// Runs every timer up to `t` (relative to t0), in order.
    pub fn run_until(&mut self, t: Duration) {
        let end = self.t0 + t;
        loop {
            self.deliver();
            let next = self
                .nodes
                .iter()
                .filter_map(NameService::poll_timeout)
                .min();
            match next {
                Some(at) if at <= end => {
                    self.now = self.now.max(at);
                    let now = self.now;
                    self.nodes.iter_mut().for_each(|n| n.handle_timeout(now));
                }
                _ => break,
            }
        }
        self.now = end;
        self.deliver();
    }

    pub fn events(&mut self, node: usize) -> Vec<Event> {
        std::mem::take(&mut self.events[node])
    }

    /// Datagrams sent by `from` since the wire log was last cleared.
    pub fn sent_by(&self, from: Ipv4Addr) -> Vec<&Seen> {
        self.wire.iter().filter(|s| s.from == from).collect()
    }

    pub fn counters(&self, node: usize) -> Counters {
        *self.nodes[node].counters()
    }
}
