//! Per-user access: who owns a received message, and which messages an API
//! caller may see.
//!
//! Why a module of its own: the rule must be the same for every command
//! (inbox, read, rm, reply, export, and later the desktop agent), and it is
//! easy to get subtly wrong, so it lives in one small, unit-tested place.
//!
//! Ownership is decided once, when a message is stored: a message to a
//! configured alias belongs to that alias's owner (`[aliases]`), a message
//! to the host or workgroup name belongs to nobody (the host's), and a
//! message to a name that is a local account (`ALICE` → `alice`) belongs to
//! that account. The caller is identified by the uid the kernel reports
//! for the API socket (`SO_PEERCRED`), never by anything in the request.

use std::collections::BTreeMap;

/// The access rules, from the configuration.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Our NetBIOS name (upper case).
    pub host: String,
    /// Our workgroup (upper case).
    pub workgroup: String,
    /// Groups joined from the configuration (`groups`, upper case): their
    /// messages are the host's, like the workgroup's, whatever account
    /// has the same name.
    pub groups: Vec<String>,
    /// Alias (upper case) → owning local user.
    pub alias_owners: BTreeMap<String, String>,
    /// Whether messages to the host or workgroup are shown to every user.
    pub host_messages_visible_to_all: bool,
    /// A group whose members see every message (as root does).
    pub admin_group: Option<String>,
}

/// Who is asking, resolved from the caller's uid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The uid from `SO_PEERCRED`.
    pub uid: u32,
    /// The account name, if the uid has one.
    pub user: Option<String>,
    /// Root, the daemon's own user, or a member of `admin_group`.
    pub admin: bool,
    /// The account has a login shell: a person, not a service account such
    /// as `nobody` (smbd's guest, which runs `messngr deliver`) or `www-data`.
    pub person: bool,
}

impl Access {
    /// The local user owning a message addressed to `to`, or `None` for a
    /// message to the host (or workgroup, or a name that is nobody's).
    /// When the system cannot say whether `to` is an account (sssd or
    /// LDAP unreachable), root's: not a host message that every local
    /// user may read (`host_messages_visible_to_all`).
    pub fn owner_of(&self, to: &str) -> Option<String> {
        self.owner_with(to, crate::accounts::account_named)
    }

