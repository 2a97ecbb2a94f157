//! The attacks of `secure-probe`, one function per `--case`: each returns
//! the JSON line the tool prints (`case`, the receiver's `answers`, and
//! `closed`: whether it ended the session after the last answer).

use anyhow::{Context, Result, bail};
use messngr_proto::wire::Emit;
use messngr_proto::wire::native::{MAGIC, VERSION};
use messngr_proto::wire::native::{Repr, TAG_LEN};
use messngr_secure::{PublicKey, Transport};
use serde_json::{Value, json};

use super::{Args, Author, Case, Conn, Garbage, uuid};

/// Plays `a.case` and returns its report.
pub fn run(a: &Args) -> Result<Value> {
    let mut report = match a.case {
        Case::Ok => ok(a)?,
        Case::Tamper => tamper(a)?,
        Case::ReplaySession => replay_session(a)?,
        Case::ReplayMessage => replay_message(a)?,
        Case::Resign => resign(a)?,
        Case::ClaimName | Case::KeyChanged => claim_name(a)?,
        Case::Garbage => garbage(a)?,
        Case::Notice => {
            if a.replaces.is_none() {
                bail!("--case notice needs --replaces UUID");
            }
            ok(a)?
        }
        Case::Receipt => receipt(a)?,
    };
    report["case"] = json!(format!("{:?}", a.case).to_lowercase());
    Ok(report)
}

/// `inner` sealed as a SEALED frame.
fn sealed(t: &mut Transport, inner: &[u8]) -> Result<Vec<u8>> {
    let body = t.seal(inner)?;
    Ok(Repr::Sealed { body: &body }.to_vec()?)
}

/// A session as host `a.name` with a fresh key: the connection, its
/// transport and the probe's keys.
fn session(a: &Args) -> Result<(Conn, Transport, Author)> {
    let me = Author::new()?;
    let mut c = Conn::open(a)?;
    let t = c.handshake(&me.host, &a.name)?;
    Ok((c, t, me))
}

fn report(c: &mut Conn, answers: Vec<Value>) -> Result<Value> {
    let closed = answers.iter().any(|v| v["kind"] == "closed") || c.closes()?;
    Ok(json!({"answers": answers, "closed": closed}))
}

fn ok(a: &Args) -> Result<Value> {
    let (mut c, mut t, me) = session(a)?;
    let frame = me.message(a, uuid()?, &a.name, *me.host.public().as_bytes())?;
    c.send(&sealed(&mut t, &frame)?)?;
    let answer = c.answer(Some(&mut t))?;
    if let Some(path) = &a.record {
        std::fs::write(path, &c.sent).with_context(|| format!("write {}", path.display()))?;
    }
    Ok(json!({"answers": [answer], "closed": false}))
}

fn receipt(a: &Args) -> Result<Value> {
    let given = a
        .uuid
        .as_deref()
        .context("--case receipt needs --uuid HEX (the message's 32 hex digits)")?;
    let uuid: [u8; 16] = hex::decode(given)
        .ok()
        .and_then(|b| b.try_into().ok())
        .context("--uuid must be 32 hex digits")?;
    let (mut c, mut t, me) = session(a)?;
    c.send(&sealed(&mut t, &me.receipt(a, uuid)?)?)?;
    let answer = c.answer(Some(&mut t))?;
    report(&mut c, vec![answer])
}

fn tamper(a: &Args) -> Result<Value> {
    let (mut c, mut t, me) = session(a)?;
    let frame = me.message(a, uuid()?, &a.name, *me.host.public().as_bytes())?;
    let mut s = sealed(&mut t, &frame)?;
    // Header 6 bytes, chunk length 2: flip a byte in the middle of the ciphertext.
    let at = 8 + (s.len() - 8 - TAG_LEN) / 2;
    s[at] ^= 0x01;
    c.send(&s)?;
    let answer = c.answer(Some(&mut t))?;
    report(&mut c, vec![answer])
}

fn replay_session(a: &Args) -> Result<Value> {
    let path = a
        .from
        .as_ref()
        .context("--case replay-session needs --from FILE (recorded by --case ok --record FILE)")?;
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let mut c = Conn::connect(a)?;
    c.write_raw(&bytes)?;
    let mut answers = Vec::new();
    for _ in 0..4 {
        let v = c.answer(None)?;
        let end = v["kind"] == "closed" || v["kind"] == "silent";
        answers.push(v);
        if end {
            break;
        }
    }
    report(&mut c, answers)
}

fn replay_message(a: &Args) -> Result<Value> {
    let me = Author::new()?;
    let frame = me.message(a, uuid()?, &a.name, *me.host.public().as_bytes())?;
    let mut answers = Vec::new();
    for _ in 0..2 {
        let mut c = Conn::open(a)?;
        let mut t = c.handshake(&me.host, &a.name)?;
        c.send(&sealed(&mut t, &frame)?)?;
        answers.push(c.answer(Some(&mut t))?);
    }
    Ok(json!({"answers": answers, "closed": false}))
}

fn resign(a: &Args) -> Result<Value> {
    let (mut c, mut t, me) = session(a)?;
    let host_key = match &a.host_key {
        Some(text) => *text
            .parse::<PublicKey>()
            .map_err(|e| anyhow::anyhow!("--host-key: {e}"))?
            .as_bytes(),
        None => *me.host.public().as_bytes(),
    };
    let frame = me.message(a, uuid()?, &a.claim_host, host_key)?;
    c.send(&sealed(&mut t, &frame)?)?;
    let answer = c.answer(Some(&mut t))?;
    report(&mut c, vec![answer])
}

fn claim_name(a: &Args) -> Result<Value> {
    // The handshake presents HELLO host = a.name with a fresh key; the
    // receiver's refusal arrives sealed.
    let (mut c, mut t, me) = session(a)?;
    let answer = c.answer(Some(&mut t))?;
    let mut r = report(&mut c, vec![answer])?;
    r["fingerprint"] = json!(me.host.public().fingerprint().to_string());
    Ok(r)
}

fn garbage(a: &Args) -> Result<Value> {
    if a.garbage == Garbage::Handshake {
        let mut c = Conn::open(a)?;
        c.send(
            &Repr::Handshake {
                noise: b"not a noise message",
            }
            .to_vec()?,
        )?;
        let answer = c.answer(None)?;
        return report(&mut c, vec![answer]);
    }
    let (mut c, mut t, me) = session(a)?;
    let frame = me.message(a, uuid()?, &a.name, *me.host.public().as_bytes())?;
    let s = match a.garbage {
        Garbage::Handshake => bail!("handled above"),
        Garbage::Truncated => {
            let s = sealed(&mut t, &frame)?;
            s[..s.len() - 5].to_vec()
        }
        Garbage::Critical => {
            let mut inner = frame;
            // TYPE 0xC0 (critical, unknown), LENGTH 1, one byte.
            inner.extend_from_slice(&[0xC0, 0x00, 0x01, 0x00]);
            sealed(&mut t, &inner)?
        }
        Garbage::Oversized => {
            // Two chunks of 60000 bytes each: more than a frame may carry.
            let piece = vec![b'x'; 60_000];
            let mut body = t.seal(&piece)?;
            body.extend_from_slice(&t.seal(&piece)?);
            // Framed by hand: the encoder refuses a body this large.
            let mut f = MAGIC.to_vec();
            f.extend_from_slice(&[VERSION, 5]);
            f.extend_from_slice(&body);
            f
        }
    };
    c.send(&s)?;
    let answer = c.answer(Some(&mut t))?;
    report(&mut c, vec![answer])
}
