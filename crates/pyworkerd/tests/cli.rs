//! `pyworkerd run` end to end: the real binary on the real Pyodide.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn pyworkerd(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pyworkerd"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pyworkerd");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn check(output: &Output, status: i32, stdout: &str, stderr: &str) {
    assert_eq!(
        (
            output.status.code(),
            text(&output.stdout).as_str(),
            text(&output.stderr).as_str()
        ),
        (Some(status), stdout, stderr)
    );
}

#[test]
fn code_argv_and_exit_statuses() {
    check(
        &pyworkerd(
            &["run", "-c", "import sys; print(1 + 1, sys.argv)", "a", "-b"],
            None,
        ),
        0,
        "2 ['-c', 'a', '-b']\n",
        "",
    );
    check(
        &pyworkerd(&["run", "-c", "import sys; sys.exit(3)"], None),
        3,
        "",
        "",
    );
    check(
        &pyworkerd(&["run", "-c", "raise SystemExit('bye')"], None),
        1,
        "",
        "bye\n",
    );
    check(
        &pyworkerd(&["run", "-c", "print('before')\n1/0"], None),
        1,
        "before\n",
        "Traceback (most recent call last):\n  File \"<string>\", line 2, in <module>\nZeroDivisionError: division by zero\n",
    );
}

#[test]
fn os_exit_ends_the_run_with_its_status() {
    let output = pyworkerd(
        &[
            "run",
            "-c",
            "import os\nprint('bye', flush=True)\nos._exit(5)",
        ],
        None,
    );
    check(&output, 5, "bye\n", "");
}

#[test]
fn script_with_sibling_import_and_arguments() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("helper.py"),
        "GREETING = 'hello from a sibling'\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("main.py"),
        "import sys, helper\nprint(helper.GREETING)\nprint(sys.argv[1:], __name__, sys.argv[0] == __file__)\n",
    )
    .unwrap();
    let script = dir.path().join("main.py");
    let output = pyworkerd(&["run", script.to_str().unwrap(), "x", "--flag"], None);
    check(
        &output,
        0,
        "hello from a sibling\n['x', '--flag'] __main__ True\n",
        "",
    );
}

#[test]
fn a_script_in_a_system_directory_is_mounted_at_slash_script() {
    // /tmp is the guest's own temporary directory: the script's directory
    // must not cover it (tempfile keeps working), so it appears at /script.
    let path = std::env::temp_dir().join(format!("pyworkerd-cli-{}.py", std::process::id()));
    std::fs::write(&path, "import tempfile\nprint(__file__)\nwith tempfile.TemporaryFile() as f:\n    print('tmp ok')\n").unwrap();
    let name = path.file_name().unwrap().to_str().unwrap().to_owned();
    let output = pyworkerd(&["run", path.to_str().unwrap()], None);
    std::fs::remove_file(&path).unwrap();
    if std::env::temp_dir() == Path::new("/tmp") {
        check(&output, 0, &format!("/script/{name}\ntmp ok\n"), "");
    } else {
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    }
}

#[test]
fn script_on_stdin_and_modules() {
    check(
        &pyworkerd(
            &["run", "-", "arg"],
            Some("import sys\nprint('stdin', sys.argv)\n"),
        ),
        0,
        "stdin ['-', 'arg']\n",
        "",
    );
    check(&pyworkerd(&["run"], Some("print(6 * 7)\n")), 0, "42\n", "");
    let output = pyworkerd(&["run", "-m", "calendar", "2024", "1"], None);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("January 2024"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn mounts_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("input.txt"), "from the host").unwrap();
    let rw = format!("{}:/data:rw", dir.path().display());
    let code = "import os\nprint(open('/data/input.txt').read(), os.environ['GREETING'])\n\
                open('/data/output.txt', 'w').write('from the guest')";
    check(
        &pyworkerd(
            &["run", "--mount", &rw, "--env", "GREETING=hi", "-c", code],
            None,
        ),
        0,
        "from the host hi\n",
        "",
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("output.txt")).unwrap(),
        "from the guest"
    );

    // Read-only by default: writing fails inside Python, the host is untouched.
    let ro = format!("{}:/data", dir.path().display());
    let code = "try:\n    open('/data/new.txt', 'w')\nexcept OSError as e:\n    print(type(e).__name__, e.errno)";
    check(
        &pyworkerd(&["run", "--mount", &ro, "-c", code], None),
        0,
        "OSError 69\n",
        "",
    );
    assert!(!Path::new(&dir.path().join("new.txt")).exists());

    // Nothing of the host is visible unless mounted.
    let code = format!(
        "import os\nprint(os.path.exists({:?}))",
        dir.path().display().to_string()
    );
    check(&pyworkerd(&["run", "-c", &code], None), 0, "False\n", "");
}

