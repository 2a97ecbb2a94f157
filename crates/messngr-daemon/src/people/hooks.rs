//! Hooks: `[[hook]]` programs run for each stored message.
//!
//! Why it exists: to let an administrator forward messages anywhere (mail,
//! chat, a log) without messngr knowing about it. Why it looks like this:
//! message text is hostile, so a hook is run directly with `execve` — the
//! program and its arguments are exactly what the config says, never a
//! shell command line with message content in it. The message reaches the
//! hook as environment variables (`MESSNGR_*`, the environment is otherwise
//! cleared but for `PATH`) and as one JSON object on stdin; every text in
//! either is sanitised ([`super::clean`]), and `raw` is left out.
//!
//! A hook runs as the daemon's user, never as root (the daemon dropped root
//! at start, see [`crate::privs`]); a `user` other than the daemon's is
//! refused at start, as a daemon without root cannot switch to it.
//!
//! A hook runs in a process group of its own and the whole group is killed
//! after the timeout; its stdout and stderr are logged (sanitised, cut to
//! [`MAX_OUTPUT`] bytes). At most [`MAX_RUNNING`] hooks run at once.

use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use messngr_store::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

use super::{clean, clean_line, cut};
use crate::config::HookConfig;

/// Output bytes kept (and logged) from each of stdout and stderr.
pub const MAX_OUTPUT: usize = 4096;
/// Hooks running at the same time; more wait (and, if the wait is long,
/// later messages skip the hooks: they stay in the inbox).
pub const MAX_RUNNING: usize = 16;
/// `MESSNGR_TEXT` holds at most this many bytes (Linux refuses a single
/// environment string over 128 KiB); the whole text is on stdin.
pub const MAX_ENV_TEXT: usize = 64 * 1024;
/// The `PATH` a hook gets.
pub const HOOK_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// How long output is still read after a hook exited (a background child
/// may keep the pipes open).
const OUTPUT_GRACE: Duration = Duration::from_secs(1);

/// Why a hook did not finish.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The program could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// It ran past its timeout and was killed.
    #[error("{program} ran longer than {secs} s: killed")]
    TimedOut {
        /// The program.
        program: String,
        /// The timeout.
        secs: u64,
    },
    /// Its `user` does not exist (or the user database failed).
    #[error("{program}: no user {user:?} to run it as{why}")]
    User {
        /// The program.
        program: String,
        /// The configured user.
        user: String,
        /// What the lookup said, if it failed.
        why: String,
    },
    /// Waiting for it failed.
    #[error("waiting for {program}: {source}")]
    Wait {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
}

/// How a hook ended.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// The first [`MAX_OUTPUT`] bytes of stdout (lossy UTF-8, sanitised).
    pub stdout: String,
    /// The same of stderr.
    pub stderr: String,
}

/// A hook names a user the daemon cannot run it as.
#[derive(Debug, thiserror::Error)]
#[error(
    "hook {program}: user = {user:?}, but the daemon runs as {daemon} and cannot start programs as anyone else; remove `user` (it then runs as {daemon}) or set the daemon's `user` to {user:?}"
)]
pub struct HookUserError {
    /// The hook's program.
    pub program: String,
    /// Its `user`.
    pub user: String,
    /// The daemon's user.
    pub daemon: String,
}

/// Every hook's `user` is `name` (`uid`), the account the daemon runs as:
/// it cannot start programs as anyone else.
pub(crate) fn run_as(
    hooks: &[HookConfig],
    uid: nix::unistd::Uid,
    name: &str,
) -> Result<(), HookUserError> {
    for hook in hooks {
        let Some(user) = &hook.user else { continue };
        let same = nix::unistd::User::from_name(user.trim())
            .ok()
            .flatten()
            .is_some_and(|u| u.uid == uid);
        if !same {
            return Err(HookUserError {
                program: hook.program.display().to_string(),
                user: user.clone(),
                daemon: name.to_owned(),
            });
        }
    }
    Ok(())
}

/// [`run_as`] the account the daemon runs as now (a reload, after root is
/// given up).
pub(crate) fn run_as_now(hooks: &[HookConfig]) -> Result<(), HookUserError> {
    let uid = nix::unistd::geteuid();
    let name = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map_or_else(|| uid.to_string(), |u| u.name);
    run_as(hooks, uid, &name)
}

