//! What an `[alerter]` subscriber names, and who that is.
//!
//! Why here: a subscriber is written the way an admin thinks of people
//! (`@ops`, `alice`, `H2`, `*`), and each form is reached differently: a
//! group's members and a local user are stored in this host's inbox as
//! theirs (logged in or not), everything else is sent like `messngr send`.

use crate::send::SendError;

/// One subscriber, resolved to how it is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Subscriber {
    /// Local accounts, stored here as theirs: `@group` (its members), or a
    /// user with an account here. The label, and the accounts (or why
    /// none).
    Accounts(String, Result<Vec<String>, SendError>),
    /// Sent like `messngr send`: a NetBIOS name, `*`, `/domain`, `/users`.
    Target(String),
}

impl Subscriber {
    /// What `name` (from `[alerter]` or an alert's `to`) means here.
    pub(super) fn parse(name: &str) -> Subscriber {
        let name = name.trim();
        if let Some(group) = name.strip_prefix('@') {
            return Subscriber::Accounts(name.to_owned(), members(group));
        }
        if name.starts_with(['*', '/']) {
            return Subscriber::Target(name.to_owned());
        }
        match nix::unistd::User::from_name(name).ok().flatten() {
            Some(u) => Subscriber::Accounts(u.name.clone(), Ok(vec![u.name])),
            None => Subscriber::Target(name.to_owned()),
        }
    }
}

/// The members of Unix group `group`: those it lists, and the accounts
/// whose primary group it is.
fn members(group: &str) -> Result<Vec<String>, SendError> {
    let g = nix::unistd::Group::from_name(group)
        .ok()
        .flatten()
        .ok_or_else(|| SendError::NotFound(format!("no Unix group {group}")))?;
    let mut users = g.mem.clone();
    for u in passwd_users() {
        if u.1 == g.gid.as_raw() && !users.contains(&u.0) {
            users.push(u.0);
        }
    }
    if users.is_empty() {
        return Err(SendError::NotFound(format!("group {group} has no members")));
    }
    users.sort();
    users.dedup();
    Ok(users)
}

/// Every account's name and primary gid (`/etc/passwd`: world-readable).
fn passwd_users() -> Vec<(String, u32)> {
    let Ok(text) = std::fs::read_to_string("/etc/passwd") else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let gid = f.nth(2)?.parse().ok()?;
            Some((name.to_owned(), gid))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_is_reached_its_own_way() {
        assert_eq!(Subscriber::parse("*"), Subscriber::Target("*".into()));
        assert_eq!(
            Subscriber::parse("/users"),
            Subscriber::Target("/users".into())
        );
        assert_eq!(
            Subscriber::parse("NOSUCHACCOUNT9"),
            Subscriber::Target("NOSUCHACCOUNT9".into())
        );
        assert_eq!(
            Subscriber::parse("root"),
            Subscriber::Accounts("root".into(), Ok(vec!["root".into()]))
        );
        // root's primary group is root.
        let Subscriber::Accounts(label, Ok(users)) = Subscriber::parse("@root") else {
            panic!("@root is a group")
        };
        assert_eq!(label, "@root");
        assert!(users.contains(&"root".to_owned()), "{users:?}");
        assert!(matches!(
            Subscriber::parse("@no-such-group-9"),
            Subscriber::Accounts(_, Err(SendError::NotFound(_)))
        ));
    }
}
