//! The one place requests meet the daemon's services: each [`Request`]
//! goes to the service that answers it, and its typed result becomes the
//! API's [`Reply`] line (views and error kinds in `views.rs`).
//!
//! Why a single match: the compiler checks that every request has an
//! answer, and no service knows the API's envelope. Who may ask (root for
//! names, `deliver_users` for hand-overs) is decided here too, so that no
//! way into [`Services::answer`] skips it.

use std::sync::Arc;

use messngr_api::frame::{Reply, encode};
use messngr_api::{
    ApiError, ErrorKind, InboxRequest, NamesRequest, Request, SendRequest, UnreadView,
};
use messngr_store::Filter;
use serde::Serialize;

use super::views;
use crate::inbox::Inbox;
use crate::names::Names;
use crate::quiet::Quiet;
use crate::send::{Options, SendContext};
use crate::settings::Settings;

/// Everything a request may need.
#[derive(Clone)]
pub(crate) struct Services {
    /// Our settings.
    pub settings: Arc<Settings>,
    /// The inbox.
    pub inbox: Arc<Inbox>,
    /// Do-not-disturb.
    pub quiet: Quiet,
    /// Rules and refusal counters shared with the receivers.
    pub policy: Arc<crate::policy::Policy>,
    /// Keys and pins.
    pub secure: Arc<crate::secure::Secure>,
    /// The HTTP API's tokens.
    pub tokens: Arc<crate::tokens::Tokens>,
    /// The web inbox's sessions and login codes.
    pub web: Arc<crate::websession::WebSessions>,
    /// The name service and sending; `None` when Samba owns the ports.
    pub netbios: Option<(Names, SendContext)>,
    /// The Alerter (`messngr alert`; the HTTP sources call it too).
    pub alerter: Arc<crate::alerter::Alerter>,
    /// Deliveries to people by sink (`/metrics`).
    pub delivered: Arc<crate::people::Delivered>,
    /// The receivers' channel to the inbox, for its depth (`/metrics`);
    /// weak, so that it closes when the receivers stop.
    pub deliveries: Option<tokio::sync::mpsc::WeakSender<crate::intake::Delivery>>,
    /// When the daemon started (`status` without a name service).
    pub started: std::time::Instant,
    /// The relay between sites (`[relay]`).
    pub relay: Option<Arc<crate::relay::Relay>>,
}

/// One reply line.
fn line<T: Serialize>(r: Result<T, ApiError>) -> Vec<u8> {
    encode(&Reply::from(r))
}

/// What a request that needs the NetBIOS ports gets when they are Samba's.
fn no_netbios() -> ApiError {
    ApiError::new(
        ErrorKind::Disabled,
        "this daemon does not serve NetBIOS (serve_netbios = false: Samba owns the ports); send with smbclient -M, look names up with nmblookup",
    )
}

impl Services {
    fn netbios(&self) -> Result<&(Names, SendContext), ApiError> {
        self.netbios.as_ref().ok_or_else(no_netbios)
    }

    /// Answers `request` from the caller with `uid` with one reply line.
    /// (`Follow` and `Export` are streams: the server handles them.)
    pub(crate) async fn answer(&self, uid: u32, request: Request) -> Vec<u8> {
        if request.is_privileged() && !crate::access::is_root_or_daemon(uid) {
            return line::<()>(Err(ApiError::new(
                ErrorKind::Denied,
                "only root can change the daemon's names (try sudo)",
            )));
        }
        match request {
            Request::Status(_) => line(self.status(uid).await),
            Request::Names(r) => self.names(r).await,
            Request::Send(r) => self.send(uid, r).await,
            Request::Inbox(r) => self.inbox(uid, r).await,
            Request::Quiet(q) => line(
                self.quiet
                    .answer(uid, q.on)
                    .await
                    .map(views::quiet)
                    .map_err(ApiError::from),
            ),
            Request::Deliver(d) => line(self.deliver(uid, d).await),
            Request::Trust(t) => super::trust::answer(&self.secure, t),
            Request::Track(t) => line(super::track::answer(self.inbox.handle(), uid, t).await),
            Request::Token(t) => super::token::answer(self, &self.inbox.access().caller(uid), t),
            Request::Alert(a) => line(self.alert(uid, a).await),
            Request::Follow(_) => line::<()>(Err(ApiError::bad_request(
                "follow is a stream: the server answers it",
            ))),
        }
    }

