//! The command line, defined once with clap's derive: `--help`, the man page
//! (`messngr generate man`) and the shell completions all come from here.

use clap::{Parser, Subcommand, ValueEnum};

use std::path::PathBuf;

mod alert;
mod token;
mod trust;
pub use alert::AlertArgs;
pub use token::TokenAction;
pub use trust::TrustAction;

/// Exit code: the answer is "no" — the name was not found, a name could not
/// be claimed, a frame did not decode.
pub const EXIT_NO: u8 = 1;
/// Exit code: the command failed (bad arguments, config, I/O).
pub const EXIT_ERROR: u8 = 2;
/// Exit code: the daemon could not be reached.
pub const EXIT_NO_DAEMON: u8 = 3;
/// Exit code of `send`: the receiver refused the message.
pub const EXIT_REFUSED: u8 = 4;
/// Exit code of `send`: the network failed (no connection, no answer).
pub const EXIT_NETWORK: u8 = 5;
/// Exit code of `send`: the receiver's key is not trusted, or `--secure`
/// could not be met.
pub const EXIT_UNTRUSTED: u8 = 6;

/// messngr — the Windows Messenger service (net send, WinPopup, smbclient -M)
/// rebuilt: wire-exact with the legacy world, durable and safe.
#[derive(Debug, Parser)]
#[command(name = "messngr", version, propagate_version = true)]
#[command(after_long_help = "\
EXIT STATUS:
    0  success (send: delivered, or broadcast sent)
    1  the answer is no: name not found, name not claimed, frame not decodable
    2  error (bad arguments, config, I/O; the message says what to do)
    3  the daemon could not be reached
    4  send: the receiver refused the message
    5  send: network error (no connection, no answer)
    6  send: the receiver's key does not match its pin, or --secure could not be met

FILES:
    /etc/messngr/messngr.toml    configuration (messngr generate config prints a commented one)
    /run/messngr/messngr.sock    the daemon's local API socket

ENVIRONMENT:
    MESSNGR_SOCKET    the API socket, when --socket is not given
    MESSNGR_CONFIG    the configuration file, when --config is not given")]
pub struct Cli {
    /// The configuration file.
    #[arg(long, global = true, env = "MESSNGR_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The daemon's API socket [default: `socket` from the config, else /run/messngr/messngr.sock].
    #[arg(long, global = true, env = "MESSNGR_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Cmd,
}

/// `--expires`: a duration (`90s`, `30m`, `2h`, `7d`, or plain seconds),
/// 1 second to 7 days (as long as the relay keeps a message).
fn expires_secs(s: &str) -> Result<u32, String> {
    let (n, unit) = match s.char_indices().last() {
        Some((i, c @ ('s' | 'm' | 'h' | 'd'))) => (&s[..i], c),
        _ => (s, 's'),
    };
    let scale = match unit {
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => 1,
    };
    match n.parse::<u32>().ok().and_then(|n| n.checked_mul(scale)) {
        Some(secs @ 1..=604_800) => Ok(secs),
        _ => Err("not a duration from 1s to 7d: write it like 90s, 30m, 2h or 7d".to_owned()),
    }
}

