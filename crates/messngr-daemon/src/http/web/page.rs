//! The web inbox's pages, rendered on the server as HTML strings.
//!
//! Why by hand and not a template engine: a handful of small pages, and
//! one rule that must never be broken — everything a message or a peer
//! chose (text, names, addresses, errors that quote them) goes through
//! [`esc`], so it is shown as text and never read as HTML. Scripts and
//! styles are files of our own (`/web/static/…`), as the CSP demands: no
//! inline script or style anywhere.

use std::fmt::Write;

use messngr_api::{Direction, InboxPage, LookupView, MessageView, Priority, UnreadView};

/// Text as HTML text or attribute value: nothing in it is markup.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: `body` is HTML made here (escaped where it must be).
fn layout(title: &str, signed_in: Option<(&str, &str)>, body: &str) -> String {
    let nav = match signed_in {
        Some((user, csrf)) => format!(
            "<nav><a href=\"/web/\">Inbox</a> <a href=\"/web/compose\">Write</a> \
             <a href=\"/web/export\" download=\"messngr-export.jsonl\">Export</a> \
             <form method=\"post\" action=\"/web/logout\" class=\"inline\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Sign out {}</button></form></nav>",
            esc(csrf),
            esc(user)
        ),
        None => String::new(),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} — messngr</title>\
         <link rel=\"stylesheet\" href=\"/web/static/app.css\">\
         <script src=\"/web/static/app.js\" defer></script></head>\
         <body><header><h1>messngr</h1>{nav}</header><main>{body}</main></body></html>\n",
        esc(title)
    )
}

/// A notice at the top of a page (`role=status`), if any.
fn notice(text: Option<&str>) -> String {
    text.map(|t| format!("<p class=\"notice\" role=\"status\">{}</p>", esc(t)))
        .unwrap_or_default()
}

/// The sign-in page: a token, or `messngr web`'s link.
pub(crate) fn login(error: Option<&str>) -> String {
    let body = format!(
        "{}<form method=\"post\" action=\"/web/login\" id=\"login\">\
         <label for=\"token\">Token</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" required \
         placeholder=\"tk_…\">\
         <button type=\"submit\">Sign in</button></form>\
         <p>Make a token with <code>messngr token create</code>, \
         or run <code>messngr web</code> to open this page signed in.</p>",
        error
            .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
            .unwrap_or_default()
    );
    layout("Sign in", None, &body)
}

/// The marks shown before a message's text: where it came from and
/// whether that is verified (`[verified root@H2]`, `[UNVERIFIED smb from
/// …]`, as the CLI shows them), and how urgent it is. Further marks (an
/// alert's) join this list, each a (class, text) pair.
fn marks(m: &MessageView) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    let class = if m.verified { "verified" } else { "unverified" };
    v.push((class, format!("[{}]", m.provenance())));
    if let Some(alert) = m.alert_mark() {
        v.push(("alert", alert));
    }
    if m.priority == Priority::Urgent {
        v.push(("urgent", "urgent".to_owned()));
    }
    if m.retracted_at_ms.is_some() {
        v.push(("retracted", "withdrawn".to_owned()));
    } else if m.updated_at_ms.is_some() {
        v.push(("updated", "updated".to_owned()));
    }
    v
}

