//! Who is logged in: the users whose `USER<03>` names the daemon registers,
//! so that `net send alice …` reaches alice wherever she is logged in, and
//! the terminals (utmp lines) a message to her is written on.
//!
//! Read from utmp (`/var/run/utmp`, path injectable for tests). A missing or
//! unreadable utmp (containers have none) means "nobody", logged once by the
//! caller, never an error that stops the daemon.

use std::path::Path;

/// Distinct user names with a login session in `utmp`, sorted. Names that
/// cannot be NetBIOS names (too long, odd characters) are skipped.
pub fn logged_in(utmp: &Path) -> std::io::Result<Vec<String>> {
    if !utmp.exists() {
        return Ok(Vec::new());
    }
    let entries = utmp_rs::parse_from_path(utmp)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    let mut users: Vec<String> = entries
        .into_iter()
        .filter_map(|e| match e {
            utmp_rs::UtmpEntry::UserProcess { user, .. } => Some(user),
            _ => None,
        })
        .filter(|u| crate::config::netbios_name("user", u).is_ok())
        .collect();
    users.sort();
    users.dedup();
    Ok(users)
}

/// One login session: the user and the terminal line (`pts/3`, `tty2`,
/// or a display such as `:0` for a graphical login).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user name.
    pub user: String,
    /// The utmp line, relative to `/dev`.
    pub line: String,
}

/// Every login session (USER_PROCESS record) in `utmp`, in file order.
/// Unlike [`logged_in`], names are not filtered: terminal delivery matches
/// them against recipients itself.
pub fn sessions(utmp: &Path) -> std::io::Result<Vec<Session>> {
    if !utmp.exists() {
        return Ok(Vec::new());
    }
    let entries = utmp_rs::parse_from_path(utmp)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    Ok(entries
        .into_iter()
        .filter_map(|e| match e {
            utmp_rs::UtmpEntry::UserProcess { user, line, .. } => Some(Session { user, line }),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One glibc x86_64 `struct utmp` record (384 bytes).
    fn record(kind: i16, user: &str, line: &str) -> Vec<u8> {
        let mut r = vec![0u8; 384];
        r[0..2].copy_from_slice(&kind.to_le_bytes());
        r[4..8].copy_from_slice(&1234i32.to_le_bytes());
        r[8..8 + line.len()].copy_from_slice(line.as_bytes());
        r[44..44 + user.len()].copy_from_slice(user.as_bytes());
        r
    }

    #[test]
    fn user_processes_are_listed_once_each() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("utmp");
        let mut data = record(2, "reboot", "~"); // BOOT_TIME
        data.extend(record(7, "alice", "pts/1")); // USER_PROCESS
        data.extend(record(7, "bob", "tty2"));
        data.extend(record(7, "alice", "pts/4"));
        data.extend(record(8, "carol", "pts/5")); // DEAD_PROCESS
        std::fs::write(&path, data).unwrap();
        assert_eq!(logged_in(&path).unwrap(), ["alice", "bob"]);
    }

    #[test]
    fn sessions_give_user_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("utmp");
        let mut data = record(7, "alice", "pts/1");
        data.extend(record(8, "carol", "pts/5"));
        data.extend(record(7, "alice", "tty2"));
        std::fs::write(&path, data).unwrap();
        let s = sessions(&path).unwrap();
        let pairs: Vec<(&str, &str)> = s
            .iter()
            .map(|s| (s.user.as_str(), s.line.as_str()))
            .collect();
        assert_eq!(pairs, [("alice", "pts/1"), ("alice", "tty2")]);
        assert!(sessions(Path::new("/nonexistent/utmp")).unwrap().is_empty());
    }

    #[test]
    fn no_utmp_means_nobody() {
        assert!(
            logged_in(Path::new("/nonexistent/utmp"))
                .unwrap()
                .is_empty()
        );
    }
}
