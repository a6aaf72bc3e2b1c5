//! `cargo xtask`: the project's automation, written in Rust.
//!
//! Owns: the command line of developer tasks (`fetch-pyodide`, `golden`,
//! `bench`), each in its own module with a
//! `run(args)` entry point listed in [`COMMANDS`]. Argument parsing is done by
//! hand; there is no clap here.
//!
//! Does not know: how anything is fetched or built — it calls the library
//! crates and renders what they report. It is the one place besides the
//! pyworkerd binary that looks at the terminal.
//!
//! Tests: unit tests of argument parsing beside the code.

mod bench;
mod fetch;
mod golden;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, bail};

/// A subcommand: its name, a one-line summary and its entry point, which gets
/// the arguments after the name.
struct Command {
    name: &'static str,
    summary: &'static str,
    run: fn(&[String]) -> Result<()>,
}

/// Every subcommand, in the order `--help` lists them.
const COMMANDS: &[Command] = &[
    Command {
        name: "fetch-pyodide",
        summary: fetch::SUMMARY,
        run: fetch::run,
    },
    Command {
        name: "golden",
        summary: golden::SUMMARY,
        run: golden::run,
    },
    Command {
        name: "bench",
        summary: bench::SUMMARY,
        run: bench::run,
    },
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(args: &[String]) -> Result<()> {
    let Some((name, rest)) = args.split_first() else {
        print_out(&usage())?;
        bail!("no subcommand given");
    };
    if matches!(name.as_str(), "-h" | "--help" | "help") {
        return print_out(&usage());
    }
    match COMMANDS.iter().find(|command| command.name == name) {
        Some(command) => (command.run)(rest),
        None => bail!(
            "unknown subcommand \"{name}\"; available: {}",
            command_names()
        ),
    }
}

fn command_names() -> String {
    COMMANDS
        .iter()
        .map(|command| command.name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn usage() -> String {
    let mut text = String::from(
        "Project automation for pyworkerd.\n\nUsage: cargo xtask <SUBCOMMAND> [OPTIONS]\n\nSubcommands:\n",
    );
    for command in COMMANDS {
        text.push_str(&format!("  {:<16}{}\n", command.name, command.summary));
    }
    text.push_str("\nRun `cargo xtask <SUBCOMMAND> --help` for its options.\n");
    text
}

/// Writes to standard output (results and help; progress goes to stderr).
fn print_out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn unknown_subcommand_lists_the_available_ones() {
        let error = dispatch(&args(&["frobnicate"])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown subcommand \"frobnicate\"; available: fetch-pyodide, golden, bench"
        );
    }

    #[test]
    fn usage_lists_every_subcommand() {
        let text = usage();
        for command in COMMANDS {
            assert!(text.contains(command.name), "{text}");
            assert!(text.contains(command.summary), "{text}");
        }
    }
}
