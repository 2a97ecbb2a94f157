//! Which OEM code page a legacy peer writes in: `code_page` for everyone,
//! and `[code_pages]` for particular peers, by NetBIOS name or by address
//! range.
//!
//! Why per peer: SMB messages, mailslot datagrams and RPC calls carry text
//! in the sender's DOS code page with nothing on the wire saying which. A
//! WinPopup in Moscow writes CP866 and one in Paris CP850; read with one
//! table, one of them gets the other's letters. The daemon decodes what a
//! peer sent, and encodes what it sends to a peer, in that peer's page: the
//! first address range that holds the peer's address, then a name rule
//! (the sender's name as it wrote it, or the name sent to), then the
//! default. The address comes first because a sender chooses the name it
//! claims, not (off its own LAN) its address. messngr peers are UTF-8 and
//! never looked up here.

use std::collections::BTreeMap;
use std::net::IpAddr;

use messngr_proto::text::CodePage;
use serde::Deserialize;

use crate::policy::NetList;

/// A code page as the configuration writes it: `866` or `"cp866"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum CodePageValue {
    /// A number (`850`).
    Number(u16),
    /// A name (`"cp850"`, `"IBM866"`, `"windows-1251"`).
    Name(String),
}

impl CodePageValue {
    /// The code page it names, or what to write instead.
    pub fn resolve(&self) -> Result<CodePage, String> {
        let known = match self {
            CodePageValue::Number(n) => CodePage::from_number(*n),
            CodePageValue::Name(s) => s.parse().ok(),
        };
        known.ok_or_else(|| {
            let given = match self {
                CodePageValue::Number(n) => n.to_string(),
                CodePageValue::Name(s) => format!("{s:?}"),
            };
            format!(
                "{given} is not a code page messngr knows: write an OEM page such as 437, 850, 852 or 866 (or \"cp866\")"
            )
        })
    }
}

/// The resolved `code_page` and `[code_pages]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodePages {
    default: CodePage,
    /// NetBIOS names, upper case.
    names: Vec<(String, CodePage)>,
    /// Address ranges, the most specific (longest prefix) first.
    nets: Vec<(NetList, CodePage)>,
}

impl CodePages {
    /// From the configuration: `default` (`code_page`) and `overrides`
    /// (`[code_pages]`: a key with a digit and a `.`, `:` or `/` is an
    /// address or range, any other key a NetBIOS name).
    pub fn parse(
        default: Option<&CodePageValue>,
        overrides: &BTreeMap<String, CodePageValue>,
    ) -> Result<CodePages, (&'static str, String)> {
        let default = match default {
            Some(v) => v.resolve().map_err(|e| ("code_page", e))?,
            None => CodePage::default(),
        };
        let mut pages = CodePages {
            default,
            ..CodePages::default()
        };
        for (key, value) in overrides {
            let page = value
                .resolve()
                .map_err(|e| ("code_pages", format!("{key}: {e}")))?;
            if looks_like_address(key) {
                let net = NetList::parse(std::slice::from_ref(key)).map_err(|e| {
                    (
                        "code_pages",
                        format!("{key}: {e} (an address or range, such as \"10.0.5.0/24\")"),
                    )
                })?;
                pages.nets.push((net, page));
            } else {
                messngr_proto::wire::name::NetbiosName::new(key.trim().as_bytes(), 0x03).map_err(
                    |e| {
                        (
                            "code_pages",
                            format!("{key:?}: {e} (a NetBIOS name, or an address)"),
                        )
                    },
                )?;
                pages.names.push((key.trim().to_ascii_uppercase(), page));
            }
        }
        // TOML tables have no order (the keys arrive sorted as text, where
        // "10.0.0.0/16" comes before "10.0.5.0/24"): the narrowest range
        // that holds an address decides, as in a routing table.
        let prefix = |n: &NetList| n.nets.iter().map(|n| n.prefix_len()).max().unwrap_or(0);
        pages
            .nets
            .sort_by_key(|(n, _)| std::cmp::Reverse(prefix(n)));
        Ok(pages)
    }

    /// Everyone's code page (`code_page`).
    pub fn default_page(&self) -> CodePage {
        self.default
    }