    /// [`Access::owner_of`] with the account lookup given (for tests).
    pub fn owner_with(
        &self,
        to: &str,
        account: impl Fn(&str) -> crate::accounts::Answer,
    ) -> Option<String> {
        let to = to.trim();
        if to.is_empty() {
            return None;
        }
        if let Some(owner) = self
            .alias_owners
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(to))
            .map(|(_, owner)| owner.clone())
        {
            return Some(owner);
        }
        if to.eq_ignore_ascii_case(&self.host)
            || to.eq_ignore_ascii_case(&self.workgroup)
            || self.groups.iter().any(|g| to.eq_ignore_ascii_case(g))
        {
            return None;
        }
        // NetBIOS names travel upper-cased; accounts are usually lower
        // case. Either spelling found is the owner; an error (NSS could
        // not say) counts only if neither was found.
        let written = account(to);
        let lower = to.to_lowercase();
        let lowered = if matches!(written, Ok(Some(_))) || lower == to {
            Ok(None)
        } else {
            account(&lower)
        };
        match (written, lowered) {
            (Ok(Some(owner)), _) | (_, Ok(Some(owner))) => Some(owner),
            (Ok(None), Ok(None)) => None,
            (Err(e), _) | (_, Err(e)) => {
                unanswered(to, e);
                Some(UNANSWERED_OWNER.to_owned())
            }
        }
    }

    /// Resolves the caller with uid `uid` against the system's accounts.
    pub fn caller(&self, uid: u32) -> Caller {
        let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten();
        let in_admin_group = match (&self.admin_group, &user) {
            (Some(group), Some(u)) => nix::unistd::Group::from_name(group)
                .ok()
                .flatten()
                .is_some_and(|g| g.gid == u.gid || g.mem.contains(&u.name)),
            _ => false,
        };
        let person = user.as_ref().is_some_and(|u| has_login_shell(&u.shell));
        Caller {
            uid,
            admin: is_root_or_daemon(uid) || in_admin_group,
            user: user.map(|u| u.name),
            person,
        }
    }

    /// Whether `caller` is one of `allowed` (accounts, `@group`s; as
    /// `[relay] org_senders` lists them), or an admin.
    pub fn listed(&self, caller: &Caller, allowed: &[String]) -> bool {
        // The account is read once, only if a group is listed.
        let account = std::cell::OnceCell::new();
        self.listed_with(caller, allowed, |group, user| {
            let Some(u) = account.get_or_init(|| nix::unistd::User::from_name(user).ok().flatten())
            else {
                return false;
            };
            nix::unistd::Group::from_name(group)
                .ok()
                .flatten()
                .is_some_and(|g| g.gid == u.gid || g.mem.iter().any(|m| m == user))
        })
    }

    /// [`Access::listed`] with group membership given (for tests).
    pub fn listed_with(
        &self,
        caller: &Caller,
        allowed: &[String],
        member: impl Fn(&str, &str) -> bool,
    ) -> bool {
        if caller.admin {
            return true;
        }
        let Some(user) = caller.user.as_deref() else {
            return false;
        };
        allowed.iter().any(|a| match a.strip_prefix('@') {
            Some(group) => member(group, user),
            None => a == user,
        })
    }

    /// Whether `caller` may see (list, read, reply to) a message owned by
    /// `owner`. Anything else must look like a missing message.
    pub fn may_see(&self, caller: &Caller, owner: Option<&str>) -> bool {
        if caller.admin {
            return true;
        }
        match owner {
            None => self.host_messages_visible_to_all && caller.person,
            Some(owner) => caller.user.as_deref() == Some(owner),
        }
    }
}

impl Access {
    /// Whether `caller` may change (delete, mark read) a message owned by
    /// `owner`: only their own; the host's (owner `None`, shared by every
    /// user who may see it) and other users' only root, the daemon's user
    /// and `admin_group`. Seeing a host message does not make it yours.
    pub fn may_change(&self, caller: &Caller, owner: Option<&str>) -> bool {
        caller.admin || owner.is_some_and(|o| caller.user.as_deref() == Some(o))
    }

    /// [`Access::may_see`] as the store's SQL condition: the owners whose
    /// messages `caller` may see, so that a listing is filtered on indexes
    /// instead of row by row.
    pub(crate) fn scope(&self, caller: &Caller) -> messngr_store::Scope {
        if caller.admin {
            return messngr_store::Scope::All;
        }
        messngr_store::Scope::Owners {
            user: caller.user.clone(),
            host: self.host_messages_visible_to_all && caller.person,
        }
    }
}

/// Root or the daemon's own user: who may change the daemon's names and
/// hand messages over, besides those configured for it. When the daemon
/// runs as `nobody` (its `user` does not exist), that uid is shared with
/// other services (smbd's guest, NFS's squashed root) and counts for nothing.
pub(crate) fn is_root_or_daemon(uid: u32) -> bool {
    uid == 0 || (uid == nix::unistd::getuid().as_raw() && !is_nobody(uid))
}

fn is_nobody(uid: u32) -> bool {
    nix::unistd::User::from_name(crate::privs::FALLBACK_USER)
        .ok()
        .flatten()
        .is_some_and(|u| u.uid.as_raw() == uid)
}

/// Whether `shell` lets its account log in (an empty shell is /bin/sh).
fn has_login_shell(shell: &std::path::Path) -> bool {
    let name = shell.file_name().and_then(|n| n.to_str()).unwrap_or("");
    shell.as_os_str().is_empty() || !matches!(name, "nologin" | "false")
}

