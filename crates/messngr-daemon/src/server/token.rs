//! `messngr token create|list|revoke`: the HTTP API's tokens as the local
//! API shows them.
//!
//! Why here: a token acts as an account, so it is made only over the Unix
//! socket, whose caller the kernel names (`SO_PEERCRED`); an account sees
//! and revokes its own, root and `admin_group` anyone's. A web login
//! code (`messngr web`) is minted here for the same reason.

use messngr_api::{ApiError, ErrorKind, TokenCreated, TokenRequest, TokenView, WebLoginView};

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

fn no_account(caller: &Caller) -> ApiError {
    ApiError::new(
        ErrorKind::Denied,
        format!(
            "uid {} has no account name: a token acts as an account",
            caller.uid
        ),
    )
}

/// `messngr web`: a one-time link to the web inbox, signed in as `caller`.
fn web_login(services: &super::Services, caller: &Caller) -> Result<WebLoginView, ApiError> {
    let user = caller.user.as_ref().ok_or_else(|| no_account(caller))?;
    let listen = services
        .settings
        .http
        .listen()
        .map_err(|e| ApiError::new(ErrorKind::Disabled, e.to_string()))?;
    // 127.0.0.1 rather than [::1] when both: any browser takes it.
    let Some(addr) = listen.iter().find(|a| a.is_ipv4()).or(listen.first()) else {
        return Err(ApiError::new(
            ErrorKind::Disabled,
            "the HTTP listener is off ([http] listen = []): the web inbox needs it",
        ));
    };
    let entry = services.tokens.web_token(caller.uid, user).map_err(error)?;
    let code = services
        .web
        .mint_code(entry.id, caller.uid)
        .map_err(|e| ApiError::new(ErrorKind::Unknown, e.to_string()))?;
    let mut addr = *addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok(WebLoginView {
        url: format!("http://{addr}/web/login?code={code}"),
        expires_in_secs: u32::try_from(crate::websession::CODE_LIFETIME.as_secs())
            .unwrap_or(u32::MAX),
    })
}

/// Answers one token request from `caller` with one reply line.
pub(super) fn answer(services: &super::Services, caller: &Caller, r: TokenRequest) -> Vec<u8> {
    let tokens: &Tokens = &services.tokens;
    match r {
        TokenRequest::WebLogin(_) => line(web_login(services, caller)),
        TokenRequest::Create(c) => {
            let Some(user) = &caller.user else {
                return line::<()>(Err(no_account(caller)));
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
