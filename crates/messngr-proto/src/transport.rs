//! Which wire a message came by: the one `Transport` every layer uses (the
//! text decoder's NUL rule, the store's `transport` column, the API's
//! message view).
//!
//! Why here, at the bottom: the decoder, the inbox and the local API all
//! need the same answer to "how did this arrive", and the protocol crate is
//! the one they all depend on. The stored and shown names (`smb`,
//! `mailslot`, `rpc`, `messngr`, `samba`) are part of the inbox's file
//! format and of `inbox --json`: they never change.

/// Which wire a message came in on (or, for a sent one, went out on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Transport {
    /// SMB message commands over NBT sessions, TCP 139 (`net send`,
    /// `smbclient -M`). Text: one trailing NUL is stripped (0xD0 data may
    /// carry one, nbt-session-and-smb-messages.md §5.1, §7); other NULs are
    /// kept as control characters.
    #[default]
    Smb,
    /// `\MAILSLOT\MESSNGR` datagrams, UDP 138 (WinPopup, domain
    /// broadcasts). Text runs to the first NUL or to the end
    /// (mailslot-datagrams.md §5); bytes after that NUL are not decoded.
    Mailslot,
    /// MS-MSRP `NetrSendMessage` over connectionless DCE/RPC, UDP 135. Text
    /// as [`Transport::Smb`] (the NDR string counts its NUL; a missing one
    /// is accepted, msrp-rpc.md §4).
    Rpc,
    /// messngr-to-messngr frames (`wire::native`): UTF-8 text; the only
    /// transport that can carry a verified sender.
    Messngr,
    /// Handed over by smbd's `message command` (`messngr deliver`): Samba
    /// owned the ports and received it.
    Samba,
    /// A name this build does not know (written by a newer messngr, or a
    /// damaged row): shown as `unknown` rather than failing the listing
    /// that holds it. Never verified.
    Unknown,
}

impl Transport {
    /// Every transport, for tests and listings.
    pub const ALL: [Transport; 5] = [
        Transport::Smb,
        Transport::Mailslot,
        Transport::Rpc,
        Transport::Messngr,
        Transport::Samba,
    ];

    /// The name stored and shown: `smb`, `mailslot`, `rpc`, `messngr`,
    /// `samba` (`unknown` for [`Transport::Unknown`]).
    pub const fn as_str(self) -> &'static str {
        match self {
            Transport::Smb => "smb",
            Transport::Mailslot => "mailslot",
            Transport::Rpc => "rpc",
            Transport::Messngr => "messngr",
            Transport::Samba => "samba",
            Transport::Unknown => "unknown",
        }
    }

    /// The transport with this stored name; [`Transport::Unknown`] for a
    /// name this build does not know.
    pub fn from_name(s: &str) -> Transport {
        Transport::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .unwrap_or(Transport::Unknown)
    }

    /// Whether a message on this transport can have a verified sender.
    /// The legacy transports carry no authentication at all: anyone on the
    /// LAN can claim any name, so their messages are never verified.
    pub const fn can_verify(self) -> bool {
        matches!(self, Transport::Messngr)
    }

    /// Whether text on this wire ends at its first NUL (mailslots) rather
    /// than losing one trailing NUL (everything else).
    pub(crate) const fn text_ends_at_nul(self) -> bool {
        matches!(self, Transport::Mailslot)
    }
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Transport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Transport {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Transport::from_name(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_only_messngr_verifies() {
        for t in Transport::ALL {
            assert_eq!(Transport::from_name(t.as_str()), t);
            assert_eq!(t.can_verify(), t == Transport::Messngr);
        }
        assert_eq!(Transport::from_name("SMB"), Transport::Unknown);
        assert_eq!(Transport::from_name("carrier-pigeon"), Transport::Unknown);
        assert!(!Transport::Unknown.can_verify());
    }
}