    async fn alert(
        &self,
        uid: u32,
        a: messngr_api::Alert,
    ) -> Result<messngr_api::AlertView, ApiError> {
        let to = match &a.topic {
            Some(t) => Some(self.topic(t)?),
            None => None,
        };
        let alert = crate::alerter::Alert {
            title: a.title.filter(|t| !t.trim().is_empty()),
            text: a.text,
            priority: a.priority.unwrap_or_default(),
            key: a.key,
            resolved: a.resolved,
            to,
            source: a.source.unwrap_or_else(|| "cli".to_owned()),
            uid,
        };
        self.alerter
            .raise(alert)
            .await
            .map(views::alert)
            .map_err(ApiError::from)
    }

    /// The recipients of `[http.topics]` `topic`, or how to add it.
    fn topic(&self, topic: &str) -> Result<Vec<String>, ApiError> {
        self.settings.http.topics.get(topic).cloned().ok_or_else(|| {
            ApiError::new(
                ErrorKind::NotFound,
                format!(
                    "no topic {topic:?}: an admin adds it under [http.topics] in messngr.toml, e.g. {topic} = [\"@adm\", \"H2\"], and restarts messngr"
                ),
            )
        })
    }

    async fn status(&self, uid: u32) -> Result<messngr_api::StatusView, ApiError> {
        // Without the NetBIOS ports (Samba owns them) there are no names,
        // but the rest (refusals, keys, the inbox) is still this daemon's.
        let report = match &self.netbios {
            Some((names, _)) => names.report().await?,
            None => crate::names::NamesReport {
                names: Vec::new(),
                counters: Default::default(),
                uptime: self.started.elapsed(),
            },
        };
        let mut view = views::status(&self.settings, report, self.policy.refusals());
        view.netbios = self.netbios.is_some();
        super::trust::add_to_status(&self.secure, &mut view);
        view.relay = self.relay.as_ref().map(|r| r.view());
        if self.settings.access.caller(uid).admin {
            view.inbox = Some(self.inbox_usage().await?);
        }
        Ok(view)
    }

    /// How full the inbox is, for admins (everyone's count).
    async fn inbox_usage(&self) -> Result<messngr_api::InboxUsageView, ApiError> {
        let received = self
            .inbox
            .handle()
            .count(messngr_store::Filter::default())
            .await
            .map_err(|e| ApiError::new(ErrorKind::Store, format!("counting the inbox: {e}")))?;
        let path = self.inbox.path();
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let bytes = [path.as_os_str(), &wal]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        let disk_free_bytes = path.parent().and_then(|dir| {
            nix::sys::statvfs::statvfs(dir)
                .ok()
                .map(|v| v.blocks_available().saturating_mul(v.fragment_size()))
        });
        Ok(messngr_api::InboxUsageView {
            received,
            max_messages: self.settings.quota.max_messages,
            bytes,
            disk_free_bytes,
        })
    }

