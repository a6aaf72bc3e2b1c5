//! `cargo xtask golden`: regenerates the conformance corpus's golden files
//! by running each program on Pyodide under Node (the reference runner,
//! `xtask/reference/run-pyodide.mjs`), with the corpus mounted at `/corpus`.
//!
//! Layout (shared with `tests/tests/conformance.rs`):
//! `tests/conformance/programs/<name>.py` are the programs;
//! `tests/conformance/expected/<version>/<name>.{stdout,stderr,status}` what
//! the reference printed and its exit status; an optional
//! `tests/conformance/subset-<version>.txt` lists the programs a version runs
//! (one name a line, `#` comments), otherwise it runs them all.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use pyodide_packages::dist::{self, KnownVersion};

pub(crate) const SUMMARY: &str = "regenerate conformance golden files from Pyodide on Node";

/// Where the corpus is mounted inside the guest.
const GUEST_CORPUS: &str = "/corpus";

#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Help,
    Generate {
        version: &'static KnownVersion,
        programs: Vec<String>,
        jobs: Option<usize>,
    },
}

fn help() -> String {
    format!(
        "Regenerate the conformance corpus's golden files.\n\
         \n\
         Usage: cargo xtask golden [--version VERSION] [--jobs N] [PROGRAM...]\n\
         \n\
         Runs each program of tests/conformance/programs/ (or only the PROGRAMs\n\
         named, with or without .py) on Pyodide under Node through\n\
         xtask/reference/run-pyodide.mjs, with the programs mounted at {GUEST_CORPUS},\n\
         and writes what it printed and its exit status to\n\
         tests/conformance/expected/VERSION/NAME.{{stdout,stderr,status}}.\n\
         If tests/conformance/subset-VERSION.txt exists, only the programs it\n\
         lists are run for that version. Regenerating everything also removes\n\
         golden files of programs that no longer exist.\n\
         \n\
         Options:\n\
         \x20 --version VERSION  the Pyodide release (default: {default})\n\
         \x20 --jobs N           programs run at once (default: available cores)\n\
         \x20 -h, --help         show this help\n\
         \n\
         Node runs with TZ=UTC (pyworkerd's local time). Needs `node` on PATH;\n\
         the release is fetched into the cache if absent.\n",
        default = dist::default_version().version,
    )
}

fn parse(args: &[String]) -> Result<Parsed> {
    let mut version = dist::default_version();
    let mut programs = Vec::new();
    let mut jobs = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--version" => {
                version = dist::known_version(args.next().context("--version needs a value")?)?;
            }
            "--jobs" => {
                let value = args.next().context("--jobs needs a value")?;
                jobs = Some(parse_jobs(value)?);
            }
            other if other.starts_with("--version=") => {
                version = dist::known_version(&other["--version=".len()..])?;
            }
            other if other.starts_with("--jobs=") => {
                jobs = Some(parse_jobs(&other["--jobs=".len()..])?);
            }
            other if other.starts_with('-') => {
                bail!("unexpected option \"{other}\" for golden; see `cargo xtask golden --help`")
            }
            name => programs.push(name.strip_suffix(".py").unwrap_or(name).to_owned()),
        }
    }
    Ok(Parsed::Generate {
        version,
        programs,
        jobs,
    })
}

fn parse_jobs(value: &str) -> Result<usize> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => bail!("--jobs takes a positive number, not \"{value}\""),
    }
}

/// The conformance corpus's directories.
struct Corpus {
    root: PathBuf,
}

impl Corpus {
    fn new(workspace: &Path) -> Corpus {
        Corpus {
            root: workspace.join("tests").join("conformance"),
        }
    }

    fn programs_dir(&self) -> PathBuf {
        self.root.join("programs")
    }

    fn expected_dir(&self, version: &str) -> PathBuf {
        self.root.join("expected").join(version)
    }

    /// Every program's name (without `.py`), sorted.
    fn all_programs(&self) -> Result<Vec<String>> {
        let dir = self.programs_dir();
        let mut names = Vec::new();
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
        {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if let Some(stem) = name.strip_suffix(".py") {
                names.push(stem.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// The programs `version` runs: its subset file if there is one.
    fn programs_for(&self, version: &str) -> Result<Vec<String>> {
        let subset = self.root.join(format!("subset-{version}.txt"));
        if !subset.exists() {
            return self.all_programs();
        }
        let text = std::fs::read_to_string(&subset)
            .with_context(|| format!("cannot read {}", subset.display()))?;
        Ok(parse_subset(&text))
    }
}

/// Program names of a subset file: one a line, blank lines and `#`
/// comments ignored.
fn parse_subset(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .map(|line| line.strip_suffix(".py").unwrap_or(line).to_owned())
        .collect()
}

/// What one run of the reference printed.
struct Golden {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    status: i32,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let (version, requested, jobs) = match parse(args)? {
        Parsed::Help => return crate::print_out(&help()),
        Parsed::Generate {
            version,
            programs,
            jobs,
        } => (version, programs, jobs),
    };
    let workspace = workspace_root();
    let corpus = Corpus::new(&workspace);
    let available = corpus.all_programs()?;
    let regenerate_all = requested.is_empty();
    let programs = if regenerate_all {
        corpus.programs_for(version.version)?
    } else {
        requested
    };
    for name in &programs {
        if !available.contains(name) {
            bail!(
                "no program \"{name}\" in {}",
                corpus.programs_dir().display()
            );
        }
    }
    let distribution = dist::ensure_from_env(version)
        .with_context(|| format!("cannot get Pyodide {}", version.version))?;
    let runner = workspace
        .join("xtask")
        .join("reference")
        .join("run-pyodide.mjs");
    let expected = corpus.expected_dir(version.version);
    std::fs::create_dir_all(&expected)
        .with_context(|| format!("cannot create {}", expected.display()))?;

    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .min(programs.len().max(1));
    eprintln!(
        "golden: running {} program(s) on Pyodide {} under Node, {jobs} at a time",
        programs.len(),
        version.version
    );
    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(name) = programs.get(index) else {
                        break;
                    };
                    let result = run_reference(&runner, distribution.dir(), &corpus, name)
                        .and_then(|golden| write_golden(&expected, name, &golden).map(|()| golden));
                    match result {
                        Ok(golden) => eprintln!("golden: {name} (exit {})", golden.status),
                        Err(error) => {
                            eprintln!("golden: {name} FAILED: {error:#}");
                            failures.lock().expect("not poisoned").push(name.clone());
                        }
                    }
                }
            });
        }
    });
    if regenerate_all {
        remove_stale(&expected, &programs)?;
    }
    let failures = failures.into_inner().expect("not poisoned");
    if !failures.is_empty() {
        bail!("the reference runner failed for: {}", failures.join(", "));
    }
    eprintln!("golden: wrote {}", expected.display());
    Ok(())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