    /// The code page of the peer named `name` (raw bytes as it wrote them,
    /// or the name sent to; may be empty) at `ip`.
    pub fn for_peer(&self, name: &[u8], ip: Option<IpAddr>) -> CodePage {
        if let Some(ip) = ip
            && let Some((_, page)) = self.nets.iter().find(|(net, _)| net.contains(ip, None))
        {
            return *page;
        }
        let name = trim(name);
        if !name.is_empty()
            && let Some((_, page)) = self
                .names
                .iter()
                .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
        {
            return *page;
        }
        self.default
    }
}

/// A `[code_pages]` key that is meant as an address or range.
fn looks_like_address(key: &str) -> bool {
    key.bytes().any(|b| b.is_ascii_digit()) && key.bytes().any(|b| matches!(b, b'.' | b':' | b'/'))
}

/// A NetBIOS name without the padding a sender may leave around it.
fn trim(name: &[u8]) -> &[u8] {
    let start = name
        .iter()
        .position(|&b| b != b' ' && b != 0)
        .unwrap_or(name.len());
    let end = name
        .iter()
        .rposition(|&b| b != b' ' && b != 0)
        .map_or(start, |i| i + 1);
    &name[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages(default: Option<CodePageValue>, o: &[(&str, CodePageValue)]) -> CodePages {
        let map = o
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        CodePages::parse(default.as_ref(), &map).unwrap()
    }

    #[test]
    fn the_first_range_wins_then_a_name_rule_then_the_default() {
        let p = pages(
            Some(CodePageValue::Number(852)),
            &[
                ("moscowpc", CodePageValue::Number(866)),
                ("10.0.5.0/24", CodePageValue::Name("cp437".into())),
            ],
        );
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // A sender claiming MOSCOWPC from the 437 range is read as 437.
        assert_eq!(p.for_peer(b"MOSCOWPC ", ip("10.0.5.7")), CodePage::Cp437);
        assert_eq!(p.for_peer(b"MOSCOWPC ", ip("10.0.6.7")), CodePage::Cp866);
        assert_eq!(p.for_peer(b"OTHER", ip("10.0.5.7")), CodePage::Cp437);
        assert_eq!(p.for_peer(b"", ip("10.0.6.7")), CodePage::Cp852);
        assert_eq!(p.for_peer(b"x", None), CodePage::Cp852);
        assert_eq!(p.default_page(), CodePage::Cp852);
        assert_eq!(pages(None, &[]).default_page(), CodePage::Cp850);
    }

    #[test]
    fn the_narrowest_range_wins_whatever_the_keys_order() {
        // As text "10.0.0.0/16" sorts before "10.0.5.0/24", and "10.0.5.7"
        // (a /32) after both.
        let p = pages(
            None,
            &[
                ("10.0.0.0/16", CodePageValue::Number(852)),
                ("10.0.5.0/24", CodePageValue::Number(866)),
                ("10.0.5.7", CodePageValue::Number(437)),
            ],
        );
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(p.for_peer(b"", ip("10.0.5.7")), CodePage::Cp437);
        assert_eq!(p.for_peer(b"", ip("10.0.5.8")), CodePage::Cp866);
        assert_eq!(p.for_peer(b"", ip("10.0.6.8")), CodePage::Cp852);
    }

    #[test]
    fn a_wrong_value_says_what_to_write() {
        let bad = |d: Option<CodePageValue>, o: &[(&str, CodePageValue)]| {
            let map = o
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect();
            CodePages::parse(d.as_ref(), &map).unwrap_err()
        };
        let (key, why) = bad(Some(CodePageValue::Number(12345)), &[]);
        assert_eq!(key, "code_page");
        assert!(why.contains("866"), "{why}");
        let (key, why) = bad(None, &[("10.0.0.0/99", CodePageValue::Number(866))]);
        assert_eq!(key, "code_pages");
        assert!(why.contains("10.0.0.0/99"), "{why}");
        let (key, why) = bad(
            None,
            &[("A NAME TOO LONG FOR NETBIOS", CodePageValue::Number(866))],
        );
        assert_eq!(key, "code_pages");
        assert!(
            why.contains("A NAME TOO LONG FOR NETBIOS") && why.contains("NetBIOS name"),
            "{why}"
        );
    }
}
