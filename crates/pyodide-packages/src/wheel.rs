//! Wheel file names (PEP 427, with PEP 425 compressed tag sets) and which
//! tags a Pyodide runtime accepts.

use std::fmt;

use crate::name::normalize;

/// Why a wheel file name could not be parsed or a runtime is unknown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WheelError {
    /// The name is not `{dist}-{version}(-{build})?-{python}-{abi}-{platform}.whl`.
    #[error("invalid wheel file name \"{file}\": {reason}")]
    InvalidName {
        /// The file name.
        file: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No tag set is known for this Pyodide version.
    #[error("no wheel platform is known for pyodide \"{version}\" (known: 314.x, 0.29.x)")]
    UnknownPyodide {
        /// The version asked for.
        version: String,
    },
}

/// A wheel's tags do not fit the runtime.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "wheel \"{file}\" is tagged {wheel_tags}, which pyodide {pyodide} (CPython {python}) cannot \
     use; it accepts {runtime_tags}"
)]
pub struct TagMismatch {
    /// The wheel's file name.
    pub file: String,
    /// The wheel's tags as written (`py-abi-platform`).
    pub wheel_tags: String,
    /// The Pyodide version.
    pub pyodide: String,
    /// The CPython version, `3.14`.
    pub python: String,
    /// A summary of what the runtime accepts.
    pub runtime_tags: String,
}

/// A parsed wheel file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelName {
    /// The file name as given.
    pub file: String,
    /// The distribution name as written (escaped, `_` for `-`).
    pub distribution: String,
    /// The version as written.
    pub version: String,
    /// The build tag, if any (`1`, `2abc`).
    pub build: Option<String>,
    /// Python tags, e.g. `["py2", "py3"]`.
    pub python_tags: Vec<String>,
    /// ABI tags, e.g. `["cp314"]`.
    pub abi_tags: Vec<String>,
    /// Platform tags, e.g. `["pyemscripten_2026_0_wasm32"]`.
    pub platform_tags: Vec<String>,
}

impl WheelName {
    /// Parses a wheel file name (the last path component of `file`).
    pub fn parse(file: &str) -> Result<WheelName, WheelError> {
        let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
        let bad = |reason| WheelError::InvalidName {
            file: base.to_owned(),
            reason,
        };
        let stem = base
            .strip_suffix(".whl")
            .ok_or_else(|| bad("does not end in \".whl\""))?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (distribution, version, build, tags) = match parts.as_slice() {
            [d, v, py, abi, plat] => (*d, *v, None, [*py, *abi, *plat]),
            [d, v, b, py, abi, plat] => (*d, *v, Some(*b), [*py, *abi, *plat]),
            _ => return Err(bad("expected 5 or 6 '-'-separated parts")),
        };
        if distribution.is_empty() || version.is_empty() {
            return Err(bad("empty distribution name or version"));
        }
        if let Some(build) = build
            && !build.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(bad("the build tag does not start with a digit"));
        }
        let split = |set: &str| -> Result<Vec<String>, WheelError> {
            let tags: Vec<String> = set.split('.').map(str::to_owned).collect();
            if tags.iter().any(|t| t.is_empty()) {
                return Err(bad("empty tag"));
            }
            Ok(tags)
        };
        Ok(WheelName {
            file: base.to_owned(),
            distribution: distribution.to_owned(),
            version: version.to_owned(),
            build: build.map(str::to_owned),
            python_tags: split(tags[0])?,
            abi_tags: split(tags[1])?,
            platform_tags: split(tags[2])?,
        })
    }

    /// The normalised project name.
    pub fn project(&self) -> String {
        normalize(&self.distribution)
    }

    /// Every `(python, abi, platform)` triple of the compressed tag sets.
    pub fn tags(&self) -> impl Iterator<Item = Tag> + '_ {
        self.python_tags.iter().flat_map(move |py| {
            self.abi_tags.iter().flat_map(move |abi| {
                self.platform_tags.iter().map(move |plat| Tag {
                    python: py.clone(),
                    abi: abi.clone(),
                    platform: plat.clone(),
                })
            })
        })
    }

    /// The tag sets as written in the name: `py3-none-any`.
    pub fn tag_string(&self) -> String {
        format!(
            "{}-{}-{}",
            self.python_tags.join("."),
            self.abi_tags.join("."),
            self.platform_tags.join(".")
        )
    }
}

/// One expanded tag triple.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag {
    /// Python tag, `cp314` or `py3`.
    pub python: String,
    /// ABI tag, `cp314`, `abi3` or `none`.
    pub abi: String,
    /// Platform tag, `any` or `pyemscripten_2026_0_wasm32`.
    pub platform: String,
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.python, self.abi, self.platform)
    }
}