fn marks_html(m: &MessageView) -> String {
    marks(m)
        .iter()
        .map(|(class, text)| format!("<span class=\"mark {class}\">{}</span>", esc(text)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A name a sender chose, as one plain line: no control or direction
/// characters that could dress it up or turn the marks beside it around.
fn name(n: &str) -> String {
    messngr_proto::text::sanitize_line(n).into_owned()
}

fn when(ms: i64) -> String {
    esc(&messngr_api::time::local(ms))
}

/// The first line of a text, short, for a list.
fn preview(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut p: String = first.chars().take(120).collect();
    if first.chars().count() > 120 || text.lines().nth(1).is_some() {
        p.push('…');
    }
    p
}

/// What the inbox page lists: the query as asked, for links.
#[derive(Debug, Default)]
pub(crate) struct Shown<'a> {
    pub(crate) q: Option<&'a str>,
    pub(crate) unread: bool,
    pub(crate) notice: Option<&'a str>,
}

/// The inbox: newest first, unread ones marked, search, the next page.
pub(crate) fn inbox(
    user: &str,
    csrf: &str,
    page: &InboxPage,
    unread: UnreadView,
    shown: &Shown<'_>,
) -> String {
    let mut body = notice(shown.notice);
    let _ = write!(
        body,
        "<form method=\"get\" action=\"/web/\" class=\"search\" role=\"search\">\
         <input name=\"q\" type=\"search\" placeholder=\"Search\" value=\"{}\">\
         <label><input type=\"checkbox\" name=\"unread\" value=\"true\"{}> unread only</label>\
         <button type=\"submit\">Search</button></form>\
         <p class=\"count\"><span id=\"unread\">{}</span> unread</p>\
         <ul id=\"messages\" class=\"messages\">",
        esc(shown.q.unwrap_or("")),
        if shown.unread { " checked" } else { "" },
        unread.count
    );
    for m in page.messages.iter().rev() {
        body.push_str(&row(m));
    }
    body.push_str("</ul>");
    if page.messages.is_empty() {
        body.push_str("<p class=\"empty\">No messages.</p>");
    }
    if let Some(oldest) = page.messages.first().filter(|_| page.older > 0) {
        let mut link = format!("/web/?before={}", oldest.id);
        if let Some(q) = shown.q {
            let _ = write!(link, "&q={}", url_encode(q));
        }
        if shown.unread {
            link.push_str("&unread=true");
        }
        let _ = write!(
            body,
            "<p><a class=\"older\" href=\"{}\">Older ({} more)</a></p>",
            esc(&link),
            page.older
        );
    }
    layout("Inbox", Some((user, csrf)), &body)
}

/// One message in the list. app.js builds the same from live events.
fn row(m: &MessageView) -> String {
    let class = if m.direction == Direction::In && m.is_unread() {
        "message unread"
    } else {
        "message"
    };
    let who = match m.direction {
        Direction::In => format!("from {}", name(&m.from)),
        Direction::Out => format!("to {}", name(&m.to)),
    };
    format!(
        "<li class=\"{class}\" data-id=\"{id}\"><a href=\"/web/m/{id}\">\
         <span class=\"who\">{}</span> <time>{}</time> {}\
         <span class=\"text\">{}</span></a></li>",
        esc(&who),
        when(m.received_at_ms),
        marks_html(m),
        esc(&preview(&m.text)),
        id = m.id,
    )
}

/// One message, read, with a reply form for a received one.
pub(crate) fn message(user: &str, csrf: &str, m: &MessageView, note: Option<&str>) -> String {
    let mut body = notice(note);
    let _ = write!(
        body,
        "<article class=\"full\" data-id=\"{}\"><p class=\"meta\">{} \
         <span class=\"who\">from {} to {}</span> <time>{}</time></p>\
         <pre class=\"text\" id=\"text\">{}</pre></article>",
        m.id,
        marks_html(m),
        esc(&name(&m.from)),
        esc(&name(&m.to)),
        when(m.received_at_ms),
        esc(&m.text)
    );
    if m.direction == Direction::In {
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/web/m/{}/reply\" id=\"reply\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <label for=\"reply-text\">Reply to {}</label>\
             <textarea id=\"reply-text\" name=\"text\" rows=\"4\" required></textarea>\
             <button type=\"submit\">Send reply</button></form>",
            m.id,
            esc(csrf),
            esc(&name(&m.from))
        );
    }
    layout(&format!("Message {}", m.id), Some((user, csrf)), &body)
}

/// Writing a message: the target (looked up on request) and the text.
pub(crate) fn compose(
    user: &str,
    csrf: &str,
    to: &str,
    found: Option<Result<LookupView, String>>,
) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<form method=\"get\" action=\"/web/compose\" id=\"lookup\" class=\"search\">\
         <input name=\"lookup\" placeholder=\"Name to look up\" value=\"{}\">\
         <button type=\"submit\">Look up</button></form>",
        esc(to)
    );
    match found {
        Some(Ok(v)) => {
            let addrs: Vec<String> = v.addresses.iter().map(ToString::to_string).collect();
            let _ = write!(
                body,
                "<p class=\"notice\" id=\"found\">{} is at {}</p>",
                esc(&v.name),
                esc(&addrs.join(", "))
            );
        }
        Some(Err(e)) => {
            let _ = write!(body, "<p class=\"error\" id=\"found\">{}</p>", esc(&e));
        }
        None => {}
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/web/send\" id=\"compose\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"to\">To (a name, a user, <code>*</code>)</label>\
         <input id=\"to\" name=\"to\" required value=\"{}\">\
         <label for=\"compose-text\">Message</label>\
         <textarea id=\"compose-text\" name=\"text\" rows=\"5\" required></textarea>\
         <button type=\"submit\">Send</button></form>",
        esc(csrf),
        esc(to)
    );
    layout("Write", Some((user, csrf)), &body)
}

/// A refusal or failure, as a page that says why.
pub(crate) fn error(signed_in: Option<(&str, &str)>, why: &str) -> String {
    let body = format!(
        "<p class=\"error\" role=\"alert\">{}</p><p><a href=\"/web/\">Back to the inbox</a></p>",
        esc(why)
    );
    layout("Error", signed_in, &body)
}

/// A query-string value.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_never_markup() {
        let hostile = "<script>alert(1)</script><img src=x onerror=\"a\">&'";
        let e = esc(hostile);
        assert!(!e.contains('<') && !e.contains('>') && !e.contains('"') && !e.contains('\''));
        assert_eq!(
            e,
            "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;"
        );
        assert_eq!(url_encode("a b&c"), "a%20b%26c");
        assert_eq!(preview("one\ntwo"), "one…");
    }

    #[test]
    fn an_alert_is_marked() {
        let mut m: MessageView = serde_json::from_value(serde_json::json!({
            "id": 1, "uuid": "", "direction": "in", "transport": "messngr",
            "from": "H2", "to": "H1", "text": "disk full", "received_at": "",
            "received_at_ms": 0, "verified": true, "author": "root@H2", "lossy": false,
            "raw": "", "priority": "urgent", "alert": true, "title": "sda1", "repeats": 3
        }))
        .unwrap();
        assert!(
            marks_html(&m).contains("ALERT: sda1 (3 times)"),
            "{}",
            marks_html(&m)
        );
        m.alert = false;
        assert!(!marks_html(&m).contains("ALERT"));
    }
}
