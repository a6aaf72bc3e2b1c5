//! The table of Pyodide releases this project knows, with the integrity value
//! each npm tarball must have. This is the only place versions are pinned.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::Error;

/// A Python `major.minor` version, e.g. 3.14.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PythonVersion {
    /// Always 3.
    pub major: u8,
    /// 13, 14, ...
    pub minor: u8,
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A Pyodide release: its npm version, the CPython it contains and the pinned
/// integrity of its npm tarball.
///
/// The released ones are in [`KNOWN_VERSIONS`]; tests may build their own with
/// the integrity of a tarball they made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KnownVersion {
    /// The npm version of the `pyodide` package, e.g. `314.0.7`.
    pub version: &'static str,
    /// The CPython version compiled into `pyodide.asm.wasm`.
    pub python: PythonVersion,
    /// The npm tarball's integrity in SRI form: `sha512-<base64>`.
    pub integrity: &'static str,
}

impl fmt::Display for KnownVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pyodide {} (Python {})", self.version, self.python)
    }
}

/// Every Pyodide release this project can fetch, the default first.
pub const KNOWN_VERSIONS: &[KnownVersion] = &[
    KnownVersion {
        version: "314.0.7",
        python: PythonVersion {
            major: 3,
            minor: 14,
        },
        integrity: "sha512-0YvXxEhfEdpLfb/XkM2BFAeMROq0iMUX2bzzH9pOttyMcWkwq+HbE5uyuGD82LN7y2q+SNvi/6V5JEsOlD2R1A==",
    },
    KnownVersion {
        version: "0.29.3",
        python: PythonVersion {
            major: 3,
            minor: 13,
        },
        integrity: "sha512-22UBuhOJawj7vKUnS7/F3xK+515LJdjiMAHoCfuS6/PbHiOrSQVnYwDe+2sbVwiOZ3sMMexdXICew6NqOMQGgA==",
    },
];

/// The version used when none is asked for (the first of [`KNOWN_VERSIONS`]).
pub fn default_version() -> &'static KnownVersion {
    &KNOWN_VERSIONS[0]
}

/// Looks a version up in [`KNOWN_VERSIONS`]; an unknown one is refused with
/// [`Error::UnknownVersion`], which lists the known ones.
pub fn known_version(version: &str) -> Result<&'static KnownVersion, Error> {
    KNOWN_VERSIONS
        .iter()
        .find(|known| known.version == version)
        .ok_or_else(|| Error::UnknownVersion {
            version: version.to_owned(),
            known: KNOWN_VERSIONS
                .iter()
                .map(|known| known.version)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The length of a sha512 digest in bytes.
pub(crate) const SHA512_LEN: usize = 64;

/// Decodes a version's SRI integrity value into the expected sha512 digest.
pub(crate) fn expected_sha512(version: &KnownVersion) -> Result<[u8; SHA512_LEN], Error> {
    let invalid = |reason| Error::InvalidIntegrity {
        version: version.version.to_owned(),
        value: version.integrity.to_owned(),
        reason,
    };
    let encoded = version
        .integrity
        .strip_prefix("sha512-")
        .ok_or_else(|| invalid("only sha512 values (\"sha512-...\") are supported"))?;
    let digest = BASE64
        .decode(encoded)
        .map_err(|_| invalid("the digest is not valid base64"))?;
    digest
        .try_into()
        .map_err(|_| invalid("the digest is not 64 bytes long"))
}

/// Formats a sha512 digest as an SRI value, the form npm prints.
pub(crate) fn sri_sha512(digest: &[u8]) -> String {
    format!("sha512-{}", BASE64.encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_314_0_7_with_python_3_14() {
        let default = default_version();
        assert_eq!(default.version, "314.0.7");
        assert_eq!(default.python.to_string(), "3.14");
        assert_eq!(known_version("0.29.3").unwrap().python.to_string(), "3.13");
    }

    #[test]
    fn every_pinned_integrity_decodes_and_round_trips() {
        for known in KNOWN_VERSIONS {
            let digest = expected_sha512(known).unwrap();
            assert_eq!(sri_sha512(&digest), known.integrity, "{known}");
        }
    }

    #[test]
    fn unknown_version_lists_the_known_ones() {
        let error = known_version("1.2.3").unwrap_err();
        assert!(matches!(error, Error::UnknownVersion { .. }));
        assert_eq!(
            error.to_string(),
            "unknown pyodide version \"1.2.3\"; known versions: 314.0.7, 0.29.3"
        );
    }

    #[test]
    fn malformed_integrity_values_are_refused() {
        let mut version = *default_version();
        version.integrity = "sha256-AAAA";
        assert_eq!(
            expected_sha512(&version).unwrap_err().to_string(),
            "invalid integrity value \"sha256-AAAA\" for pyodide 314.0.7: only sha512 values \
             (\"sha512-...\") are supported"
        );
        version.integrity = "sha512-AAAA";
        assert!(
            expected_sha512(&version)
                .unwrap_err()
                .to_string()
                .ends_with("the digest is not 64 bytes long")
        );
        version.integrity = "sha512-!!";
        assert!(
            expected_sha512(&version)
                .unwrap_err()
                .to_string()
                .ends_with("the digest is not valid base64")
        );
    }
}
