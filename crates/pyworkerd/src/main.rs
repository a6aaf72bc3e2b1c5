//! `pyworkerd`: the command line. Today: `run`, which runs a Python script,
//! a `-c` string, a `-m` module or a script on stdin on Pyodide's real
//! CPython inside wasmtime, the way `python` would (restoring a snapshot of
//! an initialised interpreter); and `snapshot`, which makes such snapshots.
//!
//! This crate is the only one that knows about command lines and terminals;
//! the work is done by `pyodide-entrypoint`. Tests: `tests/cli.rs`.

mod interrupt;
mod run;
mod snapshot;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Run Python on Pyodide's real CPython binary inside wasmtime — no
/// JavaScript engine. The Pyodide release is fetched and verified on first
/// use, and its compiled form is cached, so later starts are fast.
#[derive(Debug, Parser)]
#[command(name = "pyworkerd", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Run(run::RunArgs),
    Snapshot(snapshot::SnapshotArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Snapshot(args) => snapshot::snapshot(args),
    };
    match result {
        Ok(status) => ExitCode::from(status),
        Err(error) => {
            eprintln!("pyworkerd: error: {error:#}");
            ExitCode::from(2)
        }
    }
}
