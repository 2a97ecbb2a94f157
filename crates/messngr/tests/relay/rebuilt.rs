//! A cluster that comes back with empty stores (its disks lost, or an
//! admin who rebuilt it): the daemons make the directory and the message
//! stream again by themselves, without a restart, and what is sent then
//! arrives.

use std::time::Duration;

use super::support::{Daemon, NatsCluster, text, wait_for};
use super::{has_text, relay, routed_lan, wait_published};

#[test]
fn a_cluster_back_with_empty_stores_is_made_ready_again_without_a_restart() {
    let Some(lan) = routed_lan() else { return };
    let mut nats = NatsCluster::start(&lan, &[1, 2, 4]);
    // Entries renewed every 10 s (a third of the TTL), so H2's comes back
    // within the test's waits.
    let cfg = nats.relay_config(&lan, "directory_ttl_secs = 30\n");
    let h1 = Daemon::start(&lan, 3, "H1", &cfg);
    let h2 = Daemon::start(&lan, 5, "H2", &format!("names = [\"OPS2\"]\n{cfg}"));
    wait_published(&h1, &nats);
    wait_published(&h2, &nats);
    h1.cli_ok(&["send", "OPS2", "before the rebuild"]);
    assert!(has_text(&h2.wait_inbox(1), "before the rebuild"));

    nats.rebuild(&lan);
    assert_eq!(nats.stream_messages(&lan, "MESSNGR_MAIL"), None);

    // H2 writes its entry again: the directory's bucket made anew.
    let written = relay(&h2)["published"].as_u64().unwrap_or(0);
    wait_for(
        Duration::from_secs(60),
        || relay(&h2)["published"].as_u64() > Some(written),
        || format!("{}\n{}\n{}", relay(&h2), h2.log(), nats.logs()),
    );

    // A message sent now arrives (queued at once, or kept until the
    // message stream is made anew): the stream, and H2's consumer, made
    // again by the daemons.
    let o = h1.cli_ok(&["send", "OPS2", "after the rebuild"]);
    let said = text(&o);
    assert!(
        said.contains("queued") || said.contains("kept on this host"),
        "{said}"
    );
    wait_for(
        Duration::from_secs(90),
        || has_text(&h2.inbox(), "after the rebuild"),
        || {
            format!(
                "{}\n{}\n{}\n{}",
                relay(&h1),
                h1.log(),
                h2.log(),
                nats.logs()
            )
        },
    );
    assert!(nats.stream_messages(&lan, "MESSNGR_MAIL").is_some());
}
