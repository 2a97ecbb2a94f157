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
//!
//! Why a lane that was just busy waits a moment ([`LINGER`]) before its
//! next publish: the senders its last publish answered are the ones most
//! likely to send again (a script, a service, several people at once),
//! and their next messages arrive a fraction of a millisecond later.
//! Published at once, the lane alternates a bundle of the few that came
//! first with one of the rest, and the cluster pays two replication
//! rounds where one would do (bench/relay.sh: about 3 messages a publish
//! from 8 senders). So after a publish of `n` messages the next waits
//! until `n` are queued (or what waits fills an envelope), or [`LINGER`]
//! passed (2 to 3 ms: tokio's timer rounds up to its next millisecond
//! tick), whichever comes first. A lane that published one message (a
//! lone sender, or one that sends one at a time) does not wait: its next
//! message goes at once, as before.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use messngr_proto::wire::native::bundle::{EMPTY_LEN, MAX_FRAMES, frame_cost};
use tokio::sync::{Notify, oneshot};

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

/// How long a lane that just published several messages waits for as
/// many to queue up again before its next publish (module doc).
const LINGER: Duration = Duration::from_millis(2);

/// A subject's messages not yet taken for a publish.
struct Lane {
    waiting: VecDeque<Item>,
    /// Told of each message queued, for a driver that lingers.
    arrived: Arc<Notify>,
}

