//! The label a sent message's recipient is tracked under, and which host
//! may report on it: `H2` for a host's own name, `ALICE@H2` for a name
//! another host holds. A receipt is believed only from that host.
//!
//! Why a module of its own: the senders record these labels, and the
//! receivers of receipts (a secure session, the relay's outbox) check and
//! make them, and neither may depend on the other.

/// The label a recipient is tracked under: the name as addressed (upper
/// case), with `@HOST` when the host that holds it is another name.
pub(crate) fn recipient(to: &str, host: &str) -> String {
    let to = to.trim().to_ascii_uppercase();
    let host = host.trim().to_ascii_uppercase();
    if to == host {
        to
    } else {
        format!("{to}@{host}")
    }
}

/// Whether `host` may report on `label` (a receipt signed by its key).
pub(crate) fn reports_on(label: &str, host: &str) -> bool {
    let host = host.to_ascii_uppercase();
    label == host || label.rsplit_once('@').is_some_and(|(_, h)| h == host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recipient_is_reported_on_only_by_its_host() {
        assert_eq!(recipient("h2", "H2"), "H2");
        assert_eq!(recipient("alice", "H2"), "ALICE@H2");
        assert!(reports_on("H2", "h2"));
        assert!(reports_on("ALICE@H2", "H2"));
        assert!(!reports_on("ALICE@H2", "H3"));
        assert!(!reports_on("H2", "H3"));
        assert!(!reports_on("ALICE@H22", "H2"));
    }
}
