//! Fetching platform wheels with pip, for users who have it: pip already
//! knows the index it is configured for, so pyworkerd names none.
//!
//! [`download`] runs `python3 -m pip download --platform <tag>
//! --only-binary=:all: --python-version <X.Y> --implementation cp --no-deps
//! -d <dir> <requirement>` into a private directory beside `dest`, checks
//! every wheel pip wrote against the runtime's [`Platform`], and renames the
//! accepted ones into `dest` (which can then serve as the wheelhouse of
//! [`crate::source::PackageSources`]).

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::wheel::{Platform, TagMismatch, WheelName};

/// Why pip could not provide a wheel.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipError {
    /// The Python interpreter could not be started.
    #[error("cannot run \"{python}\" to use pip ({source}); install Python 3 with pip, or put the wheels in a wheelhouse directory", python = python.to_string_lossy())]
    PythonMissing {
        /// The interpreter that was tried.
        python: OsString,
        /// The OS error.
        source: io::Error,
    },
    /// The interpreter has no pip module.
    #[error("\"{python}\" has no pip module ({detail}); install pip (e.g. \"{python} -m ensurepip\") or put the wheels in a wheelhouse directory", python = python.to_string_lossy())]
    PipMissing {
        /// The interpreter.
        python: OsString,
        /// pip's last words.
        detail: String,
    },
    /// pip ran and failed (no such version, no wheel for the platform, no network).
    #[error("\"{command}\" failed ({status}):\n  {stderr_tail}")]
    Failed {
        /// The command line.
        command: String,
        /// How it exited.
        status: String,
        /// The last lines of pip's stderr.
        stderr_tail: String,
    },
    /// pip succeeded but wrote no wheel.
    #[error("\"{command}\" left no wheel in \"{dir}\"", dir = dir.display())]
    NoWheel {
        /// The command line.
        command: String,
        /// The directory pip was told to write to.
        dir: PathBuf,
    },
    /// pip wrote a wheel the runtime cannot use.
    #[error(transparent)]
    Incompatible(#[from] TagMismatch),
    /// pip wrote a file whose name is not a wheel name.
    #[error(transparent)]
    Name(#[from] crate::wheel::WheelError),
    /// A file-system operation failed.
    #[error("cannot {action} \"{path}\": {source}", path = path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// How to run pip.
#[derive(Debug, Clone)]
pub struct Pip {
    /// The Python interpreter, `python3` unless set.
    pub python: OsString,
}

impl Default for Pip {
    fn default() -> Pip {
        Pip {
            python: OsString::from("python3"),
        }
    }
}

/// [`Pip::download`] with `python3`.
pub fn download(
    requirement: &str,
    platform: &Platform,
    dest: &Path,
) -> Result<Vec<PathBuf>, PipError> {
    Pip::default().download(requirement, platform, dest)
}

impl Pip {
    /// The arguments after the interpreter for one download.
    pub fn arguments(&self, requirement: &str, platform: &Platform, dir: &Path) -> Vec<OsString> {
        let mut args: Vec<OsString> = ["-m", "pip", "download", "--disable-pip-version-check"]
            .iter()
            .map(OsString::from)
            .collect();
        for tag in platform.platform_tags() {
            args.push("--platform".into());
            args.push(tag.into());
        }
        for arg in [
            "--only-binary=:all:",
            "--python-version",
            &platform.python_version(),
            "--implementation",
            "cp",
            "--no-deps",
            "-d",
        ] {
            args.push(arg.into());
        }
        args.push(dir.as_os_str().to_owned());
        args.push(requirement.into());
        args
    }

    /// Downloads the wheel for `requirement` (no dependencies) for
    /// `platform` into `dest` (created if needed) and returns the paths of
    /// the wheels now in `dest`. Wheels pip writes that the runtime cannot
    /// use are refused with both tag sets named; nothing is moved into
    /// `dest` then.
    pub fn download(
        &self,
        requirement: &str,
        platform: &Platform,
        dest: &Path,
    ) -> Result<Vec<PathBuf>, PipError> {
        let io_error = |action, path: &Path| {
            let path = path.to_owned();
            move |source| PipError::Io {
                action,
                path,
                source,
            }
        };
        fs::create_dir_all(dest).map_err(io_error("create directory", dest))?;
        let work = tempfile::Builder::new()
            .prefix(".pip-download-")
            .tempdir_in(dest)
            .map_err(io_error("create a directory in", dest))?;
        let args = self.arguments(requirement, platform, work.path());
        let command = std::iter::once(self.python.as_os_str())
            .chain(args.iter().map(OsString::as_os_str))
            .map(OsStr::to_string_lossy)
            .collect::<Vec<_>>()
            .join(" ");
        let output = Command::new(&self.python)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| PipError::PythonMissing {
                python: self.python.clone(),
                source,
            })?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            if stderr.contains("No module named pip") {
                return Err(PipError::PipMissing {
                    python: self.python.clone(),
                    detail: last_lines(&stderr),
                });
            }
            return Err(PipError::Failed {
                command,
                status: output.status.to_string(),
                stderr_tail: last_lines(&stderr),
            });
        }
        let mut wheels = Vec::new();
        for entry in fs::read_dir(work.path()).map_err(io_error("read", work.path()))? {
            let entry = entry.map_err(io_error("read", work.path()))?;
            let file = entry.file_name().to_string_lossy().into_owned();
            if !file.ends_with(".whl") {
                continue;
            }
            let name = WheelName::parse(&file)?;
            platform.check(&name)?;
            wheels.push((entry.path(), dest.join(&file)));
        }
        if wheels.is_empty() {
            return Err(PipError::NoWheel {
                command,
                dir: work.path().to_owned(),
            });
        }
        let mut out = Vec::new();
        for (from, to) in wheels {
            fs::rename(&from, &to).map_err(io_error("move into place", &to))?;
            out.push(to);
        }
        Ok(out)
    }
}

