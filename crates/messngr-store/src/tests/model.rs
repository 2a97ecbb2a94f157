//! A store filled with varied messages and the same messages kept in a
//! plain vector, so that what the SQL selects can be checked against a
//! predicate written in Rust.

use super::{T0, msg};
use crate::filter::fold;
use crate::{Direction, Filter, NewMessage, Priority, Scope, Store};

/// What the tests know of one stored message.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) id: i64,
    pub(crate) direction: Direction,
    pub(crate) owner: Option<String>,
    pub(crate) read: bool,
    pub(crate) priority: Priority,
    pub(crate) from: String,
    pub(crate) at: i64,
}

/// The deterministic "random" choices of message `i`.
fn pick(i: u64, salt: u64) -> u64 {
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 31;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 29)
}

/// `n` messages: owners alice, bob and the host; senders ALICE, Bob, carol;
/// a tenth of them sent; every priority; times mostly rising with the id
/// but not always (the page orders by id, not time); every third read.
pub(crate) fn fill(store: &mut Store, n: u64) -> Vec<Row> {
    let first = store
        .conn_ref()
        .query_row(
            "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'messages'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap_or(0);
    let mut news: Vec<NewMessage> = Vec::new();
    for i in 0..n {
        let from = ["ALICE", "Bob", "carol"][(pick(i, 1) % 3) as usize];
        let jitter = if pick(i, 2).is_multiple_of(5) {
            -7_000
        } else {
            0
        };
        let at = T0 + i as i64 * 1000 + jitter;
        let mut m = msg(from, "H1", &format!("message {i} word{}", i % 10), at);
        m.owner_user = match pick(i, 3) % 3 {
            0 => Some("alice".to_owned()),
            1 => Some("bob".to_owned()),
            _ => None,
        };
        m.priority = [
            Priority::Low,
            Priority::Normal,
            Priority::Normal,
            Priority::Urgent,
        ][(pick(i, 4) % 4) as usize];
        if pick(i, 5).is_multiple_of(10) {
            m.direction = Direction::Out;
        }
        news.push(m);
    }
    let mut rows = Vec::new();
    for chunk in news.chunks(500) {
        for (m, r) in chunk.iter().zip(store.insert_batch(chunk).unwrap()) {
            let s = r.unwrap();
            rows.push(Row {
                id: s.id,
                direction: m.direction,
                owner: m.owner_user.clone(),
                read: false,
                priority: m.priority,
                from: m.from.clone(),
                at: m.received_at,
            });
        }
    }
    // As the daemon's writer does after its batches.
    store.index_pending(usize::MAX).unwrap();
    store
        .conn_ref()
        .execute(
            "UPDATE messages SET read_at = ?1 WHERE id % 3 = 0 AND id > ?2",
            rusqlite::params![T0, first],
        )
        .unwrap();
    for r in &mut rows {
        r.read = r.id % 3 == 0;
    }
    rows
}

/// Whether `f` selects `r`, said in Rust.
pub(crate) fn selects(f: &Filter, r: &Row) -> bool {
    assert!(f.to.is_none(), "the model has no recipient names");
    let in_scope = match &f.scope {
        Scope::All => true,
        Scope::Owners { user, host } => match &r.owner {
            Some(o) => user.as_deref() == Some(o.as_str()),
            None => *host,
        },
    };
    in_scope
        && r.direction == f.direction
        && (!f.unread_only || !r.read)
        && f.from.as_ref().is_none_or(|x| fold(x) == fold(&r.from))
        && f.since.is_none_or(|t| r.at >= t)
        && f.owner.as_ref().is_none_or(|o| r.owner.as_ref() == Some(o))
        && f.before.is_none_or(|b| r.id < b)
        && f.max_priority.is_none_or(|p| r.priority <= p)
}

/// The ids `f` selects, ascending.
pub(crate) fn expected(rows: &[Row], f: &Filter) -> Vec<i64> {
    rows.iter()
        .filter(|r| selects(f, r))
        .map(|r| r.id)
        .collect()
}

/// The scopes worth trying.
pub(crate) fn scopes() -> Vec<Scope> {
    let owners = |user: Option<&str>, host| Scope::Owners {
        user: user.map(str::to_owned),
        host,
    };
    vec![
        Scope::All,
        owners(Some("alice"), true),
        owners(Some("alice"), false),
        owners(None, true),
        owners(None, false),
        owners(Some("nobody"), true),
    ]
}
