//! `pyodide-lock.json`: the packages built for one Pyodide release, their
//! files, hashes and dependencies.
//!
//! [`LockFile::parse`] checks the shape of every package record and names the
//! package and field when one is wrong; [`LockFile::resolve`] closes a set of
//! requested names over `depends`, dependencies first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use crate::name::{normalize, suggestions};

/// Why a lock file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// The file could not be read.
    #[error("cannot read lock file \"{path}\": {source}", path = path.display())]
    Io {
        /// The lock file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not JSON, or its top level lacks `info` or `packages`.
    #[error("malformed lock file{origin}: {detail}")]
    Malformed {
        /// ` "path"` when the file came from disk, else empty.
        origin: String,
        /// What is wrong, e.g. `missing field "packages"`.
        detail: String,
    },
    /// One package record is wrong (a missing or mistyped field).
    #[error("malformed lock file{origin}: package \"{package}\": {detail}")]
    Package {
        /// ` "path"` when the file came from disk, else empty.
        origin: String,
        /// The package's key in `packages`.
        package: String,
        /// serde's description, naming the field.
        detail: String,
    },
}

/// Why a set of names could not be resolved against a lock file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// Some requested names are not in the lock file.
    #[error("{}", describe_unknown(unknown))]
    Unknown {
        /// Each unknown name with its close matches.
        unknown: Vec<UnknownName>,
    },
    /// The lock file names a dependency it does not contain.
    #[error(
        "lock file package \"{package}\" depends on \"{dependency}\", which the lock file does not contain"
    )]
    MissingDependency {
        /// The package whose `depends` is broken.
        package: String,
        /// The dependency that is missing.
        dependency: String,
    },
}

/// A requested name that the lock file does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// The name as requested.
    pub name: String,
    /// Close names that do exist (normalised), best first; may be empty.
    pub suggestions: Vec<String>,
}

fn describe_unknown(unknown: &[UnknownName]) -> String {
    let mut text = String::from("not in the pyodide lock file: ");
    let parts: Vec<String> = unknown
        .iter()
        .map(|u| {
            if u.suggestions.is_empty() {
                format!("\"{}\"", u.name)
            } else {
                let close: Vec<String> = u.suggestions.iter().map(|s| format!("\"{s}\"")).collect();
                format!("\"{}\" (did you mean {}?)", u.name, close.join(" or "))
            }
        })
        .collect();
    text.push_str(&parts.join(", "));
    text
}

/// The `info` block: what the release was built for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LockInfo {
    /// The platform ABI, e.g. `2026_0` (wheels are tagged `pyemscripten_2026_0_wasm32`).
    pub abi_version: String,
    /// The architecture, `wasm32`.
    pub arch: String,
    /// The Emscripten platform, e.g. `emscripten_5_0_3`.
    pub platform: String,
    /// The full CPython version, e.g. `3.14.2`.
    pub python: String,
    /// The Pyodide version, when recorded.
    #[serde(default)]
    pub version: Option<String>,
}

/// What a lock file package is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PackageType {
    /// A Python package (a wheel, or a zip of unvendored tests).
    Package,
    /// A zip of shared libraries other packages link against.
    SharedLibrary,
    /// A standard library module built separately.
    CpythonModule,
}

/// Where a lock file package is unpacked.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InstallDir {
    /// `site-packages`.
    Site,
    /// The dynamic library directory (`/usr/lib`).
    Dynlib,
    /// The standard library directory.
    Stdlib,
}

/// One package of the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LockPackage {
    /// The project name as built (not normalised, e.g. `pydantic_core`).
    pub name: String,
    /// Its version.
    pub version: String,
    /// The file name relative to the lock file's base URL.
    pub file_name: String,
    /// Where it is installed.
    pub install_dir: InstallDir,
    /// What kind of package it is.
    pub package_type: PackageType,
    /// The file's sha256, lowercase hex.
    pub sha256: String,
    /// Names (as written, not normalised) of the packages it needs.
    pub depends: Vec<String>,
    /// Top-level modules it provides.
    #[serde(default)]
    pub imports: Vec<String>,
    /// Whether its tests are a separate `-tests` package.
    #[serde(default)]
    pub unvendored_tests: bool,
}

/// A parsed `pyodide-lock.json`.
#[derive(Debug, Clone)]
pub struct LockFile {
    info: LockInfo,
    /// Keyed by normalised name.
    packages: BTreeMap<String, LockPackage>,
}

impl LockFile {
    /// Parses a lock file's bytes.
    pub fn parse(bytes: &[u8]) -> Result<LockFile, LockError> {
        Self::parse_from(bytes, "")
    }

