//! Tells systemd how the daemon is doing (`Type=notify` in
//! `messngr.service`): ready once every port is bound and root is given up,
//! reloading while a SIGHUP is applied, stopping once asked to stop.
//!
//! Why its own module: the three moments are decided in `daemon` and
//! `reload`, and the protocol (a datagram to `$NOTIFY_SOCKET`) is the
//! `sd-notify` crate's. Outside systemd there is no `$NOTIFY_SOCKET` and
//! every call does nothing; a failure to tell systemd is logged, never
//! fatal (systemd then times the start out and says so itself).

use sd_notify::NotifyState;

fn tell(what: &str, states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::warn!("cannot tell systemd the daemon is {what}: {e} ($NOTIFY_SOCKET)");
    }
}

/// Every port is bound, root is given up, the inbox is open.
pub(crate) fn ready(status: &str) {
    tell("ready", &[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A SIGHUP is being applied (`systemctl reload messngr`); [`ready`]
/// follows once it is.
pub(crate) fn reloading() {
    let mut states = vec![NotifyState::Reloading];
    if let Ok(now) = NotifyState::monotonic_usec_now() {
        states.push(now);
    }
    tell("reloading", &states);
}

/// The daemon is releasing its names and stopping.
pub(crate) fn stopping() {
    tell("stopping", &[NotifyState::Stopping]);
}
