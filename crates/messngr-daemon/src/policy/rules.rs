//! The source and name rules: who may put a message into this host.
//!
//! Why here, sans-IO: every receiver (UDP 137, UDP 138, TCP 139 SMB and
//! native) asks the same questions, so the answers are plain functions over
//! addresses and names ([`Rules`]), tested without sockets; the receivers
//! call the [`Policy`] wrappers, which also count and log each refusal.
//!
//! The rules, in order: a source no host can send from (a broadcast,
//! multicast, network or unspecified address: forged) is refused;
//! `deny_from` refuses a source (it wins over every allow); the served
//! subnet and `allow_from` admit one, anything else is off the LAN. A
//! sender name must match `allow_names` (when set) and no `deny_names`
//! pattern. A message to the workgroup or `*` (a group or broadcast
//! datagram, an SMB message to the workgroup name) needs its source in
//! `group_senders` (default: the LAN).

use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv4Net;

use super::cidr::{NetList, on_subnet};
use super::{Policy, Refusal};

/// A sender-name pattern that is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{value:?} is not a name pattern: write a NetBIOS name in printable ASCII, `*` for any characters (\"PRINT*\")"
)]
pub struct BadPattern {
    /// The pattern as written.
    pub value: String,
}

/// Sender-name patterns: case-insensitive ASCII, `*` matches any run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamePatterns(Vec<Vec<u8>>);

impl NamePatterns {
    /// Parses `values`; each must be non-empty printable ASCII.
    pub fn parse(values: &[String]) -> Result<NamePatterns, BadPattern> {
        values
            .iter()
            .map(|v| {
                let t = v.trim();
                if t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
                    Err(BadPattern { value: v.clone() })
                } else {
                    Ok(t.as_bytes().to_ascii_uppercase())
                }
            })
            .collect::<Result<_, _>>()
            .map(NamePatterns)
    }

    /// Whether no pattern is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `name` matches one of the patterns.
    pub fn matches(&self, name: &[u8]) -> bool {
        let name = trim_name(name);
        self.0.iter().any(|p| glob(p, name))
    }
}

/// A sender name without the blanks and NULs senders pad it with.
fn trim_name(name: &[u8]) -> &[u8] {
    let end = name
        .iter()
        .rposition(|b| !matches!(b, b' ' | 0))
        .map_or(0, |i| i + 1);
    let start = name.iter().position(|b| *b != b' ').unwrap_or(end);
    name.get(start..end).unwrap_or_default()
}

/// `*`-only glob, ASCII case-insensitive (`pattern` is upper case).
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(c) if name.get(n).is_some_and(|b| b.eq_ignore_ascii_case(c)) => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == b'*'))
}

/// The rules, resolved from the configuration and the served interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// The served interface's subnet (`None`: unknown, nothing is on it).
    pub lan: Option<Ipv4Net>,
    /// The subnets of the other interfaces served (`interface = [..]`):
    /// each is "the LAN" for the hosts on it.
    pub other_lans: Vec<Ipv4Net>,
    /// Sources admitted besides the LAN.
    pub allow_from: NetList,
    /// Sources refused, wherever they are (wins over every allow).
    pub deny_from: NetList,
    /// When set, only these sender names are admitted.
    pub allow_names: NamePatterns,
    /// Sender names refused.
    pub deny_names: NamePatterns,
    /// Who may send to the workgroup or `*`.
    pub group_senders: NetList,
    /// The workgroup (upper case): an SMB message to it is a group message.
    pub workgroup: String,
    /// The WINS server: its name-service packets are admitted wherever it is.
    pub wins_server: Option<Ipv4Addr>,
    /// Sources whose messages must be signed (`[secure]`).
    pub require_verified_from: NetList,
    /// Sender names no unsigned message may claim (`[secure]`).
    pub require_verified_names: NamePatterns,
    /// Verified authors (`user@HOST`) whose urgent messages stay urgent.
    pub urgent_senders: NamePatterns,
    /// `require_secure`: no unsigned message from anyone (legacy SMB and
    /// mailslots included).
    pub require_secure: bool,
}

