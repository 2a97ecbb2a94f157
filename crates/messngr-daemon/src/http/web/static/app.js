// messngr web inbox: live updates. The pages work without this script;
// it adds what arrives while the inbox is open, from /v1/events (the
// session cookie signs the stream in). Message text and names are set
// with textContent only: nothing a sender wrote is ever read as HTML.
"use strict";

// Where a message came from, as the server's pages (and the CLI) say it.
// A name a sender chose, as one plain line (as the server renders it):
// no control or direction characters.
function clean(s) {
  return String(s === null || s === undefined ? "" : s).replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "");
}

function provenance(m) {
  if (m.verified) {
    if (m.author) return "verified " + clean(m.author);
    if (m.sender_uid !== null && m.sender_uid !== undefined) return "verified: local uid " + m.sender_uid;
    if (m.sender_key) return "verified: key " + m.sender_key;
    return "verified: " + m.transport;
  }
  if (m.source_addr) return "UNVERIFIED " + m.transport + " from " + m.source_addr;
  if (m.transport === "samba") return "UNVERIFIED samba hand-over";
  return "UNVERIFIED " + m.transport;
}

function span(cls, text) {
  const s = document.createElement("span");
  s.className = cls;
  s.textContent = text;
  return s;
}

function preview(text) {
  const lines = text.split("\n");
  let p = lines[0].slice(0, 120);
  if (lines[0].length > 120 || lines.length > 1) p += "…";
  return p;
}

// A time as the server's pages show it (YYYY-MM-DD HH:MM:SS, local).
function when(ms) {
  const d = new Date(ms);
  const two = (n) => String(n).padStart(2, "0");
  return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " +
    two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
}

// One row of the list, as the server renders it.
function row(m) {
  const li = document.createElement("li");
  const unread = m.direction === "in" && (m.read_at_ms === null || m.read_at_ms === undefined);
  li.className = unread ? "message unread live" : "message live";
  li.dataset.id = String(m.id);
  const a = document.createElement("a");
  a.href = "/web/m/" + encodeURIComponent(String(m.id));
  a.appendChild(span("who", m.direction === "in" ? "from " + clean(m.from) : "to " + clean(m.to)));
  a.appendChild(document.createTextNode(" "));
  const t = document.createElement("time");
  t.textContent = when(m.received_at_ms);
  a.appendChild(t);
  a.appendChild(document.createTextNode(" "));
  a.appendChild(span("mark " + (m.verified ? "verified" : "unverified"), "[" + provenance(m) + "]"));
  if (m.alert) {
    let mark = m.title ? "ALERT: " + clean(m.title) : "ALERT";
    if (m.repeats > 1) mark += " (" + m.repeats + " times)";
    a.appendChild(document.createTextNode(" "));
    a.appendChild(span("mark alert", mark));
  }
  if (m.priority === "urgent") {
    a.appendChild(document.createTextNode(" "));
    a.appendChild(span("mark urgent", "urgent"));
  }
  a.appendChild(span("text", preview(m.text)));
  li.appendChild(a);
  return li;
}

function follow() {
  const list = document.getElementById("messages");
  if (!list || typeof EventSource === "undefined") return;
  const params = new URLSearchParams(window.location.search);
  const firstPage = !params.get("q") && !params.get("before") && !params.get("unread");
  const events = new EventSource("/v1/events");
  // Whether new messages arrive now (the stylesheet shows it).
  events.addEventListener("open", () => { document.body.dataset.live = "open"; });
  events.addEventListener("error", () => { document.body.dataset.live = "closed"; });
  events.addEventListener("message", (e) => {
    const m = JSON.parse(e.data);
    if (firstPage) {
      const empty = document.querySelector(".empty");
      if (empty) empty.remove();
      list.insertBefore(row(m), list.firstChild);
    }
    const count = document.getElementById("unread");
    if (count && m.direction === "in") count.textContent = String(Number(count.textContent) + 1);
  });
  events.addEventListener("update", (e) => {
    const m = JSON.parse(e.data);
    const old = list.querySelector('li[data-id="' + String(Number(m.id)) + '"]');
    if (old) list.replaceChild(row(m), old);
  });
  events.addEventListener("lagged", () => window.location.reload());
}

document.addEventListener("DOMContentLoaded", follow);