#[test]
fn clear_errors_for_bad_input() {
    let output = pyworkerd(&["run", "no-such-script.py"], None);
    check(
        &output,
        2,
        "",
        "pyworkerd: error: script 'no-such-script.py' not found (no such file)\n",
    );
    let output = pyworkerd(&["run", "--pyodide-version", "9.9.9", "-c", "1"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr)
            .contains("unknown pyodide version \"9.9.9\"; known versions: 314.0.7, 0.29.3"),
        "{}",
        text(&output.stderr)
    );
    let output = pyworkerd(&["run", "--mount", "/no/such/dir:/x", "-c", "1"], None);
    check(
        &output,
        2,
        "",
        "pyworkerd: error: --mount '/no/such/dir:/x': '/no/such/dir' is not a readable directory\n",
    );
    let output = pyworkerd(&["run", "--env", "NOEQUALS", "-c", "1"], None);
    check(
        &output,
        2,
        "",
        "pyworkerd: error: --env 'NOEQUALS': expected K=V\n",
    );
}

/// `<pyworkerd cache>/test-wheels/`, with the wheels these tests use
/// fetched by `pip download` on first use.
fn test_wheelhouse() -> std::path::PathBuf {
    let dir = pyodide_packages::dist::cache_root()
        .expect("cache root")
        .join("test-wheels");
    std::fs::create_dir_all(&dir).unwrap();
    let have = |prefix: &str| {
        std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(prefix))
    };
    if !have("msgpack-1.2.4-cp314") {
        let status = Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
            .args([
                "--platform",
                "pyemscripten_2026_0_wasm32",
                "--python-version",
                "3.14",
            ])
            .args(["--implementation", "cp", "-d"])
            .arg(&dir)
            .arg("msgpack==1.2.4")
            .status()
            .expect("pip");
        assert!(status.success(), "pip download msgpack");
    }
    if !have("typing_extensions-4.16.0") {
        let status = Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "-d",
            ])
            .arg(&dir)
            .arg("typing-extensions==4.16.0")
            .status()
            .expect("pip");
        assert!(status.success(), "pip download typing-extensions");
    }
    dir
}

