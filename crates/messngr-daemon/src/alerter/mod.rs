//! The Alerter (issue 12): administrative alerts for the configured
//! subscribers, as the Windows Alerter service sent them through the
//! Messenger.
//!
//! Why a service of its own and not a `send`: the one raising an alert
//! (`messngr alert`, a failed systemd unit, later ntfy and Alertmanager over
//! HTTP) names no recipients — `[alerter]` lists them by severity — and an
//! alert that keeps firing must not flood anyone: an identical one (same
//! key) within `collapse_secs` is counted on the first one's message (a
//! live notice, so its pop-up is replaced in place and it reads "(3
//! times)") instead of being sent again. An alert is marked as one
//! everywhere: the native frame's signed ALERT field, the store, the API,
//! pop-ups and terminals; legacy receivers get an `ALERT` line first.
//!
//! [`Alerter::raise`] is the entry point every source calls. Who may raise
//! is decided here (root, the daemon's user, `admin_group`, `raisers`), so
//! every way in is held to it.

mod subscribers;
mod window;

use std::sync::Arc;

use messngr_proto::Priority;
use messngr_proto::wire::native::{Alert as Mark, MAX_TITLE_LEN};

use crate::send::notice::Change;
use crate::send::{Options, SendContext, SendError, SendReport};
use crate::settings::Settings;
use subscribers::Subscriber;
use window::{Seen, Window};

/// An alert to raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Alert {
    /// A short title, shown before the text.
    pub title: Option<String>,
    /// The text.
    pub text: String,
    /// The severity: it picks the subscribers.
    pub priority: Priority,
    /// Identity for collapsing and resolving (default: derived from
    /// title, text and priority).
    pub key: Option<String>,
    /// This alert resolves an earlier one with the same key: the earlier
    /// sent message is updated to say RESOLVED instead of a new one sent.
    pub resolved: bool,
    /// Recipients instead of the configured subscribers (ntfy topics).
    pub to: Option<Vec<String>>,
    /// Who raised it: `cli`, `systemd`, later `ntfy`, `alertmanager`.
    pub source: String,
    /// The raiser's uid (from the API socket's `SO_PEERCRED`).
    pub uid: u32,
}

/// What an alert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AlertReport {
    /// The key it was collapsed by.
    pub key: String,
    /// Counted on an earlier alert's message instead of sent again.
    pub collapsed: bool,
    /// Times raised within the window, this one included.
    pub repeats: u32,
    /// One report per receiver reached (new alerts).
    pub sent: Vec<SendReport>,
    /// Recipients a collapsed or resolved alert's notice reached.
    pub updated: Vec<String>,
    /// Subscribers (or recipients) not reached, with why.
    pub failed: Vec<(String, String)>,
}

/// Why an alert was not raised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AlertError {
    /// The caller may not raise alerts.
    #[error("{0}")]
    Denied(String),
    /// The alert itself is wrong (empty text, a long title).
    #[error("{0}")]
    BadRequest(String),
    /// No subscriber is configured for its severity.
    #[error("{0}")]
    NoSubscribers(String),
    /// Not one subscriber was reached.
    #[error("{0}")]
    NotDelivered(String),
    /// This daemon cannot send (Samba owns the ports).
    #[error("{0}")]
    Disabled(String),
}

/// The Alerter: its settings, how it sends, and the alerts raised lately.
pub(crate) struct Alerter {
    settings: Arc<Settings>,
    /// Subscribers and raisers, as of the last reload.
    live: Arc<crate::live::Live>,
    send: Option<SendContext>,
    window: Window,
}

impl Alerter {
    /// An Alerter sending through `send` (`None`: this daemon does not
    /// serve NetBIOS, so it cannot).
    pub(crate) fn new(
        settings: Arc<Settings>,
        live: Arc<crate::live::Live>,
        send: Option<SendContext>,
    ) -> Self {
        let window = Window::new(settings.alerter.collapse());
        Alerter {
            settings,
            live,
            send,
            window,
        }
    }

