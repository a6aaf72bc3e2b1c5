//! Where a tarball comes from: `npm pack`, a file, or a URL. Each way ends
//! with a tarball on disk that has not been verified yet.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::error::{io_error, write_error};
use super::{Error, Event, KnownVersion, Phase};
use crate::env_vars::PYODIDE_DIST;

/// The npm package that holds the Pyodide distribution.
pub const NPM_PACKAGE: &str = "pyodide";

/// The npm executable; on Windows it is a batch file that `Command` finds
/// only by its full name.
const NPM_PROGRAM: &str = if cfg!(windows) { "npm.cmd" } else { "npm" };

/// Where to get a Pyodide tarball when it is not cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Run `npm pack pyodide@<version>` with the user's npm and its
    /// configuration.
    Npm,
    /// A tarball on disk, or a directory holding `pyodide-<version>.tgz`.
    /// It is never modified or deleted.
    Path(PathBuf),
    /// An `http://` or `https://` URL; `{version}` in it is replaced by the
    /// version being fetched.
    Url(String),
}

impl Source {
    /// The source named by [`PYODIDE_DIST`]: a URL when it starts with
    /// `http://` or `https://`, else a path (a `file://` prefix is allowed);
    /// [`Source::Npm`] when the variable is unset or empty.
    pub fn from_env() -> Source {
        Source::from_env_value(std::env::var_os(PYODIDE_DIST))
    }

    pub(crate) fn from_env_value(value: Option<OsString>) -> Source {
        let Some(value) = value.filter(|value| !value.is_empty()) else {
            return Source::Npm;
        };
        if let Some(text) = value.to_str() {
            if text.starts_with("http://") || text.starts_with("https://") {
                return Source::Url(text.to_owned());
            }
            if let Some(path) = text.strip_prefix("file://") {
                return Source::Path(PathBuf::from(path));
            }
        }
        Source::Path(PathBuf::from(value))
    }

    /// Says where the tarball for `version` comes from, for messages:
    /// `npm pack pyodide@314.0.7`, `file "/x.tgz"` or `URL "https://..."`.
    pub fn describe(&self, version: &KnownVersion) -> String {
        match self {
            Source::Npm => npm_command(version),
            Source::Path(path) => format!("file \"{}\"", tarball_path(path, version).display()),
            Source::Url(url) => format!("URL \"{}\"", url_for(url, version)),
        }
    }
}

fn npm_command(version: &KnownVersion) -> String {
    format!("npm pack {NPM_PACKAGE}@{}", version.version)
}

/// The file a [`Source::Path`] means for `version`.
fn tarball_path(path: &Path, version: &KnownVersion) -> PathBuf {
    if path.is_dir() {
        path.join(format!("{NPM_PACKAGE}-{}.tgz", version.version))
    } else {
        path.to_path_buf()
    }
}

fn url_for(url: &str, version: &KnownVersion) -> String {
    url.replace("{version}", version.version)
}

/// A tarball on disk, not yet verified.
#[derive(Debug)]
pub(crate) struct Tarball {
    pub(crate) path: PathBuf,
    /// Whether we downloaded it (and so may delete it).
    pub(crate) owned: bool,
    /// [`Source::describe`], for messages.
    pub(crate) from: String,
}

/// Gets the tarball for `version` from `source`, downloading into
/// `download_dir` (a fresh directory of ours) when it has to. `cache_dir`
/// is where the version will be cached, for messages.
pub(crate) fn obtain(
    source: &Source,
    version: &KnownVersion,
    download_dir: &Path,
    cache_dir: &Path,
    progress: &mut dyn FnMut(Event),
) -> Result<Tarball, Error> {
    let from = source.describe(version);
    match source {
        Source::Npm => {
            let path = npm_pack(
                OsStr::new(NPM_PROGRAM),
                version,
                download_dir,
                cache_dir,
                progress,
            )?;
            Ok(Tarball {
                path,
                owned: true,
                from,
            })
        }
        Source::Path(path) => Ok(Tarball {
            path: tarball_path(path, version),
            owned: false,
            from,
        }),
        Source::Url(url) => {
            let path = download(
                &url_for(url, version),
                version,
                &from,
                download_dir,
                cache_dir,
                progress,
            )?;
            Ok(Tarball {
                path,
                owned: true,
                from,
            })
        }
    }
}

