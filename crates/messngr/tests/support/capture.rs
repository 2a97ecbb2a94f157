//! A tshark capture on one host of a test LAN, judged by Wireshark's own
//! dissectors: why apart — several tests (messages, names, native) prove
//! their traffic well-formed this way, and it has nothing to do with the
//! daemon helpers.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{Lan, wait_for};

/// A tshark capture running in one host (`tshark -i eth0 -w FILE`).
pub struct Capture {
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Capture {
    /// Starts capturing UDP/TCP NetBIOS ports in host `i`; returns once tshark captures.
    pub fn start(lan: &Lan, i: usize) -> Capture {
        Self::start_filtered(lan, i, "udp port 137 or udp port 138 or tcp port 139")
    }

    /// [`Capture::start`] with another capture filter (`udp port 135`).
    pub fn start_filtered(lan: &Lan, i: usize, filter: &str) -> Capture {
        let dir = tempfile::Builder::new()
            .prefix("messngr-cap-")
            .tempdir()
            .unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = lan
            .command(i, "tshark")
            .args(["-q", "-n", "-i", "eth0", "-f", filter, "-w"])
            .arg(dir.path().join("cap.pcapng"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let c = Capture { dir, child };
        let logpath = c.dir.path().join("log");
        wait_for(
            Duration::from_secs(10),
            || {
                std::fs::read_to_string(&logpath)
                    .unwrap_or_default()
                    .contains("Capturing on")
            },
            || std::fs::read_to_string(&logpath).unwrap_or_default(),
        );
        c
    }

    /// Stops the capture; every frame in full (`tshark -V`), as text.
    /// Wireshark's WireGuard heuristic is off (it claims NetBIOS and RPC
    /// datagrams otherwise), and UDP's heuristics run before a dissector
    /// registered on a port: DCE/RPC over UDP is found by heuristic only, so
    /// a client whose random source port is registered to another protocol
    /// (47000 is HCrt's) had its call dissected as that protocol.
    pub fn decode(mut self) -> String {
        self.stop();
        let out = Command::new("tshark")
            .args(["-n", "--disable-protocol", "wg"])
            .args(["-o", "udp.try_heuristic_first:TRUE", "-V", "-r"])
            .arg(self.dir.path().join("cap.pcapng"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Ends the capture (SIGINT flushes the file).
    fn stop(&mut self) {
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    /// Stops the capture and asserts that it saw at least `min_frames`
    /// frames and that Wireshark objects to none of them.
    pub fn assert_clean(self, min_frames: usize) {
        let (frames, bad) = self.finish();
        assert!(frames >= min_frames, "the capture saw only {frames} frames");
        assert!(bad.is_empty(), "Wireshark objects to:\n{}", bad.join("\n"));
    }

    /// As [`Capture::finish`], and the captured file's bytes (for a search
    /// of what must not be on the wire).
    pub fn finish_with_pcap(self) -> (usize, Vec<String>, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let keep = dir.path().join("cap.pcapng");
        let (frames, bad) = self.finish_to(Some(&keep));
        (frames, bad, std::fs::read(keep).unwrap_or_default())
    }

    /// Stops the capture (SIGINT flushes the file) and judges every frame
    /// with Wireshark's dissectors: returns (frames, objections).
    pub fn finish(self) -> (usize, Vec<String>) {
        self.finish_to(None)
    }

    fn finish_to(mut self, keep: Option<&std::path::Path>) -> (usize, Vec<String>) {
        self.stop();
        if let Some(keep) = keep {
            let _ = std::fs::copy(self.dir.path().join("cap.pcapng"), keep);
        }
        let out = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(self.dir.path().join("cap.pcapng"))
            .args([
                "-T",
                "fields",
                "-E",
                "separator=/t",
                "-E",
                "occurrence=a",
                "-E",
                "aggregator=|",
            ])
            .args([
                "-e",
                "frame.number",
                "-e",
                "_ws.col.Info",
                "-e",
                "_ws.expert.severity",
                "-e",
                "_ws.malformed",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut bad = Vec::new();
        let mut n = 0;
        for line in text.lines() {
            n += 1;
            let cols: Vec<&str> = line.split('\t').collect();
            let severe = cols.get(2).is_some_and(|s| {
                s.split('|')
                    .any(|v| v.parse::<u64>().is_ok_and(|v| v >= 0x0080_0000))
            });
            let malformed = cols.get(3).is_some_and(|s| !s.is_empty());
            if severe || malformed {
                bad.push(line.to_owned());
            }
        }
        (n, bad)
    }
}
