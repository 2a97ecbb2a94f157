//! `http-load`'s answer reader and request builder, without a server.

use super::*;

#[test]
fn answers_are_read_by_their_length_and_say_whether_to_keep_the_connection() {
    let mut r = &b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"[..];
    let mut buf = Vec::new();
    assert_eq!(
        read_answer(&mut r, &mut buf),
        Ok(Answer {
            status: 200,
            keep_alive: true
        })
    );
    let mut r =
        &b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"[..];
    assert_eq!(
        read_answer(&mut r, &mut buf),
        Ok(Answer {
            status: 413,
            keep_alive: false
        })
    );
    let mut r = &b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"[..];
    assert_eq!(read_answer(&mut r, &mut buf), Err(Failure::Io));
    let mut r = &b"SSH-2.0-x\r\n\r\n"[..];
    assert_eq!(read_answer(&mut r, &mut buf), Err(Failure::Protocol));
    let mut r = &b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"[..];
    assert!(!read_answer(&mut r, &mut buf).unwrap().keep_alive);
}

#[test]
fn texts_carry_a_unique_marker_and_requests_their_length() {
    let t = message_text("abcd0123", 3, 7, 40);
    assert!(
        t.starts_with("httpbench-abcd0123-3-7 ") && t.len() == 40,
        "{t}"
    );
    assert!(message_text("abcd0123", 3, 7, 0).starts_with("httpbench-"));
    let o = Options {
        target: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 839),
        token: "tk_x".into(),
        to: "H1".into(),
        connections: 1,
        duration: Duration::from_secs(1),
        text_len: 10,
        track: true,
        max_messages: 1,
        timeout: Duration::from_secs(1),
        probe: false,
        json: false,
    };
    let r = String::from_utf8(publish(&o, "a \"quoted\" text")).unwrap();
    let (head, body) = r.split_once("\r\n\r\n").unwrap();
    assert!(
        head.contains(&format!("Content-Length: {}", body.len())),
        "{r}"
    );
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["text"], "a \"quoted\" text");
    assert_eq!(v["track"], true);
}
