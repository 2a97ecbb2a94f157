//! The daemon's typed results as the API's views and errors: the one place
//! where domain values (store messages, send reports, name reports) become
//! what clients see.

use messngr_api::{
    ApiError, CountersView, ErrorKind, InboxPage, NameView, NodeNameView, NodeStatusView,
    QuietChange as QuietChangeView, QuietView, SendView, StatusView,
};

use crate::inbox::InboxError;
use crate::names::{NameInfo, NamesError, NamesReport, NodeReport};
use crate::quiet::{QuietChange, QuietError, QuietState};
use crate::send::{Outcome, SendError, SendReport};
use crate::settings::Settings;

/// A page as clients see it, kept under [`messngr_api::PAGE_BYTES`] of
/// JSON: if its messages are bigger (a few huge ones), the oldest are left
/// out and counted as older, so every page fits a reply line.
pub(crate) fn page(p: messngr_store::Page) -> InboxPage {
    let mut bytes = 0;
    let mut views = Vec::with_capacity(p.messages.len());
    for m in p.messages.iter().rev() {
        let v = crate::view::message(m);
        bytes += json_bound(m);
        if bytes > messngr_api::PAGE_BYTES && !views.is_empty() {
            break;
        }
        views.push(v);
    }
    let cut = (p.messages.len() - views.len()) as u64;
    views.reverse();
    InboxPage {
        messages: views,
        older: p.older + cut,
    }
}

/// At most how many bytes `m`'s view takes as JSON, without encoding it:
/// a character is at most 6 bytes escaped (`\u0001`), a raw byte 2 in
/// hex, and the rest (keys, times, ids, the other fields) well under 1 KiB.
fn json_bound(m: &messngr_store::Message) -> usize {
    let strings = m.text.len() + m.from.len() + m.to.len();
    let optional = [
        &m.source_addr,
        &m.codepage,
        &m.sender_key,
        &m.owner_user,
        &m.notice_id,
    ]
    .iter()
    .map(|s| s.as_ref().map_or(0, String::len))
    .sum::<usize>();
    6 * (strings + optional) + 2 * m.raw.len() + 1024
}

/// One receiver's send result.
pub(crate) fn sent(r: SendReport) -> SendView {
    SendView {
        target: r.target,
        transport: r.transport.as_str().to_owned(),
        address: r.address,
        outcome: match r.outcome {
            Outcome::Delivered => "delivered",
            Outcome::Sent => "sent",
            Outcome::Queued => "queued",
            Outcome::Kept => "kept",
        }
        .to_owned(),
        replaced: r.replaced,
        blocks: r.blocks,
        native: r.native,
        secure: r.secure,
        id: r.id,
        uuid: r.uuid,
        warning: r.warning,
    }
}

/// One of our names.
pub(crate) fn name(n: NameInfo) -> NameView {
    NameView {
        name: n.name.to_string(),
        group: n.group,
        state: n.state.to_owned(),
        source: n.source,
        held_by: n.held_by,
        // Rounded up: "0 s" while the claim is still to come would mislead.
        retry_in_secs: n
            .retry_in
            .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0)),
    }
}

/// `messngr status`.
pub(crate) fn status(
    s: &Settings,
    r: NamesReport,
    refusals: &crate::policy::Refusals,
) -> StatusView {
    let c = r.counters;
    StatusView {
        netbios_name: s.netbios_name.clone(),
        workgroup: s.workgroup.clone(),
        interface: s.iface.name().to_owned(),
        address: s.iface.address,
        broadcast: s.iface.broadcast,
        wins_server: s.wins_server,
        uptime_secs: r.uptime.as_secs(),
        names: r.names.into_iter().map(name).collect(),
        counters: CountersView {
            nbns_received: c.received,
            nbns_malformed: c.malformed,
            nbns_rate_limited: c.rate_limited,
            nbns_sent: c.sent,
            queries_answered: c.queries_answered,
            node_status_answered: c.node_status_answered,
            defended: c.defended,
            conflicts: c.conflicts,
            conflict_demands_ignored: c.conflict_demands_ignored,
            releases_ignored: c.releases_ignored,
        },
        refused: refusals.snapshot(),
        host_key: None,
        key_changes: Vec::new(),
        netbios: true,
        inbox: None,
        relay: None,
    }
}