#[test]
fn packages_from_wheelhouses_and_requirements_files() {
    let wheelhouse = test_wheelhouse();
    let wheelhouse = wheelhouse.to_str().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let empty = empty.path().to_str().unwrap();
    let code = "import msgpack\nprint(msgpack.unpackb(msgpack.packb({'k': [1, b'x']})), msgpack.Packer.__module__)";
    check(
        &pyworkerd(
            &[
                "run",
                "--wheelhouse",
                empty,
                "--wheelhouse",
                wheelhouse,
                "--package",
                "msgpack==1.2.4",
                "-c",
                code,
            ],
            None,
        ),
        0,
        "{'k': [1, b'x']} msgpack._cmsgpack\n",
        "",
    );

    let dir = tempfile::tempdir().unwrap();
    let requirements = dir.path().join("requirements.txt");
    std::fs::write(&requirements, "# pure Python\ntyping-extensions==4.16.0\n").unwrap();
    let code = "import typing_extensions\nprint(typing_extensions.__file__)";
    check(
        &pyworkerd(
            &[
                "run",
                "--wheelhouse",
                wheelhouse,
                "--requirements",
                requirements.to_str().unwrap(),
                "-c",
                code,
            ],
            None,
        ),
        0,
        "/lib/python3.14/site-packages/typing_extensions.py\n",
        "",
    );

    let output = pyworkerd(
        &[
            "run",
            "--wheelhouse",
            empty,
            "--package",
            "no-such-project-pyworkerd",
            "-c",
            "pass",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("no-such-project-pyworkerd"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn python_modules_beside_the_script_are_importable() {
    let wheelhouse = test_wheelhouse();
    let wheel = std::fs::read_dir(&wheelhouse)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("msgpack-1.2.4-cp314")
        })
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let modules = dir.path().join("python_modules");
    let status = Command::new("python3")
        .args(["-m", "zipfile", "-e"])
        .arg(&wheel)
        .arg(&modules)
        .status()
        .unwrap();
    assert!(status.success());
    let script = dir.path().join("main.py");
    std::fs::write(
        &script,
        "import sys, msgpack\nprint(sys.path.index('/python_modules') < sys.path.index('/lib/python3.14/site-packages'))\n\
         print(msgpack.__file__, msgpack.unpackb(msgpack.packb(-5)))\n",
    )
    .unwrap();
    check(
        &pyworkerd(&["run", script.to_str().unwrap()], None),
        0,
        "True\n/python_modules/msgpack/__init__.py -5\n",
        "",
    );
}

/// `pyworkerd` with extra environment variables.
fn pyworkerd_env(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pyworkerd"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("start pyworkerd")
}

/// A cache root of its own whose distributions and compiled modules are
/// the user cache's (symlinked), so only its snapshots are fresh.
fn cache_with_fresh_snapshots() -> tempfile::TempDir {
    let root = pyodide_packages::dist::cache_root().expect("cache root");
    let dir = tempfile::tempdir().unwrap();
    for name in ["pyodide", "modules"] {
        std::os::unix::fs::symlink(root.join(name), dir.path().join(name)).unwrap();
    }
    dir
}

#[test]
fn run_restores_the_baseline_unless_told_not_to() {
    let code = "import sys; print('asyncio' in sys.modules, 1 + 1)";
    check(&pyworkerd(&["run", "-c", code], None), 0, "True 2\n", "");
    check(
        &pyworkerd(&["run", "--no-snapshot", "-c", code], None),
        0,
        "False 2\n",
        "",
    );
    // A PYTHON* variable is read while CPython starts: that boots cold.
    check(
        &pyworkerd(&["run", "--env", "PYTHONSAFEPATH=1", "-c", code], None),
        0,
        "False 2\n",
        "",
    );
}

#[test]
fn snapshot_subcommand_makes_package_and_dedicated_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("pkg.snap");
    let package_arg = package.to_str().unwrap();
    let output = pyworkerd(
        &["snapshot", "--import", "decimal", "-o", package_arg],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("wrote a package snapshot"),
        "{}",
        text(&output.stderr)
    );
    assert!(dir.path().join("pkg.snap.cwasm").is_file());
    let code = "import sys; print('decimal' in sys.modules, 'asyncio' in sys.modules)";
    check(
        &pyworkerd(&["run", "--snapshot", package_arg, "-c", code], None),
        0,
        "True True\n",
        "",
    );

    // Dedicated: the module's top level ran at creation, once.
    let app_dir = tempfile::tempdir().unwrap();
    let app = app_dir.path().join("app.py");
    std::fs::write(
        &app,
        "import json\nSTATE = {'loaded': 1}\nprint('top level ran')\n",
    )
    .unwrap();
    let dedicated = dir.path().join("app.snap");
    let output = pyworkerd(
        &[
            "snapshot",
            "--module",
            app.to_str().unwrap(),
            "--from",
            package_arg,
            "-o",
            dedicated.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    check(
        &pyworkerd(
            &[
                "run",
                "--snapshot",
                dedicated.to_str().unwrap(),
                "-c",
                "import sys, app; print(app.STATE, 'decimal' in sys.modules)",
            ],
            None,
        ),
        0,
        "{'loaded': 1}\n".replace("\n", " True\n").as_str(),
        "",
    );
}

#[test]
fn a_snapshot_that_cannot_be_used_is_named_and_the_run_boots_cold() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.snap");
    std::fs::write(&bad, b"PYWKSNP\0\x03\0\0\0short").unwrap();
    let output = pyworkerd(
        &["run", "--snapshot", bad.to_str().unwrap(), "-c", "print(7)"],
        None,
    );
    check(
        &output,
        0,
        "7\n",
        &format!(
            "pyworkerd: cannot use snapshot '{}': snapshot sidecar is truncated: '17' bytes, \
             expected '52'; booting without it\n",
            bad.display()
        ),
    );
}

#[test]
fn relocatable_pyodide_says_once_that_it_boots_without_a_snapshot() {
    let cache = cache_with_fresh_snapshots();
    let env = [("PYWORKERD_CACHE", cache.path().as_os_str())];
    let args = ["run", "--pyodide-version", "0.29.3", "-c", "print(1 + 1)"];
    let first = pyworkerd_env(&args, &env);
    check(
        &first,
        0,
        "2\n",
        "pyworkerd: Pyodide 0.29.3 boots without a snapshot: its module imports its linear \
         memory (a relocatable build), which snapshots do not support yet (said once)\n",
    );
    check(&pyworkerd_env(&args, &env), 0, "2\n", "");
}

#[test]
fn snapshot_help_explains_the_kinds() {
    let output = pyworkerd(&["snapshot", "--help"], None);
    assert_eq!(output.status.code(), Some(0));
    let help = text(&output.stdout);
    for needle in [
        "--kind",
        "baseline",
        "package",
        "dedicated",
        "--import",
        "--module",
        "-o",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
    let output = pyworkerd(
        &["snapshot", "--kind", "dedicated", "-o", "/tmp/x.snap"],
        None,
    );
    check(
        &output,
        2,
        "",
        "pyworkerd: error: a dedicated snapshot needs --module PATH\n",
    );
}

#[test]
fn package_snapshots_keep_extension_modules_and_need_their_packages() {
    let wheelhouse = test_wheelhouse();
    let wheelhouse = wheelhouse.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("msgpack.snap");
    let snap = snap.to_str().unwrap();
    let output = pyworkerd(
        &[
            "snapshot",
            "--kind",
            "package",
            "--package",
            "msgpack==1.2.4",
            "--wheelhouse",
            wheelhouse,
            "--import",
            "msgpack",
            "-o",
            snap,
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let code = "import sys; print('msgpack._cmsgpack' in sys.modules)\n\
                import msgpack; print(msgpack.unpackb(msgpack.packb([1, 'x'])), msgpack.Packer.__module__)";
    check(
        &pyworkerd(
            &[
                "run",
                "--snapshot",
                snap,
                "--package",
                "msgpack==1.2.4",
                "--wheelhouse",
                wheelhouse,
                "-c",
                code,
            ],
            None,
        ),
        0,
        "True\n[1, 'x'] msgpack._cmsgpack\n",
        "",
    );

    // Without its packages the snapshot is refused, saying which.
    let output = pyworkerd(&["run", "--snapshot", snap, "-c", "pass"], None);
    assert_ne!(output.status.code(), Some(0));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("the snapshot was made with packages 'msgpack-1.2.4-")
            && stderr.contains("given 'none'"),
        "{stderr}"
    );

    // Packages without --snapshot: the baseline is restored and they are
    // mounted after it.
    check(
        &pyworkerd(
            &[
                "run",
                "--package",
                "msgpack==1.2.4",
                "--wheelhouse",
                wheelhouse,
                "-c",
                "import sys; print('asyncio' in sys.modules)\n\
                 import msgpack; print(msgpack.unpackb(msgpack.packb(2)), msgpack.Packer.__module__)",
            ],
            None,
        ),
        0,
        "True\n2 msgpack._cmsgpack\n",
        "",
    );
}
