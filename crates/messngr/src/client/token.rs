//! `messngr token …`: the HTTP API's tokens, as text or JSON; and
//! `messngr web`, which signs a browser in with a one-time link.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use messngr_api::{
    TokenCreate, TokenCreated, TokenList, TokenRevoke, TokenView, WebLogin, WebLoginView,
};

use super::{Kind, exchange};
use crate::cli::TokenAction;
use crate::show::line;

fn print_row(out: &mut impl Write, t: &TokenView) -> std::io::Result<()> {
    writeln!(
        out,
        "{:>4}  {:<12} {:<12} {}  {}",
        t.id,
        line(&t.user),
        t.prefix,
        messngr_api::time::local(t.created_ms),
        line(&t.label)
    )
}

/// `messngr token create|list|revoke`.
pub fn token(
    socket: &Path,
    action: TokenAction,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    match action {
        TokenAction::Create { label } => exchange(
            socket,
            TokenCreate { label },
            Kind::Other,
            json,
            out,
            |out, t: TokenCreated| {
                writeln!(out, "{}", t.token)?;
                eprintln!(
                    "messngr: token {} for {}: shown this once; send it as `Authorization: Bearer TOKEN`",
                    t.view.id,
                    line(&t.view.user)
                );
                Ok(())
            },
        ),
        TokenAction::List => exchange(
            socket,
            TokenList {},
            Kind::Other,
            json,
            out,
            |out, tokens: Vec<TokenView>| {
                if tokens.is_empty() {
                    writeln!(out, "no tokens: `messngr token create` makes one")?;
                    return Ok(());
                }
                writeln!(
                    out,
                    "{:>4}  {:<12} {:<12} {:<25} LABEL",
                    "ID", "USER", "TOKEN", "MADE"
                )?;
                for t in &tokens {
                    print_row(out, t)?;
                }
                Ok(())
            },
        ),
        TokenAction::Revoke { id } => exchange(
            socket,
            TokenRevoke { id },
            Kind::Other,
            json,
            out,
            |out, t: TokenView| {
                writeln!(out, "token {} of {} revoked", t.id, line(&t.user))?;
                Ok(())
            },
        ),
    }
}

/// `messngr web`: opens the one-time sign-in link with xdg-open, or prints
/// it (`--print`, or when no browser can be opened).
pub fn web(socket: &Path, print: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    exchange(
        socket,
        WebLogin {},
        Kind::Other,
        false,
        out,
        |out, v: WebLoginView| {
            let opened = !print
                && std::process::Command::new("xdg-open")
                    .arg(&v.url)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
            if opened {
                eprintln!("messngr: the web inbox is open in your browser");
            } else {
                if !print {
                    eprintln!(
                        "messngr: no browser could be opened (xdg-open); open this link (good once, for {} s):",
                        v.expires_in_secs
                    );
                }
                writeln!(out, "{}", v.url)?;
            }
            Ok(())
        },
    )
}