    /// Raises `alert`: checks who raises it, then collapses, resolves or
    /// sends it to every subscriber of its severity.
    pub(crate) async fn raise(&self, alert: Alert) -> Result<AlertReport, AlertError> {
        self.may_raise(alert.uid)?;
        check(&alert)?;
        let ctx = self.send.as_ref().ok_or_else(|| {
            AlertError::Disabled(
                "this daemon does not serve NetBIOS (serve_netbios = false), so its Alerter cannot send".into(),
            )
        })?;
        let key = alert.key.clone().unwrap_or_else(|| window::key_of(&alert));
        let title = alert.title.clone().unwrap_or_default();
        // Each raiser's keys are its own: another raiser can neither
        // resolve nor swallow (collapse into its own) someone else's alert.
        let scoped = format!("{}/{key}", alert.uid);
        let key = messngr_proto::text::sanitize_line(&key).into_owned();
        match self.window.see(&scoped, alert.resolved) {
            Seen::Repeat(earlier) => {
                // The latest text: a source that raises one key again with news
                // (Alertmanager re-notifying a group) shows the news.
                let text = format!("{}\n({} times)", alert.text, earlier.repeats);
                let (updated, failed) =
                    notify(ctx, &earlier.current(), earlier.repeats, text, &title).await;
                tracing::info!(
                    "alert {key} from {} (uid {}) raised again: {} times, counted on its first message",
                    messngr_proto::text::sanitize_line(&alert.source),
                    alert.uid,
                    earlier.repeats
                );
                Ok(AlertReport {
                    key,
                    collapsed: true,
                    repeats: earlier.repeats,
                    sent: Vec::new(),
                    updated,
                    failed,
                })
            }
            Seen::Resolves(earlier) => {
                let text = format!("RESOLVED: {}", alert.text);
                let (updated, failed) =
                    notify(ctx, &earlier.unresolved(), earlier.repeats, text, &title).await;
                tracing::info!(
                    "alert {key} resolved by {}",
                    messngr_proto::text::sanitize_line(&alert.source)
                );
                Ok(AlertReport {
                    key,
                    collapsed: false,
                    repeats: earlier.repeats,
                    sent: Vec::new(),
                    updated,
                    failed,
                })
            }
            Seen::New => {
                let report = self.send_new(ctx, &alert, (&scoped, &key), &title).await;
                if report.is_err() {
                    self.window.forget(&scoped);
                }
                report
            }
        }
    }

    /// Root, the daemon's user, `admin_group`, and `[alerter] raisers`.
    fn may_raise(&self, uid: u32) -> Result<(), AlertError> {
        let caller = self.settings.access.caller(uid);
        if caller.admin {
            return Ok(());
        }
        let raisers = &self.live.alerter().raisers;
        if caller
            .user
            .as_ref()
            .is_some_and(|u| raisers.iter().any(|r| r.trim() == u))
        {
            return Ok(());
        }
        let who = caller.user.unwrap_or_else(|| format!("uid {uid}"));
        tracing::warn!("{who} tried to raise an alert; refused (not a raiser)");
        Err(AlertError::Denied(format!(
            "{who} may not raise alerts: only root, the daemon's user, {} and the users in [alerter] raisers may (an admin can add {who} there in messngr.toml)",
            self.settings.access.admin_group.as_deref().map_or_else(
                || "admin_group".to_owned(),
                |g| format!("admin_group ({g})")
            )
        )))
    }