/// What a lane's driver does next ([`Lanes::next`]).
enum Next {
    /// Publish these.
    Publish(Vec<Item>),
    /// Fewer than wanted wait: wait for another (until the linger is
    /// over), then ask again.
    Wait(Arc<Notify>),
    /// Nothing waits: the lane is idle again, and its driver ends.
    Idle,
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
                // A permit is kept if the driver is not waiting yet.
                lane.arrived.notify_one();
                false
            }
            None => {
                busy.insert(
                    subject.to_owned(),
                    Lane {
                        waiting: VecDeque::from([item]),
                        arrived: Arc::new(Notify::new()),
                    },
                );
                true
            }
        }
    }

    /// The next publish of `subject`'s lane: the messages one envelope
    /// carries (at most `max_frames`: 1 for a host that takes no
    /// bundles), oldest first, once `want` of them wait (or as many as
    /// one envelope takes); [`Next::Wait`] while fewer do; [`Next::Idle`]
    /// when nothing waits and `want` is 1 at most (the lane is idle
    /// again; its driver ends).
    fn next(&self, subject: &str, max_frames: usize, want: usize) -> Next {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        let Some(lane) = busy.get_mut(subject) else {
            return Next::Idle;
        };
        let want = want.clamp(1, max_frames.clamp(1, MAX_FRAMES));
        if want > 1 && lane.waiting.len() < want && !fills_envelope(&lane.waiting) {
            return Next::Wait(lane.arrived.clone());
        }
        let batch = take(&mut lane.waiting, messngr_secure::MAX_SEALED, max_frames);
        if batch.is_empty() {
            busy.remove(subject);
            return Next::Idle;
        }
        Next::Publish(batch)
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

/// Whether what waits fills one envelope already (large messages): no
/// use waiting for more.
fn fills_envelope(waiting: &VecDeque<Item>) -> bool {
    let size: usize = waiting.iter().map(|i| frame_cost(i.frame.len())).sum();
    EMPTY_LEN + size >= messngr_secure::MAX_SEALED
}

/// The next batch of `subject`'s lane (for its driver): once `want` wait,
/// or [`LINGER`] passed (then what waits); `None` when the lane is idle
/// again.
pub(crate) async fn gather(
    lanes: &Lanes,
    subject: &str,
    max_frames: usize,
    mut want: usize,
) -> Option<Vec<Item>> {
    let until = tokio::time::Instant::now() + LINGER;
    loop {
        match lanes.next(subject, max_frames, want) {
            Next::Publish(batch) => return Some(batch),
            Next::Idle => return None,
            Next::Wait(arrived) => {
                if tokio::time::timeout_at(until, arrived.notified())
                    .await
                    .is_err()
                {
                    want = 1;
                }
            }
        }
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
    use futures_util::FutureExt;

    /// The batch `next` gives, wanting `want`; `None` when idle; panics
    /// when it says to wait.
    fn next(lanes: &Lanes, subject: &str, max_frames: usize, want: usize) -> Option<Vec<Item>> {
        match lanes.next(subject, max_frames, want) {
            Next::Publish(batch) => Some(batch),
            Next::Idle => None,
            Next::Wait(_) => panic!("told to wait"),
        }
    }

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
                assert_eq!(next(&lanes, "s", MAX_FRAMES, 1).unwrap().len(), 1);
            }
        }
        let batch = next(&lanes, "s", MAX_FRAMES, 1).unwrap();
        let order: Vec<u8> = batch.iter().map(|i| i.frame[0]).collect();
        assert_eq!(order, [1, 2, 3, 4]);
        // Drained: the lane ends and is idle again.
        assert!(next(&lanes, "s", MAX_FRAMES, 1).is_none());
        let (i, _rx) = item(9, 100);
        assert!(lanes.push("s", i));
        // Another subject is another lane.
        let (i, _rx2) = item(9, 100);
        assert!(lanes.push("t", i));
        // To a host that takes no bundles, one at a time.
        let (i, _rx3) = item(10, 100);
        lanes.push("s", i);
        assert_eq!(next(&lanes, "s", 1, 1).unwrap().len(), 1);
        assert_eq!(next(&lanes, "s", 1, 1).unwrap().len(), 1);
        assert!(next(&lanes, "s", 1, 1).is_none());
    }

    #[tokio::test]
    async fn a_lane_that_published_several_waits_for_as_many_then_takes_what_came() {
        let lanes = Lanes::default();
        let mut keep = Vec::new();
        let mut push = |n: u8| {
            let (i, rx) = item(n, 100);
            keep.push(rx);
            lanes.push("s", i)
        };
        assert!(push(0));
        assert!(!push(1));
        // Three were published last: two wait, so the driver waits...
        let Next::Wait(arrived) = lanes.next("s", MAX_FRAMES, 3) else {
            panic!("should wait for a third");
        };
        // (The second's push left a permit: taken, so that only the
        // third's can wake it below.)
        assert!(arrived.notified().now_or_never().is_some());
        assert!(arrived.notified().now_or_never().is_none());
        // ...and is told of the third, which makes it publish all three.
        assert!(!push(2));
        let woken = tokio::time::timeout(Duration::from_secs(5), arrived.notified()).await;
        assert!(woken.is_ok(), "a message queued wakes the driver");
        assert_eq!(next(&lanes, "s", MAX_FRAMES, 3).unwrap().len(), 3);
        // Nothing waits: wanting more still waits (until the linger is
        // over); wanting one ends the lane.
        assert!(matches!(lanes.next("s", MAX_FRAMES, 3), Next::Wait(_)));
        assert!(next(&lanes, "s", MAX_FRAMES, 1).is_none());
        assert!(push(3), "the lane was idle again");
        // A host that takes no bundles is never waited for: one at a time.
        assert_eq!(next(&lanes, "s", 1, 8).unwrap().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_driver_lingers_only_after_several_and_only_so_long() {
        use tokio::time::Instant;
        let lanes = Lanes::default();
        let mut keep = Vec::new();
        let mut push = |n: u8, len: usize| {
            let (i, rx) = item(n, len);
            keep.push(rx);
            lanes.push("s", i)
        };
        push(0, 100);
        push(1, 100);
        // Three were published last, two wait; a third comes within the
        // linger: the three go together, when it came.
        let (third, _rx) = item(2, 100);
        let t0 = Instant::now();
        let (batch, ()) = tokio::join!(gather(&lanes, "s", MAX_FRAMES, 3), async {
            tokio::time::sleep(LINGER / 2).await;
            lanes.push("s", third);
        });
        assert_eq!(batch.unwrap().len(), 3);
        assert_eq!(t0.elapsed(), LINGER / 2);
        push(0, 100);
        push(1, 100);
        // None comes: after the linger, the two.
        let t0 = Instant::now();
        assert_eq!(gather(&lanes, "s", MAX_FRAMES, 3).await.unwrap().len(), 2);
        assert!(t0.elapsed() >= LINGER, "waited for a third");
        // Nothing comes: after the linger the lane is idle again.
        let t0 = Instant::now();
        assert!(gather(&lanes, "s", MAX_FRAMES, 2).await.is_none());
        assert!(t0.elapsed() >= LINGER);
        assert!(push(2, 100), "idle: the next message starts a driver");
        // After a publish of one (or a failed one): no waiting.
        let t0 = Instant::now();
        assert_eq!(gather(&lanes, "s", MAX_FRAMES, 1).await.unwrap().len(), 1);
        assert!(gather(&lanes, "s", MAX_FRAMES, 1).await.is_none());
        assert_eq!(t0.elapsed(), Duration::ZERO);
        // What waits fills an envelope already: no waiting for more.
        push(3, messngr_secure::MAX_SEALED / 2);
        push(4, messngr_secure::MAX_SEALED / 2);
        let t0 = Instant::now();
        assert_eq!(gather(&lanes, "s", MAX_FRAMES, 8).await.unwrap().len(), 1);
        assert_eq!(t0.elapsed(), Duration::ZERO);
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