/// `send --wait SECS`: 1–86400 seconds; anything else says how to wait
/// the default (a target right after `--wait` would be read as SECS).
fn wait_secs(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n @ 1..=86400) => Ok(n),
        _ => Err("not a number of seconds (1-86400); to wait the default 300 s, put --wait after the message text or write --wait 300".to_owned()),
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Send a message, like `net send`.
    ///
    /// TARGET is a NetBIOS name (its NAME<03> is looked up by broadcast, or
    /// at the WINS server; or give the address with -I), `*` for everyone in
    /// this workgroup, `/domain` or `/domain:NAME` for a workgroup or domain
    /// (both as a broadcast mailslot datagram, which nobody acknowledges;
    /// the messngr hosts this one has met get a signed copy first, and
    /// those are tracked), `/users` for every user logged in on this host,
    /// or, with a relay between sites, `/group:NAME` for every host in that
    /// relay group and `/org` for every messngr host on the relay (root and
    /// the accounts in `[relay] org_senders` only). A name
    /// not on this LAN is found in the relay's directory; while the relay
    /// is down, the message is kept here and sent when it is back. The text
    /// is the rest of the command line; without it, or with `-`, it is read
    /// from standard input.
    ///
    /// A messngr receiver gets the message encrypted and signed with your
    /// own key (its host key is pinned at first contact: `messngr trust`);
    /// a receiver that is not messngr (Windows, Samba, WinPopup) gets a
    /// plain SMB message instead, and --priority, --time and --expires are dropped
    /// (you are told). --secure forbids that fallback. A name this host
    /// holds (its own, an alias, a logged-in user's) is stored here
    /// directly, with your uid.
    ///
    /// Examples:
    ///   messngr send H2 Lunch is ready
    ///   messngr send '*' The printer is fixed
    ///   uptime | messngr send -I 10.0.0.7 OPS
    ///   messngr send --priority urgent --time 60 H2 The server reboots in 5 minutes
    ///   messngr send --secure H2 The new password is in the safe
    ///   messngr send --wait 60 H2 Please call me back
    ///   messngr send H2 Are you there? --wait
    ///   messngr send --transport rpc -I 10.0.0.9 UPSBOX Power restored
    Send {
        /// Wait until the message has been read, like `msg /W`: SECS
        /// seconds (1–86400), 300 without a value. Exit status 0 once every
        /// recipient read it, 1 when the time is up (the unread ones are
        /// named). messngr receivers and names held here only: others send
        /// no receipts. Without SECS, put --wait last (after the text).
        #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "300",
              value_parser = wait_secs)]
        wait: Option<u32>,
        /// Only encrypted and signed: fail rather than send plain text to a
        /// receiver that is not messngr (or whose key is not trusted); a
        /// broadcast goes to messngr hosts only, with no datagram.
        #[arg(long)]
        secure: bool,
        /// The receiver's address: skip the name lookup (like smbclient -I).
        #[arg(short = 'I', long = "address", value_name = "IP")]
        address: Option<std::net::Ipv4Addr>,
        /// Which way the message goes. `auto` (the default) picks as above.
        /// The others force one way, for receivers that accept only it;
        /// plain text to a host whose key is pinned, or with --secure or
        /// require_secure, is refused.
        #[arg(long, value_enum, value_name = "HOW", default_value = "auto")]
        transport: TransportArg,
        /// How urgent it is: an urgent pop-up stays until dismissed and gets
        /// through do-not-disturb (`messngr quiet`); hooks see it as
        /// MESSNGR_PRIORITY. messngr receivers only: legacy ones cannot
        /// carry it.
        #[arg(long, value_enum, value_name = "LEVEL")]
        priority: Option<PriorityArg>,
        /// Close the receiver's pop-up after SECS seconds (1–86400), like
        /// `msg.exe /TIME`. messngr receivers only: legacy ones cannot carry it.
        #[arg(long = "time", value_name = "SECS", value_parser = clap::value_parser!(u32).range(1..=86400))]
        time: Option<u32>,
        /// Never show the message after this long (`90s`, `30m`, `2h`, up to
        /// `7d`): a receiver that gets it later (its daemon was down, it
        /// waited at the relay) drops it, and an inbox stops showing it
        /// then. messngr receivers only; a legacy one gets it now or never.
        #[arg(long, value_name = "DURATION", value_parser = expires_secs)]
        expires: Option<u32>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// NAME, `*`, `/domain`, `/domain:NAME`, `/users`, `/group:NAME` or `/org`.
        target: String,
        /// The message; `-` or nothing reads standard input.
        text: Vec<String>,
    },
    /// Raise an alert for the subscribers configured in [alerter], like the
    /// Windows Alerter.
    ///
    /// The subscribers of its severity get it (NetBIOS names, local users,
    /// @groups, `*`, /users), marked as an alert everywhere: pop-up, terminal
    /// banner, inbox; a legacy receiver gets an `ALERT` line first. The same
    /// alert raised again within collapse_secs is not sent again: its first
    /// message counts it ("(3 times)"), its pop-up replaced in place. Only
    /// root, the daemon's user, admin_group and [alerter] raisers may.
    #[command(
        after_help = "Examples:\n  messngr alert --title backup The nightly backup failed\n  df -h / | messngr alert --priority urgent --title 'disk full'\n  messngr alert --unit nginx.service    # as messngr-alert@.service runs it"
    )]
    Alert(AlertArgs),
    /// List received messages: the newest 50, oldest first (`*` marks unread ones).
    ///
    /// Like `tail`, a listing shows the newest messages and says how many
    /// older ones there are; page back with --before, the id of the oldest
    /// shown. Every filter runs in the inbox database, so a listing is as
    /// fast with a million messages as with ten.
    ///
    /// Examples:
    ///   messngr inbox --unread
    ///   messngr inbox --from alice --since 2h
    ///   messngr inbox --limit 200 --before 1234
    Inbox {
        /// Which messages.
        #[command(flatten)]
        select: Selection,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Search the text of received messages (every word must occur).
    ///
    /// Words match whole and case-insensitively, in any order; quotes and
    /// operators are taken literally. The same filters and paging as
    /// `inbox`.
    ///
    /// Examples:
    ///   messngr search printer
    ///   messngr search --from alice build red
    Search {
        /// Which messages to search.
        #[command(flatten)]
        select: Selection,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        /// The words to find.
        #[arg(required = true)]
        text: Vec<String>,
    },
    /// Show one message in full and mark it read.
    Read {
        /// Its id (from `messngr inbox`).
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Who got and who read a message you sent: "2 of 3 read".
    ///
    /// ID is the sent message's id (`messngr send --json` prints it). Each
    /// recipient is a host (`H2`) or a name another host holds
    /// (`ALICE@H2`); a recipient's host reports reading in a receipt signed
    /// by the reader's key. Unread recipients come first, marked `*`.
    /// With --wait, returns once everyone has read it (exit 0) or after
    /// SECS seconds (exit 1).
    #[command(
        after_help = "Examples:\n  messngr track 42\n  messngr track 42 --remind      # pop it up again for those who have not read it\n  messngr track 42 --wait 600   # until all have read it, at most 10 minutes\n  messngr track 42 --json"
    )]
    Track {
        /// The sent message's id.
        id: i64,
        /// First alert again only the recipients who have not read it: their
        /// copy is unread again and pops up again.
        #[arg(long)]
        remind: bool,
        /// Wait up to SECS seconds (1–86400) until everyone has read it.
        #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u32).range(1..=86400))]
        wait: Option<u32>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Answer a message: to its sender, the way it came.
    Reply {
        /// The message's id.
        id: i64,
        /// The answer; `-` or nothing reads standard input.
        text: Vec<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change a message you sent, at every recipient: a live notice.
    ///
    /// ID is what `messngr send` printed (messngr receivers and names held
    /// here; a legacy receiver cannot be changed). Each recipient's copy gets
    /// the new text and is unread again; a pop-up still on screen is replaced
    /// in place, a terminal gets one short line. Only you (or root) can
    /// change what you sent, and receivers check it by your signature.
    #[command(
        after_help = "Example, a countdown:\n  messngr send --json '*' …   # or: messngr send /users Server reboots in 10 minutes\n  messngr update 42 Server reboots in 5 minutes\n  messngr update 42 Server reboots in 1 minute"
    )]
    Update {
        /// The sent message's id.
        id: i64,
        /// The new text; `-` or nothing reads standard input.
        text: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Withdraw a message you sent, at every recipient: its text is deleted
    /// there and its pop-up says it was withdrawn.
    Retract {
        /// The sent message's id.
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a message.
    Rm {
        /// Its id.
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print every message: JSON lines (default) or plain text.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
    },
    /// Hand a message another program received to the daemon (Samba's `message command`).
    ///
    /// For hosts where Samba owns the NetBIOS ports (messngr's daemon runs
    /// with `serve_netbios = false`). In smb.conf:
    ///
    ///   message command = /usr/bin/messngr deliver %s %f %L
    ///
    /// smbd writes each message it receives to a file (%s), in its unix
    /// charset, and runs the command as its guest user with the sender (%f)
    /// and the name the sender called (%L; smb.conf(5) documents %t for the
    /// recipient, but Samba expands %t to the current time first). The message is stored unverified, like any
    /// legacy message, and the file is deleted once the daemon has it; if
    /// the daemon refuses or cannot be reached the file is kept and the exit
    /// status is not 0 (3: no daemon). Only root and the accounts in the
    /// daemon's `deliver_users` (smbd's guest account) may deliver; it gives
    /// no right to read.
    Deliver {
        /// The file holding the message text.
        file: PathBuf,
        /// The sender's name.
        from: String,
        /// The recipient's name.
        to: String,
    },
    /// Run the daemon in the foreground: claim the NetBIOS names and answer for them.
    ///
    /// Registers NAME<00>, NAME<03>, NAME<20>, WORKGROUP<00> (group), the
    /// configured aliases and logged-in users as <03> names by broadcast
    /// (and at the WINS server when one is set), defends them, answers name
    /// and node-status queries, and releases them on SIGTERM or Ctrl-C.
    /// Logs go to standard error; RUST_LOG=debug shows every packet.
    /// It needs UDP port 137 (root or CAP_NET_BIND_SERVICE).
    Daemon,
    /// Show, add or remove this host's messenger names (like `net name`).
    Name {
        /// What to do.
        #[command(subcommand)]
        action: NameAction,
        /// Print JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Find a NetBIOS name on the network (like nmblookup).
    ///
    /// NAME#XX looks up that suffix (hex); without one, #03 (messenger) is
    /// looked up. With -A, NAME is an IPv4 address and its node status
    /// (every name it holds) is shown, like `nmblookup -A`.
    Lookup {
        /// The name (NAME or NAME#XX), or an address with -A.
        name: String,
        /// Ask the host at this address for its names (node status).
        #[arg(short = 'A', long = "status")]
        node_status: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show each new message as a desktop notification (the per-user agent).
    ///
    /// Run in the user's desktop session (packaging/systemd/messngr-agent.service
    /// or packaging/xdg/messngr-agent.desktop). On start it shows every unread
    /// message that arrived while it was away, then each new one. The
    /// notification offers "Reply" and "Mark read"; urgent messages stay until
    /// dismissed. A tray icon (StatusNotifierItem: KDE, Xfce, Cinnamon,
    /// waybar, GNOME with the AppIndicator extension) shows the unread count;
    /// clicking it pops up the unread messages again. Without a D-Bus session
    /// or a daemon it says so on one line and retries; messages wait in the
    /// inbox.
    Agent {
        /// Program run for "Reply", with the message id as its argument and
        /// $MESSNGR_MESSAGE_ID set (never through a shell). Without it, the
        /// agent prints the `messngr reply ID` command to use.
        #[arg(long, value_name = "PROGRAM")]
        reply_command: Option<PathBuf>,
        /// Seconds between attempts when the daemon or D-Bus is missing.
        #[arg(long, value_name = "SECS", default_value_t = 10)]
        retry: u64,
        /// No tray icon: pop-ups only. Without a tray on the desktop the
        /// icon costs nothing but one log line.
        #[arg(long)]
        no_tray: bool,
    },
    /// Do not disturb: `on` shows you only urgent messages, on the desktop
    /// and on your terminals; the others wait, unread, in the inbox. `off`
    /// ends it: the agent pops up what waited and your terminals are told
    /// how many messages arrived. Without an argument, says whether it is
    /// on. Kept by the daemon for your login name, across restarts.
    #[command(
        after_help = "Examples:\n  messngr quiet on     # a meeting: only urgent messages now\n  messngr quiet off    # what waited pops up\n  messngr quiet --json"
    )]
    Quiet {
        /// on or off.
        #[arg(value_parser = ["on", "off"])]
        state: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Keys and trust between messngr hosts: this host's key, the pins.
    ///
    /// Every messngr host has a key; a host's key is pinned by its NetBIOS
    /// name the first time it is met (trust on first use), or taken from
    /// the admin's trust file (`trust_file`). A host that later shows
    /// another key is refused, logged and listed in `messngr status`.
    #[command(
        after_help = "Examples:\n  messngr trust show            # this host's fingerprint, to read aloud\n  messngr trust list\n  sudo messngr trust remove H2  # after H2's admin confirmed its new key\n  messngr trust export > trust  # a trust file for other hosts"
    )]
    Trust {
        /// What to do.
        #[command(subcommand)]
        action: TrustAction,
        /// Print JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Tokens for the HTTP API (`http://127.0.0.1:839/v1/…`, ntfy-style
    /// publishing, the web inbox).
    ///
    /// A token acts as your account: it sends as you and sees your
    /// messages. Only a hash is kept; a revoked token is refused at once.
    #[command(
        after_help = "Examples:\n  (umask 077; echo \"Authorization: Bearer $(messngr token create --label backup)\" > auth)\n  curl -H @auth -H 'Content-Type: application/json' -d '{\"to\":\"H2\",\"text\":\"done\"}' http://127.0.0.1:839/v1/messages\n  messngr token list\n  messngr token revoke 3"
    )]
    Token {
        /// What to do.
        #[command(subcommand)]
        action: TokenAction,
        /// Print JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Open the web inbox in a browser, already signed in.
    ///
    /// Asks the daemon for a one-time sign-in link (good once, for 60
    /// seconds) and opens it with xdg-open; prints it when no browser can be
    /// opened. The session acts as your `messngr web` token: `messngr token
    /// revoke` on it signs every such browser out.
    #[command(
        after_help = "Examples:\n  messngr web\n  messngr web --print    # only print the link (over ssh: forward a port to 127.0.0.1:839)"
    )]
    Web {
        /// Print the link instead of opening a browser.
        #[arg(long)]
        print: bool,
    },
    /// Show the daemon's names, their states and its counters.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Decode captured frames (hex) and print every field, like a tiny tshark.
    ///
    /// Reads frames in hex, one per line, from the arguments or from standard
    /// input when there are none; lines starting with '#' are skipped and a
    /// leading 'C>S ' or 'S>C ' is ignored, so the files under
    /// crates/messngr-proto/tests/vectors/ can be piped in as they are.
    ///
    /// Example: messngr decode --as nbns 53a00110000100000000000020464345…
    Decode(DecodeArgs),
    /// See messngr work: three hosts on a private LAN exchange messages.
    ///
    /// Builds a LAN of three network namespaces — H1, H2 and H3 at
    /// 10.77.0.1-3 on a bridge with no uplink, so nothing reaches the real
    /// network — starts a messngr daemon on each, lets them claim their
    /// names, then sends a direct message (H1 to H2, like `net send H2 …`),
    /// a broadcast (H3 to everyone in the workgroup, like `net send * …`)
    /// and, if Samba's smbclient is installed, an `smbclient -M` message
    /// (H3 to H1). It prints each host's inbox as `messngr inbox` shows it
    /// and removes everything again — daemons, namespaces, temp files — also
    /// on Ctrl-C. Takes a few seconds.
    ///
    /// Needs root for the namespaces: sudo messngr demo. --config and
    /// --socket do not apply: each demo host gets its own, in a temp dir.
    ///
    /// Exit status: 0 every message arrived; 1 one did not (the daemons'
    /// logs are kept, and named); 2 error; 130 or 143 interrupted (and
    /// cleaned up).
    Demo {
        /// Leave the LAN and its daemons running afterwards, and print how to
        /// use them and how to remove them.
        #[arg(long)]
        keep: bool,
    },
    /// Check this host for what usually stops messngr working, and say how to fix each problem.
    ///
    /// Checks: which program holds the NetBIOS ports (nmbd/smbd next to
    /// messngr), the served interface's broadcast address, an nftables
    /// firewall dropping UDP 137/138 or TCP 139, the daemon (reachable, not
    /// running as root), a name lost to another host on the LAN, the inbox
    /// near max_messages or its disk full, the relay (with [relay] servers:
    /// connected, its directory entry written), Samba's `message command`
    /// when serve_netbios = false, and for the desktop agent: the D-Bus session,
    /// a notification server and a tray. Nothing is changed.
    ///
    /// Run it as root for the whole picture (port owners, the firewall, the
    /// inbox), and as a desktop user for the agent's checks; what cannot be
    /// answered as the current user is skipped, not failed.
    ///
    /// Exit status: 0 when no check failed, 1 when one did.
    Doctor {
        /// Print JSON: {"ok": true|false, "checks": [{"check", "status": "ok"|"fail"|"skip", "summary", "fix"}]}.
        #[arg(long)]
        json: bool,
        /// Samba's configuration, read for its `message command`.
        #[arg(long, value_name = "FILE", default_value = "/etc/samba/smb.conf")]
        smb_conf: PathBuf,
    },
    /// Print a commented configuration, the man page or shell completions.
    Generate {
        /// What to generate.
        #[command(subcommand)]
        what: Generate,
    },
}

