//! `cargo xtask fetch-pyodide`: puts verified Pyodide releases into the
//! cache through `pyodide_packages::dist`, showing progress on a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use pyodide_packages::dist::{self, Event, KnownVersion, Source};
use pyodide_packages::env_vars::{PYODIDE_DIST, PYWORKERD_CACHE};

pub(crate) const SUMMARY: &str = "fetch a verified Pyodide release into the cache";

/// Which releases to fetch.
#[derive(Debug, PartialEq, Eq)]
enum Selection {
    One(&'static KnownVersion),
    All,
}

#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Help,
    Fetch(Selection),
}

fn help() -> String {
    let versions: String = dist::KNOWN_VERSIONS
        .iter()
        .enumerate()
        .map(|(i, known)| {
            format!(
                "  {:<10}Python {}{}\n",
                known.version,
                known.python,
                if i == 0 { " (default)" } else { "" }
            )
        })
        .collect();
    format!(
        "Fetch a verified Pyodide release into the cache.\n\
         \n\
         Usage: cargo xtask fetch-pyodide [--version VERSION | --all]\n\
         \n\
         Options:\n\
         \x20 --version VERSION  fetch this release (default: {default})\n\
         \x20 --all              fetch every known release\n\
         \x20 -h, --help         show this help\n\
         \n\
         The npm tarball is obtained with `npm pack pyodide@VERSION` (npm as you\n\
         have configured it), its sha512 is checked against the value pinned in\n\
         the repository, and it is unpacked into <cache>/pyodide/VERSION/.\n\
         A release already in the cache is checked against its manifest and not\n\
         fetched again; a damaged one is fetched again.\n\
         \n\
         Environment:\n\
         \x20 {PYODIDE_DIST:<17}path or http(s) URL of the tarball to use instead of npm;\n\
         \x20 {:<17}a directory is searched for pyodide-VERSION.tgz, and\n\
         \x20 {:<17}{{version}} in a URL is replaced by the version\n\
         \x20 {PYWORKERD_CACHE:<17}cache directory (default: $XDG_CACHE_HOME/pyworkerd or\n\
         \x20 {:<17}~/.cache/pyworkerd; ~/Library/Caches/pyworkerd on macOS)\n\
         \n\
         Known versions:\n{versions}",
        "",
        "",
        "",
        default = dist::default_version().version,
    )
}

fn parse(args: &[String]) -> Result<Parsed> {
    let mut version: Option<&'static KnownVersion> = None;
    let mut all = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--all" => all = true,
            "--version" => {
                let value = args.next().context("--version needs a value")?;
                version = Some(dist::known_version(value)?);
            }
            other => match other.strip_prefix("--version=") {
                Some(value) => version = Some(dist::known_version(value)?),
                None => bail!(
                    "unexpected argument \"{other}\" for fetch-pyodide; see `cargo xtask \
                     fetch-pyodide --help`"
                ),
            },
        }
    }
    Ok(Parsed::Fetch(match (version, all) {
        (Some(_), true) => bail!("--version and --all cannot be used together"),
        (Some(version), false) => Selection::One(version),
        (None, true) => Selection::All,
        (None, false) => Selection::One(dist::default_version()),
    }))
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let selection = match parse(args)? {
        Parsed::Help => return crate::print_out(&help()),
        Parsed::Fetch(selection) => selection,
    };
    let versions: Vec<&KnownVersion> = match selection {
        Selection::One(version) => vec![version],
        Selection::All => dist::KNOWN_VERSIONS.iter().collect(),
    };
    let cache_root = dist::cache_root()?;
    let source = Source::from_env();
    for version in versions {
        let mut progress = Progress::new(version, std::io::stderr().is_terminal());
        let result = dist::ensure(version, &cache_root, &source, &mut |event| {
            progress.show(event)
        });
        progress.finish();
        let dist = result?;
        let how = if dist.was_cached() {
            "already cached in"
        } else {
            "fetched into"
        };
        crate::print_out(&format!(
            "{} {how} {}\n",
            dist.version(),
            dist.dir().display()
        ))?;
    }
    Ok(())
}

