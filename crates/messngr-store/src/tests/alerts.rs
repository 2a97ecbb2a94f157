//! Alerts (issue 12): the mark, title and repeat count are stored and read
//! back, only an alert's author can count a repeat, and a plain message is
//! no alert.

use super::{T0, msg, temp_store};
use crate::{AlertMark, NewMessage, StoreError, Transport};

const ROOT: &str = "root@H2";

fn alert(uuid: u8, title: Option<&str>) -> NewMessage {
    let mut m = NewMessage::received(Transport::Messngr, "root", "H1", "disk", b"disk");
    m.received_at = T0;
    m.uuid = Some(format!("{uuid:032x}"));
    m.verified = true;
    m.author = Some(ROOT.into());
    m.alert = Some(AlertMark {
        title: title.map(str::to_owned),
        repeats: 1,
    });
    m
}

#[test]
fn an_alert_keeps_its_mark_title_and_repeats() {
    let (_dir, mut store) = temp_store();
    let a = store.insert(&alert(1, Some("backup"))).unwrap();
    let plain = store.insert(&msg("H3", "H1", "hello", T0)).unwrap();
    let got = store.get(a.id).unwrap();
    assert_eq!(got, a);
    assert_eq!(
        got.alert,
        Some(AlertMark {
            title: Some("backup".into()),
            repeats: 1
        })
    );
    assert_eq!(store.get(plain.id).unwrap().alert, None);

    let uuid = format!("{:032x}", 1);
    // Another author counts nothing; the author does, never downwards.
    assert!(store.set_repeats(&uuid, "eve@H3", 5).unwrap().is_empty());
    let rows = store.set_repeats(&uuid, ROOT, 3).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].alert.as_ref().map(|a| a.repeats), Some(3));
    store.set_repeats(&uuid, ROOT, 2).unwrap();
    let got = store.get(a.id).unwrap();
    assert_eq!(got.alert.map(|a| a.repeats), Some(3));
    // A plain message is never counted.
    let plain_uuid = store.get(plain.id).unwrap().uuid;
    assert!(store.set_repeats(&plain_uuid, ROOT, 2).unwrap().is_empty());
}

#[test]
fn a_bad_alert_is_refused() {
    let (_dir, mut store) = temp_store();
    let mut zero = alert(2, None);
    zero.alert = Some(AlertMark {
        title: None,
        repeats: 0,
    });
    assert!(matches!(store.insert(&zero), Err(StoreError::Invalid(_))));
    let long = "t".repeat(256);
    let bad = alert(3, Some(&long));
    assert!(matches!(store.insert(&bad), Err(StoreError::Invalid(_))));
    assert_eq!(store.count_unread().unwrap(), 0);
}
