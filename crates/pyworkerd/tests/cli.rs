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

/// Runs `script` as a file, waits for it to print `ready`, then sends it
/// `SIGINT` `times` times (a fifth of a second apart); its stdin stays open
/// and empty meanwhile.
fn interrupted_run(script: &str, times: usize) -> Output {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.py");
    std::fs::write(&path, script).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pyworkerd"))
        .args(["run", path.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pyworkerd");
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8];
    while !seen.ends_with(b"ready\n") {
        assert_eq!(
            stdout.read(&mut byte).unwrap(),
            1,
            "ended before ready: {seen:?}"
        );
        seen.push(byte[0]);
    }
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    for _ in 0..times {
        // Time to get from the `print` into the wait that follows it.
        std::thread::sleep(std::time::Duration::from_millis(200));
        rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    }
    stdout.read_to_end(&mut seen).unwrap();
    let stdin = child.stdin.take();
    let mut output = child.wait_with_output().unwrap();
    drop(stdin);
    output.stdout = seen;
    output
}

#[test]
fn ctrl_c_raises_keyboard_interrupt_and_ends_the_run_by_sigint() {
    use std::os::unix::process::ExitStatusExt;
    let output = interrupted_run(
        "import atexit, time\n\
         atexit.register(print, 'atexit ran')\n\
         try:\n    print('ready', flush=True)\n    time.sleep(60)\n\
         finally:\n    print('finally ran')\n",
        1,
    );
    // As `python`: the traceback, `finally` and `atexit` run, then the
    // process ends by SIGINT (a shell shows 130).
    assert_eq!(output.status.signal(), Some(2), "{output:?}");
    assert_eq!(text(&output.stdout), "ready\nfinally ran\natexit ran\n");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("    time.sleep(60)\n"), "{stderr}");
    assert!(stderr.ends_with("KeyboardInterrupt\n"), "{stderr}");
}