/// How often a download's progress line is redrawn at most.
const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// Renders [`Event`]s on stderr. Phases and downloads are shown only on a
/// terminal; damage to the cache is always reported.
struct Progress {
    label: String,
    terminal: bool,
    line_open: bool,
    last_draw: Option<Instant>,
}

impl Progress {
    fn new(version: &KnownVersion, terminal: bool) -> Self {
        Progress {
            label: format!("pyodide {}", version.version),
            terminal,
            line_open: false,
            last_draw: None,
        }
    }

    fn show(&mut self, event: Event) {
        match event {
            Event::CacheDamaged { dir, problem } => {
                self.finish();
                eprintln!(
                    "warning: the cached {} in \"{}\" is damaged ({problem}); fetching it again",
                    self.label,
                    dir.display()
                );
            }
            _ if !self.terminal => {}
            Event::PhaseStarted(phase) => {
                self.finish();
                eprintln!("{}: {phase}...", self.label);
            }
            Event::Downloaded { bytes, total } => {
                let done = total == Some(bytes);
                let due = self
                    .last_draw
                    .is_none_or(|last| last.elapsed() >= REDRAW_EVERY);
                if !(done || due) {
                    return;
                }
                self.last_draw = Some(Instant::now());
                let line = match total {
                    Some(total) if total > 0 => format!(
                        "{}: downloaded {} of {} ({}%)",
                        self.label,
                        mib(bytes),
                        mib(total),
                        bytes * 100 / total
                    ),
                    _ => format!("{}: downloaded {}", self.label, mib(bytes)),
                };
                let mut stderr = std::io::stderr().lock();
                let _ = write!(stderr, "\r{line}\x1b[K");
                let _ = stderr.flush();
                self.line_open = true;
            }
            _ => {}
        }
    }

    /// Ends an open progress line.
    fn finish(&mut self) {
        if self.line_open {
            eprintln!();
            self.line_open = false;
        }
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(list: &[&str]) -> Result<Parsed> {
        parse(&list.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn default_is_the_default_version() {
        assert_eq!(
            parse_args(&[]).unwrap(),
            Parsed::Fetch(Selection::One(dist::default_version()))
        );
    }

    #[test]
    fn version_all_and_help_are_understood() {
        let old = dist::known_version("0.29.3").unwrap();
        assert_eq!(
            parse_args(&["--version", "0.29.3"]).unwrap(),
            Parsed::Fetch(Selection::One(old))
        );
        assert_eq!(
            parse_args(&["--version=0.29.3"]).unwrap(),
            Parsed::Fetch(Selection::One(old))
        );
        assert_eq!(
            parse_args(&["--all"]).unwrap(),
            Parsed::Fetch(Selection::All)
        );
        assert_eq!(parse_args(&["--all", "--help"]).unwrap(), Parsed::Help);
    }

    #[test]
    fn bad_arguments_are_refused_with_a_reason() {
        let message = |list: &[&str]| parse_args(list).unwrap_err().to_string();
        assert_eq!(
            message(&["--version", "1.0"]),
            "unknown pyodide version \"1.0\"; known versions: 314.0.7, 0.29.3"
        );
        assert_eq!(message(&["--version"]), "--version needs a value");
        assert_eq!(
            message(&["--all", "--version", "0.29.3"]),
            "--version and --all cannot be used together"
        );
        assert!(message(&["--bogus"]).starts_with("unexpected argument \"--bogus\""));
    }

    #[test]
    fn help_names_the_environment_and_every_known_version() {
        let text = help();
        assert!(
            text.contains(PYODIDE_DIST) && text.contains(PYWORKERD_CACHE),
            "{text}"
        );
        for known in dist::KNOWN_VERSIONS {
            assert!(
                text.contains(&format!("{:<10}Python {}", known.version, known.python)),
                "{text}"
            );
        }
    }
}