/// The last non-empty lines of pip's stderr, for an error message.
fn last_lines(output: &str) -> String {
    const KEEP: usize = 12;
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.trim().is_empty())
        .collect();
    if lines.is_empty() {
        return "(no output)".to_owned();
    }
    lines[lines.len().saturating_sub(KEEP)..].join("\n  ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_names_the_runtime_platform() {
        let platform = Platform::for_pyodide("0.29.3").unwrap();
        let args = Pip::default().arguments("msgpack==1.2.4", &platform, Path::new("/d"));
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "-m pip download --disable-pip-version-check --platform pyodide_2025_0_wasm32 \
             --platform pyemscripten_2025_0_wasm32 --only-binary=:all: --python-version 3.13 \
             --implementation cp --no-deps -d /d msgpack==1.2.4"
        );
    }

    #[test]
    fn a_missing_interpreter_is_named() {
        let dest = tempfile::tempdir().unwrap();
        let pip = Pip {
            python: "/nonexistent/python3-for-pyworkerd-tests".into(),
        };
        let platform = Platform::for_pyodide("314.0.7").unwrap();
        let err = pip.download("msgpack", &platform, dest.path()).unwrap_err();
        assert!(matches!(err, PipError::PythonMissing { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("cannot run \"/nonexistent/python3-for-pyworkerd-tests\" to use pip")
        );
        // The private work directory is gone.
        assert_eq!(fs::read_dir(dest.path()).unwrap().count(), 0);
    }

    #[test]
    fn pip_failures_carry_its_stderr() {
        // `sh` stands in for an interpreter whose pip fails: it runs the
        // argument "-m" ... as a script name and exits non-zero.
        let dest = tempfile::tempdir().unwrap();
        let script = dest.path().join("fake-python");
        fs::write(
            &script,
            "#!/bin/sh\necho 'ERROR: No matching distribution found for nothing' >&2\nexit 1\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        }
        let pip = Pip {
            python: script.clone().into(),
        };
        let platform = Platform::for_pyodide("314.0.7").unwrap();
        let err = pip
            .download("nothing", &platform, &dest.path().join("out"))
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("pip download"), "{message}");
        assert!(message.contains("failed (exit status: 1)"), "{message}");
        assert!(
            message.ends_with("ERROR: No matching distribution found for nothing"),
            "{message}"
        );
        fs::write(
            &script,
            "#!/bin/sh\necho '/usr/bin/python3: No module named pip' >&2\nexit 1\n",
        )
        .unwrap();
        let err = pip
            .download("nothing", &platform, &dest.path().join("out"))
            .unwrap_err();
        assert!(matches!(err, PipError::PipMissing { .. }), "{err}");
    }

    /// Really runs pip: it reaches whatever index it is configured for.
    #[test]
    fn pip_downloads_an_emscripten_wheel_the_runtime_accepts() {
        let dest = tempfile::tempdir().unwrap();
        let platform = Platform::for_pyodide("314.0.7").unwrap();
        let wheels = match download("msgpack==1.2.4", &platform, dest.path()) {
            Ok(wheels) => wheels,
            Err(e) => panic!(
                "pip could not download msgpack 1.2.4 for pyodide 314 (needs pip and network): {e}"
            ),
        };
        assert_eq!(wheels.len(), 1, "{wheels:?}");
        let file = wheels[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let name = WheelName::parse(&file).unwrap();
        assert_eq!(name.project(), "msgpack");
        assert_eq!(name.version, "1.2.4");
        platform.check(&name).unwrap();
        let wheel = crate::install::Wheel::open(&wheels[0], None).unwrap();
        assert_eq!(wheel.metadata().version, "1.2.4");
        assert!(
            wheel
                .placements()
                .iter()
                .any(|p| p.path.starts_with("msgpack/"))
        );
        // Only the wheel is left in the destination.
        assert_eq!(fs::read_dir(dest.path()).unwrap().count(), 1);
    }
}
