//! `Export`: every message the caller may see, streamed oldest first.
//!
//! Why pages: an export of a million messages must neither hold the inbox
//! in memory nor hold the store's thread (which also commits arriving
//! messages) for the whole read. Each page is one short store job; the
//! next one starts after the last id written, so messages stored meanwhile
//! are included and none is sent twice.

use messngr_api::ExportItem;
use messngr_api::frame::encode;
use tokio::io::AsyncWriteExt;
use tokio::net::unix::OwnedWriteHalf;

use crate::inbox::Inbox;

/// Messages per store job.
pub(crate) const EXPORT_PAGE: u32 = 500;

/// Streams the export to `write`; `false` when the connection is gone.
pub(crate) async fn stream(inbox: &Inbox, uid: u32, write: &mut OwnedWriteHalf) -> bool {
    let mut after = 0;
    let mut count = 0u64;
    loop {
        let page = match inbox.export_page(uid, after, EXPORT_PAGE).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!("export for uid {uid} stopped after {count} messages: {e}");
                let line = encode(&ExportItem::Error(e.into()));
                return write.write_all(&line).await.is_ok();
            }
        };
        let Some(last) = page.last() else {
            let line = encode(&ExportItem::End { count });
            return write.write_all(&line).await.is_ok();
        };
        after = last.id;
        let mut out = Vec::with_capacity(page.len() * 512);
        for m in &page {
            out.extend_from_slice(&encode(&ExportItem::Message(Box::new(
                super::views::message(m),
            ))));
        }
        count += page.len() as u64;
        if write.write_all(&out).await.is_err() {
            return false;
        }
    }
}