/// A node status answer.
pub(crate) fn node_status(r: NodeReport) -> NodeStatusView {
    NodeStatusView {
        address: r.address,
        names: r
            .names
            .into_iter()
            .map(|n| NodeNameView {
                name: n.name.to_string(),
                group: n.group,
                node_type: n.node_type.to_owned(),
                flags: n.flags.into_iter().map(str::to_owned).collect(),
            })
            .collect(),
        mac: r
            .mac
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

/// `messngr quiet`.
pub(crate) fn quiet(q: QuietState) -> QuietView {
    QuietView {
        user: q.user,
        quiet: q.quiet,
        since: q.since.map(messngr_api::time::rfc3339),
        since_ms: q.since,
        waiting: q.waiting,
    }
}

/// A quiet change on the follow stream.
pub(crate) fn quiet_change(c: QuietChange) -> QuietChangeView {
    QuietChangeView {
        user: c.user,
        quiet: c.quiet,
        waiting: c.waiting,
    }
}

/// What an alert did.
pub(crate) fn alert(r: crate::alerter::AlertReport) -> messngr_api::AlertView {
    messngr_api::AlertView {
        key: r.key,
        collapsed: r.collapsed,
        repeats: r.repeats,
        sent: r.sent.into_iter().map(sent).collect(),
        updated: r.updated,
        failed: r
            .failed
            .into_iter()
            .map(|(recipient, error)| messngr_api::NoticeFailure { recipient, error })
            .collect(),
    }
}

impl From<crate::alerter::AlertError> for ApiError {
    fn from(e: crate::alerter::AlertError) -> Self {
        use crate::alerter::AlertError as E;
        let kind = match &e {
            E::Denied(_) => ErrorKind::Denied,
            E::BadRequest(_) => ErrorKind::BadRequest,
            E::NoSubscribers(_) => ErrorKind::NotFound,
            E::NotDelivered(_) => ErrorKind::Refused,
            E::Disabled(_) => ErrorKind::Disabled,
        };
        ApiError::new(kind, e.to_string())
    }
}

impl From<SendError> for ApiError {
    fn from(e: SendError) -> Self {
        let kind = match &e {
            SendError::BadRequest(_) => ErrorKind::BadRequest,
            SendError::BadName(_) => ErrorKind::BadName,
            SendError::NotFound(_) => ErrorKind::NotFound,
            SendError::Refused(_) => ErrorKind::Refused,
            SendError::Network(_) => ErrorKind::Network,
            SendError::TooLong(_) => ErrorKind::TooLong,
            SendError::Untrusted(_) => ErrorKind::Untrusted,
            SendError::Stopping => ErrorKind::ShuttingDown,
            SendError::Denied(_) => ErrorKind::Denied,
            SendError::NotKept(_) => ErrorKind::NotStored,
        };
        ApiError::new(kind, e.to_string())
    }
}

impl From<NamesError> for ApiError {
    fn from(e: NamesError) -> Self {
        let kind = match &e {
            NamesError::BadName(_) => ErrorKind::BadName,
            NamesError::Conflict { .. } => ErrorKind::Conflict,
            NamesError::NotFound(_) => ErrorKind::NotFound,
            NamesError::Refused(_) => ErrorKind::Refused,
            NamesError::Stopping => ErrorKind::ShuttingDown,
        };
        ApiError::new(kind, e.to_string())
    }
}

impl From<InboxError> for ApiError {
    fn from(e: InboxError) -> Self {
        let kind = match &e {
            InboxError::NotFound(_) => ErrorKind::NotFound,
            InboxError::Invalid(_) => ErrorKind::BadRequest,
            InboxError::Denied(_) => ErrorKind::Denied,
            InboxError::Store(_) => ErrorKind::Store,
        };
        ApiError::new(kind, e.to_string())
    }
}

impl From<QuietError> for ApiError {
    fn from(e: QuietError) -> Self {
        let kind = match &e {
            QuietError::NoAccount(_) => ErrorKind::Denied,
            QuietError::Store(_) => ErrorKind::Store,
        };
        ApiError::new(kind, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use messngr_proto::Transport;
    use messngr_store::{NewMessage, Store};

    use super::*;

    #[test]
    fn a_page_of_huge_messages_is_cut_at_its_oldest_to_fit_a_reply_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path().join("inbox.sqlite")).unwrap();
        // 64 KiB of control characters: about half a MiB of JSON each.
        let text = "\u{1}".repeat(64 * 1024);
        for _ in 0..12 {
            let m = NewMessage::received(Transport::Smb, "H2", "H1", &text, text.as_bytes());
            store.insert(&m).unwrap();
        }
        let page = page(store.page(&messngr_store::Filter::default(), 50).unwrap());
        let json = serde_json::to_vec(&page).unwrap();
        assert!(
            json.len() <= messngr_api::PAGE_BYTES + 1024,
            "{}",
            json.len()
        );
        assert!(page.messages.len() < 12 && !page.messages.is_empty());
        assert_eq!(page.messages.len() as u64 + page.older, 12);
        assert_eq!(page.messages.last().unwrap().id, 12, "the newest are kept");
        // The size bound the cut uses does bound what is sent.
        let m = store.get(12).unwrap();
        let exact = serde_json::to_vec(&crate::view::message(&m)).unwrap().len();
        assert!(exact <= json_bound(&m), "{exact} > {}", json_bound(&m));
        assert!(json_bound(&m) < 2 * exact, "a useful bound, not a huge one");
    }
}