impl Rules {
    /// Whether the verified author `user@HOST` may send urgent messages.
    pub fn may_send_urgent(&self, author: &str) -> bool {
        self.urgent_senders.matches(author.as_bytes())
    }

    /// Whether a message from `ip` claiming `from` must be verified
    /// (`require_verified_from`, `require_verified_names`): an unsigned one
    /// is then refused as `unverified`.
    pub fn must_verify(&self, ip: IpAddr, from: &[u8]) -> bool {
        self.require_secure
            || self.require_verified_from.contains(ip, self.lan_of(ip))
            || self.require_verified_names.matches(from)
    }
}

/// Whether `ip` cannot be a real sender: unspecified, broadcast, multicast,
/// or the LAN's own network or broadcast address (a subnet with hosts
/// besides those two, i.e. up to /30). A packet from one is forged, and an
/// answer to it (a name query's) would go to every host on the LAN.
fn never_a_sender(ip: IpAddr, lan: Option<Ipv4Net>) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || lan.is_some_and(|net| {
                    net.prefix_len() <= 30 && (v4 == net.network() || v4 == net.broadcast())
                })
        }
        IpAddr::V6(v6) => v6.is_unspecified() || v6.is_multicast(),
    }
}

/// A refusal and the words for the log.
pub(crate) type Verdict = Result<(), (Refusal, &'static str)>;

impl Rules {
    /// The served subnet `ip` is on, if any (else the first interface's):
    /// what `"lan"` means for it.
    fn lan_of(&self, ip: IpAddr) -> Option<Ipv4Net> {
        self.other_lans
            .iter()
            .find(|net| on_subnet(ip, Some(**net)))
            .copied()
            .or(self.lan)
    }

    /// Whether a packet or connection from `ip` is admitted at all.
    pub(crate) fn source(&self, ip: IpAddr) -> Verdict {
        let forged = std::iter::once(self.lan)
            .chain(self.other_lans.iter().copied().map(Some))
            .any(|lan| never_a_sender(ip, lan));
        if forged {
            return Err((
                Refusal::DeniedSource,
                "it is a broadcast, multicast, network or unspecified address, which no host sends from (forged)",
            ));
        }
        let lan = self.lan_of(ip);
        if self.deny_from.contains(ip, lan) {
            return Err((Refusal::DeniedSource, "a deny_from rule matches it"));
        }
        if on_subnet(ip, lan) || self.allow_from.contains(ip, lan) {
            return Ok(());
        }
        Err((
            Refusal::OffLan,
            "it is not on this interface's subnet and no allow_from rule admits it",
        ))
    }

    /// [`Rules::source`] for UDP 137: the WINS server is admitted too.
    pub(crate) fn name_service(&self, ip: IpAddr) -> Verdict {
        match ip.to_canonical() {
            IpAddr::V4(v4) if Some(v4) == self.wins_server => Ok(()),
            _ => self.source(ip),
        }
    }

    /// Whether the sender name `from` is admitted.
    pub(crate) fn sender_name(&self, from: &[u8]) -> Verdict {
        if self.deny_names.matches(from) {
            return Err((
                Refusal::DeniedName,
                "a deny_names pattern matches the sender",
            ));
        }
        if !self.allow_names.is_empty() && !self.allow_names.matches(from) {
            return Err((
                Refusal::DeniedName,
                "the sender matches no allow_names pattern",
            ));
        }
        Ok(())
    }

    /// Whether `to` (a message's recipient name) is the workgroup or `*`.
    pub(crate) fn is_group(&self, to: &[u8]) -> bool {
        let to = trim_name(to);
        to == b"*" || (!to.is_empty() && to.eq_ignore_ascii_case(self.workgroup.as_bytes()))
    }

    /// Whether `ip` may send to the workgroup or `*`.
    pub(crate) fn group_sender(&self, ip: IpAddr) -> Verdict {
        if self.group_senders.contains(ip, self.lan_of(ip)) {
            Ok(())
        } else {
            Err((
                Refusal::GroupNotAllowed,
                "messages to the workgroup or * need a group_senders rule for the source",
            ))
        }
    }

    /// Everything about one message from `ip`: the source, the sender name
    /// and, for a group message (`group`, or `to` is the workgroup or `*`),
    /// `group_senders`.
    pub(crate) fn message(&self, ip: IpAddr, from: &[u8], to: &[u8], group: bool) -> Verdict {
        self.source(ip)?;
        self.sender_name(from)?;
        if group || self.is_group(to) {
            self.group_sender(ip)?;
        }
        Ok(())
    }
}

impl Policy {
    /// Admits a connection or packet from `source` on `transport` (e.g.
    /// "TCP 139"), or counts and logs the refusal.
    pub(crate) fn admit_source(&self, transport: &str, source: IpAddr) -> Result<(), Refusal> {
        self.judge(self.rules.load().source(source), source, transport, None)
    }

    /// [`Policy::admit_source`] for UDP 137 (the WINS server is admitted).
    pub(crate) fn admit_name_service(&self, source: IpAddr) -> Result<(), Refusal> {
        let v = self.rules.load().name_service(source);
        self.judge(v, source, "UDP 137 (name service, not answered)", None)
    }

    /// Admits a message from `source` (sender `from`, recipient `to`,
    /// `group`: sent to a group), or counts and logs the refusal.
    pub(crate) fn admit_message(
        &self,
        transport: messngr_proto::Transport,
        source: IpAddr,
        from: &[u8],
        to: &[u8],
        group: bool,
    ) -> Result<(), Refusal> {
        let rules = self.rules.load();
        let v = rules.message(source, from, to, group).and_then(|()| {
            if rules.must_verify(source, from) {
                Err((
                    Refusal::Unverified,
                    "unsigned, and require_verified_from/require_verified_names want this sender signed",
                ))
            } else {
                Ok(())
            }
        });
        self.judge_message(v, source, transport, from, to)
    }

    /// Whether `to` names this host's workgroup (a broadcast's signed copy
    /// is addressed so).
    pub(crate) fn is_workgroup(&self, to: &[u8]) -> bool {
        let to = trim_name(to);
        !to.is_empty() && to.eq_ignore_ascii_case(self.rules.load().workgroup.as_bytes())
    }

    /// The same rules for a message whose author a signature verified:
    /// `require_verified_*` is met.
    pub(crate) fn admit_signed_message(
        &self,
        source: IpAddr,
        from: &[u8],
        to: &[u8],
    ) -> Result<(), Refusal> {
        let v = self.rules.load().message(source, from, to, false);
        self.judge_message(v, source, messngr_proto::Transport::Messngr, from, to)
    }

    /// [`Policy::judge`] for a message: a refusal is also counted as the
    /// transport's `refused` message.
    fn judge_message(
        &self,
        verdict: Verdict,
        source: IpAddr,
        transport: messngr_proto::Transport,
        from: &[u8],
        to: &[u8],
    ) -> Result<(), Refusal> {
        if verdict.is_err() {
            self.flow()
                .add_transport(transport, crate::flow::Outcome::Refused);
        }
        let label = match transport {
            messngr_proto::Transport::Smb => "SMB",
            messngr_proto::Transport::Mailslot => "UDP 138",
            t => t.as_str(),
        };
        self.judge(verdict, source, label, Some((from, to)))
    }

    fn judge(
        &self,
        verdict: Verdict,
        source: IpAddr,
        transport: &str,
        names: Option<(&[u8], &[u8])>,
    ) -> Result<(), Refusal> {
        let Err((reason, why)) = verdict else {
            return Ok(());
        };
        match names {
            // Peer strings are Debug-formatted: escaped, never acted on.
            Some((from, to)) => self.refuse(
                reason,
                source,
                format_args!(
                    "{transport} message from {:?} to {:?}: {why}",
                    String::from_utf8_lossy(trim_name(from)),
                    String::from_utf8_lossy(trim_name(to))
                ),
            ),
            None => self.refuse(reason, source, format_args!("{transport}: {why}")),
        }
        Err(reason)
    }
}

#[cfg(test)]
mod tests;
