//! A minimal SMB message sender for tests that must know exactly which
//! messages the receiver acknowledged: one NBT session to `NAME<03>`, then
//! START / TEXT / END as `messngr send` sends them (messngr-proto's
//! `assembly::Sender`), a message counted as acknowledged only when its END
//! was answered with success. Its thread enters a host namespace of the
//! test LAN first (`setns`), so its traffic stays on the private LAN.
//!
//! Why not `smbclient -M`: it is a process per message and exits 0 even
//! when the receiver refused; a durability test needs thousands of messages
//! on persistent sessions and a per-message verdict.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use messngr_proto::assembly::{Progress, Sender, SenderConfig};
use messngr_proto::wire::Emit;
use messngr_proto::wire::name::{NetbiosName, suffix};
use messngr_proto::wire::nbss::calling::{Framer, Opened, session_answer, session_request};
use messngr_proto::wire::nbss::{self, Repr as Nbss};

/// The calling name and the sender of every message.
const CALLING: &[u8] = b"DURABLE";

/// Moves the calling thread into the network namespace `ns` (a name under
/// /run/netns, as `ip netns` makes them); only this thread moves.
pub fn enter_netns(ns: &str) {
    let f = std::fs::File::open(format!("/run/netns/{ns}")).unwrap();
    nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
}

/// One NBT session with `name<03>` at `to`.
pub struct SmbSession {
    stream: TcpStream,
    framer: Framer,
    name: String,
    timeout: Duration,
}

impl SmbSession {
    /// Connects and opens the session; `None` when refused or unreachable.
    pub fn open(to: SocketAddr, name: &str, timeout: Duration) -> Option<SmbSession> {
        let stream = TcpStream::connect_timeout(&to, timeout).ok()?;
        stream.set_read_timeout(Some(timeout)).ok()?;
        stream.set_write_timeout(Some(timeout)).ok()?;
        let _ = stream.set_nodelay(true);
        let mut s = SmbSession {
            stream,
            framer: Framer::new(nbss::DEFAULT_MAX_FRAME_LEN),
            name: name.to_owned(),
            timeout,
        };
        let request = session_request(
            NetbiosName::truncated(name.as_bytes(), suffix::MESSENGER),
            NetbiosName::truncated(CALLING, suffix::WORKSTATION),
        )
        .ok()?;
        s.stream.write_all(&request).ok()?;
        let frame = s.read_frame()?;
        matches!(session_answer(&frame), Ok(Opened::Yes)).then_some(s)
    }

    fn read_frame(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(frame) = self.framer.next_frame().ok()? {
                return Some(frame);
            }
            let mut chunk = [0u8; 2048];
            let n = self.stream.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            self.framer.push(&chunk[..n]);
        }
    }

    /// Sends `text`; `true` only when its END was answered with success.
    /// Any other outcome (refused, broken, timed out) is `false`, and the
    /// session should not be used again.
    pub fn send(&mut self, text: &[u8]) -> bool {
        let config = SenderConfig {
            reply_timeout: self.timeout,
            ..SenderConfig::default()
        };
        let mut sender = Sender::new(CALLING, self.name.as_bytes(), text, config);
        loop {
            while let Some(smb) = sender.poll_request(Instant::now()) {
                let Ok(bytes) = (Nbss::SessionMessage { payload: &smb }).to_vec() else {
                    return false;
                };
                if self.stream.write_all(&bytes).is_err() {
                    return false;
                }
            }
            let Some(frame) = self.read_frame() else {
                return false;
            };
            let payload = match Nbss::parse(&frame) {
                Ok(Nbss::SessionMessage { payload }) => payload,
                Ok(Nbss::SessionKeepAlive) => continue,
                _ => return false,
            };
            match sender.handle_reply(payload) {
                Progress::Pending => {}
                Progress::Done => return true,
                Progress::Failed(_) => return false,
            }
        }
    }
}
