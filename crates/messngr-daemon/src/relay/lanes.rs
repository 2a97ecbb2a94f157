//! Publishing in lanes, one per subject: what queues up for the same host
//! and name while a publish is under way goes out next, together, as one
//! bundle sealed once.
//!
//! Why: on a busy relay the cluster's work for each publish (replication
//! to every replica, delivery, the acknowledgement and the work queue's
//! removal) and the envelope's X25519 cost more than the message itself
//! (README, Benchmarks). A lane pays them once for up to
//! [`MAX_FRAMES`] messages. A message that finds its lane idle goes at
//! once, alone, exactly as before: nothing waits for company, so a lone
//! send is no slower. Each message in a bundle keeps its own signature,
//! uuid and receipt; the bundle is only the envelope
//! (`messngr_proto::wire::native::bundle`), and its one publish answers for
//! all of them: its stream sequence, or its failure, is each one's.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use messngr_proto::wire::native::bundle::{EMPTY_LEN, MAX_FRAMES, frame_cost};
use tokio::sync::oneshot;

use super::error::RelayError;

/// One message waiting in its lane.
pub(crate) struct Item {
    /// The signed native frame.
    pub(crate) frame: Vec<u8>,
    /// When its sender handed it over (it waits [`super::publish`]'s
    /// failover time at most, in its lane and its publish together).
    pub(crate) queued_at: Instant,
    /// Where the publish's outcome goes.
    pub(crate) done: oneshot::Sender<Result<u64, RelayError>>,
}

/// A subject's messages not yet taken for a publish.
struct Lane {
    waiting: VecDeque<Item>,
}

/// The lanes with a publish under way (a subject here is busy).
#[derive(Default)]
pub(crate) struct Lanes {
    busy: Mutex<HashMap<String, Lane>>,
}

impl Lanes {
    /// Queues `item` on `subject`'s lane; true if the lane was idle, and
    /// the caller must start its driver (a task that calls [`Lanes::next`]
    /// until it ends).
    pub(crate) fn push(&self, subject: &str, item: Item) -> bool {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        match busy.get_mut(subject) {
            Some(lane) => {
                lane.waiting.push_back(item);
                false
            }
            None => {
                busy.insert(
                    subject.to_owned(),
                    Lane {
                        waiting: VecDeque::from([item]),
                    },
                );
                true
            }
        }
    }

    /// The next publish of `subject`'s lane: the messages one envelope
    /// carries (at most `max_frames`: 1 for a host that takes no
    /// bundles), oldest first; `None` once nothing waits, and the lane is
    /// idle again (its driver ends).
    pub(crate) fn next(&self, subject: &str, max_frames: usize) -> Option<Vec<Item>> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        let lane = busy.get_mut(subject)?;
        let batch = take(&mut lane.waiting, messngr_secure::MAX_SEALED, max_frames);
        if batch.is_empty() {
            busy.remove(subject);
            return None;
        }
        Some(batch)
    }
}

impl Lanes {
    /// Ends `subject`'s lane, if it is still busy (its driver stopped
    /// early): what waits there is dropped, so each of its senders learns
    /// that its message did not go.
    pub(crate) fn abandon(&self, subject: &str) {
        let lane = self
            .busy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(subject);
        drop(lane);
    }
}

/// Takes from the front of `waiting` what one envelope of at most
/// `max_plaintext` bytes carries: one message however large (it goes
/// alone, as a plain frame), or as many as fit a bundle, up to
/// `max_frames` (at most [`MAX_FRAMES`]).
fn take(waiting: &mut VecDeque<Item>, max_plaintext: usize, max_frames: usize) -> Vec<Item> {
    let max_frames = max_frames.clamp(1, MAX_FRAMES);
    let mut batch: Vec<Item> = Vec::new();
    let mut size = EMPTY_LEN;
    while let Some(front) = waiting.front() {
        let cost = frame_cost(front.frame.len());
        if !batch.is_empty() && (batch.len() == max_frames || size + cost > max_plaintext) {
            break;
        }
        size += cost;
        if let Some(item) = waiting.pop_front() {
            batch.push(item);
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(n: u8, len: usize) -> (Item, oneshot::Receiver<Result<u64, RelayError>>) {
        let (done, rx) = oneshot::channel();
        let item = Item {
            frame: vec![n; len],
            queued_at: Instant::now(),
            done,
        };
        (item, rx)
    }

    #[test]
    fn the_first_message_starts_the_lane_and_goes_alone_the_rest_go_together() {
        let lanes = Lanes::default();
        let mut keep = Vec::new();
        for n in 0..5 {
            let (i, rx) = item(n, 100);
            keep.push(rx);
            // Only the first finds the lane idle.
            assert_eq!(lanes.push("s", i), n == 0);
            if n == 0 {
                assert_eq!(lanes.next("s", MAX_FRAMES).unwrap().len(), 1);
            }
        }
        let batch = lanes.next("s", MAX_FRAMES).unwrap();
        let order: Vec<u8> = batch.iter().map(|i| i.frame[0]).collect();
        assert_eq!(order, [1, 2, 3, 4]);
        // Drained: the lane ends and is idle again.
        assert!(lanes.next("s", MAX_FRAMES).is_none());
        let (i, _rx) = item(9, 100);
        assert!(lanes.push("s", i));
        // Another subject is another lane.
        let (i, _rx2) = item(9, 100);
        assert!(lanes.push("t", i));
        // To a host that takes no bundles, one at a time.
        let (i, _rx3) = item(10, 100);
        lanes.push("s", i);
        assert_eq!(lanes.next("s", 1).unwrap().len(), 1);
        assert_eq!(lanes.next("s", 1).unwrap().len(), 1);
        assert!(lanes.next("s", 1).is_none());
    }

    #[test]
    fn an_abandoned_lane_tells_its_senders_and_starts_anew() {
        let lanes = Lanes::default();
        let (a, _) = item(1, 10);
        let (b, mut waiting) = item(2, 10);
        assert!(lanes.push("s", a));
        assert!(!lanes.push("s", b));
        assert_eq!(
            waiting.try_recv().err(),
            Some(oneshot::error::TryRecvError::Empty)
        );
        lanes.abandon("s");
        assert_eq!(
            waiting.try_recv().err(),
            Some(oneshot::error::TryRecvError::Closed),
            "its sender is dropped"
        );
        let (c, _rx) = item(3, 10);
        assert!(lanes.push("s", c), "the next one starts a driver");
    }

    #[test]
    fn a_batch_stops_at_the_envelope_size_and_at_max_frames() {
        let mut waiting: VecDeque<Item> = (0..200).map(|n| item(n as u8, 100).0).collect();
        assert_eq!(take(&mut waiting, usize::MAX, usize::MAX).len(), MAX_FRAMES);
        assert_eq!(take(&mut waiting, usize::MAX, 3).len(), 3);
        // 103 bytes a frame: three fit in 6 + 309, the fourth would not.
        let mut waiting: VecDeque<Item> = (0..10).map(|n| item(n, 100).0).collect();
        assert_eq!(
            take(&mut waiting, EMPTY_LEN + 3 * 103 + 102, MAX_FRAMES).len(),
            3
        );
        // One larger than an envelope still goes, alone.
        let mut waiting: VecDeque<Item> = [item(1, 500).0, item(2, 10).0].into();
        assert_eq!(take(&mut waiting, 100, MAX_FRAMES).len(), 1);
        assert_eq!(take(&mut waiting, 100, MAX_FRAMES).len(), 1);
        assert!(take(&mut waiting, 100, MAX_FRAMES).is_empty());
    }
}
