//! `messngr token …`: the HTTP API's tokens, as text or JSON.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use messngr_api::{TokenCreate, TokenCreated, TokenList, TokenRevoke, TokenView};

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