    /// Sends a new alert to its subscribers, remembering what it sent.
    async fn send_new(
        &self,
        ctx: &SendContext,
        alert: &Alert,
        (scoped, key): (&str, &str),
        title: &str,
    ) -> Result<AlertReport, AlertError> {
        let names = self.subscribers(alert)?;
        // A resolution of nothing sent lately says so on its own.
        let text = if alert.resolved {
            format!("RESOLVED: {}", alert.text)
        } else {
            alert.text.clone()
        };
        let opts = Options {
            priority: Some(alert.priority),
            alert: Some(Mark { title, repeats: 1 }),
            ..Options::by(alert.uid)
        };
        let mut sent = Vec::new();
        let mut failed = Vec::new();
        for name in &names {
            match send_to(ctx, name, &text, opts).await {
                Ok(reports) => sent.extend(reports),
                Err(e) => {
                    tracing::warn!("alert {key}: subscriber {name} not reached: {e}");
                    failed.push((name.clone(), e.to_string()));
                }
            }
        }
        if sent.is_empty() {
            return Err(AlertError::NotDelivered(format!(
                "the alert reached no subscriber: {}",
                failed
                    .iter()
                    .map(|(n, e)| format!("{n}: {e}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        let ids: Vec<i64> = sent.iter().filter_map(|r| r.id).collect();
        self.window.sent(scoped, ids, &text, alert.uid);
        tracing::info!(
            "alert {key} from {} (uid {}, {}) sent to {} receivers, {} subscribers not reached",
            messngr_proto::text::sanitize_line(&alert.source),
            alert.uid,
            alert.priority.as_str(),
            sent.len(),
            failed.len()
        );
        Ok(AlertReport {
            key: key.to_owned(),
            collapsed: false,
            repeats: 1,
            sent,
            updated: Vec::new(),
            failed,
        })
    }

    /// The subscribers `alert` goes to.
    fn subscribers(&self, alert: &Alert) -> Result<Vec<String>, AlertError> {
        let names = match &alert.to {
            Some(to) => to.clone(),
            None => self
                .live
                .alerter()
                .subscribers(alert.priority, self.settings.access.admin_group.as_deref()),
        };
        if names.is_empty() {
            return Err(AlertError::NoSubscribers(format!(
                "no subscriber gets {} alerts: list some under [alerter] {} in messngr.toml",
                alert.priority.as_str(),
                alert.priority.as_str()
            )));
        }
        Ok(names)
    }
}

/// The alert's own rules: some text, a title within the frame's limit.
fn check(alert: &Alert) -> Result<(), AlertError> {
    if alert.text.trim().is_empty() {
        return Err(AlertError::BadRequest(
            "the alert is empty: give some text".into(),
        ));
    }
    if alert
        .title
        .as_ref()
        .is_some_and(|t| t.len() > MAX_TITLE_LEN)
    {
        return Err(AlertError::BadRequest(format!(
            "the title has more than {MAX_TITLE_LEN} bytes: shorten it"
        )));
    }
    Ok(())
}

/// Sends to one subscriber.
async fn send_to(
    ctx: &SendContext,
    name: &str,
    text: &str,
    opts: Options<'_>,
) -> Result<Vec<SendReport>, SendError> {
    match Subscriber::parse(name) {
        Subscriber::Accounts(label, users) => {
            crate::send::to_accounts(ctx, &label, &users?, text, opts).await
        }
        Subscriber::Target(target) => crate::send::send(ctx, &target, text, None, opts).await,
    }
}

/// Updates every message an earlier alert sent (collapsed or resolved):
/// the recipients reached, and those not reached with why.
async fn notify(
    ctx: &SendContext,
    messages: &[(u32, i64)],
    repeats: u32,
    text: String,
    title: &str,
) -> (Vec<String>, Vec<(String, String)>) {
    let mut reached = Vec::new();
    let mut failed = Vec::new();
    for &(uid, id) in messages {
        let change = Change::Alert {
            text: text.clone(),
            title: title.to_owned(),
            repeats,
        };
        match crate::send::notice::apply(ctx, uid, id, change).await {
            Ok(view) => {
                reached.extend(view.reached);
                failed.extend(view.failed.into_iter().map(|f| (f.recipient, f.error)));
            }
            Err(e) => failed.push((format!("message {id}"), e.to_string())),
        }
    }
    (reached, failed)
}
