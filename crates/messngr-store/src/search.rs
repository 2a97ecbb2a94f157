//! Full-text search of the inbox (SQLite FTS5, migration 3).
//!
//! Why it is here and not a `LIKE`: a `LIKE '%word%'` reads every message;
//! the FTS5 index finds the messages holding a word directly, and walks
//! them newest first (FTS5 iterates rowids in descending order), so a
//! search with a limit stops after the page it needs.
//!
//! What a user types is text, never FTS5 syntax: each whitespace-separated
//! term (NUL separates too) becomes an FTS5 string (`"term"`, inner quotes doubled), and the
//! strings are joined by spaces, which FTS5 reads as AND. So `NEAR(`,
//! `-word`, `a*`, `col:x` or a stray `"` are searched for as words (the
//! tokenizer keeps their letters and digits) and can never be a syntax
//! error or change the query. The tokenizer is `unicode61` with diacritics
//! removed: case and accents do not matter (`koln` finds `Köln`).

use rusqlite::types::Value;

use crate::error::{Result, StoreError};
use crate::filter::{Filter, Since, Where};
use crate::page::{Page, query_messages};
use crate::store::{COLUMNS, Store};

/// Most terms in one search: every term is one FTS5 lookup.
pub(crate) const MAX_SEARCH_TERMS: usize = 32;

/// The conditions of a search, its `FROM` and its column list.
pub(crate) fn search_sql(query: String, filter: &Filter) -> (Where, &'static str, String) {
    let mut w = Where::default();
    w.push("messages_fts MATCH ?", Some(Value::Text(query)));
    if let Some(before) = filter.before {
        // Lets FTS5 start below `before` instead of skipping down to it.
        w.push("messages_fts.rowid < ?", Some(Value::Integer(before)));
    }
    // The index drives; every other condition only checks its rows.
    let rest = filter.conditions(Since::Check);
    w.clauses.extend(rest.clauses);
    w.params.extend(rest.params);
    filter.scope.to_sql(&mut w);
    let columns = COLUMNS
        .split(',')
        .map(|c| format!("m.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    (
        w,
        "messages_fts CROSS JOIN messages AS m ON m.id = messages_fts.rowid",
        columns,
    )
}

/// The FTS5 query for what a user typed: every term quoted, all required.
pub(crate) fn fts_query(text: &str) -> Result<String> {
    // NUL ends an FTS5 query string early ("unterminated string"); it is
    // no word character, so it separates terms like white space.
    let terms: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == '\0')
        .filter(|t| !t.is_empty())
        .collect();
    if terms.is_empty() {
        return Err(StoreError::Invalid(
            "empty search: give one or more words to look for".to_owned(),
        ));
    }
    if terms.len() > MAX_SEARCH_TERMS {
        return Err(StoreError::Invalid(format!(
            "a search takes at most {MAX_SEARCH_TERMS} words, not {}: leave some out",
            terms.len()
        )));
    }
    if !terms.iter().any(|t| t.chars().any(char::is_alphanumeric)) {
        return Err(StoreError::Invalid(
            "the search has no letters or digits, and only words are indexed: \
             give at least one word"
                .to_owned(),
        ));
    }
    Ok(terms
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" "))
}

impl Store {
    /// The newest `limit` messages `filter` selects that contain every
    /// word of `text` (in the text, or the sender's or recipient's name),
    /// oldest first, and how many more match below them — paged with
    /// `filter.before` as [`Store::page`] is. Words match whole, ignoring
    /// case and accents. An empty `text` (or one without letters or
    /// digits) is [`StoreError::Invalid`].
    pub fn search(&self, text: &str, filter: &Filter, limit: u32) -> Result<Page> {
        let query = fts_query(text)?;
        if filter.scope.owners().is_empty() {
            return Ok(Page::default());
        }
        let (w, from, columns) = search_sql(query, filter);
        let tx = self.conn_ref().unchecked_transaction()?;
        let mut messages = if limit == 0 {
            Vec::new()
        } else {
            let mut params = w.params.clone();
            params.push(Value::Integer(i64::from(limit)));
            query_messages(
                &tx,
                &format!(
                    "SELECT {columns} FROM {from} WHERE {} \
                     ORDER BY messages_fts.rowid DESC LIMIT ?",
                    w.sql()
                ),
                params,
            )?
        };
        messages.reverse();
        let total: i64 = tx
            .prepare_cached(&format!("SELECT count(*) FROM {from} WHERE {}", w.sql()))?
            .query_row(rusqlite::params_from_iter(w.params), |r| r.get(0))?;
        tx.commit()?;
        let returned = u64::try_from(messages.len()).unwrap_or(u64::MAX);
        Ok(Page {
            older: u64::try_from(total).unwrap_or(0).saturating_sub(returned),
            messages,
        })
    }
}
