//! Every request, split by the service that answers it, and the [`Call`]
//! trait that ties each request to the type of its answer.
//!
//! On the wire a request is externally tagged by service, then by call:
//! `{"names":{"add":{"name":"HELPDESK"}}}`, `{"inbox":{"list":{"unread":true}}}`,
//! `{"status":{}}`. The daemon's dispatch matches on these enums, so a new
//! request that no service answers is a compile error, not a run-time
//! catch-all.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::alert::{Alert, AlertView};
use crate::inbox::UnreadView;
use crate::inbox::{Export, InboxList, InboxPage, Quiet, QuietView, Read, Rm, Search, Unread};
use crate::message::MessageView;
use crate::names::{
    Lookup, LookupView, NameAdd, NameDel, NameList, NameView, NodeStatus, NodeStatusView, Status,
    StatusView,
};
use crate::notice::{NoticeView, Remind, Retract, Update};
use crate::send::{Deliver, Reply, Send, SendView};
use crate::stream::Follow;
use crate::token::{
    TokenCreate, TokenCreated, TokenList, TokenRevoke, TokenView, WebLogin, WebLoginView,
};
use crate::track::{Track, TrackView};
use crate::trust::{PinView, TrustAdd, TrustExport, TrustList, TrustRemove, TrustShow};

/// A request to the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// The daemon's names, counters and interface.
    Status(Status),
    /// The name service.
    Names(NamesRequest),
    /// Sending.
    Send(SendRequest),
    /// The inbox.
    Inbox(InboxRequest),
    /// Do-not-disturb.
    Quiet(Quiet),
    /// The live stream of new messages (answered by a stream).
    Follow(Follow),
    /// A message another program received.
    Deliver(Deliver),
    /// Keys and pins.
    Trust(TrustRequest),
    /// The receipts of a sent message.
    Track(Track),
    /// An alert for the configured subscribers.
    Alert(Alert),
    /// Tokens for the HTTP API.
    Token(TokenRequest),
}

/// Tokens' requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenRequest {
    /// [`TokenCreate`].
    Create(TokenCreate),
    /// [`TokenList`].
    List(TokenList),
    /// [`TokenRevoke`].
    Revoke(TokenRevoke),
    /// [`WebLogin`].
    WebLogin(WebLogin),
}

/// Keys' and pins' requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustRequest {
    /// [`TrustList`].
    List(TrustList),
    /// [`TrustShow`].
    Show(TrustShow),
    /// [`TrustAdd`].
    Add(TrustAdd),
    /// [`TrustRemove`].
    Remove(TrustRemove),
    /// [`TrustExport`].
    Export(TrustExport),
}

/// The name service's requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NamesRequest {
    /// [`NameList`].
    List(NameList),
    /// [`NameAdd`].
    Add(NameAdd),
    /// [`NameDel`].
    Del(NameDel),
    /// [`Lookup`].
    Lookup(Lookup),
    /// [`NodeStatus`].
    NodeStatus(NodeStatus),
}

/// Sending's requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendRequest {
    /// [`Send`].
    Send(Send),
    /// [`Reply`].
    Reply(Reply),
    /// [`Update`].
    Update(Update),
    /// [`Retract`].
    Retract(Retract),
    /// [`Remind`].
    Remind(Remind),
}

/// The inbox's requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxRequest {
    /// [`InboxList`].
    List(InboxList),
    /// [`Search`].
    Search(Search),
    /// [`Read`].
    Read(Read),
    /// [`Rm`].
    Rm(Rm),
    /// [`Unread`].
    Unread(Unread),
    /// [`Export`] (answered by a stream).
    Export(Export),
}

/// A request with a single typed answer: what [`crate::Client::call`]
/// sends and what it returns.
pub trait Call: Into<Request> {
    /// The answer's type.
    type Output: Serialize + DeserializeOwned;
}

macro_rules! calls {
    ($($call:ty => $wrap:expr, $out:ty;)*) => {$(
        impl From<$call> for Request {
            fn from(c: $call) -> Request {
                $wrap(c)
            }
        }
        impl Call for $call {
            type Output = $out;
        }
    )*};
}

