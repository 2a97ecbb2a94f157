//! `smb-conf`: prints (or writes) the private smb.conf of a Samba program
//! on a benchmark LAN.
//!
//! Why it exists: the shell benchmarks (`bench/nbns.sh`, `bench/messages.sh`)
//! run nmbd, smbd and smbclient in namespace hosts, and their smb.conf must
//! be the one the tests and `messngr demo` use — written by
//! `messngr_lan::samba::SmbConf`, not by a heredoc of their own that drifts.
//!
//! Exit status: 0 written, 2 usage error or the file could not be written.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;

use messngr_bench::cli;
use messngr_lan::samba::{SmbConf, WORKGROUP};

/// `smb-conf`'s command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "smb-conf",
    about = "Prints the private smb.conf of a Samba program on a messngr test LAN \
             (every state, cache, lock and log file under DIR)"
)]
struct Args {
    /// The private directory.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// netbios name.
    #[arg(long, value_name = "NAME")]
    name: String,
    /// workgroup.
    #[arg(long, value_name = "NAME", default_value = WORKGROUP)]
    workgroup: String,
    /// name resolve order = bcast (for clients: smbclient, nmblookup).
    #[arg(long)]
    broadcast_resolution: bool,
    /// smbd's message command (with server min protocol = NT1).
    #[arg(long, value_name = "COMMAND")]
    message_command: Option<String>,
    /// wins support = yes.
    #[arg(long)]
    wins_support: bool,
    /// wins server = IP.
    #[arg(long, value_name = "IP")]
    wins_server: Option<Ipv4Addr>,
    /// Any other [global] parameter; repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = key_value)]
    options: Vec<(String, String)>,
    /// Create Samba's directories under DIR and write DIR/smb.conf instead
    /// of printing it.
    #[arg(long)]
    write: bool,
}

fn key_value(v: &str) -> Result<(String, String), String> {
    let (k, v) = v
        .split_once('=')
        .ok_or_else(|| "KEY=VALUE, e.g. 'smb ports=139'".to_owned())?;
    Ok((k.trim().to_owned(), v.trim().to_owned()))
}

fn conf(a: &Args) -> SmbConf {
    let mut c = SmbConf::new(&a.name).workgroup(&a.workgroup);
    if a.broadcast_resolution {
        c = c.broadcast_resolution();
    }
    if let Some(command) = &a.message_command {
        c = c.message_command(command);
    }
    if a.wins_support {
        c = c.wins_support();
    }
    if let Some(ip) = a.wins_server {
        c = c.wins_server(ip);
    }
    for (k, v) in &a.options {
        c = c.set(k, v);
    }
    c
}

fn main() -> ExitCode {
    cli::exit("smb-conf", main_inner())
}

fn main_inner() -> anyhow::Result<ExitCode> {
    let a: Args = match cli::parse("smb-conf", std::env::args().skip(1))? {
        cli::Parsed::Help => {
            cli::print_help::<Args>();
            return Ok(ExitCode::SUCCESS);
        }
        cli::Parsed::Run(a) => a,
    };
    let c = conf(&a);
    if a.write {
        c.write(&a.dir)?;
    } else {
        print!("{}", c.render(&a.dir)?);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Args {
        match cli::parse("smb-conf", s.iter().map(|s| (*s).to_owned())).unwrap() {
            cli::Parsed::Run(a) => a,
            cli::Parsed::Help => panic!("help"),
        }
    }

    #[test]
    fn flags_are_the_builders_methods() {
        let a = args(&[
            "/d",
            "--name",
            "BENCHBOX",
            "--message-command",
            "/bin/sh -c 'cat %s >> /d/all.txt; rm %s'",
            "--set",
            "smb ports = 139",
        ]);
        assert_eq!(
            conf(&a),
            SmbConf::new("BENCHBOX")
                .message_command("/bin/sh -c 'cat %s >> /d/all.txt; rm %s'")
                .set("smb ports", "139")
        );
        let a = args(&["/d", "--name", "C", "--broadcast-resolution"]);
        assert_eq!(conf(&a), SmbConf::new("C").broadcast_resolution());
        let a = args(&["/d", "--name", "W", "--wins-support", "--workgroup", "X"]);
        assert_eq!(conf(&a), SmbConf::new("W").workgroup("X").wins_support());
        for bad in [
            &["/d"][..],
            &["--name", "X"],
            &["/d", "--name", "X", "--set", "x"],
        ] {
            assert!(cli::parse::<Args>("smb-conf", bad.iter().map(|s| (*s).to_owned())).is_err());
        }
    }
}
