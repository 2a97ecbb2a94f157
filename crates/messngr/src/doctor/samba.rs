//! `samba`: with `serve_netbios = false` Samba receives the messages and
//! hands each to `messngr deliver` through smb.conf's `message command`;
//! without that line every message smbd accepts is lost.
//!
//! smb.conf is read as Samba reads it for this one key: the `[global]`
//! section (the part before any section counts as global too), keys
//! compared without case and spaces, `#`/`;` comments, backslash line
//! continuations. Never written: that is the administrator's file.

use std::path::Path;

use super::Check;

/// The line the README and `messngr deliver --help` give.
pub(crate) const MESSAGE_COMMAND: &str = "message command = /usr/bin/messngr deliver %s %f %L";

/// The value of `message command` in `[global]`, if set.
fn message_command(conf: &str) -> Option<String> {
    let mut global = true;
    let mut found = None;
    let mut joined = String::new();
    for raw in conf.lines() {
        if let Some(head) = raw.strip_suffix('\\') {
            joined.push_str(head);
            continue;
        }
        joined.push_str(raw);
        let line = std::mem::take(&mut joined);
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            global = section.trim().eq_ignore_ascii_case("global");
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key: String = key.chars().filter(|c| !c.is_whitespace()).collect();
        if global && key.eq_ignore_ascii_case("messagecommand") {
            found = Some(value.trim().to_owned());
        }
    }
    found
}

/// `samba`: when Samba owns the ports, it hands messages to messngr.
pub(super) fn message_command_check(serve_netbios: bool, smb_conf: &Path) -> Check {
    if serve_netbios {
        return Check::skip(
            "samba",
            "messngr serves NetBIOS itself (serve_netbios = true): Samba's message command is not needed",
        );
    }
    let fix = format!(
        "add to the [global] section of {}: `{MESSAGE_COMMAND}`, then `systemctl reload smbd`",
        smb_conf.display()
    );
    let conf = match std::fs::read_to_string(smb_conf) {
        Ok(c) => c,
        Err(e) => {
            return Check::fail(
                "samba",
                format!(
                    "serve_netbios = false, but Samba's configuration {} cannot be read ({e}): nothing hands messages to messngr",
                    smb_conf.display()
                ),
                format!(
                    "install Samba (apt install samba) or set serve_netbios = true; then {fix}"
                ),
            );
        }
    };
    match message_command(&conf) {
        Some(v) if v.contains("messngr") && v.contains("deliver") => Check::ok(
            "samba",
            format!("smbd hands messages over: message command = {v}"),
        ),
        Some(v) => Check::fail(
            "samba",
            format!("serve_netbios = false, but smbd's message command runs something else: {v}"),
            fix,
        ),
        None => Check::fail(
            "samba",
            format!(
                "serve_netbios = false, but {} has no `message command`: every message smbd accepts is dropped",
                smb_conf.display()
            ),
            fix,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_global_sections_message_command_counts() {
        let conf = "# message command = commented\n[global]\n  Message Command = /usr/bin/messngr \\\n deliver %s %f %L\n[share]\nmessage command = other\n";
        assert_eq!(
            message_command(conf).as_deref(),
            Some("/usr/bin/messngr  deliver %s %f %L")
        );
        assert_eq!(message_command("[homes]\nmessage command = x\n"), None);
        assert_eq!(
            message_command("message command = before any section\n").as_deref(),
            Some("before any section")
        );
    }
}
