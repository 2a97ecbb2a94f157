//! `Follow`: a connection that stays open and receives every newly stored
//! message, one [`FollowEvent`] line each.
//!
//! Why it exists: the per-user desktop agent (`messngr agent`) must show a
//! message the moment it is stored, without polling. It subscribes here
//! first, then asks `Inbox { unread: true }` for what arrived while it was
//! away, so nothing falls between the two. The stream is fed from
//! [`Inbox::subscribe`](crate::inbox::Inbox::subscribe), a broadcast: a slow
//! or dead agent never holds up the inbox. A lagging follower is told how
//! many messages it missed (`FollowEvent::Lagged`) and can catch up from the
//! inbox; a follower that stops reading for [`WRITE_TIMEOUT`] is dropped.
//!
//! The same stream tells a follower when its user's do-not-disturb changes
//! (`FollowEvent::Quiet`, see [`crate::quiet`]), so an agent shows what waited
//! the moment quiet ends, without polling.

use std::sync::Arc;
use std::time::Duration;

use messngr_api::frame::{Reply, encode};
use messngr_api::{FollowEvent, Following, ReceiptEvent};
use messngr_store::Message;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::inbox::receipts::ReceiptNote;
use crate::quiet::QuietChange;

/// How long one line may take to reach a follower before it is dropped.
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where followers subscribe: every message once it is on disk.
#[derive(Clone)]
pub(crate) struct Feed {
    sender: broadcast::Sender<Arc<Message>>,
    quiet: broadcast::Sender<QuietChange>,
    receipts: broadcast::Sender<Arc<ReceiptNote>>,
    visible: Visibility,
}

/// One follower's subscription: the messages it may see and its user's
/// quiet changes.
pub(crate) struct Subscription {
    /// Every stored message (filtered by `visible` when streamed).
    pub(crate) messages: broadcast::Receiver<Arc<Message>>,
    /// Every quiet change (only the follower's own user's are streamed).
    pub(crate) quiet: broadcast::Receiver<QuietChange>,
    /// The follower's uid.
    pub(crate) uid: u32,
    /// The follower's login name, if the uid has one.
    pub(crate) user: Option<String>,
    /// The visibility rule, for this follower.
    pub(crate) visible: Visible,
    /// Whether quiet changes may still come.
    pub(crate) quiet_open: bool,
    /// Receipts of sent messages (only the follower's own are streamed).
    pub(crate) receipts: broadcast::Receiver<Arc<ReceiptNote>>,
    /// Whether receipts may still come.
    pub(crate) receipts_open: bool,
    /// Where the messages streamed are counted, and as which sink.
    pub(crate) counted: Option<(Arc<crate::people::Delivered>, crate::people::Sink)>,
}

/// The visibility rule for the caller with a uid (per-user access). It is
/// asked once per subscription: the caller's account (and admin group) is
/// resolved then, not once per stored message and follower, which would
/// put a passwd (and group) lookup on the async runtime for every message a
/// LAN host sends, times every agent.
pub(crate) type Visibility = Arc<dyn Fn(u32) -> Visible + Send + Sync>;

/// Whether one follower may see a message.
pub(crate) type Visible = Box<dyn Fn(&Message) -> bool + Send + Sync>;

impl Subscription {
    /// The same subscription, counting each message it yields as a
    /// delivery to `sink`.
    pub(crate) fn counting(
        self,
        delivered: Arc<crate::people::Delivered>,
        sink: crate::people::Sink,
    ) -> Self {
        Self {
            counted: Some((delivered, sink)),
            ..self
        }
    }