/// The configured hooks (as of the last reload) and the limit on how many
/// run at once.
#[derive(Clone)]
pub struct Runner {
    live: Arc<crate::live::Live>,
    running: Arc<Semaphore>,
    delivered: Arc<super::Delivered>,
}

impl Runner {
    /// A runner for the hooks `live` holds at each message.
    pub(crate) fn new(live: Arc<crate::live::Live>) -> Self {
        Self {
            live,
            running: Arc::new(Semaphore::new(MAX_RUNNING)),
            delivered: Arc::default(),
        }
    }

    /// The same runner, counting the hooks that exited 0 into `delivered`.
    pub(crate) fn counting(self, delivered: Arc<super::Delivered>) -> Self {
        Self { delivered, ..self }
    }

    /// Starts every hook that wants `m`, each in a task of its own; returns
    /// once they are started (waiting while [`MAX_RUNNING`] already run).
    pub async fn start(self, m: Arc<Message>) {
        let hooks = self.live.hooks();
        for hook in hooks.iter().filter(|h| wants(h, &m)) {
            let Ok(permit) = self.running.clone().acquire_owned().await else {
                return;
            };
            let (hook, m, delivered) = (hook.clone(), m.clone(), self.delivered.clone());
            tokio::spawn(async move {
                let r = run(&hook, &m).await;
                if r.as_ref().is_ok_and(|f| f.status.success()) {
                    delivered.add(super::Sink::Hook);
                }
                log(&hook, &m, r);
                drop(permit);
            });
        }
    }
}

/// Whether `hook` runs for `m` (its `to` filter, ignoring case).
pub fn wants(hook: &HookConfig, m: &Message) -> bool {
    hook.to.as_deref().is_none_or(|to| {
        let to = to.trim();
        m.to.trim().eq_ignore_ascii_case(to)
            || m.owner_user
                .as_deref()
                .is_some_and(|o| o.eq_ignore_ascii_case(to))
    })
}

fn log(hook: &HookConfig, m: &Message, r: Result<Finished, HookError>) {
    let program = hook.program.display();
    match r {
        Ok(f) => {
            if f.status.success() {
                tracing::info!("hook {program} for message {}: {}", m.id, f.status);
            } else {
                tracing::warn!("hook {program} for message {}: {}", m.id, f.status);
            }
            if !f.stdout.is_empty() {
                tracing::info!("hook {program} stdout: {:?}", f.stdout);
            }
            if !f.stderr.is_empty() {
                tracing::info!("hook {program} stderr: {:?}", f.stderr);
            }
        }
        Err(e) => tracing::warn!("hook for message {}: {e}", m.id),
    }
}

/// The environment a hook gets besides `PATH`.
pub fn environment(m: &Message) -> Vec<(&'static str, String)> {
    let text = clean(&m.text);
    let (env_text, was_cut) = cut(&text, MAX_ENV_TEXT);
    vec![
        ("MESSNGR_ID", m.id.to_string()),
        ("MESSNGR_FROM", clean_line(&m.from)),
        ("MESSNGR_TO", clean_line(m.to.trim())),
        ("MESSNGR_TEXT", env_text.to_owned()),
        ("MESSNGR_TEXT_CUT", was_cut.to_string()),
        ("MESSNGR_TRANSPORT", m.transport.as_str().to_owned()),
        (
            "MESSNGR_RECEIVED_AT",
            messngr_api::time::rfc3339(m.received_at),
        ),
        ("MESSNGR_VERIFIED", m.verified.to_string()),
        ("MESSNGR_PRIORITY", m.priority.as_str().to_owned()),
    ]
}

/// The JSON object on a hook's stdin: the message as `inbox --json` shows
/// it, with sender, recipient and text sanitised and `raw` left empty.
pub(crate) fn json(m: &Message) -> Vec<u8> {
    let mut safe = crate::view::message(m);
    safe.from = clean_line(&m.from);
    safe.to = clean_line(m.to.trim());
    safe.text = clean(&m.text);
    safe.raw = Vec::new();
    messngr_api::frame::encode(&safe)
}

