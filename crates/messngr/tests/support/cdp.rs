//! A headless Chromium inside a test host's network namespace, driven over
//! the DevTools protocol (CDP) through `--remote-debugging-pipe`.
//!
//! Why the pipe and not a debugging port: the browser must live in the
//! namespace (it talks to the daemon's loopback listener there), and a
//! pipe needs no network at all between the test and the browser — no
//! port on any machine, no thread that enters a namespace. Chromium reads
//! commands from fd 3 and writes answers on fd 4, each a JSON object
//! ended by a NUL byte; `sh` moves our stdin/stdout pipes to fds 3 and 4.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Lan;

/// How long one CDP command may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A browser with one page, attached.
pub struct Chromium {
    child: Child,
    to: ChildStdin,
    from: Receiver<Value>,
    next: u64,
    session: String,
    profile: tempfile::TempDir,
    artifacts: PathBuf,
}

/// Where screenshots go: `$CARGO_TARGET_DIR/test-artifacts/NAME` (or the
/// workspace's `target/`), made empty.
pub fn artifacts(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")),
        PathBuf::from,
    );
    let dir = target.join("test-artifacts").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Chromium {
    /// Starts Chromium in host `i` (as root, so without its sandbox) with
    /// a new, empty profile, and attaches to a new blank page.
    pub fn start(lan: &Lan, i: usize, artifacts: PathBuf) -> Chromium {
        let profile = super::tempdir();
        let log = std::fs::File::create(profile.path().join("chromium.log")).unwrap();
        let mut child = lan
            .command(i, "sh")
            .args([
                "-c",
                "exec \"$@\" 3<&0 4>&1 0</dev/null 1>&2",
                "sh",
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-pipe",
                "--window-size=1024,768",
                &format!("--user-data-dir={}", profile.path().join("data").display()),
                "about:blank",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start chromium (ci/install-deps installs it)");
        let to = child.stdin.take().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, from) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(out);
            let mut buf = Vec::new();
            while r.read_until(0, &mut buf).is_ok_and(|n| n > 0) {
                if buf.last() == Some(&0) {
                    buf.pop();
                }
                if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                    && tx.send(v).is_err()
                {
                    return;
                }
                buf.clear();
            }
        });
        let mut c = Chromium {
            child,
            to,
            from,
            next: 0,
            session: String::new(),
            profile,
            artifacts,
        };
        let target = c.browser_call("Target.createTarget", json!({"url": "about:blank"}));
        let target = target["targetId"].as_str().unwrap().to_owned();
        let attached = c.browser_call(
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        );
        c.session = attached["sessionId"].as_str().unwrap().to_owned();
        c.call("Page.enable", json!({}));
        c.call("Runtime.enable", json!({}));
        c
    }

    /// Chromium's own log (stderr), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.profile.path().join("chromium.log")).unwrap_or_default()
    }

    fn send(&mut self, method: &str, params: Value, session: bool) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if session {
            msg["sessionId"] = Value::String(self.session.clone());
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to
            .write_all(&bytes)
            .unwrap_or_else(|e| panic!("{method}: chromium is gone ({e})\n{}", self.log()));
        let start = Instant::now();
        loop {
            let left = CALL_TIMEOUT.saturating_sub(start.elapsed());
            match self.from.recv_timeout(left) {
                Ok(v) if v["id"] == id => {
                    assert!(
                        v.get("error").is_none(),
                        "{method}: {}\n{}",
                        v["error"],
                        self.log()
                    );
                    return v["result"].clone();
                }
                Ok(_) => {} // an event, or another session's answer
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{method}: no answer in {CALL_TIMEOUT:?}\n{}", self.log())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("{method}: chromium closed its pipe\n{}", self.log())
                }
            }
        }
    }

    /// A command to the browser itself.
    pub fn browser_call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, false)
    }

    /// A command to the page.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, true)
    }

    /// Loads `url` in the page (returns once asked; wait for what it shows).
    pub fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
    }

    /// The value of JavaScript `expression` in the page (a thrown
    /// exception, or a page between documents, is `Value::Null`).
    pub fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        if r.get("exceptionDetails").is_some() {
            return Value::Null;
        }
        r["result"]["value"].clone()
    }

    /// Waits up to 20 s until `expression` is true in the page.
    #[track_caller]
    pub fn wait_until(&mut self, expression: &str) {
        let start = Instant::now();
        while self.eval(expression) != Value::Bool(true) {
            if start.elapsed() > Duration::from_secs(20) {
                let html = self.eval("document.documentElement.outerHTML");
                panic!(
                    "the page never showed `{expression}`; it is at {} with:\n{}\n{}",
                    self.eval("location.href"),
                    html.as_str().unwrap_or(""),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Saves a PNG screenshot of the page as `name.png` among the
    /// artifacts, and returns its path.
    pub fn screenshot(&mut self, name: &str) -> PathBuf {
        use base64::Engine;
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap_or(""))
            .unwrap();
        let path = self.artifacts.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// The artifacts directory.
    pub fn artifacts(&self) -> &Path {
        &self.artifacts
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // Ask it to close (its helper processes go with it), then make sure.
        let mut bytes = serde_json::to_vec(&json!({"id": 0, "method": "Browser.close"})).unwrap();
        bytes.push(0);
        let _ = self.to.write_all(&bytes);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
