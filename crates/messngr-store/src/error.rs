//! What can go wrong with the inbox, sorted by what the caller must do.
//!
//! The daemon's one question on a failed insert is "may I acknowledge?" —
//! the answer is always no — and "which refusal do I send?": [`StoreError::Full`]
//! becomes `ERRnoroom`, the rest a general error. So the SQLite result codes
//! that mean "the disk cannot take it" (`SQLITE_FULL`, which SQLite also
//! reports for `ENOSPC`) and "the store cannot be written now" (read-only,
//! I/O error, locked, corrupt) get variants of their own instead of hiding in
//! a generic SQL error.

use std::path::PathBuf;

use rusqlite::ErrorCode;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The disk (or the database's page limit) is full: nothing was stored.
    #[error("the inbox is full: no space left for the message")]
    Full,
    /// The store cannot be written or read now (read-only file system or
    /// file, I/O error, database locked past the busy timeout, corrupt file):
    /// nothing was stored.
    #[error("the inbox is unavailable: {0}")]
    Unavailable(String),
    /// The inbox holds as many received messages as its [`crate::Quota`]
    /// allows (in all, or for this message's owner): nothing was stored.
    #[error("the inbox is over its quota: {bucket} are at the limit of {limit} messages")]
    QuotaFull {
        /// Whose limit was hit.
        bucket: crate::QuotaBucket,
        /// The limit.
        limit: u64,
    },
    /// No message has this id.
    #[error("no message {0}")]
    NotFound(i64),
    /// A message with this uuid is already stored (a retransmission).
    #[error("message {uuid} is already stored as {id}")]
    Duplicate {
        /// The uuid that was offered again.
        uuid: String,
        /// The id under which it is stored.
        id: i64,
    },
    /// A signed message with this uuid, from the same author, came before
    /// and was deleted since: offered again, it is a replay (`gone.rs`).
    #[error("signed message {uuid} was received here before and is gone since: a replay")]
    Replayed {
        /// The uuid offered again.
        uuid: String,
    },
    /// A live notice's update made no later than the one applied (it came
    /// late, or again): not applied, so that old text does not come back.
    #[error("a newer update of message {uuid} is applied already")]
    Superseded {
        /// The uuid of the message the update was for.
        uuid: String,
    },
    /// The message offered is not acceptable (what is wrong is said).
    #[error("invalid message: {0}")]
    Invalid(String),
    /// The database was written by a newer messngr (schema `found`, this
    /// program knows up to `known`): refused rather than misread.
    #[error(
        "the inbox has schema version {found}, this messngr knows up to {known}; upgrade messngr"
    )]
    TooNew {
        /// `PRAGMA user_version` of the file.
        found: i64,
        /// The newest migration this build has.
        known: i64,
    },
    /// A durability setting did not take (for example WAL on a file system
    /// without shared memory): the store refuses to run with weaker
    /// guarantees than it promises.
    #[error("PRAGMA {name} is {got}, expected {expected}")]
    Pragma {
        /// The pragma.
        name: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What SQLite reported.
        got: String,
    },
    /// The store's directory could not be created.
    #[error("cannot create {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The store's thread has stopped (after [`crate::StoreHandle::close`]
    /// or a panic): nothing was done.
    #[error("the inbox is closed")]
    Closed,
    /// Any other SQLite error.
    #[error("inbox database: {0}")]
    Sql(rusqlite::Error),
}

impl StoreError {
    /// Whether the failure is about space, so the sender should hear
    /// `ERRnoroom` (the Messenger service's "message buffer full").
    pub fn is_full(&self) -> bool {
        matches!(self, StoreError::Full)
    }

    /// Whether the inbox is over its quota (the sender hears `ERRnoroom`
    /// too, but it is counted apart from a store failure).
    pub fn is_quota_full(&self) -> bool {
        matches!(self, StoreError::QuotaFull { .. })
    }

    /// The same failure again, for telling every caller of a failed batch
    /// (`StoreError` holds errors that are not `Clone`). The variant — what
    /// the caller must do — is kept; a SQLite error other than a result code
    /// becomes [`StoreError::Unavailable`] with its text.
    pub(crate) fn replicate(&self) -> StoreError {
        let io = |e: &std::io::Error| std::io::Error::new(e.kind(), e.to_string());
        match self {
            StoreError::Full => StoreError::Full,
            StoreError::Unavailable(s) => StoreError::Unavailable(s.clone()),
            StoreError::QuotaFull { bucket, limit } => StoreError::QuotaFull {
                bucket: bucket.clone(),
                limit: *limit,
            },
            StoreError::NotFound(id) => StoreError::NotFound(*id),
            StoreError::Duplicate { uuid, id } => StoreError::Duplicate {
                uuid: uuid.clone(),
                id: *id,
            },
            StoreError::Replayed { uuid } => StoreError::Replayed { uuid: uuid.clone() },
            StoreError::Superseded { uuid } => StoreError::Superseded { uuid: uuid.clone() },
            StoreError::Invalid(s) => StoreError::Invalid(s.clone()),
            StoreError::TooNew { found, known } => StoreError::TooNew {
                found: *found,
                known: *known,
            },
            StoreError::Pragma {
                name,
                expected,
                got,
            } => StoreError::Pragma {
                name,
                expected,
                got: got.clone(),
            },
            StoreError::Dir { path, source } => StoreError::Dir {
                path: path.clone(),
                source: io(source),
            },
            StoreError::Closed => StoreError::Closed,
            StoreError::Sql(rusqlite::Error::SqliteFailure(code, text)) => {
                StoreError::Sql(rusqlite::Error::SqliteFailure(*code, text.clone()))
            }
            StoreError::Sql(e) => StoreError::Unavailable(e.to_string()),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        let code = match &e {
            rusqlite::Error::SqliteFailure(f, _) => f.code,
            _ => return StoreError::Sql(e),
        };
        match code {
            ErrorCode::DiskFull => StoreError::Full,
            ErrorCode::ReadOnly
            | ErrorCode::SystemIoFailure
            | ErrorCode::CannotOpen
            | ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::DatabaseCorrupt
            | ErrorCode::NotADatabase
            | ErrorCode::FileLockingProtocolFailed
            | ErrorCode::PermissionDenied => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Sql(e),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