calls! {
    Status => Request::Status, StatusView;
    NameList => |c| Request::Names(NamesRequest::List(c)), Vec<NameView>;
    NameAdd => |c| Request::Names(NamesRequest::Add(c)), NameView;
    NameDel => |c| Request::Names(NamesRequest::Del(c)), String;
    Lookup => |c| Request::Names(NamesRequest::Lookup(c)), LookupView;
    NodeStatus => |c| Request::Names(NamesRequest::NodeStatus(c)), NodeStatusView;
    Send => |c| Request::Send(SendRequest::Send(c)), Vec<SendView>;
    Reply => |c| Request::Send(SendRequest::Reply(c)), SendView;
    Update => |c| Request::Send(SendRequest::Update(c)), NoticeView;
    Retract => |c| Request::Send(SendRequest::Retract(c)), NoticeView;
    Remind => |c| Request::Send(SendRequest::Remind(c)), NoticeView;
    InboxList => |c| Request::Inbox(InboxRequest::List(c)), InboxPage;
    Search => |c| Request::Inbox(InboxRequest::Search(c)), InboxPage;
    Read => |c| Request::Inbox(InboxRequest::Read(c)), MessageView;
    Rm => |c| Request::Inbox(InboxRequest::Rm(c)), i64;
    Unread => |c| Request::Inbox(InboxRequest::Unread(c)), UnreadView;
    Quiet => Request::Quiet, QuietView;
    Deliver => Request::Deliver, i64;
    TrustList => |c| Request::Trust(TrustRequest::List(c)), Vec<PinView>;
    TrustShow => |c| Request::Trust(TrustRequest::Show(c)), PinView;
    TrustAdd => |c| Request::Trust(TrustRequest::Add(c)), PinView;
    TrustRemove => |c| Request::Trust(TrustRequest::Remove(c)), PinView;
    TrustExport => |c| Request::Trust(TrustRequest::Export(c)), String;
    Track => Request::Track, TrackView;
    TokenCreate => |c| Request::Token(TokenRequest::Create(c)), TokenCreated;
    TokenList => |c| Request::Token(TokenRequest::List(c)), Vec<TokenView>;
    TokenRevoke => |c| Request::Token(TokenRequest::Revoke(c)), TokenView;
    Alert => Request::Alert, AlertView;
    WebLogin => |c| Request::Token(TokenRequest::WebLogin(c)), WebLoginView;
}

impl From<Export> for Request {
    fn from(c: Export) -> Request {
        Request::Inbox(InboxRequest::Export(c))
    }
}

impl From<Follow> for Request {
    fn from(c: Follow) -> Request {
        Request::Follow(c)
    }
}

impl Request {
    /// Whether only root (or the daemon's own user) may make this request.
    pub fn is_privileged(&self) -> bool {
        matches!(
            self,
            Request::Names(NamesRequest::Add(_) | NamesRequest::Del(_))
                | Request::Trust(TrustRequest::Add(_) | TrustRequest::Remove(_))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_a_stable_json_form() {
        let r: Request = NameAdd {
            name: "HELPDESK".into(),
            group: false,
        }
        .into();
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"names":{"add":{"name":"HELPDESK"}}}"#
        );
        let back: Request =
            serde_json::from_str(r#"{"names":{"lookup":{"name":"H1","suffix":3}}}"#).unwrap();
        assert_eq!(
            back,
            Request::Names(NamesRequest::Lookup(Lookup {
                name: "H1".into(),
                suffix: 3
            }))
        );
        assert_eq!(
            serde_json::to_string(&Request::from(Status {})).unwrap(),
            r#"{"status":{}}"#
        );
        assert!(serde_json::from_str::<Request>(r#"{"format_disk":{}}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"request":"status"}"#).is_err());
        assert!(r.is_privileged());
        assert!(!Request::from(Status {}).is_privileged());
    }

    #[test]
    fn deliver_carries_bytes_as_hex() {
        let d = Deliver {
            transport: crate::Transport::Samba,
            from: "A".into(),
            to: "B".into(),
            text: b"caf\xe9\r\n\x00\xff".to_vec(),
        };
        let s = serde_json::to_string(&Request::from(d.clone())).unwrap();
        assert!(s.contains(r#""text":"636166e90d0a00ff""#), "{s}");
        assert_eq!(serde_json::from_str::<Request>(&s).unwrap(), d.into());
        let odd = s.replace("636166e90d0a00ff", "abc");
        assert!(serde_json::from_str::<Request>(&odd).is_err());
    }
}