/// What wheels a Pyodide runtime can load: its CPython version and platform
/// tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pyodide: String,
    /// CPython minor version (3.minor).
    minor: u32,
    platforms: Vec<String>,
}

impl Platform {
    /// The platform of a Pyodide release: `314.x` runs CPython 3.14 on
    /// `pyemscripten_2026_0_wasm32`; `0.29.x` runs CPython 3.13 on
    /// `pyodide_2025_0_wasm32` (also spelled `pyemscripten_2025_0_wasm32`).
    pub fn for_pyodide(version: &str) -> Result<Platform, WheelError> {
        let (minor, platforms): (u32, &[&str]) = if version.starts_with("314.") {
            (14, &["pyemscripten_2026_0_wasm32"])
        } else if version.starts_with("0.29.") {
            (13, &["pyodide_2025_0_wasm32", "pyemscripten_2025_0_wasm32"])
        } else {
            return Err(WheelError::UnknownPyodide {
                version: version.to_owned(),
            });
        };
        Ok(Platform {
            pyodide: version.to_owned(),
            minor,
            platforms: platforms.iter().map(|p| (*p).to_owned()).collect(),
        })
    }

    /// The CPython version, `3.14`.
    pub fn python_version(&self) -> String {
        format!("3.{}", self.minor)
    }

    /// The platform tags, preferred first (what `pip download --platform` takes).
    pub fn platform_tags(&self) -> &[String] {
        &self.platforms
    }

    /// Every tag the runtime accepts, most specific first (the order
    /// `packaging.tags` gives CPython): `cp3X-cp3X-plat`, `cp3X-abi3-plat`,
    /// `cp3X-none-plat`, older `cp3Y-abi3-plat`, `py3X-none-plat`,
    /// `py3-none-plat`, older `py3Y-none-plat`, then the same with `any`.
    pub fn supported_tags(&self) -> Vec<Tag> {
        let tag = |py: String, abi: &str, plat: &str| Tag {
            python: py,
            abi: abi.to_owned(),
            platform: plat.to_owned(),
        };
        let cp = format!("cp3{}", self.minor);
        let mut tags = Vec::new();
        for abi in [cp.as_str(), "abi3", "none"] {
            for plat in &self.platforms {
                tags.push(tag(cp.clone(), abi, plat));
            }
        }
        for older in (2..self.minor).rev() {
            for plat in &self.platforms {
                tags.push(tag(format!("cp3{older}"), "abi3", plat));
            }
        }
        let mut pure = vec![format!("py3{}", self.minor), "py3".to_owned()];
        pure.extend((0..self.minor).rev().map(|m| format!("py3{m}")));
        for plat in &self.platforms {
            for py in &pure {
                tags.push(tag(py.clone(), "none", plat));
            }
        }
        tags.push(tag(cp.clone(), "none", "any"));
        for py in &pure {
            tags.push(tag(py.clone(), "none", "any"));
        }
        tags
    }

    /// The rank of the best tag of `wheel` in [`Platform::supported_tags`]
    /// (0 is best), or `None` when no tag fits.
    pub fn rank(&self, wheel: &WheelName) -> Option<usize> {
        let supported = self.supported_tags();
        wheel
            .tags()
            .filter_map(|t| supported.iter().position(|s| *s == t))
            .min()
    }

