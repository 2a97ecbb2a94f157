//! Messages from a local account to a name this host holds (its NetBIOS
//! name, an alias, a logged-in user's `USER<03>`): stored here directly,
//! without a network round trip.
//!
//! Why this is worth a path of its own: it is the one case where the
//! sender is *known*. The kernel reported the caller's uid for the API
//! socket (`SO_PEERCRED`), so the message is stored verified, with that
//! uid — which is what lets root send an urgent message that reaches a
//! terminal set to `mesg n`, as `wall` does. A remote node could not check
//! a uid, so none is ever put on the wire.
//!
//! The sender's name is the caller's login name (`alice`, `root`), never
//! the host's: a verified message must say which person sent it, or any
//! user could pass for the system. `messngr reply` to such a message is
//! stored directly for that account (see `daemon::reply`), whether or not
//! its name is registered as a messenger name, so a reply never lands in
//! the host's shared inbox.

use messngr_store::Priority;

use crate::api::Response;
use crate::send::{Options, SendContext, SendView};

/// A message a local account sends to a name held here.
#[derive(Debug, Clone, Copy)]
pub struct Local<'a> {
    /// The sender's name (see the module doc).
    pub from: &'a str,
    /// The recipient as given.
    pub to: &'a str,
    /// The text, UTF-8 as typed.
    pub text: &'a str,
    /// The caller's uid.
    pub uid: u32,
    /// As given, normal by default.
    pub priority: Priority,
    /// `--time`.
    pub popup_secs: Option<u32>,
}

/// The name a local sender's messages carry: its login name (`uid1234`
/// for a uid without an account).
pub fn sender_name(uid: u32) -> String {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map_or_else(|| format!("uid{uid}"), |u| u.name)
}

/// Stores the message in this host's inbox and answers like a delivered
/// send.
pub async fn send(ctx: &SendContext, target: &str, text: &str, opts: Options) -> Response {
    if text.len() > messngr_proto::wire::native::MAX_TEXT_LEN {
        return Response::err(
            "too_long",
            format!(
                "the message is longer than {} bytes: shorten it",
                messngr_proto::wire::native::MAX_TEXT_LEN
            ),
        );
    }
    let from = sender_name(opts.uid);
    let local = Local {
        from: &from,
        to: target,
        text,
        uid: opts.uid,
        priority: opts.priority.unwrap_or_default(),
        popup_secs: opts.popup_secs,
    };
    match ctx.inbox.store_local(local).await {
        Ok(crate::delivery::Stored(id)) => {
            tracing::info!(
                "message {id} from uid {} ({from}) to {target} stored here",
                opts.uid
            );
            Response::ok(SendView {
                target: target.to_owned(),
                transport: "messngr".into(),
                address: ctx.settings.iface.address,
                outcome: "delivered".into(),
                replaced: 0,
                blocks: 0,
                native: true,
                warning: None,
            })
        }
        Err(e) => {
            tracing::error!("message from uid {} to {target} NOT stored: {e}", opts.uid);
            Response::err("refused", format!("not stored here: {e}"))
        }
    }
}