/// Which messages `inbox` and `search` show (one definition for both).
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct Selection {
    /// Only messages not read yet.
    #[arg(long)]
    pub unread: bool,
    /// Only messages from this sender.
    #[arg(long, value_name = "NAME")]
    pub from: Option<String>,
    /// Only messages since T: 2026-11-27T10:00:00Z, or an age such as 90s, 15m, 2h, 3d.
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Show at most N messages, the newest (default 50, at most 1000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: Option<u32>,
    /// Only messages older than the one with this id: the next page back.
    #[arg(long, value_name = "ID")]
    pub before: Option<i64>,
}

/// Arguments of `messngr decode`.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Which protocol the frames are.
    #[arg(long = "as", value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Print one JSON object per frame instead of text.
    #[arg(long)]
    pub json: bool,
    /// Frames in hex; read from standard input when absent.
    pub frames: Vec<String>,
}

/// `send --transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransportArg {
    /// messngr if the receiver speaks it, else SMB; a datagram (and signed
    /// copies to messngr hosts) for `*` and /domain.
    Auto,
    /// An SMB message on TCP 139 (net send, smbclient -M).
    Smb,
    /// A \MAILSLOT\MESSNGR datagram on UDP 138 (WinPopup): not
    /// acknowledged; for `*` and /domain, no signed copies either.
    Mailslot,
    /// MS-MSRP NetrSendMessage on UDP 135, for receivers that accept only
    /// RPC (the Windows NT/2000/XP net send fallback).
    Rpc,
    /// messngr only, encrypted and signed (as --secure).
    Native,
}