/// Who owns a message whose recipient the system could not say is an
/// account or not: root, who may read everything anyway. Not the host:
/// with `host_messages_visible_to_all` every local user would read a
/// person's mail while NSS is down. It stays root's after (root and
/// `admin_group` see it; the log said whose it may be).
const UNANSWERED_OWNER: &str = "root";

/// Logs, at most once a minute (by the monotonic clock: a clock set back
/// does not silence it), that the accounts could not be read, with how
/// many messages met the same since the last warning.
fn unanswered(name: &str, e: nix::Error) {
    use std::sync::Mutex;
    use std::time::Instant;
    /// When it was last logged, and the failures not logged since.
    static LAST: Mutex<Option<(Instant, u64)>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    let missed = match &mut *last {
        Some((at, missed)) if at.elapsed() < crate::policy::LOG_INTERVAL => {
            *missed += 1;
            return;
        }
        Some((_, missed)) => *missed,
        None => 0,
    };
    *last = Some((Instant::now(), 0));
    drop(last);
    let more = if missed > 0 {
        format!(
            " ({missed} more messages since the last warning whose owner could not be looked up)"
        )
    } else {
        String::new()
    };
    tracing::warn!(
        "the system could not say whether {name:?} is an account ({e}){more}; messages to it are root's until it can: check NSS (sssd, LDAP, /etc/nsswitch.conf)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(visible: bool) -> Access {
        Access {
            host: "H1".into(),
            workgroup: "MLAN".into(),
            groups: vec!["BACKUP".into()],
            alias_owners: [("HELPDESK".to_owned(), "carol".to_owned())].into(),
            host_messages_visible_to_all: visible,
            admin_group: None,
        }
    }

    fn caller(user: Option<&str>, admin: bool) -> Caller {
        Caller {
            uid: 61001,
            user: user.map(str::to_owned),
            admin,
            person: user.is_some(),
        }
    }

    fn accounts(name: &str) -> crate::accounts::Answer {
        Ok(["alice", "bob", "carol", "Dave"]
            .contains(&name)
            .then(|| name.to_owned()))
    }

    #[test]
    fn the_recipient_name_decides_the_owner() {
        let a = access(true);
        assert_eq!(a.owner_with("ALICE", accounts).as_deref(), Some("alice"));
        assert_eq!(a.owner_with("bob", accounts).as_deref(), Some("bob"));
        assert_eq!(a.owner_with("Dave", accounts).as_deref(), Some("Dave"));
        assert_eq!(a.owner_with("helpdesk", accounts).as_deref(), Some("carol"));
        assert_eq!(a.owner_with("h1", accounts), None);
        assert_eq!(a.owner_with("MLAN", accounts), None);
        assert_eq!(a.owner_with("NOBODYHERE", accounts), None);
        assert_eq!(a.owner_with("  ", accounts), None);
    }

    #[test]
    fn when_nss_cannot_answer_the_message_is_roots_not_the_hosts() {
        let a = access(true);
        let down = |_: &str| Err(nix::errno::Errno::EIO);
        assert_eq!(a.owner_with("ALICE", down).as_deref(), Some("root"));
        assert_eq!(a.owner_with("ALICE", accounts).as_deref(), Some("alice"));
        assert_eq!(a.owner_with("NOBODYHERE", accounts), None);
        // `passwd: files ldap` with LDAP down: the upper-case spelling
        // misses in files and errs in LDAP; the account found in files
        // under the lower-case one is still the owner.
        let ldap_down = |name: &str| match accounts(name) {
            Ok(None) => Err(nix::errno::Errno::ENOENT),
            found => found,
        };
        assert_eq!(a.owner_with("ALICE", ldap_down).as_deref(), Some("alice"));
        assert_eq!(
            a.owner_with("NOBODYHERE", ldap_down).as_deref(),
            Some("root")
        );
    }

    #[test]
    fn the_host_name_wins_over_an_account_of_the_same_name() {
        let a = Access {
            host: "ALICE".into(),
            ..access(true)
        };
        assert_eq!(a.owner_with("ALICE", accounts), None);
        // A joined group is the host's too, even with an account `backup`.
        assert_eq!(
            access(true).owner_with("backup", |_| Ok(Some("backup".into()))),
            None
        );
    }

    #[test]
    fn users_see_their_own_messages_only() {
        let a = access(false);
        let alice = caller(Some("alice"), false);
        assert!(a.may_see(&alice, Some("alice")));
        assert!(!a.may_see(&alice, Some("bob")));
        assert!(!a.may_see(&alice, Some("Alice")), "owners match exactly");
        assert!(!a.may_see(&alice, None), "host messages are hidden");
        let nameless = caller(None, false);
        assert!(!a.may_see(&nameless, Some("alice")));
        assert!(!a.may_see(&nameless, None));
    }

    #[test]
    fn host_messages_can_be_everyones() {
        let a = access(true);
        assert!(a.may_see(&caller(Some("alice"), false), None));
        assert!(
            !a.may_see(&caller(None, false), None),
            "a uid without an account"
        );
        assert!(!a.may_see(&caller(Some("alice"), false), Some("bob")));
        let guest = Caller {
            person: false,
            ..caller(Some("nobody"), false)
        };
        assert!(
            !a.may_see(&guest, None),
            "service accounts deliver, not read"
        );
        assert!(a.may_see(&guest, Some("nobody")));
    }

    #[test]
    fn login_shells_make_people() {
        for (shell, person) in [
            ("/bin/bash", true),
            ("/usr/bin/zsh", true),
            ("", true),
            ("/usr/sbin/nologin", false),
            ("/sbin/nologin", false),
            ("/bin/false", false),
        ] {
            assert_eq!(
                has_login_shell(std::path::Path::new(shell)),
                person,
                "{shell}"
            );
        }
    }

    #[test]
    fn users_change_only_their_own_messages() {
        let a = access(true);
        let alice = caller(Some("alice"), false);
        assert!(a.may_change(&alice, Some("alice")));
        assert!(a.may_see(&alice, None) && !a.may_change(&alice, None));
        assert!(!a.may_change(&alice, Some("bob")));
        assert!(!a.may_change(&caller(None, false), None));
        let root = caller(Some("root"), true);
        assert!(a.may_change(&root, None) && a.may_change(&root, Some("bob")));
    }

    #[test]
    fn admins_see_everything() {
        let a = access(false);
        let root = caller(Some("root"), true);
        assert!(a.may_see(&root, Some("alice")));
        assert!(a.may_see(&root, None));
    }

    #[test]
    fn root_is_admin_and_an_unknown_uid_is_nobody() {
        let a = access(false);
        assert!(a.caller(0).admin);
        let ghost = a.caller(61_999);
        assert_eq!(ghost.user, None);
        assert!(!ghost.person);
        // The test may itself run as root (then any uid equal to ours is admin).
        assert_eq!(ghost.admin, nix::unistd::getuid().as_raw() == 61_999);
    }

    #[test]
    fn nobody_is_never_admin() {
        if let Some(nobody) = nix::unistd::User::from_name("nobody").ok().flatten() {
            assert!(!is_root_or_daemon(nobody.uid.as_raw()));
            assert!(!access(false).caller(nobody.uid.as_raw()).admin);
        }
    }

    #[test]
    fn org_senders_are_admins_listed_accounts_and_listed_groups_members() {
        let a = access(false);
        let allowed = vec!["dave".to_owned(), "@staff".to_owned()];
        let in_staff = |g: &str, u: &str| g == "staff" && u == "erin";
        for (who, admin, may) in [
            (Some("root"), true, true),
            (Some("dave"), false, true),
            (Some("erin"), false, true),
            (Some("carol"), false, false),
            (Some("staff"), false, false),
            (None, false, false),
        ] {
            let c = caller(who, admin);
            assert_eq!(a.listed_with(&c, &allowed, in_staff), may, "{who:?}");
        }
        assert!(!a.listed_with(&caller(Some("dave"), false), &[], in_staff));
    }
}