/// Runs `hook` for `m` and waits for it (at most its timeout).
pub async fn run(hook: &HookConfig, m: &Message) -> Result<Finished, HookError> {
    let program = hook.program.display().to_string();
    let mut cmd = tokio::process::Command::new(&hook.program);
    cmd.args(&hook.args)
        .env_clear()
        .env("PATH", HOOK_PATH)
        .envs(environment(m));
    if let Some(name) = &hook.user {
        let no_user = |why: String| HookError::User {
            program: program.clone(),
            user: name.clone(),
            why,
        };
        let user = nix::unistd::User::from_name(name)
            .map_err(|e| no_user(format!(": {e}")))?
            .ok_or_else(|| no_user(String::new()))?;
        // The daemon has dropped root: it runs hooks as itself, and the
        // start refused a `user` other than its own. As root (the unit
        // tests), std drops the supplementary groups when it sets the uid.
        if user.uid != nix::unistd::geteuid() {
            cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
        }
        cmd.env("USER", &user.name).env("HOME", &user.dir);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| HookError::Spawn {
            program: program.clone(),
            source,
        })?;
    let pid = child.id();
    let stdin = child.stdin.take();
    let input = json(m);
    let feed = tokio::spawn(async move {
        if let Some(mut stdin) = stdin {
            // A hook that does not read its stdin is fine.
            let _ = stdin.write_all(&input).await;
        }
    });
    let stdout = tokio::spawn(collect(child.stdout.take()));
    let stderr = tokio::spawn(collect(child.stderr.take()));
    let waited = tokio::time::timeout(hook.timeout(), child.wait()).await;
    let status = match waited {
        Ok(status) => status.map_err(|source| HookError::Wait {
            program: program.clone(),
            source,
        }),
        Err(_) => {
            kill_group(pid);
            let _ = child.kill().await;
            Err(HookError::TimedOut {
                program: program.clone(),
                secs: hook.timeout().as_secs(),
            })
        }
    };
    feed.abort();
    let out = output(stdout).await;
    let err = output(stderr).await;
    Ok(Finished {
        status: status?,
        stdout: out,
        stderr: err,
    })
}

/// SIGKILL to the hook's process group (its children too).
fn kill_group(pid: Option<u32>) {
    let Some(pgid) = pid.and_then(|p| i32::try_from(p).ok()) else {
        return;
    };
    let pgid = nix::unistd::Pid::from_raw(pgid);
    if let Err(e) = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL) {
        tracing::debug!("killpg {pgid}: {e}");
    }
}

/// The collected output, or what there is after [`OUTPUT_GRACE`].
async fn output(task: tokio::task::JoinHandle<Vec<u8>>) -> String {
    let abort = task.abort_handle();
    match tokio::time::timeout(OUTPUT_GRACE, task).await {
        Ok(Ok(bytes)) => clean(String::from_utf8_lossy(&bytes).trim_end()),
        _ => {
            abort.abort();
            String::new()
        }
    }
}

