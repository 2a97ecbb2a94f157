//! One `inbox-bench` run: fill (or reuse) the inbox, time every query,
//! read the memory after each phase, and report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use messngr_store::{Filter, Scope, StoreHandle};
use serde_json::{Value, json};

use crate::Args;
use crate::data::{self, COMMON, MARKER, MARKERS, SENDERS};
use crate::fill::{self, Fill};
use crate::measure::{Stat, peak_rss_kib, rss_kib};

/// Everything measured.
pub struct Report {
    path: PathBuf,
    fs_type: String,
    messages: u64,
    in_flight: u64,
    fill: Option<Fill>,
    file_bytes: u64,
    stats: Vec<Stat>,
    export: Option<(Duration, u64)>,
    rss: Vec<(&'static str, u64)>,
}

fn alice_and_host() -> Scope {
    Scope::Owners {
        user: Some("alice".to_owned()),
        host: true,
    }
}

/// Runs the benchmark `a` describes.
pub fn run(a: &Args) -> Result<Report> {
    let (path, reuse) = match (&a.db, &a.reuse) {
        (Some(p), None) => {
            if p.exists() {
                bail!(
                    "{} exists: give a new file (or --reuse it if an earlier run made it)",
                    p.display()
                );
            }
            (p.clone(), false)
        }
        (None, Some(p)) => (p.clone(), p.exists()),
        _ => bail!("give --db PATH or --reuse PATH"),
    };
    let fs_type = fs_type(&path);
    if fs_type == "tmpfs" && !a.json {
        eprintln!("inbox-bench: warning: the inbox is on tmpfs, where fsync is free");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = StoreHandle::open(&path).with_context(|| format!("open {}", path.display()))?;
    let n = a.messages;
    let mut report = Report {
        path: path.clone(),
        fs_type,
        messages: n,
        in_flight: a.in_flight,
        fill: None,
        file_bytes: 0,
        stats: Vec::new(),
        export: None,
        rss: Vec::new(),
    };
    let everything = |scope: Scope| Filter {
        scope,
        ..Filter::default()
    };
    let stored = rt.block_on(store.count(everything(Scope::All)))?;
    if reuse {
        if stored != n {
            bail!(
                "{} holds {stored} received messages, not {n}: give --messages {stored}, or a new file",
                path.display()
            );
        }
    } else {
        if stored != 0 {
            bail!("{} is not empty", path.display());
        }
        let in_flight = usize::try_from(a.in_flight).unwrap_or(256);
        let inserts = rt.block_on(fill::insert_all(&store, n, a.seed, in_flight, !a.json))?;
        let (mark_read, read) = fill::mark_most_read(&path)?;
        report.fill = Some(Fill {
            inserts,
            mark_read,
            read,
        });
        let now = rt.block_on(store.count(everything(Scope::All)))?;
        if now != n {
            bail!("stored {now} messages, not {n}");
        }
    }
    report.rss.push(("after fill", rss_kib()));

    let limit = u32::try_from(a.limit).unwrap_or(50);
    let reps = a.reps;
    // The fill's own start (message 0, the lowest id, is received then),
    // read back from the store: with --reuse the inbox may be days old.
    let start = rt
        .block_on(store.export_page(Scope::All, 0, 1))?
        .first()
        .map_or(0, |m| m.received_at);
    // A `since` keeping the newest 1 % (many messages: walked in id order),
    // and one keeping the newest 300 (few: the time index).
    let since_1pct = start + data::SPAN_MS / 100 * 99;
    let since_recent = start
        + i64::try_from(
            i128::from(data::SPAN_MS) * i128::from(n.saturating_sub(300)) / i128::from(n),
        )?;
    let middle = i64::try_from(n / 2)?;
    let mut pages: Vec<(String, Filter)> = Vec::new();
    for (label, scope) in [("all", Scope::All), ("alice+host", alice_and_host())] {
        let base = everything(scope);
        let variants = [
            ("newest", base.clone()),
            (
                "unread",
                Filter {
                    unread_only: true,
                    ..base.clone()
                },
            ),
            (
                "from BOB",
                Filter {
                    from: Some(SENDERS[0].to_owned()),
                    ..base.clone()
                },
            ),
            (
                "since (newest 1 %)",
                Filter {
                    since: Some(since_1pct),
                    ..base.clone()
                },
            ),
            (
                "since (newest 300)",
                Filter {
                    since: Some(since_recent),
                    ..base.clone()
                },
            ),
            (
                "before the middle id",
                Filter {
                    before: Some(middle),
                    ..base.clone()
                },
            ),
        ];
        for (what, f) in variants {
            pages.push((format!("{label}: {what}"), f));
        }
    }
    for (name, f) in &pages {
        let mut s = Stat::new(format!("page {limit}, {name}"))?;
        for _ in 0..reps {
            let p = s.time(|| rt.block_on(store.page(f.clone(), limit)))?;
            if p.messages.is_empty() {
                bail!("{name}: an empty page");
            }
        }
        report.stats.push(s);
    }
    for (name, f) in &pages {
        let mut s = Stat::new(format!("count, {name}"))?;
        for _ in 0..reps {
            s.time(|| rt.block_on(store.count(f.clone())))?;
        }
        report.stats.push(s);
    }
    let mut s = Stat::new("unread_counts (the tray)")?;
    for _ in 0..reps {
        s.time(|| rt.block_on(store.unread_counts()))?;
    }
    report.stats.push(s);
    report.rss.push(("after listing", rss_kib()));

    // The rare word: every page of it, every time, and all of them found.
    let mut s = Stat::new(format!("search {MARKER:?}, every page of {limit}"))?;
    for _ in 0..reps {
        let mut f = everything(Scope::All);
        let mut found = 0u64;
        loop {
            let p = s.time(|| rt.block_on(store.search(MARKER.to_owned(), f.clone(), limit)))?;
            found += p.messages.len() as u64;
            match p.messages.first() {
                Some(m) if p.older > 0 => f.before = Some(m.id),
                _ => break,
            }
        }
        if found != MARKERS.min(n) {
            bail!(
                "search {MARKER:?} found {found} messages, not {}",
                MARKERS.min(n)
            );
        }
    }
    report.stats.push(s);
    for (label, scope) in [("all", Scope::All), ("alice+host", alice_and_host())] {
        let mut s = Stat::new(format!("search {COMMON:?} (1 in 10), {label}"))?;
        for _ in 0..reps.min(50) {
            s.time(|| {
                rt.block_on(store.search(COMMON.to_owned(), everything(scope.clone()), limit))
            })?;
        }
        report.stats.push(s);
    }
    report.rss.push(("after search", rss_kib()));

    // One whole export, page by page.
    let per_page = u32::try_from(a.export_page).unwrap_or(500);
    let mut s = Stat::new(format!("export_page of {per_page}"))?;
    let t = Instant::now();
    let (mut after, mut exported) = (0i64, 0u64);
    loop {
        let page = s.time(|| rt.block_on(store.export_page(Scope::All, after, per_page)))?;
        let Some(last) = page.last() else { break };
        after = last.id;
        exported += page.len() as u64;
    }
    if exported != n {
        bail!("exported {exported} messages, not {n}");
    }
    report.export = Some((t.elapsed(), exported));
    report.stats.push(s);
    report.rss.push(("after export", rss_kib()));
    report.rss.push(("peak (VmHWM)", peak_rss_kib()));

    rt.block_on(store.close())?;
    report.file_bytes = file_bytes(&path);
    Ok(report)
}

/// The file system type of `path`'s directory, from /proc/self/mountinfo
/// (the longest mount point that holds it).
fn fs_type(path: &Path) -> String {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_owned);
    let dir = dir.canonicalize().unwrap_or(dir);
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut best = (0, String::from("unknown"));
    for line in mounts.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(dash) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        let (Some(point), Some(fstype)) = (fields.get(4), fields.get(dash + 1)) else {
            continue;
        };
        if dir.starts_with(point) && point.len() >= best.0 {
            best = (point.len(), (*fstype).to_owned());
        }
    }
    best.1
}