fn run_reference(runner: &Path, dist: &Path, corpus: &Corpus, name: &str) -> Result<Golden> {
    let mount = format!("{}:{GUEST_CORPUS}", corpus.programs_dir().display());
    let mut child = Command::new("node")
        // Pyodide takes local time from the JavaScript host's zone; pyworkerd's
        // is UTC. Golden files must not depend on this machine's zone.
        .env("TZ", "UTC")
        .arg(runner)
        .arg("--dist")
        .arg(dist)
        .arg("--mount")
        .arg(mount)
        .arg(format!("{GUEST_CORPUS}/{name}.py"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start `node` (is Node.js installed?)")?;
    // Read both pipes at once so neither fills up and blocks the child.
    let mut stdout_pipe = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stdout_pipe.read_to_end(&mut bytes).map(|_| bytes)
    });
    let mut stderr = Vec::new();
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_end(&mut stderr)?;
    let stdout = reader.join().expect("reader thread")?;
    let status = child.wait()?;
    let Some(code) = status.code() else {
        bail!("node was killed ({status})");
    };
    Ok(Golden {
        stdout,
        stderr,
        status: code,
    })
}

fn write_golden(dir: &Path, name: &str, golden: &Golden) -> Result<()> {
    let status = format!("{}\n", golden.status);
    for (extension, contents) in [
        ("stdout", golden.stdout.as_slice()),
        ("stderr", golden.stderr.as_slice()),
        ("status", status.as_bytes()),
    ] {
        write_atomically(&dir.join(format!("{name}.{extension}")), contents)?;
    }
    Ok(())
}

/// Writes to a temporary name in the same directory, then renames.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let file_name = path
        .file_name()
        .context("golden path has no file name")?
        .to_string_lossy();
    let temp = path.with_file_name(format!(".{file_name}.tmp"));
    std::fs::write(&temp, contents).with_context(|| format!("cannot write {}", temp.display()))?;
    std::fs::rename(&temp, path).with_context(|| format!("cannot rename to {}", path.display()))
}

/// Removes golden files whose program is not among `programs`.
fn remove_stale(dir: &Path, programs: &[String]) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        if let Some(stem) = stem
            && !programs.contains(&stem)
        {
            eprintln!("golden: removing stale {}", path.display());
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn defaults_to_the_default_version_and_every_program() {
        assert_eq!(
            parse(&[]).unwrap(),
            Parsed::Generate {
                version: dist::default_version(),
                programs: Vec::new(),
                jobs: None,
            }
        );
    }

    #[test]
    fn takes_a_version_jobs_and_program_names_with_or_without_py() {
        let parsed = parse(&args(&["--version", "0.29.3", "--jobs=3", "a.py", "b"])).unwrap();
        assert_eq!(
            parsed,
            Parsed::Generate {
                version: dist::known_version("0.29.3").unwrap(),
                programs: vec!["a".to_owned(), "b".to_owned()],
                jobs: Some(3),
            }
        );
    }

    #[test]
    fn refuses_unknown_options_and_zero_jobs() {
        let error = parse(&args(&["--frob"])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unexpected option \"--frob\" for golden; see `cargo xtask golden --help`"
        );
        let error = parse(&args(&["--jobs", "0"])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "--jobs takes a positive number, not \"0\""
        );
    }

    #[test]
    fn subset_files_skip_comments_and_blank_lines() {
        let text =
            "# programs for an old release\njson_roundtrip\n\n  re_patterns.py  # trailing\n";
        assert_eq!(parse_subset(text), ["json_roundtrip", "re_patterns"]);
    }

    #[test]
    fn golden_files_are_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let golden = Golden {
            stdout: b"out\n".to_vec(),
            stderr: Vec::new(),
            status: 3,
        };
        write_golden(dir.path(), "prog", &golden).unwrap();
        let read = |ext: &str| std::fs::read(dir.path().join(format!("prog.{ext}"))).unwrap();
        assert_eq!(read("stdout"), b"out\n");
        assert_eq!(read("stderr"), b"");
        assert_eq!(read("status"), b"3\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 3, "no temporary files left: {names:?}");
    }

    #[test]
    fn stale_golden_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["kept.stdout", "gone.stdout", "gone.status"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        remove_stale(dir.path(), &["kept".to_owned()]).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["kept.stdout"]);
    }
}
