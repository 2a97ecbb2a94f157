//! `Export`: every message the caller may see, streamed oldest first.
//!
//! Why pages: an export of a million messages must neither hold the inbox
//! in memory nor hold the store's thread (which also commits arriving
//! messages) for the whole read. Each page is one short store job; the
//! next one starts after the last id written, so messages stored meanwhile
//! are included and none is sent twice.

use messngr_api::ExportItem;
use messngr_api::frame::encode;
use tokio::net::unix::OwnedWriteHalf;

use super::send;

use crate::inbox::Inbox;

/// Messages per store job (at most a few MiB even for the largest
/// messages); each is written as it is encoded, every write within the
/// server's write timeout, so a client that stops reading is dropped.
pub(crate) const EXPORT_PAGE: u32 = 100;

/// Streams the export to `write`; `false` when the connection is gone.
pub(crate) async fn stream(inbox: &Inbox, uid: u32, write: &mut OwnedWriteHalf) -> bool {
    let scope = inbox.scope_of(uid);
    let mut after = 0;
    let mut count = 0u64;
    loop {
        let page = match inbox.export_page(&scope, after, EXPORT_PAGE).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!("export for uid {uid} stopped after {count} messages: {e}");
                return send(write, &encode(&ExportItem::Error(e.into()))).await;
            }
        };
        let Some(last) = page.last() else {
            return send(write, &encode(&ExportItem::End { count })).await;
        };
        after = last.id;
        for m in &page {
            let line = encode(&ExportItem::Message(Box::new(crate::view::message(m))));
            if !send(write, &line).await {
                tracing::info!("export for uid {uid} dropped after {count} messages: not reading");
                return false;
            }
            count += 1;
        }
    }
}