    async fn names(&self, r: NamesRequest) -> Vec<u8> {
        let names = match self.netbios() {
            Ok((names, _)) => names,
            Err(e) => return line::<()>(Err(e)),
        };
        match r {
            NamesRequest::List(_) => line(
                names
                    .report()
                    .await
                    .map(|r| r.names.into_iter().map(views::name).collect::<Vec<_>>())
                    .map_err(ApiError::from),
            ),
            NamesRequest::Add(a) => line({
                if !a.group {
                    self.secure.trust().reserve(&a.name);
                }
                names
                    .add(a.name, a.group)
                    .await
                    .map(views::name)
                    .map_err(ApiError::from)
            }),
            NamesRequest::Del(d) => line(names.del(d.name).await.map_err(ApiError::from)),
            NamesRequest::Lookup(l) => {
                let shown =
                    messngr_proto::wire::name::NetbiosName::new(l.name.as_bytes(), l.suffix)
                        .map_or_else(|_| l.name.clone(), |n| n.to_string());
                let found = match names.lookup(l.name.clone(), l.suffix).await {
                    Err(crate::names::NamesError::NotFound(why)) if self.relay.is_some() => {
                        self.relay_lookup(&l.name, shown, why).await
                    }
                    found => found
                        .map(|addresses| messngr_api::LookupView {
                            name: shown,
                            addresses,
                            relay_host: None,
                            relay_hosts: Vec::new(),
                        })
                        .map_err(ApiError::from),
                };
                line(found)
            }
            NamesRequest::NodeStatus(n) => line(
                names
                    .node_status(n.address)
                    .await
                    .map(views::node_status)
                    .map_err(ApiError::from),
            ),
        }
    }

    async fn send(&self, uid: u32, r: SendRequest) -> Vec<u8> {
        let ctx = match self.netbios() {
            Ok((_, ctx)) => ctx,
            Err(e) => return line::<()>(Err(e)),
        };
        match r {
            SendRequest::Send(s) => {
                let opts = Options {
                    priority: s.priority,
                    popup_secs: s.popup_secs,
                    expires_at: s
                        .expires_secs
                        // Out of range: a time already past, which `send`
                        // refuses saying what it takes.
                        .map(|e| match e {
                            1..=604_800 => crate::send::expires_at(e),
                            _ => 0,
                        }),
                    uid,
                    secure: s.secure,
                    alert: None,
                    via: s.transport,
                    untracked: s.untracked,
                    vouched: None,
                };
                let sent = crate::send::send(ctx, &s.target, &s.text, s.address, opts).await;
                line(
                    sent.map(|r| r.into_iter().map(views::sent).collect::<Vec<_>>())
                        .map_err(ApiError::from),
                )
            }
            SendRequest::Reply(r) => line(
                crate::send::reply(ctx, uid, r.id, &r.text)
                    .await
                    .map(views::sent)
                    .map_err(ApiError::from),
            ),
            SendRequest::Update(u) => {
                let change = crate::send::notice::Change::Update(u.text);
                line(
                    crate::send::notice::apply(ctx, uid, u.id, change)
                        .await
                        .map_err(ApiError::from),
                )
            }
            SendRequest::Retract(r) => {
                let change = crate::send::notice::Change::Retract;
                line(
                    crate::send::notice::apply(ctx, uid, r.id, change)
                        .await
                        .map_err(ApiError::from),
                )
            }
            SendRequest::Remind(r) => {
                let change = crate::send::notice::Change::Remind;
                line(
                    crate::send::notice::apply(ctx, uid, r.id, change)
                        .await
                        .map_err(ApiError::from),
                )
            }
        }
    }

