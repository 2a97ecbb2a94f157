//! Drop-ins: every `*.toml` in `messngr.d/` beside the configuration file
//! (for `/etc/messngr/messngr.toml`, `/etc/messngr/messngr.d/`), read after
//! it in name order, each setting the keys it names: a key's value replaces
//! the file's (an array, `[[hook]]` included, is replaced whole), a table
//! is merged key by key. Each file's keys and types are checked on their
//! own, the rules between keys once merged.
//!
//! Why: the main file is the administrator's (a Debian conffile, never
//! edited by a script); a package's maintainer scripts or a configuration
//! tool add a snippet instead — the postinst's `samba.toml` says
//! `serve_netbios = false` when Samba is installed. The daemon, a reload,
//! the CLI and `messngr doctor` all read the same merged result.

use std::path::{Path, PathBuf};

use super::{Config, ConfigError};

/// The drop-in directory of `path`: `NAME.d` beside `NAME.toml`.
pub(super) fn dir_of(path: &Path) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!("{stem}.d"))
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

fn parse_error(path: &Path, e: &toml::de::Error) -> ConfigError {
    ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string().trim_end().replace('\n', " "),
    }
}

/// One file as a table, its keys and types checked on their own (so that
/// an error keeps its file, line and column); the rules between keys are
/// checked once merged.
fn table(text: &str, path: &Path) -> Result<toml::Table, ConfigError> {
    toml::from_str::<Config>(text).map_err(|e| parse_error(path, &e))?;
    text.parse()
        .map_err(|e: toml::de::Error| parse_error(path, &e))
}

/// Sets `over`'s keys in `base`; tables in both are merged key by key.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Reads `path` and its drop-ins.
pub(super) fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = read(path)?;
    let dir = dir_of(path);
    let mut snippets: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => return Err(ConfigError::Read { path: dir, source }),
    };
    if snippets.is_empty() {
        return Config::from_toml(&text, path);
    }
    snippets.sort();
    let mut merged = table(&text, path)?;
    for s in &snippets {
        merge(&mut merged, table(&read(s)?, s)?);
    }
    let cfg: Config = merged
        .try_into()
        .map_err(|e: toml::de::Error| parse_error(&dir, &e))?;
    cfg.validate()?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drop_in_sets_its_keys_and_leaves_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("messngr.toml");
        std::fs::write(
            &main,
            "netbios_name = \"H1\"\nnames = [\"A\"]\n[http]\nmax_body = 8080\n",
        )
        .unwrap();
        assert_eq!(dir_of(&main), dir.path().join("messngr.d"));
        std::fs::create_dir(dir.path().join("messngr.d")).unwrap();
        std::fs::write(
            dir.path().join("messngr.d/20-samba.toml"),
            "serve_netbios = false\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("messngr.d/10-names.toml"),
            "names = [\"B\"]\n[http]\nlan = false\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("messngr.d/notes.txt"), "not toml [").unwrap();
        let c = load(&main).unwrap();
        assert_eq!(c.netbios_name.as_deref(), Some("H1"));
        assert_eq!(c.names, ["B"]);
        assert!(!c.serve_netbios());
        assert_eq!(
            c.http.max_body,
            Some(8080),
            "the [http] table is merged, not replaced"
        );
        assert_eq!(c.http.lan, Some(false));

        // Rules between keys hold for the merged result, not each snippet:
        // max_messages_per_owner above the default max_messages is fine when
        // the file raises max_messages.
        std::fs::write(&main, "max_messages = 1000000\n").unwrap();
        std::fs::write(
            dir.path().join("messngr.d/15-quota.toml"),
            "max_messages_per_owner = 200000\n",
        )
        .unwrap();
        assert_eq!(load(&main).unwrap().max_messages_per_owner(), Some(200000));
        std::fs::create_dir(dir.path().join("messngr.d/dir.toml")).unwrap();
        assert!(
            load(&main).is_ok(),
            "a directory named *.toml is not a drop-in"
        );

        std::fs::write(dir.path().join("messngr.d/30-bad.toml"), "rpc = \"yes\"\n").unwrap();
        let e = load(&main).unwrap_err().to_string();
        assert!(e.contains("30-bad.toml") && e.contains("line 1"), "{e}");
    }
}