    /// The next event for this follower: a message it may see, its own
    /// user's quiet change, or how many it missed; `None` when the daemon
    /// stops. (The Unix socket's follow stream and the HTTP event stream
    /// both read this.)
    pub(crate) async fn next(&mut self) -> Option<FollowEvent> {
        loop {
            let event = tokio::select! {
                m = self.messages.recv() => match m {
                    Ok(m) if !(self.visible)(&m) => continue,
                    Ok(m) => {
                        if let Some((delivered, sink)) = &self.counted {
                            delivered.add(*sink);
                        }
                        FollowEvent::Message(Box::new(crate::view::message(&m)))
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => FollowEvent::Lagged { missed: n },
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                r = self.receipts.recv(), if self.receipts_open => match r {
                    // Only the sender hears of its receipts (root of all).
                    Ok(note) if note.sender_uid == Some(self.uid)
                        || crate::access::is_root_or_daemon(self.uid) =>
                    {
                        FollowEvent::Receipt(ReceiptEvent {
                            id: note.id,
                            uuid: note.uuid.clone(),
                            recipient: super::track::recipient(
                                note.recipient.clone(),
                                note.state,
                                note.at,
                            ),
                        })
                    }
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(n)) => FollowEvent::Lagged { missed: n },
                    Err(broadcast::error::RecvError::Closed) => {
                        self.receipts_open = false;
                        continue;
                    }
                },
                q = self.quiet.recv(), if self.quiet_open => match q {
                    Ok(change) if self.user.as_deref() == Some(change.user.as_str()) => {
                        FollowEvent::Quiet(super::views::quiet_change(change))
                    }
                    Ok(_) => continue,
                    // A missed change may have been this follower's: it asks again.
                    Err(broadcast::error::RecvError::Lagged(n)) => FollowEvent::Lagged { missed: n },
                    Err(broadcast::error::RecvError::Closed) => {
                        self.quiet_open = false;
                        continue;
                    }
                },
            };
            return Some(event);
        }
    }
}

impl Feed {
    /// Wraps the inbox's broadcast sender; every message is visible to
    /// every follower (tests, single-user setups).
    #[cfg(test)]
    pub(crate) fn new(sender: broadcast::Sender<Arc<Message>>) -> Self {
        Self::with_visibility(sender, Arc::new(|_| Box::new(|_| true)))
    }

    /// Wraps the sender; each follower is streamed only the messages
    /// `visible` lets it see, exactly as `inbox` would list them.
    pub(crate) fn with_visibility(
        sender: broadcast::Sender<Arc<Message>>,
        visible: Visibility,
    ) -> Self {
        Self {
            sender,
            quiet: broadcast::channel(16).0,
            receipts: broadcast::channel(16).0,
            visible,
        }
    }

    /// The same feed, also streaming the quiet changes sent on `quiet`.
    pub(crate) fn with_quiet(self, quiet: broadcast::Sender<QuietChange>) -> Self {
        Self { quiet, ..self }
    }

    /// The same feed, also streaming receipts of messages sent from here.
    pub(crate) fn with_receipts(self, receipts: broadcast::Sender<Arc<ReceiptNote>>) -> Self {
        Self { receipts, ..self }
    }