    async fn inbox(&self, uid: u32, r: InboxRequest) -> Vec<u8> {
        let page = views::page;
        let filter = |f: &messngr_api::InboxFilter| Filter {
            unread_only: f.unread,
            from: f.from.clone(),
            since: f.since,
            before: f.before,
            ..Filter::default()
        };
        match r {
            InboxRequest::List(l) => line(match l.filter.page_size() {
                Ok(n) => self
                    .inbox
                    .page(uid, filter(&l.filter), n)
                    .await
                    .map(page)
                    .map_err(ApiError::from),
                Err(e) => Err(e),
            }),
            InboxRequest::Search(s) => line(match s.filter.page_size() {
                Ok(n) => self
                    .inbox
                    .search(uid, s.text, filter(&s.filter), n)
                    .await
                    .map(page)
                    .map_err(ApiError::from),
                Err(e) => Err(e),
            }),
            InboxRequest::Read(r) => line(
                self.inbox
                    .read_first(uid, r.id)
                    .await
                    .map(|(m, first)| {
                        if let (true, Some((_, ctx))) = (first, &self.netbios) {
                            crate::send::on_read(ctx, uid, &m);
                        }
                        crate::view::message(&m)
                    })
                    .map_err(ApiError::from),
            ),
            InboxRequest::Rm(r) => line(self.inbox.rm(uid, r.id).await.map_err(ApiError::from)),
            InboxRequest::Unread(_) => line(
                self.inbox
                    .unread(uid)
                    .await
                    .map(|(count, urgent)| UnreadView { count, urgent })
                    .map_err(ApiError::from),
            ),
            InboxRequest::Export(_) => line::<()>(Err(ApiError::bad_request(
                "export is a stream: the server answers it",
            ))),
        }
    }

    /// Stores a message another program received (`messngr deliver`): only
    /// root, the daemon's own user and `deliver_users` (smbd's guest) may,
    /// or any local user could put words in a remote sender's mouth.
    async fn deliver(&self, uid: u32, d: messngr_api::Deliver) -> Result<i64, ApiError> {
        if !crate::access::is_root_or_daemon(uid) && !self.settings.deliver_uids.contains(&uid) {
            tracing::warn!(
                "uid {uid} tried to hand over a message; refused (not in deliver_users)"
            );
            return Err(ApiError::new(
                ErrorKind::Denied,
                format!(
                    "uid {uid} may not hand messages over: only root and deliver_users (smbd's guest account) may; add the account to deliver_users in messngr.toml"
                ),
            ));
        }
        if d.transport != messngr_proto::Transport::Samba {
            return Err(ApiError::bad_request(format!(
                "unknown hand-over transport {} (only samba)",
                d.transport
            )));
        }
        if d.text.len() > messngr_api::MAX_DELIVER_TEXT {
            return Err(ApiError::new(
                ErrorKind::TooLong,
                format!(
                    "{} bytes of text: a handed-over message has at most {}",
                    d.text.len(),
                    messngr_api::MAX_DELIVER_TEXT
                ),
            ));
        }
        if d.from.len().max(d.to.len()) > messngr_api::MAX_DELIVER_NAME {
            return Err(ApiError::bad_request(format!(
                "a sender or recipient name has at most {} bytes",
                messngr_api::MAX_DELIVER_NAME
            )));
        }
        match self.inbox.deliver(&d.from, &d.to, &d.text).await {
            Ok(crate::intake::Stored(id, _)) => {
                tracing::info!(
                    "message {id} ({} bytes) handed over by uid {uid} (samba)",
                    d.text.len()
                );
                Ok(id)
            }
            Err(e) => {
                tracing::error!("message handed over by uid {uid} (samba) NOT stored: {e}");
                Err(ApiError::new(ErrorKind::NotStored, e.to_string()))
            }
        }
    }
}

impl Services {
    /// `lookup` of a name NetBIOS did not find (`why`): the relay's
    /// directory, for a host on another site.
    async fn relay_lookup(
        &self,
        name: &str,
        shown: String,
        why: String,
    ) -> Result<messngr_api::LookupView, ApiError> {
        let Some(relay) = &self.relay else {
            return Err(ApiError::new(ErrorKind::NotFound, why));
        };
        match relay.lookup(&self.secure, name).await {
            Ok(found) => Ok(messngr_api::LookupView {
                name: shown,
                addresses: found.iter().flat_map(|f| f.addresses.clone()).collect(),
                relay_host: found.first().map(|f| f.host.clone()),
                relay_hosts: found
                    .iter()
                    .flat_map(|f| f.addresses.iter().map(|_| f.host.clone()))
                    .collect(),
            }),
            Err(e) => Err(ApiError::new(ErrorKind::NotFound, format!("{why}; {e}"))),
        }
    }
}