/// Reads `pipe` to its end, keeping the first [`MAX_OUTPUT`] bytes.
async fn collect(pipe: Option<impl AsyncRead + Unpin>) -> Vec<u8> {
    let mut kept = Vec::new();
    let Some(mut pipe) = pipe else { return kept };
    let mut buf = [0u8; 4096];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                let room = MAX_OUTPUT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    /// A hook that records its argv, environment and stdin under `dir`.
    fn recorder(dir: &Path) -> HookConfig {
        let script = dir.join("record.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\nout=\"$1\"\nprintf '%s' \"$MESSNGR_TEXT\" > \"$out/text\"\n\
             printf '%s' \"$MESSNGR_FROM\" > \"$out/from\"\nprintf '%s\\n' \"$@\" > \"$out/argv\"\n\
             env > \"$out/env\"\ncat > \"$out/stdin\"\necho done; echo oops >&2\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        HookConfig {
            program: script,
            args: vec![dir.display().to_string(), "$(touch x)".into(), "a b".into()],
            timeout_secs: Some(5),
            to: None,
            user: None,
        }
    }

    fn message(text: &str) -> Message {
        let mut m = crate::testing::message(3, "mallory;`id`", "ALICE", text);
        m.received_at = 0;
        m.raw = vec![0];
        m
    }

    #[tokio::test]
    async fn hostile_text_reaches_the_hook_literally_and_sanitised() {
        let dir = tempfile::tempdir().unwrap();
        let hook = recorder(dir.path());
        let text = "$(touch /tmp/messngr-pwned) `touch x`; rm -rf / \"q\" 'q'\nline2\x1b[2J\0";
        let f = run(&hook, &message(text)).await.unwrap();
        assert!(f.status.success());
        assert_eq!((f.stdout.as_str(), f.stderr.as_str()), ("done", "oops"));
        let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap();
        assert_eq!(read("text"), clean(text));
        assert!(read("text").contains("^[[2J^@"));
        assert_eq!(read("from"), "mallory;`id`");
        assert_eq!(
            read("argv"),
            format!("{}\n$(touch x)\na b\n", dir.path().display())
        );
        let env = read("env");
        assert!(env.contains("MESSNGR_ID=3\n") && env.contains("MESSNGR_VERIFIED=false\n"));
        assert!(env.contains("MESSNGR_TRANSPORT=smb\n"));
        assert!(env.contains("MESSNGR_RECEIVED_AT=1970-01-01T00:00:00.000Z\n"));
        let json: serde_json::Value = serde_json::from_str(&read("stdin")).unwrap();
        assert_eq!(json["text"], clean(text));
        assert_eq!(json["raw"], "");
        assert!(!Path::new("/tmp/messngr-pwned").exists());
        assert!(!dir.path().join("x").exists());
    }

    #[tokio::test]
    async fn a_slow_hook_is_killed_and_a_missing_one_named() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("slow.sh");
        std::fs::write(&script, "#!/bin/sh\nsleep 30\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let slow = HookConfig {
            program: script,
            args: Vec::new(),
            timeout_secs: Some(1),
            to: None,
            user: None,
        };
        let start = std::time::Instant::now();
        let r = run(&slow, &message("hi")).await;
        assert!(
            matches!(r, Err(HookError::TimedOut { secs: 1, .. })),
            "{r:?}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        let missing = HookConfig {
            program: "/nonexistent/hook".into(),
            ..HookConfig::default()
        };
        let r = run(&missing, &message("hi")).await;
        assert!(matches!(r, Err(HookError::Spawn { .. })), "{r:?}");
        // The next one still runs.
        let f = run(&recorder(dir.path()), &message("next")).await.unwrap();
        assert!(f.status.success());
    }

    #[tokio::test]
    async fn a_megabyte_of_text_still_runs_the_hook() {
        let dir = tempfile::tempdir().unwrap();
        let big = "\x1b[2J".repeat(1 << 18) + "end";
        let f = run(&recorder(dir.path()), &message(&big)).await.unwrap();
        assert!(f.status.success(), "{f:?}");
        let text = std::fs::read_to_string(dir.path().join("text")).unwrap();
        assert_eq!(text.len(), MAX_ENV_TEXT);
        assert!(text.starts_with("^[[2J") && !text.contains('\x1b'));
        let env = std::fs::read_to_string(dir.path().join("env")).unwrap();
        assert!(env.contains("MESSNGR_TEXT_CUT=true"));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("stdin")).unwrap())
                .unwrap();
        assert_eq!(json["text"], clean(&big));
    }

    #[tokio::test]
    async fn a_hook_runs_as_its_user() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: not root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let script = dir.path().join("id.sh");
        std::fs::write(&script, "#!/bin/sh\nid -u; id -G; echo \"$USER\"\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
        let hook = HookConfig {
            program: script,
            user: Some("nobody".into()),
            ..HookConfig::default()
        };
        let f = run(&hook, &message("x")).await.unwrap();
        assert_eq!(
            f.stdout,
            format!("{}\n{}\nnobody", nobody.uid, nobody.gid),
            "{f:?}"
        );
        let ghost = HookConfig {
            user: Some("no-such-user-here".into()),
            ..hook
        };
        let r = run(&ghost, &message("x")).await;
        assert!(matches!(r, Err(HookError::User { .. })), "{r:?}");
    }

    #[test]
    fn the_to_filter_ignores_case() {
        let hook = |to: Option<&str>| HookConfig {
            program: "/bin/true".into(),
            to: to.map(str::to_owned),
            ..HookConfig::default()
        };
        let m = message("x");
        assert!(wants(&hook(None), &m));
        assert!(wants(&hook(Some("alice")), &m));
        assert!(!wants(&hook(Some("bob")), &m));
    }
}