/// Runs `<program> pack pyodide@<version> --pack-destination <dir> --json`
/// and returns the tarball it wrote.
pub(crate) fn npm_pack(
    program: &OsStr,
    version: &KnownVersion,
    dir: &Path,
    cache_dir: &Path,
    progress: &mut dyn FnMut(Event),
) -> Result<PathBuf, Error> {
    let command = npm_command(version);
    progress(Event::PhaseStarted(Phase::NpmPack));
    let output = Command::new(program)
        .arg("pack")
        .arg(format!("{NPM_PACKAGE}@{}", version.version))
        .arg("--pack-destination")
        .arg(dir)
        .arg("--json")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::NpmMissing,
            _ => io_error("run", Path::new(program), e),
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        // With --json, npm reports errors as JSON on stdout; look at both.
        let detail = npm_failure_detail(&stdout, &stderr);
        if is_network_failure(&stderr) || is_network_failure(&stdout) {
            return Err(Error::Unreachable {
                version: version.version.to_owned(),
                cache_dir: cache_dir.to_path_buf(),
                from: command,
                detail,
            });
        }
        return Err(Error::NpmFailed {
            command,
            status: output.status.to_string(),
            detail,
        });
    }
    packed_file(&stdout, dir).ok_or_else(|| Error::NpmNoTarball {
        command,
        dir: dir.to_path_buf(),
    })
}

/// The error codes by which npm says the network could not be used.
const NETWORK_ERROR_CODES: &[&str] = &[
    "ENOTFOUND",
    "EAI_AGAIN",
    "ECONNREFUSED",
    "ECONNRESET",
    "ETIMEDOUT",
    "ENETUNREACH",
    "EHOSTUNREACH",
];

/// Whether npm's output says the registry could not be reached.
pub(crate) fn is_network_failure(npm_output: &str) -> bool {
    NETWORK_ERROR_CODES
        .iter()
        .any(|code| npm_output.contains(code))
}

/// What to tell the user about a failed `npm pack --json`: the summary of
/// the JSON error report on stdout when there is one, else the last lines of
/// stderr without stack frames; plus where npm wrote its full log.
pub(crate) fn npm_failure_detail(stdout: &str, stderr: &str) -> String {
    let report = serde_json::from_str::<serde_json::Value>(stdout).ok();
    let error = report.as_ref().and_then(|report| report.get("error"));
    let summary = error.and_then(|error| {
        let summary = error.get("summary")?.as_str()?.trim();
        let code = error.get("code").and_then(|code| code.as_str());
        let detail = error.get("detail").and_then(|detail| detail.as_str());
        let mut text = match code {
            Some(code) if !summary.contains(code) => format!("{code}: {summary}"),
            _ => summary.to_owned(),
        };
        if let Some(detail) = detail.map(str::trim).filter(|detail| !detail.is_empty()) {
            text.push_str("\n  ");
            text.push_str(detail);
        }
        Some(text)
    });
    let Some(mut summary) = summary.filter(|summary| !summary.is_empty()) else {
        let without_frames: String = stderr
            .lines()
            .filter(|line| {
                let body = line.trim_start_matches("npm error").trim_start();
                !body.starts_with("at ") && !line.trim().is_empty()
            })
            .map(|line| format!("{line}\n"))
            .collect();
        return last_lines(if without_frames.is_empty() {
            stdout
        } else {
            &without_frames
        });
    };
    if let Some(log) = stderr
        .lines()
        .find(|line| line.contains("A complete log of this run"))
    {
        summary.push_str("\n  ");
        summary.push_str(log.trim());
    }
    summary
}