    /// A new subscription for the caller `uid`, receiving what happens
    /// from now on.
    pub(crate) fn subscribe(&self, uid: u32) -> Subscription {
        let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(|u| u.name);
        Subscription {
            messages: self.sender.subscribe(),
            quiet: self.quiet.subscribe(),
            uid,
            user,
            visible: (self.visible)(uid),
            quiet_open: true,
            receipts: self.receipts.subscribe(),
            receipts_open: true,
            counted: None,
        }
    }
}

async fn write_line(
    write: &mut (impl AsyncWrite + Unpin),
    line: &impl Serialize,
    limit: Duration,
) -> bool {
    let out = encode(line);
    matches!(
        tokio::time::timeout(limit, write.write_all(&out)).await,
        Ok(Ok(()))
    )
}

/// Streams `messages` to a follower until it hangs up, stops reading, or
/// `stop` is cancelled, or a line waits longer than `limit`
/// ([`WRITE_TIMEOUT`] in the daemon). The first line, `{"ok":{}}` (a
/// [`Following`] reply), says the subscription is in place; then each line
/// is one [`FollowEvent`].
pub(crate) async fn stream(
    mut read: impl AsyncRead + Unpin,
    mut write: impl AsyncWrite + Unpin,
    subscription: Subscription,
    limit: Duration,
    stop: CancellationToken,
) {
    let uid = subscription.uid;
    let mut subscription = subscription;
    if !write_line(&mut write, &Reply::Ok(Following {}), limit).await {
        return;
    }
    tracing::debug!("api: uid {uid} follows new messages");
    let mut scratch = [0u8; 256];
    loop {
        let event = tokio::select! {
            () = stop.cancelled() => return,
            // Anything the follower sends is ignored; end of file ends it.
            n = read.read(&mut scratch) => match n {
                Ok(0) | Err(_) => {
                    tracing::debug!("api: follower uid {uid} hung up");
                    return;
                }
                Ok(_) => continue,
            },
            e = subscription.next() => match e {
                Some(e) => e,
                None => return,
            },
        };
        if !write_line(&mut write, &event, limit).await {
            tracing::info!("api: follower uid {uid} stopped reading, dropped");
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, BufReader};

    fn message(id: i64) -> Arc<Message> {
        Arc::new(crate::testing::message(id, "H2", "H1", "hello"))
    }

    type Lines = tokio::io::Lines<BufReader<tokio::io::DuplexStream>>;

    /// Streams `subscription` to an in-memory follower until `stop`, and
    /// returns the follower's lines once the "following" line arrived.
    async fn follower(subscription: Subscription, stop: &CancellationToken) -> Lines {
        let (ours, theirs) = tokio::io::duplex(4096);
        let (r, w) = tokio::io::split(ours);
        tokio::spawn(stream(r, w, subscription, WRITE_TIMEOUT, stop.clone()));
        let mut lines = BufReader::new(theirs).lines();
        let first = lines.next_line().await.unwrap().unwrap();
        assert_eq!(first, r#"{"ok":{}}"#);
        lines
    }

    async fn next(lines: &mut Lines) -> FollowEvent {
        serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap()
    }

    fn id_of(e: &FollowEvent) -> i64 {
        match e {
            FollowEvent::Message(m) => m.id,
            other => panic!("not a message: {other:?}"),
        }
    }

    #[tokio::test]
    async fn streams_each_message_then_ends_when_the_follower_hangs_up() {
        let (tx, _) = broadcast::channel(4);
        let feed = Feed::new(tx.clone());
        let (ours, theirs) = tokio::io::duplex(4096);
        let (r, w) = tokio::io::split(ours);
        let task = tokio::spawn(stream(
            r,
            w,
            feed.subscribe(1000),
            WRITE_TIMEOUT,
            CancellationToken::new(),
        ));
        let (their_r, their_w) = tokio::io::split(theirs);
        let mut lines = BufReader::new(their_r).lines();
        assert_eq!(lines.next_line().await.unwrap().unwrap(), r#"{"ok":{}}"#);
        tx.send(message(7)).unwrap();
        let line = lines.next_line().await.unwrap().unwrap();
        match serde_json::from_str(&line).unwrap() {
            FollowEvent::Message(m) => assert_eq!((m.id, m.text.as_str()), (7, "hello")),
            other => panic!("{other:?}"),
        }
        drop(their_w);
        drop(lines);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("a hung-up follower must be dropped")
            .unwrap();
        // The inbox side never notices: sending with no follower is fine.
        assert_eq!(tx.receiver_count(), 0);
    }

    #[tokio::test]
    async fn a_follower_that_stops_reading_is_dropped_and_never_blocks_the_inbox() {
        let (tx, _) = broadcast::channel(16);
        let (ours, _theirs) = tokio::io::duplex(64);
        let (r, w) = tokio::io::split(ours);
        let limit = Duration::from_millis(200);
        let task = tokio::spawn(stream(
            r,
            w,
            Feed::new(tx.clone()).subscribe(1000),
            limit,
            CancellationToken::new(),
        ));
        for id in 0..8 {
            // The inbox's side: never waits, whatever the follower does.
            tx.send(message(id)).unwrap();
        }
        tokio::time::timeout(limit * 10, task)
            .await
            .expect("a follower that stops reading must be dropped")
            .unwrap();
        assert_eq!(tx.receiver_count(), 0);
    }

    #[tokio::test]
    async fn a_lagging_follower_is_told_what_it_missed() {
        let (tx, _) = broadcast::channel(2);
        let rx = tx.subscribe();
        for id in 0..5 {
            tx.send(message(id)).unwrap();
        }
        let stop = CancellationToken::new();
        let all: Visibility = Arc::new(|_| Box::new(|_| true));
        let mut subscription = Feed::with_visibility(tx.clone(), all).subscribe(1000);
        subscription.messages = rx;
        let mut lines = follower(subscription, &stop).await;
        assert_eq!(next(&mut lines).await, FollowEvent::Lagged { missed: 3 });
        assert_eq!(id_of(&next(&mut lines).await), 3);
        stop.cancel();
    }

    #[tokio::test]
    async fn a_follower_s_account_is_resolved_once_not_per_message() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (tx, _) = broadcast::channel(16);
        let resolved = Arc::new(AtomicUsize::new(0));
        let counter = resolved.clone();
        let feed = Feed::with_visibility(
            tx.clone(),
            Arc::new(move |_| {
                counter.fetch_add(1, Ordering::Relaxed);
                Box::new(|_| true)
            }),
        );
        let stop = CancellationToken::new();
        let mut lines = follower(feed.subscribe(1000), &stop).await;
        for id in 1..=5 {
            tx.send(message(id)).unwrap();
        }
        for id in 1..=5 {
            assert_eq!(id_of(&next(&mut lines).await), id);
        }
        assert_eq!(resolved.load(Ordering::Relaxed), 1);
        stop.cancel();
    }

    #[tokio::test]
    async fn a_follower_gets_only_what_it_may_see() {
        let (tx, _) = broadcast::channel(16);
        let feed = Feed::with_visibility(
            tx.clone(),
            Arc::new(|uid| Box::new(move |m: &Message| uid == 1000 && m.id == 2)),
        );
        let stop = CancellationToken::new();
        let mut lines = follower(feed.subscribe(1000), &stop).await;
        for id in 1..=3 {
            tx.send(message(id)).unwrap();
        }
        assert_eq!(id_of(&next(&mut lines).await), 2);
        let next = tokio::time::timeout(Duration::from_millis(200), lines.next_line()).await;
        assert!(
            next.is_err(),
            "messages 1 and 3 are not this follower's: {next:?}"
        );
        stop.cancel();
    }

    #[tokio::test]
    async fn a_follower_hears_its_own_users_quiet_changes_only() {
        let (tx, _) = broadcast::channel(4);
        let (quiet, _) = broadcast::channel(2);
        let feed = Feed::new(tx).with_quiet(quiet.clone());
        let stop = CancellationToken::new();
        // uid 0 is root on every machine.
        let mut lines = follower(feed.subscribe(0), &stop).await;
        let change = |user: &str, on: bool| QuietChange {
            user: user.into(),
            quiet: on,
            waiting: 0,
        };
        quiet.send(change("alice", true)).unwrap();
        quiet.send(change("root", true)).unwrap();
        match next(&mut lines).await {
            FollowEvent::Quiet(q) => assert_eq!((q.user.as_str(), q.quiet), ("root", true)),
            other => panic!("{other:?}"),
        }
        // More changes than the channel holds while nobody reads: the
        // follower is told to ask again.
        let mut slow = follower(feed.subscribe(0), &stop).await;
        for on in [false, true, false, true] {
            quiet.send(change("root", on)).unwrap();
        }
        assert!(matches!(next(&mut slow).await, FollowEvent::Lagged { .. }));
        stop.cancel();
    }
}
