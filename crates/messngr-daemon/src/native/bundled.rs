//! A bundle the relay brought (native KIND 7): several frames one host
//! sealed together, each then checked and stored as if it came alone.
//!
//! Why the checks before the frames' own: a host bundles only what it
//! signed itself (its users' messages and receipts, its forwards as a
//! gateway), so every frame names one signer host, and that host's pinned
//! key sealed the envelope. Checked once here, a bundle from anyone else
//! costs one lookup and is dropped whole, instead of asking 64 frames'
//! worth of directory and store work. What passes is still checked frame
//! by frame (`relayed`), side by side, within [`super::FRAMES_IN_FLIGHT`]
//! over every bundle.

use messngr_proto::wire::native::Repr;
use messngr_proto::wire::native::bundle::Bundle;

use super::Inbound;
use crate::relay::{Relay, Settle, Taken};

impl Inbound {
    /// Checks the bundle's signer and sealer, then its frames.
    pub(super) async fn bundle(
        &self,
        relay: &Relay,
        taken: &Taken,
        sealer: [u8; 32],
        bundle: &Bundle<'_>,
        sequence: u64,
    ) -> Result<Settle, String> {
        let host = one_signer(bundle)?;
        let sealed_by_signer = || {
            self.secure
                .trust()
                .pinned(&host)
                .is_some_and(|k| k.x25519() == sealer)
        };
        if self.secure.trust().pinned(&host).is_none()
            && !self
                .introduce(relay, &host, "bundle", true, sequence)
                .await?
        {
            return Ok(Settle::Later);
        }
        if !sealed_by_signer() {
            return Err(format!(
                "a bundle signed on {host} was sealed by another key"
            ));
        }
        let settles =
            futures_util::future::join_all(bundle.frames().iter().map(|frame| async move {
                let _permit = self.frames.acquire().await;
                self.frame(relay, sealer, frame, sequence).await
            }))
            .await;
        let total = settles.len();
        let (settle, refused) = combined(settles);
        // Counted and logged when settled (offered again while another of
        // its frames waits, it would be counted each time).
        if let Some(first) = refused.first().filter(|_| !matches!(settle, Settle::Later)) {
            for _ in refused.iter().skip(1) {
                relay.count_dropped();
            }
            relay.drop_logged(
                crate::relay::DropKind::Refused,
                format_args!(
                    "{} of the {total} messages bundled on {}: {first}",
                    refused.len(),
                    taken.subject
                ),
            );
        }
        Ok(settle)
    }
}

/// The host that signed every frame of `bundle` (upper case), or why
/// there is none: a frame that is not a signed message or receipt, or
/// frames signed on several hosts.
fn one_signer(bundle: &Bundle<'_>) -> Result<String, String> {
    let mut host: Option<String> = None;
    for frame in bundle.frames() {
        let signer = match Repr::parse(frame) {
            Ok(Repr::Message(m)) => m.signer.map(|s| s.host),
            Ok(Repr::Receipt(r)) => Some(r.signer.host),
            Ok(other) => return Err(format!("a bundle holds a {:?} frame", other.kind())),
            Err(e) => return Err(format!("a bundle holds a frame that does not parse: {e}")),
        };
        let signer = signer
            .ok_or("a bundle holds an unsigned message")?
            .to_ascii_uppercase();
        match &host {
            Some(h) if *h != signer => {
                return Err(format!(
                    "a bundle holds frames signed on {h} and on {signer}"
                ));
            }
            Some(_) => {}
            None => host = Some(signer),
        }
    }
    host.ok_or_else(|| "an empty bundle".to_owned())
}

/// What the stream does with a bundle whose frames came to `settles`, and
/// why each refused one was: offered again if any must wait (those stored
/// now are kept once when it comes back), else removed.
fn combined(settles: Vec<Result<Settle, String>>) -> (Settle, Vec<String>) {
    let mut later = false;
    let mut refused = Vec::new();
    for settle in settles {
        match settle {
            Ok(Settle::Later) => later = true,
            Ok(Settle::Done | Settle::Drop) => {}
            Err(why) => refused.push(why),
        }
    }
    (if later { Settle::Later } else { Settle::Done }, refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    use messngr_proto::wire::Emit;
    use messngr_proto::wire::native::Signer;

    fn is_later(s: &Settle) -> bool {
        matches!(s, Settle::Later)
    }

    /// A message frame signed (as far as its fields go) on `host`, or
    /// unsigned.
    fn frame(host: Option<&str>, n: u8) -> Vec<u8> {
        let signer = host.map(|host| Signer {
            author: "alice",
            host,
            author_key: [1; 32],
            host_key: [2; 32],
            cert: [3; 64],
        });
        super::super::tests::frame_signed([n; 16], "alice", "OPS2", "hi", signer)
    }

    #[test]
    fn a_bundle_is_one_hosts_signed_frames_or_refused_whole() {
        let (a, b) = (frame(Some("H1"), 1), frame(Some("h1"), 2));
        let ok = Bundle::new(vec![&a, &b]).unwrap();
        assert_eq!(one_signer(&ok).unwrap(), "H1");
        let other = frame(Some("EVIL"), 3);
        let mixed = Bundle::new(vec![&a, &other]).unwrap();
        assert!(
            one_signer(&mixed)
                .unwrap_err()
                .contains("on H1 and on EVIL")
        );
        let unsigned = frame(None, 4);
        let with_unsigned = Bundle::new(vec![&a, &unsigned]).unwrap();
        assert!(one_signer(&with_unsigned).unwrap_err().contains("unsigned"));
        let accepted = Repr::Accepted { uuid: [5; 16] }.to_vec().unwrap();
        let with_other_kind = Bundle::new(vec![&a, &accepted]).unwrap();
        assert!(one_signer(&with_other_kind).is_err());
    }

    #[test]
    fn a_bundle_waits_if_any_frame_waits_and_counts_each_refusal() {
        let (s, refused) = combined(vec![Ok(Settle::Done), Ok(Settle::Drop)]);
        assert!(!is_later(&s) && refused.is_empty());
        let (s, refused) = combined(vec![
            Ok(Settle::Done),
            Err("forged".into()),
            Ok(Settle::Later),
        ]);
        assert!(is_later(&s));
        assert_eq!(refused, ["forged"]);
        let (s, refused) = combined(vec![Err("a".into()), Err("b".into())]);
        assert!(!is_later(&s));
        assert_eq!(refused.len(), 2);
    }
}