/// The last few non-empty lines of a command's output, for an error message.
pub(crate) fn last_lines(output: &str) -> String {
    const KEEP: usize = 8;
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.trim().is_empty())
        .collect();
    let start = lines.len().saturating_sub(KEEP);
    if lines.is_empty() {
        "(no output)".to_owned()
    } else {
        lines[start..].join("\n  ")
    }
}

/// Finds the tarball `npm pack` wrote: the `filename` of its JSON report if
/// that is a plain file name present in `dir`, else the only `.tgz` in `dir`.
fn packed_file(json: &str, dir: &Path) -> Option<PathBuf> {
    let reported = serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|report| report.get(0)?.get("filename")?.as_str().map(str::to_owned))
        .filter(|name| !name.is_empty() && Path::new(name).file_name() == Some(OsStr::new(name)))
        .map(|name| dir.join(name))
        .filter(|path| path.is_file());
    if reported.is_some() {
        return reported;
    }
    let mut tarballs = fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension() == Some(OsStr::new("tgz")) && path.is_file());
    let only = tarballs.next()?;
    tarballs.next().is_none().then_some(only)
}

/// How long to wait for a connection before calling the network unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one read may wait for data before the download counts as stalled.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Downloads `url` into `dir`, reporting progress, and returns the file.
pub(crate) fn download(
    url: &str,
    version: &KnownVersion,
    from: &str,
    dir: &Path,
    cache_dir: &Path,
    progress: &mut dyn FnMut(Event),
) -> Result<PathBuf, Error> {
    progress(Event::PhaseStarted(Phase::Downloading));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_per_read(Some(READ_TIMEOUT))
        .build()
        .into();
    let failed = |detail: String| Error::DownloadFailed {
        url: url.to_owned(),
        detail,
    };
    let response = agent.get(url).call().map_err(|e| {
        if is_unreachable(&e) {
            Error::Unreachable {
                version: version.version.to_owned(),
                cache_dir: cache_dir.to_path_buf(),
                from: from.to_owned(),
                detail: e.to_string(),
            }
        } else if let ureq::Error::StatusCode(status) = e {
            failed(format!("the server answered with HTTP status {status}"))
        } else {
            failed(e.to_string())
        }
    })?;
    let total = response
        .headers()
        .get("content-length")
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    let mut body = response.into_body().into_reader();

    let path = dir.join(format!("{NPM_PACKAGE}.tgz"));
    let mut file = File::create(&path).map_err(|e| write_error("create", &path, dir, e))?;
    let mut buffer = vec![0; 64 * 1024];
    let mut bytes = 0u64;
    progress(Event::Downloaded { bytes, total });
    loop {
        let n = match body.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(failed(format!(
                    "the connection broke after {bytes} bytes: {e}"
                )));
            }
        };
        file.write_all(&buffer[..n])
            .map_err(|e| write_error("write", &path, dir, e))?;
        bytes += n as u64;
        progress(Event::Downloaded { bytes, total });
    }
    if let Some(total) = total.filter(|total| *total != bytes) {
        return Err(failed(format!(
            "received {bytes} bytes, the server announced {total}"
        )));
    }
    file.sync_all()
        .map_err(|e| write_error("write", &path, dir, e))?;
    Ok(path)
}

/// Whether a ureq error means the host could not be reached at all.
pub(crate) fn is_unreachable(error: &ureq::Error) -> bool {
    match error {
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed | ureq::Error::Timeout(_) => true,
        ureq::Error::Io(e) => matches!(
            e.kind(),
            io::ErrorKind::ConnectionRefused
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::NotConnected
                | io::ErrorKind::TimedOut
                | io::ErrorKind::NetworkUnreachable
                | io::ErrorKind::HostUnreachable
                | io::ErrorKind::NetworkDown
                | io::ErrorKind::AddrNotAvailable
        ),
        _ => false,
    }
}
