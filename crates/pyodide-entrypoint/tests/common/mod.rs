//! Shared by the package tests: real wheels fetched once with `pip
//! download` into `<pyworkerd cache>/test-wheels/` (pip reaches the index
//! through its own configuration).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// A wheel for Pyodide `version`'s platform (or pure Python when `pure`),
/// downloaded on first use.
pub(crate) fn wheel(version: &str, requirement: &str, pure: bool) -> Result<PathBuf> {
    let dir = pyodide_packages::dist::cache_root()?.join("test-wheels");
    std::fs::create_dir_all(&dir)?;
    let (name, exact) = requirement
        .split_once("==")
        .map_or((requirement, None), |(n, v)| (n, Some(v)));
    let (platform, python) = match version {
        "0.29.3" => ("pyemscripten_2025_0_wasm32", "3.13"),
        _ => ("pyemscripten_2026_0_wasm32", "3.14"),
    };
    let tag = format!("cp{}", python.replace('.', ""));
    let find = || -> Option<PathBuf> {
        let prefix = format!("{}-{}", name.replace('-', "_"), exact.unwrap_or(""));
        std::fs::read_dir(&dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                let file = p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                file.starts_with(&prefix)
                    && file.ends_with(".whl")
                    && (if pure {
                        file.ends_with("-none-any.whl")
                    } else {
                        file.contains(&tag) && file.contains(platform)
                    })
            })
    };
    if let Some(found) = find() {
        return Ok(found);
    }
    let mut pip = Command::new("python3");
    pip.args([
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "-d",
    ])
    .arg(&dir);
    if !pure {
        pip.args([
            "--platform",
            platform,
            "--python-version",
            python,
            "--implementation",
            "cp",
        ]);
    }
    let status = pip.arg(requirement).status().context("running pip")?;
    if !status.success() {
        bail!("pip download {requirement} failed: {status}");
    }
    find().with_context(|| format!("pip did not leave a wheel for {requirement}"))
}