impl From<TransportArg> for messngr_api::Via {
    fn from(t: TransportArg) -> Self {
        match t {
            TransportArg::Auto => messngr_api::Via::Auto,
            TransportArg::Smb => messngr_api::Via::Smb,
            TransportArg::Mailslot => messngr_api::Via::Mailslot,
            TransportArg::Rpc => messngr_api::Via::Rpc,
            TransportArg::Native => messngr_api::Via::Native,
        }
    }
}

/// `send --priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PriorityArg {
    /// Less than normal (for the receiver's hooks and filters).
    Low,
    /// What every legacy message is.
    Normal,
    /// Stays on screen until dismissed; gets through do-not-disturb.
    Urgent,
}

impl From<PriorityArg> for messngr_api::Priority {
    fn from(p: PriorityArg) -> Self {
        match p {
            PriorityArg::Low => messngr_api::Priority::Low,
            PriorityArg::Normal => messngr_api::Priority::Normal,
            PriorityArg::Urgent => messngr_api::Priority::Urgent,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Guess from the first bytes.
    Auto,
    /// NetBIOS name service (UDP 137).
    Nbns,
    /// NetBIOS datagram service (UDP 138), with mailslot writes.
    Nbdgm,
    /// NetBIOS session service (TCP 139), with SMB message commands or messngr native frames.
    Nbss,
    /// Connectionless DCE/RPC (UDP 135), with MS-MSRP NetrSendMessage.
    Dcerpc,
}

/// Formats of `messngr export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line.
    Jsonl,
    /// A header line and the text, per message.
    Text,
}

/// `messngr name` actions.
#[derive(Debug, Subcommand)]
pub enum NameAction {
    /// List this host's names and their states.
    List,
    /// Claim NAME<03> as a messenger alias, or with --group join the group
    /// NAME<03>, so that `messngr send /domain:NAME` (`net send
    /// /domain:NAME`) reaches this host with every other member (root only).
    Add {
        /// A group name shared with other hosts, not a name of this host's own.
        #[arg(long)]
        group: bool,
        /// The alias or group, 1 to 15 characters.
        name: String,
    },
    /// Release an alias (root only).
    Del {
        /// The alias.
        name: String,
    },
}

/// What `generate` writes.
#[derive(Debug, Subcommand)]
pub enum Generate {
    /// A commented configuration file with every default: messngr generate config > /etc/messngr/messngr.toml
    Config,
    /// The roff man page: messngr generate man > messngr.1; with --dir, one
    /// page for the command and one for each subcommand (messngr-send.1, …).
    Man {
        /// Write messngr.1 and messngr-SUBCOMMAND.1 into this directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Completions: messngr generate completions bash > /etc/bash_completion.d/messngr
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// The NATS permissions of one host's relay account, for nats-server's
    /// config: it may send mail to anyone, but take, acknowledge and write
    /// only its own (docs/relay.md, "One NATS user per host").
    NatsPermissions {
        /// The host's NetBIOS name (its `netbios_name`), e.g. H2.
        #[arg(value_parser = netbios_host)]
        host: String,
        /// Leave out making the streams (MESSNGR_MAIL and the directory's):
        /// once they exist, so that no host can make them again its own way.
        #[arg(long)]
        streams_exist: bool,
    },
}

/// A host's NetBIOS name as `generate nats-permissions` takes it.
fn netbios_host(s: &str) -> Result<String, String> {
    let s = s.trim();
    if (1..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic() && b != b'.') {
        Ok(s.to_ascii_uppercase())
    } else {
        Err("give the host's NetBIOS name: 1 to 15 characters, no spaces or dots (e.g. H2)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn decode_parses_a_format_and_frames() {
        let cli =
            Cli::try_parse_from(["messngr", "decode", "--as", "nbns", "--json", "00"]).unwrap();
        match cli.command {
            Cmd::Decode(a) => {
                assert_eq!(a.format, Format::Nbns);
                assert!(a.json);
                assert_eq!(a.frames, ["00"]);
            }
            other => panic!("parsed as {other:?}"),
        }
        assert!(Cli::try_parse_from(["messngr", "decode", "--as", "ipx"]).is_err());
    }

    #[test]
    fn send_takes_a_target_and_words() {
        let cli = Cli::try_parse_from([
            "messngr", "send", "-I", "10.0.0.7", "H2", "Lunch", "is", "ready",
        ])
        .unwrap();
        match cli.command {
            Cmd::Send {
                address,
                target,
                text,
                json,
                priority,
                time,
                expires,
                secure,
                wait,
                transport,
            } => {
                assert_eq!(transport, TransportArg::Auto);
                assert_eq!((priority, time, wait, expires), (None, None, None, None));
                assert!(!secure);
                assert_eq!(address, Some(std::net::Ipv4Addr::new(10, 0, 0, 7)));
                assert_eq!(target, "H2");
                assert_eq!(text, ["Lunch", "is", "ready"]);
                assert!(!json);
            }
            other => panic!("parsed as {other:?}"),
        }
        assert!(Cli::try_parse_from(["messngr", "send", "*", "-"]).is_ok());
        let cli = Cli::try_parse_from([
            "messngr",
            "send",
            "--priority",
            "urgent",
            "--time",
            "7",
            "H1",
            "hi",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Cmd::Send {
                priority: Some(PriorityArg::Urgent),
                time: Some(7),
                ..
            }
        ));
        // --expires: a duration up to 7 days.
        let expires =
            |e: &str| match Cli::try_parse_from(["messngr", "send", "--expires", e, "H1", "hi"]) {
                Ok(Cli {
                    command: Cmd::Send { expires, .. },
                    ..
                }) => Ok(expires),
                Ok(other) => panic!("parsed as {other:?}"),
                Err(e) => Err(e.to_string()),
            };
        assert_eq!(expires("2h"), Ok(Some(7200)));
        assert_eq!(expires("90s"), Ok(Some(90)));
        assert_eq!(expires("45"), Ok(Some(45)));
        assert_eq!(expires("7d"), Ok(Some(604_800)));
        for bad in ["8d", "0s", "2x", "h", "1.5h"] {
            let e = expires(bad).unwrap_err();
            assert!(e.contains("like 90s, 30m, 2h or 7d"), "{bad}: {e}");
        }
        // --wait: SECS, or the default when last; a target after a bare
        // --wait is an error, never taken as the time.
        let wait = |args: &[&str]| match Cli::try_parse_from(args).map(|c| c.command) {
            Ok(Cmd::Send { wait, target, .. }) => Ok((wait, target)),
            Ok(other) => panic!("parsed as {other:?}"),
            Err(e) => Err(e),
        };
        assert_eq!(
            wait(&["messngr", "send", "--wait", "10", "H1", "hi"]).unwrap(),
            (Some(10), "H1".into())
        );
        assert_eq!(
            wait(&["messngr", "send", "H1", "hi", "--wait"]).unwrap(),
            (Some(300), "H1".into())
        );
        assert!(wait(&["messngr", "send", "--wait", "H1", "hi"]).is_err());
        assert!(wait(&["messngr", "send", "--wait", "0", "H1", "hi"]).is_err());
        let cli = Cli::try_parse_from(["messngr", "track", "7", "--wait", "30"]).unwrap();
        assert!(matches!(
            cli.command,
            Cmd::Track {
                id: 7,
                wait: Some(30),
                remind: false,
                json: false
            }
        ));
        for bad in [
            &["messngr", "send", "--time", "0", "H1", "hi"][..],
            &["messngr", "send", "--time", "86401", "H1", "hi"],
            &["messngr", "send", "--priority", "high", "H1", "hi"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
        assert!(Cli::try_parse_from(["messngr", "send"]).is_err());
    }

    #[test]
    fn inbox_commands_parse() {
        let cli = Cli::try_parse_from([
            "messngr", "inbox", "--unread", "--from", "alice", "--since", "2h",
        ])
        .unwrap();
        assert!(matches!(cli.command, Cmd::Inbox { ref select, json: false }
            if select.unread && select.from.as_deref() == Some("alice")
                && select.since.as_deref() == Some("2h") && select.limit.is_none()));
        let cli = Cli::try_parse_from([
            "messngr", "search", "--limit", "5", "--before", "99", "build", "red",
        ])
        .unwrap();
        assert!(
            matches!(cli.command, Cmd::Search { ref select, ref text, .. }
            if select.limit == Some(5) && select.before == Some(99) && text == &["build", "red"])
        );
        assert!(Cli::try_parse_from(["messngr", "search"]).is_err());
        assert!(Cli::try_parse_from(["messngr", "inbox", "--limit", "0"]).is_err());
        assert!(Cli::try_parse_from(["messngr", "inbox", "--limit", "1001"]).is_err());
        assert!(matches!(
            Cli::try_parse_from(["messngr", "read", "7"])
                .unwrap()
                .command,
            Cmd::Read { id: 7, .. }
        ));
        assert!(Cli::try_parse_from(["messngr", "rm", "seven"]).is_err());
        assert!(matches!(
            Cli::try_parse_from(["messngr", "export", "--format", "text"])
                .unwrap()
                .command,
            Cmd::Export {
                format: ExportFormat::Text
            }
        ));
    }

    #[test]
    fn the_agent_has_a_tray_unless_told_otherwise() {
        let tray = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
            Cmd::Agent { no_tray, .. } => !no_tray,
            _ => unreachable!(),
        };
        assert!(tray(&["messngr", "agent"]));
        assert!(!tray(&["messngr", "agent", "--no-tray"]));
    }

    #[test]
    fn deliver_takes_samba_substitutions() {
        let cli = Cli::try_parse_from(["messngr", "deliver", "/tmp/msg.X", "alice", "H1"]).unwrap();
        assert!(
            matches!(cli.command, Cmd::Deliver { ref file, ref from, ref to }
            if file == std::path::Path::new("/tmp/msg.X") && from == "alice" && to == "H1")
        );
        assert!(Cli::try_parse_from(["messngr", "deliver", "/tmp/msg.X", "alice"]).is_err());
    }

    #[test]
    fn name_lookup_and_status_parse() {
        let cli = Cli::try_parse_from([
            "messngr", "--socket", "/tmp/s", "name", "add", "HELPDESK", "--json",
        ])
        .unwrap();
        assert_eq!(cli.socket.as_deref(), Some(std::path::Path::new("/tmp/s")));
        assert!(
            matches!(cli.command, Cmd::Name { action: NameAction::Add { ref name, group: false }, json: true } if name == "HELPDESK")
        );
        let cli = Cli::try_parse_from(["messngr", "lookup", "-A", "10.0.0.1"]).unwrap();
        assert!(matches!(
            cli.command,
            Cmd::Lookup {
                node_status: true,
                json: false,
                ..
            }
        ));
        let cli = Cli::try_parse_from(["messngr", "status", "--json"]).unwrap();
        assert!(matches!(cli.command, Cmd::Status { json: true }));
        assert!(Cli::try_parse_from(["messngr", "name", "rename"]).is_err());
    }
}
