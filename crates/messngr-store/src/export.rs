//! `messngr export`: the whole store as JSON lines or as plain text.
//!
//! JSON lines are the lossless form (one [`Message`] per line, the shape of
//! `inbox --json`, original bytes included). Plain text is for people: one
//! block per message,
//!
//! ```text
//! Message from ALICE to H1 on 2026-11-27 10:00:00 UTC
//! the text
//!
//! ```
//!
//! with names and text passed through
//! [`messngr_proto::text::sanitize_for_display`], because an export may go
//! straight to a terminal and message text comes from anyone on the LAN.

use std::io::Write;

use messngr_proto::text::sanitize_for_display;
use time::UtcOffset;

use crate::clock;
use crate::error::Result;
use crate::message::{Direction, Message};
use crate::store::Store;

/// Writes `m` as one JSON line.
pub fn write_json_line(w: &mut impl Write, m: &Message) -> Result<()> {
    serde_json::to_writer(&mut *w, m)?;
    w.write_all(b"\n")?;
    Ok(())
}

/// Writes `m` as a plain-text block, times in `offset`.
pub fn write_text_block(w: &mut impl Write, m: &Message, offset: UtcOffset) -> Result<()> {
    let verb = match m.direction {
        Direction::In => "Message",
        Direction::Out => "Sent message",
    };
    writeln!(
        w,
        "{verb} from {} to {} on {}",
        sanitize_for_display(&m.from),
        sanitize_for_display(&m.to),
        clock::human(m.received_at, offset)
    )?;
    let text = sanitize_for_display(&m.text);
    w.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        w.write_all(b"\n")?;
    }
    w.write_all(b"\n")?;
    Ok(())
}

impl Store {
    /// Writes every message (received and sent, by id) as JSON lines;
    /// returns how many.
    pub fn export_jsonl(&self, w: &mut impl Write) -> Result<u64> {
        let mut n = 0;
        self.for_each(|m| {
            n += 1;
            write_json_line(w, m)
        })?;
        w.flush()?;
        Ok(n)
    }

    /// Writes every message as plain text, times in `offset`; returns how many.
    pub fn export_text(&self, w: &mut impl Write, offset: UtcOffset) -> Result<u64> {
        let mut n = 0;
        self.for_each(|m| {
            n += 1;
            write_text_block(w, m, offset)
        })?;
        w.flush()?;
        Ok(n)
    }
}
