//! `messngr token create|list|revoke`: the HTTP API's tokens as the local
//! API shows them.
//!
//! Why here: a token acts as an account, so it is made only over the Unix
//! socket, whose caller the kernel names (`SO_PEERCRED`); an account sees
//! and revokes its own, root and `admin_group` anyone's.

use messngr_api::{ApiError, ErrorKind, TokenCreated, TokenRequest, TokenView};

use crate::access::Caller;
use crate::tokens::{Entry, TokenError, Tokens};

fn view(e: &Entry) -> TokenView {
    TokenView {
        id: e.id,
        user: e.user.clone(),
        label: e.label.clone(),
        created_ms: e.created_ms,
        prefix: format!("{}…", e.prefix),
    }
}

fn error(e: TokenError) -> ApiError {
    let kind = match e {
        TokenError::NotFound(_) => ErrorKind::NotFound,
        TokenError::TooMany | TokenError::BadLabel => ErrorKind::BadRequest,
        TokenError::Io { .. } | TokenError::Random(_) => ErrorKind::Store,
    };
    ApiError::new(kind, e.to_string())
}

fn line<T: serde::Serialize>(r: Result<T, ApiError>) -> Vec<u8> {
    messngr_api::frame::encode(&messngr_api::Reply::from(r))
}

/// Answers one token request from `caller` with one reply line.
pub(super) fn answer(tokens: &Tokens, caller: &Caller, r: TokenRequest) -> Vec<u8> {
    match r {
        TokenRequest::Create(c) => {
            let Some(user) = &caller.user else {
                return line::<()>(Err(ApiError::new(
                    ErrorKind::Denied,
                    format!(
                        "uid {} has no account name: a token acts as an account",
                        caller.uid
                    ),
                )));
            };
            line(
                tokens
                    .create(caller.uid, user, c.label.as_deref())
                    .map(|(e, token)| TokenCreated {
                        view: view(&e),
                        token,
                    })
                    .map_err(error),
            )
        }
        TokenRequest::List(_) => line(Ok(tokens
            .list(caller.uid, caller.admin)
            .iter()
            .map(view)
            .collect::<Vec<_>>())),
        TokenRequest::Revoke(r) => line(
            tokens
                .revoke(caller.uid, caller.admin, r.id)
                .map(|e| view(&e))
                .map_err(error),
        ),
    }
}