    /// Reads and parses the lock file at `path`; errors name the path.
    pub fn load(path: &Path) -> Result<LockFile, LockError> {
        let bytes = std::fs::read(path).map_err(|source| LockError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse_from(&bytes, &format!(" \"{}\"", path.display()))
    }

    fn parse_from(bytes: &[u8], origin: &str) -> Result<LockFile, LockError> {
        let malformed = |detail: String| LockError::Malformed {
            origin: origin.to_owned(),
            detail,
        };
        let top: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| malformed(format!("not JSON: {e}")))?;
        let top = top
            .as_object()
            .ok_or_else(|| malformed("the top level is not an object".to_owned()))?;
        let info = top
            .get("info")
            .ok_or_else(|| malformed("missing field \"info\"".to_owned()))?;
        let info: LockInfo = serde_json::from_value(info.clone())
            .map_err(|e| malformed(format!("field \"info\": {e}")))?;
        let records = top
            .get("packages")
            .ok_or_else(|| malformed("missing field \"packages\"".to_owned()))?
            .as_object()
            .ok_or_else(|| malformed("field \"packages\" is not an object".to_owned()))?;
        let mut packages = BTreeMap::new();
        for (key, record) in records {
            let package: LockPackage =
                serde_json::from_value(record.clone()).map_err(|e| LockError::Package {
                    origin: origin.to_owned(),
                    package: key.clone(),
                    detail: e.to_string(),
                })?;
            if package.sha256.len() != 64 || !package.sha256.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return Err(LockError::Package {
                    origin: origin.to_owned(),
                    package: key.clone(),
                    detail: format!(
                        "field \"sha256\" is not 64 hex digits: \"{}\"",
                        package.sha256
                    ),
                });
            }
            if package.file_name.contains('/')
                || package.file_name.contains('\\')
                || package.file_name.starts_with('.')
            {
                return Err(LockError::Package {
                    origin: origin.to_owned(),
                    package: key.clone(),
                    detail: format!(
                        "field \"file_name\" is not a plain file name: \"{}\"",
                        package.file_name
                    ),
                });
            }
            packages.insert(normalize(key), package);
        }
        Ok(LockFile { info, packages })
    }

    /// The `info` block.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// The package called `name` (any spelling that normalises the same).
    pub fn get(&self, name: &str) -> Option<&LockPackage> {
        self.packages.get(&normalize(name))
    }

    /// Every package, by normalised name.
    pub fn packages(&self) -> impl Iterator<Item = (&str, &LockPackage)> {
        self.packages.iter().map(|(name, p)| (name.as_str(), p))
    }

    /// The requested packages and everything they depend on, transitively,
    /// each once, dependencies before their dependents (ties in request and
    /// `depends` order). Unknown names are all reported at once, each with
    /// close matches.
    pub fn resolve<S: AsRef<str>>(&self, names: &[S]) -> Result<Vec<&LockPackage>, ResolveError> {
        let unknown: Vec<UnknownName> = names
            .iter()
            .map(AsRef::as_ref)
            .filter(|name| self.get(name).is_none())
            .map(|name| UnknownName {
                name: name.to_owned(),
                suggestions: suggestions(name, self.packages.keys().map(String::as_str), 3),
            })
            .collect();
        if !unknown.is_empty() {
            return Err(ResolveError::Unknown { unknown });
        }
        let mut done = BTreeSet::new();
        let mut order = Vec::new();
        for name in names {
            self.visit(&normalize(name.as_ref()), &mut done, &mut order)?;
        }
        Ok(order)
    }

    /// Depth-first post-order; `done` is marked before recursing so cycles end.
    fn visit<'a>(
        &'a self,
        key: &str,
        done: &mut BTreeSet<String>,
        order: &mut Vec<&'a LockPackage>,
    ) -> Result<(), ResolveError> {
        if !done.insert(key.to_owned()) {
            return Ok(());
        }
        let package = &self.packages[key];
        for dependency in &package.depends {
            let dep_key = normalize(dependency);
            if !self.packages.contains_key(&dep_key) {
                return Err(ResolveError::MissingDependency {
                    package: package.name.clone(),
                    dependency: dependency.clone(),
                });
            }
            self.visit(&dep_key, done, order)?;
        }
        order.push(package);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real(version: &str) -> LockFile {
        let known = crate::dist::known_version(version).unwrap();
        let dist = crate::dist::ensure_from_env(known).unwrap();
        LockFile::load(&dist.lock_file()).unwrap()
    }

    fn names(packages: &[&LockPackage]) -> Vec<String> {
        packages.iter().map(|p| normalize(&p.name)).collect()
    }

    #[test]
    fn both_real_lock_files_parse_and_resolve_pydantic() {
        for (version, python, abi) in [("314.0.7", "3.14", "2026_0"), ("0.29.3", "3.13", "2025_0")]
        {
            let lock = real(version);
            assert!(lock.info().python.starts_with(python), "{version}");
            assert_eq!(lock.info().abi_version, abi);
            assert!(lock.packages().count() > 300, "{version}");
            let resolved = lock.resolve(&["Pydantic"]).unwrap();
            let got = names(&resolved);
            assert_eq!(got.last().map(String::as_str), Some("pydantic"), "{got:?}");
            for dependency in [
                "pydantic-core",
                "typing-extensions",
                "annotated-types",
                "typing-inspection",
            ] {
                assert!(
                    got.iter().any(|n| n == dependency),
                    "{version}: {got:?} lacks {dependency}"
                );
            }
            // Dependencies come before dependents, and nothing twice.
            let core = got.iter().position(|n| n == "pydantic-core").unwrap();
            let typing = got.iter().position(|n| n == "typing-extensions").unwrap();
            assert!(typing < core, "{got:?}");
            let unique: BTreeSet<&String> = got.iter().collect();
            assert_eq!(unique.len(), got.len());
            let core_package = lock.get("PYDANTIC_CORE").unwrap();
            assert!(core_package.file_name.ends_with(".whl"));
            assert_eq!(core_package.package_type, PackageType::Package);
        }
    }

    #[test]
    fn unknown_names_are_listed_with_suggestions() {
        let lock = real("314.0.7");
        let err = lock
            .resolve(&["pydanitc", "numpy", "qqqqqqqqqqqq"])
            .unwrap_err();
        let ResolveError::Unknown { unknown } = &err else {
            panic!("{err}")
        };
        assert_eq!(unknown.len(), 2);
        assert_eq!(unknown[0].name, "pydanitc");
        assert_eq!(
            unknown[0].suggestions.first().map(String::as_str),
            Some("pydantic")
        );
        assert!(unknown[1].suggestions.is_empty());
        let message = err.to_string();
        assert!(
            message.contains("\"pydanitc\" (did you mean \"pydantic\""),
            "{message}"
        );
        assert!(message.contains("\"qqqqqqqqqqqq\""), "{message}");
        assert!(!message.contains("numpy"), "{message}");
    }

    const ONE: &str = r#"{"info": {"abi_version": "2026_0", "arch": "wasm32",
        "platform": "emscripten_5_0_3", "python": "3.14.2"},
      "packages": {"a": {"name": "a", "version": "1", "file_name": "a-1-py3-none-any.whl",
        "install_dir": "site", "package_type": "package",
        "sha256": "0000000000000000000000000000000000000000000000000000000000000000",
        "depends": ["B"], "imports": ["a"]},
        "b": {"name": "b", "version": "1", "file_name": "b-1-py3-none-any.whl",
        "install_dir": "site", "package_type": "package",
        "sha256": "1111111111111111111111111111111111111111111111111111111111111111",
        "depends": ["a"]}}}"#;

    #[test]
    fn cycles_end_and_dependencies_come_first() {
        let lock = LockFile::parse(ONE.as_bytes()).unwrap();
        assert_eq!(names(&lock.resolve(&["a"]).unwrap()), ["b", "a"]);
        assert_eq!(names(&lock.resolve(&["b", "a"]).unwrap()), ["a", "b"]);
    }

    #[test]
    fn malformed_input_names_the_problem() {
        let err = LockFile::parse(b"{not json").unwrap_err().to_string();
        assert!(err.starts_with("malformed lock file: not JSON"), "{err}");
        let err = LockFile::parse(br#"{"info": {}}"#).unwrap_err().to_string();
        assert!(
            err.contains("field \"info\": missing field `abi_version`"),
            "{err}"
        );
        let without_packages = ONE.replace("\"packages\"", "\"pkgs\"");
        let err = LockFile::parse(without_packages.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field \"packages\""), "{err}");
        let without_sha = ONE.replacen("\"sha256\"", "\"sha\"", 1);
        let err = LockFile::parse(without_sha.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("package \"a\": missing field `sha256`"),
            "{err}"
        );
        let bad_sha = ONE.replacen("\"0000000000", "\"zz00000000", 1);
        let err = LockFile::parse(bad_sha.as_bytes()).unwrap_err().to_string();
        assert!(
            err.contains("package \"a\": field \"sha256\" is not 64 hex digits"),
            "{err}"
        );
        let escaping = ONE.replacen("a-1-py3-none-any.whl", "../a-1-py3-none-any.whl", 1);
        let err = LockFile::parse(escaping.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"file_name\" is not a plain file name"),
            "{err}"
        );
        let broken = ONE.replacen("[\"B\"]", "[\"c\"]", 1);
        let lock = LockFile::parse(broken.as_bytes()).unwrap();
        let err = lock.resolve(&["a"]).unwrap_err().to_string();
        assert_eq!(
            err,
            "lock file package \"a\" depends on \"c\", which the lock file does not contain"
        );
    }
}
