//! The inbox's answers to people: pages, search, read, delete, the unread
//! count and export pages — each for one caller, with the access rule
//! applied in the store's SQL (`Scope`), never by loading rows to filter
//! them here. A page costs the same whatever the inbox holds, and no call
//! holds the store's thread for more than one page.

use messngr_store::{Filter, Message, Page, Scope, StoreError};

use super::Inbox;

/// Why an inbox request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InboxError {
    /// No such message — or someone else's, which must look the same.
    #[error("no message {0}")]
    NotFound(i64),
    /// The request cannot be answered as asked (e.g. an empty search).
    #[error("{0}")]
    Invalid(String),
    /// The caller may see the message but not change it (the host's, or,
    /// for admins, never): the sentence says which and why.
    #[error("{0}")]
    Denied(String),
    /// The store failed.
    #[error("the inbox failed: {0}")]
    Store(String),
}

impl From<StoreError> for InboxError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => InboxError::NotFound(id),
            StoreError::Invalid(why) => InboxError::Invalid(why),
            e => InboxError::Store(e.to_string()),
        }
    }
}

impl Inbox {
    /// `filter` narrowed to what the caller with `uid` may see.
    fn scoped(&self, uid: u32, mut filter: Filter) -> Filter {
        filter.scope = self.scope_of(uid);
        filter
    }

    /// Whose messages the caller with `uid` may see, as the store's SQL
    /// condition (looked up once: it asks the system's account database).
    pub(crate) fn scope_of(&self, uid: u32) -> Scope {
        self.access().scope(&self.access().caller(uid))
    }

    /// Message `id` if the caller with `uid` may see it (someone else's
    /// looks missing), and whether they may change it
    /// ([`crate::access::Access::may_change`]); the caller is looked up
    /// once (the system's account database).
    async fn visible(&self, uid: u32, id: i64) -> Result<(Message, bool), InboxError> {
        let m = self.handle().get(id).await?;
        let caller = self.access().caller(uid);
        let owner = m.owner_user.as_deref();
        if !self.access().may_see(&caller, owner) {
            return Err(InboxError::NotFound(id));
        }
        let may_change = self.access().may_change(&caller, owner);
        Ok((m, may_change))
    }

    /// The newest `limit` messages `filter` selects that `uid` may see.
    pub(crate) async fn page(
        &self,
        uid: u32,
        filter: Filter,
        limit: u32,
    ) -> Result<Page, InboxError> {
        let filter = self.scoped(uid, filter);
        Ok(self.handle().page(filter, limit).await?)
    }

    /// The newest `limit` messages holding every word of `text`.
    pub(crate) async fn search(
        &self,
        uid: u32,
        text: String,
        filter: Filter,
        limit: u32,
    ) -> Result<Page, InboxError> {
        let filter = self.scoped(uid, filter);
        Ok(self.handle().search(text, filter, limit).await?)
    }

    /// Message `id`, if the caller may see it, marked read if it is theirs
    /// to change ([`crate::access::Access::may_change`]). A host message a
    /// user may see is shown but not marked read: its read mark is the
    /// whole host's, and one user reading it must not hide it from the
    /// others (root and admin_group mark it). A failure to mark it (a full
    /// disk) is logged; the message is shown all the same.
    #[cfg(test)]
    pub(crate) async fn read(&self, uid: u32, id: i64) -> Result<Message, InboxError> {
        self.read_first(uid, id).await.map(|(m, _)| m)
    }

    /// [`Inbox::read`], and whether this read is the one that marked it
    /// read (its first: a read receipt goes out then, once).
    pub(crate) async fn read_first(
        &self,
        uid: u32,
        id: i64,
    ) -> Result<(Message, bool), InboxError> {
        let (m, may_change) = self.visible(uid, id).await?;
        if !may_change {
            tracing::debug!("message {id} shown to uid {uid}, not marked read: the host's");
            return Ok((m, false));
        }
        let first = m.read_at.is_none();
        match self.handle().mark_read(id).await {
            Ok(read) => Ok((read, first)),
            Err(e) => {
                tracing::warn!("message {id} shown but not marked read: {e}");
                Ok((m, false))
            }
        }
    }

    /// Deletes message `id`, if it is the caller's to change: their own
    /// (root and admin_group: any). Someone else's looks missing; a host
    /// message the caller may see is refused, saying why.
    pub(crate) async fn rm(&self, uid: u32, id: i64) -> Result<i64, InboxError> {
        let (m, may_change) = self.visible(uid, id).await?;
        if !may_change {
            return Err(InboxError::Denied(format!(
                "message {id} is the host's (to {}), shared by every user: only root and admin_group may delete it",
                messngr_proto::text::sanitize_line(m.to.trim())
            )));
        }
        self.handle().delete(id).await?;
        Ok(id)
    }

    /// Unread received messages the caller may see, and how many are urgent.
    pub(crate) async fn unread(&self, uid: u32) -> Result<(u64, u64), InboxError> {
        let caller = self.access().caller(uid);
        let mut count = (0, 0);
        for (owner, priority, n) in self.handle().unread_counts().await? {
            if self.access().may_see(&caller, owner.as_deref()) {
                count.0 += n;
                if priority == messngr_proto::Priority::Urgent {
                    count.1 += n;
                }
            }
        }
        Ok(count)
    }

    /// Up to `n` messages the caller may see with an id above `after`,
    /// oldest first: one page of an export (received and, once the daemon
    /// keeps them, sent).
    pub(crate) async fn export_page(
        &self,
        scope: &Scope,
        after: i64,
        n: u32,
    ) -> Result<Vec<Message>, InboxError> {
        Ok(self.handle().export_page(scope.clone(), after, n).await?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use messngr_proto::{Priority, Transport};
    use messngr_store::NewMessage;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_see_only_their_own_pages_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = Inbox::open_at(&dir.path().join(super::super::INBOX_FILE));
        for (to, owner, priority) in [
            ("ALICE", Some("alice"), Priority::Urgent),
            ("ALICE", Some("alice"), Priority::Normal),
            ("H1", None, Priority::Normal),
        ] {
            let mut m = NewMessage::received(Transport::Smb, "H2", to, "hi", b"hi");
            m.owner_user = owner.map(str::to_owned);
            m.priority = priority;
            inbox.handle().insert(m).await.unwrap();
        }
        // root sees everything; a uid without an account, nothing.
        assert_eq!(inbox.unread(0).await.unwrap(), (3, 1));
        assert_eq!(inbox.unread(59_999).await.unwrap(), (0, 0));
        let all = inbox.page(0, Filter::default(), 50).await.unwrap();
        assert_eq!(all.messages.len(), 3);
        let none = inbox.page(59_999, Filter::default(), 50).await.unwrap();
        assert!(none.messages.is_empty(), "{none:?}");
        let id = all.messages[0].id;
        assert_eq!(inbox.read(59_999, id).await, Err(InboxError::NotFound(id)));
        assert_eq!(inbox.rm(59_999, id).await, Err(InboxError::NotFound(id)));
        let (nobody, root) = (inbox.scope_of(59_999), inbox.scope_of(0));
        assert!(inbox.export_page(&nobody, 0, 10).await.unwrap().is_empty());
        assert_eq!(inbox.export_page(&root, 0, 10).await.unwrap().len(), 3);
        assert_eq!(inbox.rm(0, id).await, Ok(id));
        assert_eq!(inbox.read(0, id).await, Err(InboxError::NotFound(id)));
    }
}
