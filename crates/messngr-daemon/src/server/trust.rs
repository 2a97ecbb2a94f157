//! `messngr trust …` and the key lines of `messngr status`: the pins and
//! this host's key as the API shows them.
//!
//! Why apart from dispatch: the requests are plain reads and writes of the
//! pins, but each view must say the same thing the same way (the whole
//! key, the fingerprint people read aloud, where the pin came from), and
//! each mistake must say what to do.

use messngr_api::frame::{Reply, encode};
use messngr_api::{ApiError, ErrorKind, KeyChangeView, PinView, StatusView, TrustRequest};
use messngr_secure::{Pin, PinSource, PublicKey};
use serde::Serialize;

use crate::secure::Secure;

fn line<T: Serialize>(r: Result<T, ApiError>) -> Vec<u8> {
    encode(&Reply::from(r))
}

fn view(p: &Pin) -> PinView {
    PinView {
        name: p.name.clone(),
        key: p.key.to_string(),
        fingerprint: p.key.fingerprint().to_string(),
        source: p.source.as_str().to_owned(),
        first_seen_ms: (p.source != PinSource::File).then_some(p.first_seen_ms),
    }
}

fn own(secure: &Secure) -> PinView {
    let key = secure.host().public();
    PinView {
        name: secure.host_name().to_owned(),
        key: key.to_string(),
        fingerprint: key.fingerprint().to_string(),
        source: "self".to_owned(),
        first_seen_ms: None,
    }
}

fn host_name(name: &str) -> Result<String, ApiError> {
    messngr_secure::host_name(name).map_err(|e| ApiError::new(ErrorKind::BadName, e.to_string()))
}

/// Answers one trust request (adding and removing are root's: checked by
/// dispatch with the other privileged requests).
pub(super) fn answer(secure: &Secure, r: TrustRequest) -> Vec<u8> {
    let trust = secure.trust();
    match r {
        TrustRequest::List(_) => line(Ok(trust.list().iter().map(view).collect::<Vec<_>>())),
        TrustRequest::Show(s) => line(match s.name {
            None => Ok(own(secure)),
            Some(n) => host_name(&n).and_then(|n| {
                if n == secure.host_name() {
                    return Ok(own(secure));
                }
                trust
                    .list()
                    .iter()
                    .find(|p| p.name == n)
                    .map(view)
                    .ok_or_else(|| {
                        ApiError::new(
                            ErrorKind::NotFound,
                            format!("{n} has no pinned key: `messngr trust list` shows the pins"),
                        )
                    })
            }),
        }),
        TrustRequest::Add(a) => line(host_name(&a.name).and_then(|n| {
            let key: PublicKey = a.key.trim().parse().map_err(|e| {
                ApiError::bad_request(format!(
                    "{e}: give the key as `messngr trust show` prints it on {n} (ed25519: and 64 hex digits)"
                ))
            })?;
            if trust.is_ours(&n) {
                return Err(ApiError::bad_request(format!(
                    "{n} is this host's own name: no other host's key can be pinned under it"
                )));
            }
            if trust.in_trust_file(&n) {
                return Err(ApiError::new(
                    ErrorKind::Denied,
                    format!("{n} is pinned by the trust file, which wins: change it there"),
                ));
            }
            Ok(view(&trust.add(&n, key)))
        })),
        TrustRequest::Remove(r) => line(host_name(&r.name).and_then(|n| {
            if trust.in_trust_file(&n) {
                return Err(ApiError::new(
                    ErrorKind::Denied,
                    format!("{n} is pinned by the trust file: remove it there"),
                ));
            }
            trust.remove(&n).map(|p| view(&p)).ok_or_else(|| {
                ApiError::new(ErrorKind::NotFound, format!("{n} has no pin of this daemon's"))
            })
        })),
        TrustRequest::Export(_) => line(Ok(trust.export())),
    }
}

/// This host's fingerprint and the refused key changes, for `status`.
pub(super) fn add_to_status(secure: &Secure, view: &mut StatusView) {
    view.host_key = Some(secure.host().public().fingerprint().to_string());
    view.key_changes = secure
        .trust()
        .changes()
        .into_iter()
        .map(|(name, c)| KeyChangeView {
            name,
            pinned: c.pinned,
            offered: c.offered,
            address: c.address,
            count: c.count,
            last_ms: c.last_ms,
        })
        .collect();
}
