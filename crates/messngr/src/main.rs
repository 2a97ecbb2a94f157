//! `messngr`: the Windows Messenger service rebuilt. One binary for the daemon
//! and every command; this file parses the command line and maps results to
//! exit codes. The protocols live in `messngr-proto`, the daemon in
//! `messngr-daemon`.

mod agent;
mod cli;
mod client;
mod decode;
mod demo;
mod doctor;
mod show;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use messngr_daemon::config::{Config, DEFAULT_CONFIG};

use cli::{Cli, Cmd, Generate};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`messngr … | head`) is not an error.
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("messngr: {err:#}");
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}

/// The configuration: `--config`/`$MESSNGR_CONFIG` must exist; the default
/// path may be absent (every key has a default).
fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    match path {
        Some(p) => Ok(Config::load(p)?),
        None if Path::new(DEFAULT_CONFIG).exists() => Ok(Config::load(Path::new(DEFAULT_CONFIG))?),
        None => Ok(Config::default()),
    }
}

/// The API socket: `--socket`, `$MESSNGR_SOCKET` (both via clap), the
/// config's `socket`, the default.
fn socket_path(cli_socket: Option<PathBuf>, config: &Config) -> PathBuf {
    cli_socket.unwrap_or_else(|| config.socket())
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match cli.command {
        Cmd::Daemon => {
            // The file is chosen once: a reload reads the same one, and a
            // file gone or unreadable then is an error, never the defaults
            // (which would drop every rule, alias and hook).
            let started_with = cli.config.clone().or_else(|| {
                Path::new(DEFAULT_CONFIG)
                    .try_exists()
                    .map_or(true, |e| e)
                    .then(|| PathBuf::from(DEFAULT_CONFIG))
            });
            let (path, socket) = (started_with, cli.socket);
            let read = move || -> anyhow::Result<messngr_daemon::Settings> {
                let config = match &path {
                    Some(p) => Config::load(p)?,
                    None => Config::default(),
                };
                let mut settings = messngr_daemon::Settings::resolve(&config)?;
                if let Some(s) = &socket {
                    settings.socket = s.clone();
                }
                Ok(settings)
            };
            let settings = read()?;
            run_daemon(
                settings,
                Box::new(move || read().map_err(|e| format!("{e:#}"))),
            )
        }
        Cmd::Send {
            address,
            json,
            target,
            text,
            priority,
            time,
            expires,
            secure,
            wait,
            transport,
        } => {
            let config = load_config(cli.config.as_deref())?;
            let text = text_or_stdin(text)?;
            let request = messngr_api::Send {
                target,
                text,
                address,
                priority: priority.map(Into::into),
                popup_secs: time,
                expires_secs: expires,
                secure,
                transport: transport.into(),
                untracked: false,
            };
            let socket = socket_path(cli.socket, &config);
            match wait {
                Some(secs) => client::send_and_wait(&socket, request, secs, json, &mut out),
                None => client::send(&socket, request, json, &mut out),
            }
        }
        Cmd::Track {
            id,
            remind,
            wait,
            json,
        } => {
            let config = load_config(cli.config.as_deref())?;
            let socket = socket_path(cli.socket, &config);
            if remind {
                let code = client::notice(
                    &socket,
                    messngr_api::Remind { id },
                    "reminded",
                    json,
                    &mut out,
                )?;
                if code != ExitCode::SUCCESS {
                    return Ok(code);
                }
            }
            client::track(&socket, id, wait, json, &mut out)
        }
        Cmd::Inbox { select, json } => {
            let config = load_config(cli.config.as_deref())?;
            client::inbox(&socket_path(cli.socket, &config), select, json, &mut out)
        }
        Cmd::Search { select, json, text } => {
            let config = load_config(cli.config.as_deref())?;
            let socket = socket_path(cli.socket, &config);
            client::search(&socket, select, text, json, &mut out)
        }
        Cmd::Read { id, json } => {
            let config = load_config(cli.config.as_deref())?;
            client::read(&socket_path(cli.socket, &config), id, json, &mut out)
        }
        Cmd::Reply { id, text, json } => {
            let config = load_config(cli.config.as_deref())?;
            let text = text_or_stdin(text)?;
            client::reply(&socket_path(cli.socket, &config), id, text, json, &mut out)
        }
        Cmd::Update { id, text, json } => {
            let config = load_config(cli.config.as_deref())?;
            let text = text_or_stdin(text)?;
            let call = messngr_api::Update { id, text };
            client::notice(
                &socket_path(cli.socket, &config),
                call,
                "changed",
                json,
                &mut out,
            )
        }
        Cmd::Retract { id, json } => {
            let config = load_config(cli.config.as_deref())?;
            let call = messngr_api::Retract { id };
            client::notice(
                &socket_path(cli.socket, &config),
                call,
                "withdrawn",
                json,
                &mut out,
            )
        }
        Cmd::Rm { id, json } => {
            let config = load_config(cli.config.as_deref())?;
            client::rm(&socket_path(cli.socket, &config), id, json, &mut out)
        }
        Cmd::Export { format } => {
            let config = load_config(cli.config.as_deref())?;
            client::export(&socket_path(cli.socket, &config), format, &mut out)
        }
        Cmd::Deliver { file, from, to } => {
            let config = load_config(cli.config.as_deref())?;
            client::deliver(&socket_path(cli.socket, &config), &file, from, to)
        }
        Cmd::Name { action, json } => {
            let config = load_config(cli.config.as_deref())?;
            client::name(&socket_path(cli.socket, &config), action, json, &mut out)
        }
        Cmd::Lookup {
            name,
            node_status,
            json,
        } => {
            let config = load_config(cli.config.as_deref())?;
            client::lookup(
                &socket_path(cli.socket, &config),
                &name,
                node_status,
                json,
                &mut out,
            )
        }
        Cmd::Alert(args) => {
            let config = load_config(cli.config.as_deref())?;
            let socket = socket_path(cli.socket, &config);
            let text = if args.unit.is_some() && args.text.is_empty() {
                String::new()
            } else {
                text_or_stdin(args.text.clone())?
            };
            client::alert(&socket, args, text, &mut out)
        }
        Cmd::Trust { action, json } => {
            let config = load_config(cli.config.as_deref())?;
            client::trust(&socket_path(cli.socket, &config), action, json, &mut out)
        }
        Cmd::Token { action, json } => {
            let config = load_config(cli.config.as_deref())?;
            client::token(&socket_path(cli.socket, &config), action, json, &mut out)
        }
        Cmd::Web { print } => {
            let config = load_config(cli.config.as_deref())?;
            client::web(&socket_path(cli.socket, &config), print, &mut out)
        }
        Cmd::Status { json } => {
            let config = load_config(cli.config.as_deref())?;
            client::status(&socket_path(cli.socket, &config), json, &mut out)
        }
        Cmd::Agent {
            reply_command,
            retry,
            no_tray,
        } => {
            let config = load_config(cli.config.as_deref())?;
            agent::run(agent::Options {
                socket: socket_path(cli.socket, &config),
                reply_command,
                retry: std::time::Duration::from_secs(retry.max(1)),
                tray: !no_tray,
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Quiet { state, json } => {
            let config = load_config(cli.config.as_deref())?;
            let on = state.map(|s| s == "on");
            client::quiet(&socket_path(cli.socket, &config), on, json, &mut out)
        }
        Cmd::Decode(args) => decode::run(&args, &mut out),
        Cmd::Demo { keep } => demo::run(keep, &mut out),
        Cmd::Doctor { json, smb_conf } => {
            let config = load_config(cli.config.as_deref())?;
            let options = doctor::Options {
                socket: socket_path(cli.socket, &config),
                serve_netbios: config.serve_netbios(),
                rpc: config.rpc(),
                interfaces: config.interface.as_ref().map_or_else(Vec::new, |i| {
                    i.names().into_iter().map(str::to_owned).collect()
                }),
                smb_conf,
            };
            doctor::run(&options, json, &mut out)
        }
        Cmd::Generate { what } => {
            let mut cmd = Cli::command();
            match what {
                Generate::Config => out.write_all(messngr_daemon::config::EXAMPLE.as_bytes())?,
                Generate::Man { dir: None } => clap_mangen::Man::new(cmd).render(&mut out)?,
                Generate::Man { dir: Some(dir) } => {
                    std::fs::create_dir_all(&dir)
                        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
                    clap_mangen::generate_to(cmd, &dir).map_err(|e| {
                        anyhow::anyhow!("cannot write the man pages in {}: {e}", dir.display())
                    })?;
                }
                Generate::Completions { shell } => {
                    clap_complete::generate(shell, &mut cmd, "messngr", &mut out)
                }
                Generate::NatsPermissions {
                    host,
                    streams_exist,
                } => out.write_all(
                    messngr_daemon::nats_permissions(&host, !streams_exist).as_bytes(),
                )?,
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The words of the command line as one text, or standard input when there
/// are none or just `-` (without its final newline).
fn text_or_stdin(words: Vec<String>) -> anyhow::Result<String> {
    if words.is_empty() || words == ["-"] {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        Ok(s.trim_end_matches('\n').to_owned())
    } else {
        Ok(words.join(" "))
    }
}

/// Runs the daemon in the foreground until SIGTERM or SIGINT; on SIGHUP
/// it applies what `reload` reads.
fn run_daemon(
    settings: messngr_daemon::Settings,
    read: Box<dyn Fn() -> Result<messngr_daemon::Settings, String> + Send + Sync>,
) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // async-nats logs each of its events at info; the relay logs
                // what they mean (`relay/client.rs`), each reason once.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,async_nats=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        // Caught before anything is bound: SIGHUP's default action would
        // end the daemon, and systemd would not start it again.
        let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        let reload = messngr_daemon::Reload { read, hangups };
        let stop = tokio_util::sync::CancellationToken::new();
        let signals = stop.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::error!("cannot install signal handlers; stop the daemon with SIGKILL");
                return;
            };
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
                _ = int.recv() => tracing::info!("SIGINT: shutting down"),
            }
            signals.cancel();
        });
        messngr_daemon::run_reloading(settings, stop, Some(reload))
            .await
            .map_err(anyhow::Error::from)
    })?;
    Ok(ExitCode::SUCCESS)
}