    /// Accepts a wheel with at least one supported tag; otherwise the error
    /// names the wheel's tags and the runtime's.
    pub fn check(&self, wheel: &WheelName) -> Result<(), TagMismatch> {
        if self.rank(wheel).is_some() {
            return Ok(());
        }
        Err(TagMismatch {
            file: wheel.file.clone(),
            wheel_tags: wheel.tag_string(),
            pyodide: self.pyodide.clone(),
            python: self.python_version(),
            runtime_tags: format!(
                "cp3{m}-cp3{m}-{plats}, abi3 wheels for cp32..cp3{m} on {plats}, and pure \
                 wheels (py3-none-any, py3{m}-none-any)",
                m = self.minor,
                plats = self.platforms.join(" or ")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_with_build_tags_and_compressed_sets() {
        let w = WheelName::parse("dir/six-1.16.0-py2.py3-none-any.whl").unwrap();
        assert_eq!(w.file, "six-1.16.0-py2.py3-none-any.whl");
        assert_eq!(w.project(), "six");
        assert_eq!(w.python_tags, ["py2", "py3"]);
        assert_eq!(w.build, None);
        assert_eq!(w.tags().count(), 2);
        let w =
            WheelName::parse("Pydantic_Core-2.41.5-1-cp314-cp314-pyemscripten_2026_0_wasm32.whl")
                .unwrap();
        assert_eq!(w.project(), "pydantic-core");
        assert_eq!(w.version, "2.41.5");
        assert_eq!(w.build.as_deref(), Some("1"));
        let w = WheelName::parse(
            "x-1-cp313-cp313-pyodide_2025_0_wasm32.pyemscripten_2025_0_wasm32.whl",
        )
        .unwrap();
        assert_eq!(w.platform_tags.len(), 2);
        assert_eq!(w.tags().count(), 2);
        for (bad, reason) in [
            ("x-1-py3-none-any.zip", "does not end in \".whl\""),
            ("x-1-none-any.whl", "expected 5 or 6 '-'-separated parts"),
            (
                "x-1-b-py3-none-any.whl",
                "the build tag does not start with a digit",
            ),
            ("x-1-py3..py2-none-any.whl", "empty tag"),
        ] {
            assert_eq!(
                WheelName::parse(bad).unwrap_err(),
                WheelError::InvalidName {
                    file: bad.to_owned(),
                    reason
                }
            );
        }
    }

    fn accepts(pyodide: &str, file: &str) -> bool {
        Platform::for_pyodide(pyodide)
            .unwrap()
            .check(&WheelName::parse(file).unwrap())
            .is_ok()
    }

    #[test]
    fn accepted_tags_per_version() {
        for file in [
            "a-1-py3-none-any.whl",
            "a-1-py2.py3-none-any.whl",
            "a-1-py314-none-any.whl",
            "a-1-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
            "a-1-cp310-abi3-pyemscripten_2026_0_wasm32.whl",
            "a-1-py3-none-pyemscripten_2026_0_wasm32.whl",
        ] {
            assert!(accepts("314.0.7", file), "{file}");
        }
        for file in [
            "a-1-py2-none-any.whl",
            "a-1-cp313-cp313-pyodide_2025_0_wasm32.whl",
            "a-1-cp314-cp314-manylinux_2_17_x86_64.whl",
            "a-1-cp314-cp314-pyemscripten_2025_0_wasm32.whl",
            "a-1-cp315-abi3-pyemscripten_2026_0_wasm32.whl",
        ] {
            assert!(!accepts("314.0.7", file), "{file}");
        }
        for file in [
            "a-1-py3-none-any.whl",
            "a-1-cp313-cp313-pyodide_2025_0_wasm32.whl",
            "a-1-cp313-cp313-pyemscripten_2025_0_wasm32.whl",
            "a-1-cp38-abi3-pyodide_2025_0_wasm32.whl",
        ] {
            assert!(accepts("0.29.3", file), "{file}");
        }
        for file in [
            "a-1-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
            "a-1-py314-none-any.whl",
            "a-1-cp312-cp312-pyodide_2024_0_wasm32.whl",
        ] {
            assert!(!accepts("0.29.3", file), "{file}");
        }
        assert_eq!(
            Platform::for_pyodide("0.26.0").unwrap_err().to_string(),
            "no wheel platform is known for pyodide \"0.26.0\" (known: 314.x, 0.29.x)"
        );
    }

    #[test]
    fn refusals_name_both_tag_sets_and_ranks_prefer_specific_wheels() {
        let platform = Platform::for_pyodide("314.0.7").unwrap();
        let wheel = WheelName::parse(
            "numpy-2.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        )
        .unwrap();
        let message = platform.check(&wheel).unwrap_err().to_string();
        assert!(
            message.contains(
                "\"numpy-2.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl\""
            ),
            "{message}"
        );
        assert!(
            message.contains("tagged cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64"),
            "{message}"
        );
        assert!(
            message.contains("pyodide 314.0.7 (CPython 3.14)"),
            "{message}"
        );
        assert!(
            message.contains("cp314-cp314-pyemscripten_2026_0_wasm32"),
            "{message}"
        );
        let rank = |file: &str| platform.rank(&WheelName::parse(file).unwrap()).unwrap();
        assert!(
            rank("a-1-cp314-cp314-pyemscripten_2026_0_wasm32.whl")
                < rank("a-1-cp311-abi3-pyemscripten_2026_0_wasm32.whl")
        );
        assert!(
            rank("a-1-cp311-abi3-pyemscripten_2026_0_wasm32.whl") < rank("a-1-py3-none-any.whl")
        );
        assert!(rank("a-1-py314-none-any.whl") < rank("a-1-py3-none-any.whl"));
    }
}
