//! Checks that ARCHITECTURE.md stays true: every crate has a section, and the
//! invariants stated there as absences hold in the manifests and sources.

use std::fs;
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn crate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(workspace_root().join("crates"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("Cargo.toml").exists())
        .collect();
    dirs.sort();
    dirs
}

fn name(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// The names of the normal (non-dev) dependencies of a manifest.
fn normal_dependencies(manifest_dir: &Path) -> Vec<String> {
    let text = fs::read_to_string(manifest_dir.join("Cargo.toml")).unwrap();
    let manifest: toml::Table = text.parse().unwrap();
    manifest
        .get("dependencies")
        .and_then(|deps| deps.as_table())
        .map(|deps| deps.keys().cloned().collect())
        .unwrap_or_default()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_crate_has_a_section_in_architecture_md() {
    let architecture = fs::read_to_string(workspace_root().join("ARCHITECTURE.md")).unwrap();
    let missing: Vec<String> = crate_dirs()
        .iter()
        .map(|dir| name(dir))
        .filter(|name| !architecture.contains(&format!("### `crates/{name}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md has no section for: {missing:?}"
    );
}

#[test]
fn crate_folder_names_equal_package_names() {
    for dir in crate_dirs() {
        let text = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let manifest: toml::Table = text.parse().unwrap();
        let package = manifest["package"]["name"].as_str().unwrap();
        assert_eq!(package, name(&dir), "folder and package name differ");
    }
}

#[test]
fn pure_crates_do_not_depend_on_wasmtime() {
    for pure in [
        "wasm-legacy-eh",
        "pyodide-packages",
        "pyodide-vfs",
        "pyodide-entropy",
    ] {
        let dir = workspace_root().join("crates").join(pure);
        if !dir.exists() {
            continue;
        }
        let deps = normal_dependencies(&dir);
        assert!(
            !deps.iter().any(|d| d.starts_with("wasmtime")),
            "{pure} depends on wasmtime"
        );
    }
}

#[test]
fn libraries_do_not_depend_on_anyhow() {
    for dir in crate_dirs() {
        if name(&dir) == "pyworkerd" {
            continue; // the binary
        }
        let deps = normal_dependencies(&dir);
        assert!(
            !deps.contains(&"anyhow".to_owned()),
            "library {} uses anyhow",
            name(&dir)
        );
    }
}

#[test]
fn every_crate_root_has_a_header() {
    let mut roots = vec![workspace_root().join("xtask/src/main.rs")];
    for dir in crate_dirs() {
        for root in ["src/lib.rs", "src/main.rs"] {
            if dir.join(root).exists() {
                roots.push(dir.join(root));
            }
        }
    }
    for root in roots {
        let text = fs::read_to_string(&root).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} does not start with a //! header",
            root.display()
        );
    }
}

#[test]
fn unsafe_only_where_documented_and_justified() {
    let allowed = ["crates/pyodide-emscripten/src/module_cache.rs"];
    let mut files = Vec::new();
    for dir in crate_dirs() {
        rust_files(&dir.join("src"), &mut files);
    }
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        let relative = file
            .strip_prefix(workspace_root())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let blocks = text.matches("unsafe {").count() + text.matches("unsafe fn").count();
        if blocks == 0 {
            continue;
        }
        assert!(
            allowed.contains(&relative.as_str()),
            "{relative} uses unsafe"
        );
        let safety = text.matches("// SAFETY:").count();
        assert!(
            safety >= text.matches("unsafe {").count(),
            "{relative}: an unsafe block lacks // SAFETY:"
        );
    }
}
