//! Fake utmp files, so that tests decide who is logged in.
//!
//! Why this exists: the daemon learns the logged-in users and their
//! terminals from utmp (its `utmp` setting); tests that need people logged
//! in — names registered for users, `/users`, terminal delivery — point it
//! at a file written here instead of the machine's `/var/run/utmp`.

use std::path::{Path, PathBuf};

/// Size of a glibc x86_64 `struct utmp`.
const RECORD_LEN: usize = 384;
/// `ut_type` of a login session.
const USER_PROCESS: i16 = 7;
/// Where `ut_line` and `ut_user` start, and how long each may be.
const LINE_AT: usize = 8;
const USER_AT: usize = 44;
const FIELD_LEN: usize = 32;

/// One glibc x86_64 `struct utmp` USER_PROCESS record: `user` logged in on
/// terminal `line` (relative to `/dev`, e.g. `pts/1`).
pub fn utmp_record(user: &str, line: &str) -> Vec<u8> {
    assert!(user.len() <= FIELD_LEN, "utmp user {user:?} too long");
    assert!(line.len() <= FIELD_LEN, "utmp line {line:?} too long");
    let mut r = vec![0u8; RECORD_LEN];
    r[0..2].copy_from_slice(&USER_PROCESS.to_le_bytes());
    r[4..8].copy_from_slice(&4242i32.to_le_bytes()); // ut_pid
    r[LINE_AT..LINE_AT + line.len()].copy_from_slice(line.as_bytes());
    r[USER_AT..USER_AT + user.len()].copy_from_slice(user.as_bytes());
    r
}

/// Writes `dir/utmp` with one login session per `(user, line)`, in order
/// (and lets everyone enter `dir`: the daemon reads it after dropping root).
pub fn write_utmp(dir: &Path, sessions: &[(&str, &str)]) -> PathBuf {
    super::open_dir(dir);
    let path = dir.join("utmp");
    let records: Vec<u8> = sessions
        .iter()
        .flat_map(|(user, line)| utmp_record(user, line))
        .collect();
    std::fs::write(&path, records).unwrap();
    path
}

/// The daemon configuration lines that make it see these sessions (and
/// register its users' names): a utmp file written in `dir`.
pub fn logged_in(dir: &Path, sessions: &[(&str, &str)]) -> String {
    format!(
        "register_users = true\nutmp = \"{}\"\n",
        write_utmp(dir, sessions).display()
    )
}
