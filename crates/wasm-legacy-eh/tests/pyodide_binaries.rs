//! Translates the real Pyodide main binaries and checks the result: it
//! validates without the legacy exception-handling feature, no legacy
//! instruction remains, every `try` became a `try_table` or a block, and
//! everything outside the code and type sections is byte-identical.
//!
//! The binaries come from the distribution cache; a missing binary is a
//! failure that says to run `cargo xtask fetch-pyodide --all`.

#[path = "support/pyodide_binary.rs"]
mod pyodide_binary;

use anyhow::{Context, Result, ensure};
use wasmparser::{Operator, Parser, Payload, Validator, WasmFeatures};

#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    try_: usize,
    catch: usize,
    catch_all: usize,
    delegate: usize,
    rethrow: usize,
    try_table: usize,
    throw_ref: usize,
    functions: usize,
}

fn count_ops(wasm: &[u8]) -> Result<Counts> {
    let mut counts = Counts::default();
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionEntry(body) = payload? {
            counts.functions += 1;
            let mut reader = body.get_operators_reader()?;
            while !reader.eof() {
                match reader.read()? {
                    Operator::Try { .. } => counts.try_ += 1,
                    Operator::Catch { .. } => counts.catch += 1,
                    Operator::CatchAll => counts.catch_all += 1,
                    Operator::Delegate { .. } => counts.delegate += 1,
                    Operator::Rethrow { .. } => counts.rethrow += 1,
                    Operator::TryTable { .. } => counts.try_table += 1,
                    Operator::ThrowRef => counts.throw_ref += 1,
                    _ => {}
                }
            }
        }
    }
    Ok(counts)
}

/// Every section as (id, bytes), code and type sections left out.
fn other_sections(wasm: &[u8]) -> Result<Vec<(u8, Vec<u8>)>> {
    let mut sections = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        if let Some((id, range)) = payload?.as_section()
            && id != 1
            && id != 10
        {
            sections.push((id, wasm[range].to_vec()));
        }
    }
    Ok(sections)
}

fn check_binary(version: &str) -> Result<()> {
    let input = pyodide_binary::read(version);
    let before = count_ops(&input)?;
    ensure!(
        before.try_ > 0 && before.rethrow > 0 && before.delegate > 0,
        "pyodide {version} was expected to use legacy exception handling: {before:?}"
    );

    let output = wasm_legacy_eh::translate(&input).context("translate")?;

    let mut features = WasmFeatures::all();
    features.remove(WasmFeatures::LEGACY_EXCEPTIONS);
    Validator::new_with_features(features)
        .validate_all(&output)
        .with_context(|| format!("translated pyodide {version} does not validate"))?;

    let after = count_ops(&output)?;
    ensure!(
        after.functions == before.functions,
        "{before:?} -> {after:?}"
    );
    ensure!(
        after.try_ == 0
            && after.catch == 0
            && after.catch_all == 0
            && after.delegate == 0
            && after.rethrow == 0,
        "legacy instructions remain: {after:?}"
    );
    // Each try with catches or a non-trivial delegate became a try_table; a
    // rethrow became a throw_ref (landing pads add more).
    ensure!(
        after.try_table > 0 && after.try_table <= before.try_ + before.try_table,
        "{before:?} -> {after:?}"
    );
    ensure!(after.throw_ref >= before.rethrow, "{before:?} -> {after:?}");
    ensure!(
        other_sections(&input)? == other_sections(&output)?,
        "sections other than type and code changed"
    );
    Ok(())
}

#[test]
fn translates_pyodide_314_main_binary() -> Result<()> {
    check_binary(pyodide_binary::PINNED_VERSION)
}

#[test]
fn translates_pyodide_0_29_main_binary() -> Result<()> {
    check_binary(pyodide_binary::PREVIOUS_VERSION)
}

#[test]
fn translation_is_deterministic_and_idempotent() -> Result<()> {
    let input = pyodide_binary::read(pyodide_binary::PINNED_VERSION);
    let once = wasm_legacy_eh::translate(&input)?;
    ensure!(
        once == wasm_legacy_eh::translate(&input)?,
        "two runs differ"
    );
    // A translated module has no legacy instruction left: unchanged.
    ensure!(
        once == wasm_legacy_eh::translate(&once)?,
        "second pass changed it"
    );
    Ok(())
}