/// The inbox's size on disk: the database and its WAL.
fn file_bytes(path: &Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    [path.to_owned(), PathBuf::from(wal)]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

impl Report {
    /// The report for people.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "inbox-bench: {} messages in {} ({}), {:.0} MB",
            self.messages,
            self.path.display(),
            self.fs_type,
            self.file_bytes as f64 / 1e6
        );
        match &self.fill {
            Some(f) => {
                let _ = writeln!(
                    s,
                    "  fill: {:.1} s, {:.0} inserts/s ({} in flight, through StoreHandle::queue_insert); \
                     {} marked read in {:.1} s (one UPDATE)",
                    f.inserts.as_secs_f64(),
                    self.messages as f64 / f.inserts.as_secs_f64().max(1e-9),
                    self.in_flight,
                    f.read,
                    f.mark_read.as_secs_f64()
                );
            }
            None => {
                let _ = writeln!(s, "  fill: none (--reuse)");
            }
        }
        for stat in &self.stats {
            let _ = writeln!(s, "{}", stat.line());
        }
        if let Some((d, n)) = self.export {
            let _ = writeln!(
                s,
                "  export: {n} messages in {:.1} s, {:.0} messages/s",
                d.as_secs_f64(),
                n as f64 / d.as_secs_f64().max(1e-9)
            );
        }
        let rss: Vec<String> = self
            .rss
            .iter()
            .map(|(what, kib)| format!("{what} {:.1} MiB", *kib as f64 / 1024.0))
            .collect();
        let _ = writeln!(s, "  RSS: {}", rss.join(", "));
        s
    }

    /// The report as one JSON object.
    pub fn json(&self) -> String {
        let fill: Value = match &self.fill {
            Some(f) => json!({
                "seconds": f.inserts.as_secs_f64(),
                "inserts_per_s": self.messages as f64 / f.inserts.as_secs_f64().max(1e-9),
                "in_flight": self.in_flight,
                "mark_read_seconds": f.mark_read.as_secs_f64(),
                "marked_read": f.read,
            }),
            None => Value::Null,
        };
        let export: Value = match self.export {
            Some((d, n)) => json!({
                "messages": n,
                "seconds": d.as_secs_f64(),
                "messages_per_s": n as f64 / d.as_secs_f64().max(1e-9),
            }),
            None => Value::Null,
        };
        let rss: serde_json::Map<String, Value> = self
            .rss
            .iter()
            .map(|(what, kib)| ((*what).to_owned(), json!(kib)))
            .collect();
        json!({
            "path": self.path,
            "fs_type": self.fs_type,
            "messages": self.messages,
            "file_bytes": self.file_bytes,
            "fill": fill,
            "figures": self.stats.iter().map(Stat::json).collect::<Vec<_>>(),
            "export": export,
            "rss_kib": rss,
        })
        .to_string()
    }
}