#[test]
fn a_second_ctrl_c_ends_a_run_blocked_reading_stdin() {
    use std::os::unix::process::ExitStatusExt;
    // A read of the host's stdin cannot take the first interrupt.
    let output = interrupted_run("print('ready', flush=True)\ninput()\nprint('read')\n", 2);
    assert_eq!(output.status.signal(), Some(2), "{output:?}");
    assert_eq!(text(&output.stdout), "ready\n");
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
    // The current sidecar format, cut short.
    let mut bytes = b"PYWKSNP\0".to_vec();
    bytes.extend_from_slice(&pyodide_snapshot::sidecar::SIDECAR_FORMAT.to_le_bytes());
    bytes.extend_from_slice(b"short");
    std::fs::write(&bad, bytes).unwrap();
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
fn relocatable_pyodide_runs_from_its_baseline_snapshot() {
    let cache = cache_with_fresh_snapshots();
    let env = [("PYWORKERD_CACHE", cache.path().as_os_str())];
    let code = "import sys; print('asyncio' in sys.modules, 1 + 1)";
    let args = ["run", "--pyodide-version", "0.29.3", "-c", code];
    // The first run makes the baseline (silently: not a terminal), the
    // second restores it; both have the baseline's imports done.
    check(&pyworkerd_env(&args, &env), 0, "True 2\n", "");
    let snapshots: Vec<String> = std::fs::read_dir(cache.path().join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        snapshots
            .iter()
            .any(|n| n.starts_with("baseline-0.29.3-") && n.ends_with(".snap")),
        "{snapshots:?}"
    );
    assert!(!snapshots.iter().any(|n| n.starts_with("unsupported-")));
    check(&pyworkerd_env(&args, &env), 0, "True 2\n", "");
    let cold = [
        "run",
        "--pyodide-version",
        "0.29.3",
        "--no-snapshot",
        "-c",
        code,
    ];
    check(&pyworkerd_env(&cold, &env), 0, "False 2\n", "");
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

/// A loopback HTTP server answering `routes` (path -> content type, body)
/// and 404 for anything else, for as long as the test process lives.
/// Returns the base URL and the log of request paths.
fn serve(
    routes: std::collections::HashMap<String, (&'static str, Vec<u8>)>,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let request = String::from_utf8_lossy(&request).into_owned();
            let path = request.split_whitespace().nth(1).unwrap_or("").to_owned();
            seen.lock().unwrap().push(path.clone());
            let (status, content_type, body) = match routes.get(&path) {
                Some((ct, body)) => ("200 OK", *ct, body.clone()),
                None => ("404 Not Found", "text/plain", b"not found".to_vec()),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    (format!("http://127.0.0.1:{port}"), log)
}

const PEP691_JSON: &str = "application/vnd.pypi.simple.v1+json";
const PEP503_HTML: &str = "text/html; charset=utf-8";

/// Pure wheels from `<cache>/test-wheels/`, fetched with `pip download`
/// (pip's own configuration says where from) on first use. A pin starting
/// with `sdist:` is built by `pip wheel` from its source distribution with
/// the C compiler disabled, for projects (markupsafe) whose build falls back
/// to pure Python but that publish only platform wheels.
fn pure_test_wheels(pins: &[&str]) -> Vec<std::path::PathBuf> {
    let dir = test_wheelhouse();
    let find = |pin: &str| {
        let pin = pin.trim_start_matches("sdist:");
        let (name, version) = pin.split_once("==").expect("a pinned requirement");
        let prefix = format!("{}-{version}-", name.replace('-', "_"));
        std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                let file = p.file_name().unwrap().to_string_lossy().into_owned();
                file.starts_with(&prefix) && file.ends_with("-py3-none-any.whl")
            })
    };
    pins.iter()
        .map(|pin| {
            if let Some(found) = find(pin) {
                return found;
            }
            let status = match pin.strip_prefix("sdist:") {
                Some(source) => Command::new("python3")
                    .args(["-m", "pip", "wheel", "--no-deps", "--no-binary=:all:"])
                    .env("CC", "false")
                    .arg("-w")
                    .arg(&dir)
                    .arg(source)
                    .status(),
                None => Command::new("python3")
                    .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
                    .arg("-d")
                    .arg(&dir)
                    .arg(pin)
                    .status(),
            }
            .expect("pip");
            assert!(status.success(), "pip download {pin}");
            find(pin).unwrap_or_else(|| panic!("pip gave no pure wheel for {pin}"))
        })
        .collect()
}

/// A loopback simple index with one wheel per project: a PEP 691 JSON page
/// (`json`) or a PEP 503 HTML page at `/simple/<project>/`, the file at
/// `/files/<file>`, each with its sha256.
fn serve_index(
    wheels: &[(&std::path::PathBuf, &str, bool)],
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let mut routes = std::collections::HashMap::new();
    for &(wheel, project, json) in wheels {
        let bytes = std::fs::read(wheel).unwrap();
        let sha256 = pyodide_packages::install::sha256_hex(&bytes);
        let file = wheel.file_name().unwrap().to_str().unwrap().to_owned();
        let page = if json {
            (
                PEP691_JSON,
                format!(
                    r#"{{"meta": {{"api-version": "1.1"}}, "name": "{project}", "files": [{{"filename": "{file}", "url": "../../files/{file}", "hashes": {{"sha256": "{sha256}"}}}}]}}"#
                ),
            )
        } else {
            (
                PEP503_HTML,
                format!(
                    "<!DOCTYPE html><html><body><a href=\"/files/{file}#sha256={sha256}\">{file}</a></body></html>"
                ),
            )
        };
        routes.insert(format!("/simple/{project}/"), (page.0, page.1.into_bytes()));
        routes.insert(
            format!("/files/{file}"),
            ("application/octet-stream", bytes),
        );
    }
    serve(routes)
}

#[test]
fn packages_and_their_dependencies_come_from_a_simple_index() {
    // cattrs needs attrs and typing-extensions (its Requires-Dist); the
    // index serves cattrs and typing-extensions as PEP 691 JSON, attrs as
    // PEP 503 HTML.
    let wheels = pure_test_wheels(&[
        "cattrs==26.2.1",
        "attrs==26.1.0",
        "typing-extensions==4.16.0",
    ]);
    let (base, log) = serve_index(&[
        (&wheels[0], "cattrs", true),
        (&wheels[1], "attrs", false),
        (&wheels[2], "typing-extensions", true),
    ]);
    let code = "import attrs, cattrs\n\
                @attrs.define\n\
                class Point:\n    x: int\n    y: int\n\
                print(cattrs.structure({'x': '1', 'y': 2}, Point), attrs.__version__)\n\
                print(cattrs.__file__)";
    check(
        &pyworkerd(
            &[
                "run",
                "--index-url",
                &format!("{base}/simple"),
                "--package",
                "cattrs",
                "-c",
                code,
            ],
            None,
        ),
        0,
        "Point(x=1, y=2) 26.1.0\n/lib/python3.14/site-packages/cattrs/__init__.py\n",
        "",
    );
    let log = log.lock().unwrap().clone();
    for page in [
        "/simple/cattrs/",
        "/simple/attrs/",
        "/simple/typing-extensions/",
    ] {
        assert!(
            log.iter().any(|p| p == page),
            "{page} not asked for: {log:?}"
        );
    }
}

/// Writes a minimal pure wheel `<project>-<version>-py3-none-any.whl` into
/// `dir` (with python3's zipfile), with these `Requires-Dist` lines.
fn make_wheel(dir: &Path, project: &str, version: &str, requires: &[&str]) -> std::path::PathBuf {
    let file = dir.join(format!("{project}-{version}-py3-none-any.whl"));
    let metadata = format!(
        "Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n{}",
        requires
            .iter()
            .map(|r| format!("Requires-Dist: {r}\n"))
            .collect::<String>()
    );
    let script = "import sys, zipfile\n\
                  path, project, version, metadata = sys.argv[1:]\n\
                  info = f'{project}-{version}.dist-info'\n\
                  with zipfile.ZipFile(path, 'w') as z:\n    \
                  z.writestr(f'{project}/__init__.py', 'VALUE = 1\\n')\n    \
                  z.writestr(f'{info}/METADATA', metadata)\n    \
                  z.writestr(f'{info}/WHEEL', 'Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')\n    \
                  z.writestr(f'{info}/RECORD', '')\n";
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .args([project, version, &metadata])
        .status()
        .unwrap();
    assert!(status.success());
    file
}

#[track_caller]
fn fails_with(output: &Output, needles: &[&str]) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("pyworkerd: error: "), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
}

#[test]
fn bad_package_inputs_are_named_and_exit_2() {
    let house = tempfile::tempdir().unwrap();
    let dir = house.path().to_str().unwrap();

    // A corrupt wheel.
    std::fs::write(
        house.path().join("broken-1.0-py3-none-any.whl"),
        b"not a zip",
    )
    .unwrap();
    fails_with(
        &pyworkerd(
            &[
                "run",
                "--wheelhouse",
                dir,
                "--package",
                "broken",
                "-c",
                "pass",
            ],
            None,
        ),
        &["broken-1.0-py3-none-any.whl"],
    );

    // A wheel for another platform: both tag sets are named.
    std::fs::write(
        house
            .path()
            .join("native-1.0-cp313-cp313-manylinux_2_17_x86_64.whl"),
        b"never opened",
    )
    .unwrap();
    fails_with(
        &pyworkerd(
            &[
                "run",
                "--wheelhouse",
                dir,
                "--package",
                "native",
                "-c",
                "pass",
            ],
            None,
        ),
        &[
            "no usable wheel for \"native\"",
            "is tagged cp313-cp313-manylinux_2_17_x86_64",
            "cp314-cp314-pyemscripten_2026_0_wasm32",
        ],
    );

    // A dependency nobody has.
    make_wheel(
        house.path(),
        "needy",
        "1.0",
        &["nobody-has-this-pyworkerd>=1"],
    );
    fails_with(
        &pyworkerd(
            &[
                "run",
                "--wheelhouse",
                dir,
                "--package",
                "needy",
                "-c",
                "pass",
            ],
            None,
        ),
        &["no usable wheel for \"nobody-has-this-pyworkerd>=1\" (required by needy 1.0)"],
    );

    // An index whose announced sha256 is not the file's.
    let good = make_wheel(house.path(), "hashbad", "1.0", &[]);
    let mut routes = std::collections::HashMap::new();
    routes.insert(
        "/simple/hashbad/".to_owned(),
        (
            PEP503_HTML,
            format!(
                "<a href=\"/files/hashbad-1.0-py3-none-any.whl#sha256={}\">hashbad-1.0-py3-none-any.whl</a>",
                "0".repeat(64)
            )
            .into_bytes(),
        ),
    );
    routes.insert(
        "/files/hashbad-1.0-py3-none-any.whl".to_owned(),
        ("application/octet-stream", std::fs::read(&good).unwrap()),
    );
    let (base, _log) = serve(routes);
    fails_with(
        &pyworkerd(
            &[
                "run",
                "--index-url",
                &format!("{base}/simple/"),
                "--package",
                "hashbad",
                "-c",
                "pass",
            ],
            None,
        ),
        &[&format!(
            "sha256 mismatch for \"{base}/files/hashbad-1.0-py3-none-any.whl\": expected {}",
            "0".repeat(64)
        )],
    );
}

#[test]
fn lock_file_packages_come_from_the_configured_mirror() {
    // Pyodide 314.0.7's lock file lists typing-extensions 4.15.0 as a pure
    // wheel. The mirror here serves other bytes under that name: the request
    // shows the flag (or variable) reaches the lock file source, and the
    // lock file's sha256 refuses the file.
    let lock = pyodide_packages::dist::cache_root()
        .unwrap()
        .join("pyodide/314.0.7/pyodide-lock.json");
    let lock = pyodide_packages::lock::LockFile::load(&lock);
    let routes: std::collections::HashMap<_, _> = [(
        "/mirror/typing_extensions-4.15.0-py3-none-any.whl".to_owned(),
        ("application/octet-stream", b"not the wheel".to_vec()),
    )]
    .into();
    let (base, log) = serve(routes);
    let url = format!("{base}/mirror/typing_extensions-4.15.0-py3-none-any.whl");
    let expected = lock
        .ok()
        .and_then(|l| l.get("typing-extensions").map(|p| p.sha256.clone()));
    let mut needles = vec![format!("sha256 mismatch for \"{url}\"")];
    needles.extend(expected.map(|sha| format!("expected {sha}")));
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    fails_with(
        &pyworkerd(
            &[
                "run",
                "--pyodide-version",
                "314.0.7",
                "--lock-base-url",
                &format!("{base}/mirror"),
                "--package",
                "typing-extensions",
                "-c",
                "pass",
            ],
            None,
        ),
        &needles,
    );
    fails_with(
        &pyworkerd_env(
            &[
                "run",
                "--pyodide-version",
                "314.0.7",
                "--package",
                "typing-extensions",
                "-c",
                "pass",
            ],
            &[(
                pyodide_packages::env_vars::PYWORKERD_LOCK_BASE_URL,
                std::ffi::OsStr::new(&format!("{base}/mirror/")),
            )],
        ),
        &needles,
    );
    assert_eq!(
        log.lock().unwrap().as_slice(),
        [
            "/mirror/typing_extensions-4.15.0-py3-none-any.whl",
            "/mirror/typing_extensions-4.15.0-py3-none-any.whl"
        ]
    );

    // Without a base URL, the error says what is missing.
    fails_with(
        &pyworkerd(
            &[
                "run",
                "--pyodide-version",
                "314.0.7",
                "--package",
                "typing-extensions",
                "-c",
                "pass",
            ],
            None,
        ),
        &["the lock file has typing-extensions 4.15.0 but no base URL for its files is configured"],
    );
}

#[test]
fn jinja2_renders_with_markupsafe_from_a_simple_index() {
    // No markupsafe wheel for Pyodide's platform is published; its source
    // distribution builds a pure wheel when the C extension cannot be
    // compiled, which is what Pyodide would do without its own build.
    let wheels = pure_test_wheels(&["jinja2==3.1.6", "sdist:markupsafe==3.0.3"]);
    let (base, log) = serve_index(&[
        (&wheels[0], "jinja2", true),
        (&wheels[1], "markupsafe", false),
    ]);
    let code = "import jinja2, markupsafe\n\
                env = jinja2.Environment(autoescape=True)\n\
                print(env.from_string('Hello {{ name|title }}: {{ html }}').render(name='pyworkerd users', html='<b>&'))\n\
                print(jinja2.__version__, markupsafe.__file__)";
    check(
        &pyworkerd(
            &[
                "run",
                "--index-url",
                &format!("{base}/simple/"),
                "--package",
                "jinja2",
                "-c",
                code,
            ],
            None,
        ),
        0,
        "Hello Pyworkerd Users: &lt;b&gt;&amp;\n3.1.6 /lib/python3.14/site-packages/markupsafe/__init__.py\n",
        "",
    );
    let log = log.lock().unwrap().clone();
    assert!(
        log.iter().any(|p| p == "/simple/markupsafe/"),
        "markupsafe comes from jinja2's Requires-Dist: {log:?}"
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
