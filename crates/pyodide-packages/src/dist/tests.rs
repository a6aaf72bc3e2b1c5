//! Tests of fetching, verifying and caching, with small tarballs built here
//! and served from a file or a loopback HTTP server; and one test that
//! fetches the real default release through [`ensure_from_env`].

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256, Sha512};
use tar::{EntryType, Header};

use super::error::write_error;
use super::*;

const TEST_VERSION: &str = "0.0.0-test";

/// One entry of a fake tarball.
enum Entry<'a> {
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
}

/// The files a minimal distribution needs, plus one in a subdirectory.
fn good_entries() -> Vec<Entry<'static>> {
    vec![
        Entry::File("package/pyodide.asm.wasm", b"\0asm\x01\0\0\0fake"),
        Entry::File("package/python_stdlib.zip", b"PK\x05\x06 stdlib"),
        Entry::File("package/pyodide-lock.json", b"{\"info\": {}}"),
        Entry::File("package/sub/dir/notes.txt", b"nested"),
    ]
}

/// A gzip-compressed tar archive of `entries`. Names are written into the
/// header bytes directly, so that names the `tar` builder would refuse
/// (`..`, absolute) can be tested.
fn tarball(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for entry in entries {
        let mut header = Header::new_ustar();
        let (name, data): (&str, &[u8]) = match entry {
            Entry::File(name, data) => {
                header.set_entry_type(EntryType::Regular);
                (name, data)
            }
            Entry::Symlink(name, target) | Entry::HardLink(name, target) => {
                header.set_entry_type(if matches!(entry, Entry::Symlink(..)) {
                    EntryType::Symlink
                } else {
                    EntryType::Link
                });
                header.set_link_name(target).unwrap();
                (name, b"")
            }
        };
        let raw = &mut header.as_old_mut().name;
        raw.fill(0);
        raw[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

fn sri(bytes: &[u8]) -> &'static str {
    versions::sri_sha512(&Sha512::digest(bytes)).leak()
}

/// A version whose pinned integrity is that of `bytes`.
fn version_for(bytes: &[u8]) -> KnownVersion {
    KnownVersion {
        version: TEST_VERSION,
        python: PythonVersion {
            major: 3,
            minor: 14,
        },
        integrity: sri(bytes),
    }
}

/// A temporary directory holding a cache root and a tarball file.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    fn write_tarball(&self, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join("pyodide-0.0.0-test.tgz");
        fs::write(&path, bytes).unwrap();
        path
    }

    /// Names in `<cache>/pyodide/`, sorted.
    fn dist_entries(&self) -> Vec<String> {
        let mut names: Vec<String> = match fs::read_dir(self.cache().join("pyodide")) {
            Ok(dir) => dir
                .map(|entry| entry.unwrap().file_name().into_string().unwrap())
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    }
}

fn ensure_recording(
    version: &KnownVersion,
    cache: &Path,
    source: &Source,
) -> (Result<Distribution, Error>, Vec<Event>) {
    let mut events = Vec::new();
    let result = ensure(version, cache, source, &mut |event| events.push(event));
    (result, events)
}

/// Serves `body` once on a loopback port; returns a URL template with
/// `{version}` in it and a receiver for the request line that arrived.
fn serve_once(body: Vec<u8>) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buffer = [0u8; 1024];
        while !request.windows(4).any(|window| window == b"\r\n\r\n") {
            let n = stream.read(&mut buffer).unwrap();
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buffer[..n]);
        }
        let request = String::from_utf8_lossy(&request);
        let _ = sender.send(request.lines().next().unwrap_or_default().to_owned());
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        stream.write_all(&body).unwrap();
    });
    (
        format!("http://127.0.0.1:{port}/dist/pyodide-{{version}}.tgz"),
        receiver,
    )
}

#[test]
fn fresh_fetch_extracts_the_files_and_writes_a_manifest() {
    let fixture = Fixture::new();
    let bytes = tarball(&good_entries());
    let version = version_for(&bytes);
    let source = Source::Path(fixture.write_tarball(&bytes));

    let (result, events) = ensure_recording(&version, &fixture.cache(), &source);
    let dist = result.unwrap();

    assert!(!dist.was_cached());
    assert_eq!(
        events,
        [
            Event::PhaseStarted(Phase::Verifying),
            Event::PhaseStarted(Phase::Extracting)
        ]
    );
    let dir = fixture.cache().join("pyodide").join(TEST_VERSION);
    assert_eq!(dist.dir(), dir);
    assert_eq!(dist.asm_wasm(), dir.join("pyodide.asm.wasm"));
    assert_eq!(dist.stdlib_zip(), dir.join("python_stdlib.zip"));
    assert_eq!(dist.lock_file(), dir.join("pyodide-lock.json"));
    assert_eq!(dist.version(), &version);
    for entry in good_entries() {
        let Entry::File(name, data) = entry else {
            unreachable!()
        };
        let relative = name.strip_prefix("package/").unwrap();
        assert_eq!(fs::read(dir.join(relative)).unwrap(), data, "{relative}");
        let sha256 = hex::encode(Sha256::digest(data));
        assert_eq!(dist.file_sha256(relative), Some(sha256.as_str()));
    }
    assert_eq!(
        dist.files().collect::<Vec<_>>(),
        [
            "pyodide-lock.json",
            "pyodide.asm.wasm",
            "python_stdlib.zip",
            "sub/dir/notes.txt"
        ]
    );

    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join(".pyworkerd-manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["version"], TEST_VERSION);
    assert_eq!(manifest["python"], "3.14");
    assert_eq!(manifest["integrity"], version.integrity);
    assert_eq!(manifest["files"]["sub/dir/notes.txt"]["size"], 6);
    assert_eq!(
        manifest["files"]["sub/dir/notes.txt"]["sha256"],
        hex::encode(Sha256::digest(b"nested"))
    );
    // No work directories are left beside the version directory.
    assert_eq!(fixture.dist_entries(), [TEST_VERSION]);
    // The source file the user gave is untouched.
    assert_eq!(fs::read(fixture.write_tarball(&bytes)).unwrap(), bytes);
}

#[test]
fn second_ensure_uses_the_cache_without_touching_the_source() {
    let fixture = Fixture::new();
    let bytes = tarball(&good_entries());
    let version = version_for(&bytes);
    let path = fixture.write_tarball(&bytes);
    ensure(
        &version,
        &fixture.cache(),
        &Source::Path(path.clone()),
        &mut |_| {},
    )
    .unwrap();
    fs::remove_file(&path).unwrap();

    let (result, events) = ensure_recording(&version, &fixture.cache(), &Source::Path(path));
    let dist = result.unwrap();
    assert!(dist.was_cached());
    assert_eq!(events, []);
    assert_eq!(fs::read(dist.asm_wasm()).unwrap(), b"\0asm\x01\0\0\0fake");
}

#[test]
fn a_source_directory_is_searched_for_the_versioned_tarball() {
    let fixture = Fixture::new();
    let bytes = tarball(&good_entries());
    let version = version_for(&bytes);
    fixture.write_tarball(&bytes);
    let source = Source::Path(fixture.dir.path().to_path_buf());
    assert_eq!(
        source.describe(&version),
        format!(
            "file \"{}\"",
            fixture.dir.path().join("pyodide-0.0.0-test.tgz").display()
        )
    );
    let dist = ensure(&version, &fixture.cache(), &source, &mut |_| {}).unwrap();
    assert!(dist.stdlib_zip().is_file());
}

#[test]
fn integrity_mismatch_of_a_download_deletes_it_and_names_both_values() {
    let fixture = Fixture::new();
    let bytes = tarball(&good_entries());
    let version = version_for(b"something else");
    let (url, request) = serve_once(bytes.clone());

    let (result, events) = ensure_recording(&version, &fixture.cache(), &Source::Url(url.clone()));
    let error = result.unwrap_err();

    let url = url.replace("{version}", TEST_VERSION);
    assert!(matches!(
        error,
        Error::IntegrityMismatch { deleted: true, .. }
    ));
    assert_eq!(
        error.to_string(),
        format!(
            "integrity mismatch for pyodide {TEST_VERSION} from URL \"{url}\": expected {}, got \
             {}; the download was deleted",
            version.integrity,
            sri(&bytes)
        )
    );
    assert_eq!(
        request.recv().unwrap(),
        "GET /dist/pyodide-0.0.0-test.tgz HTTP/1.1"
    );
    assert!(events.contains(&Event::PhaseStarted(Phase::Verifying)));
    assert!(!events.contains(&Event::PhaseStarted(Phase::Extracting)));
    // Neither the download nor any extraction is left in the cache.
    assert_eq!(fixture.dist_entries(), Vec::<String>::new());
}

#[test]
fn integrity_mismatch_of_a_user_file_leaves_it_in_place() {
    let fixture = Fixture::new();
    let bytes = tarball(&good_entries());
    let version = version_for(b"something else");
    let path = fixture.write_tarball(&bytes);

    let error = ensure(
        &version,
        &fixture.cache(),
        &Source::Path(path.clone()),
        &mut |_| {},
    )
    .unwrap_err();

    assert!(matches!(
        error,
        Error::IntegrityMismatch { deleted: false, .. }
    ));
    assert!(
        error
            .to_string()
            .ends_with(&format!("got {}; the file was left in place", sri(&bytes))),
        "{error}"
    );
    assert_eq!(fs::read(&path).unwrap(), bytes);
    assert_eq!(fixture.dist_entries(), Vec::<String>::new());
}

#[test]
fn url_download_reports_progress_up_to_the_announced_length() {
    let fixture = Fixture::new();
    let bytes = tarball(&good_entries());
    let version = version_for(&bytes);
    let (url, _request) = serve_once(bytes.clone());

    let (result, events) = ensure_recording(&version, &fixture.cache(), &Source::Url(url));
    assert!(!result.unwrap().was_cached());

    let total = Some(bytes.len() as u64);
    assert_eq!(events[0], Event::PhaseStarted(Phase::Downloading));
    assert_eq!(events[1], Event::Downloaded { bytes: 0, total });
    let downloads: Vec<u64> = events
        .iter()
        .filter_map(|event| match event {
            Event::Downloaded { bytes, total: t } if *t == total => Some(*bytes),
            _ => None,
        })
        .collect();
    assert!(
        downloads.windows(2).all(|pair| pair[0] <= pair[1]),
        "{downloads:?}"
    );
    assert_eq!(downloads.last(), Some(&(bytes.len() as u64)));
    assert_eq!(fixture.dist_entries(), [TEST_VERSION]);
}

#[test]
fn unreachable_url_is_reported_as_offline() {
    let fixture = Fixture::new();
    // A loopback port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/pyodide.tgz");
    let version = version_for(b"whatever");

    let error = ensure(
        &version,
        &fixture.cache(),
        &Source::Url(url.clone()),
        &mut |_| {},
    )
    .unwrap_err();

    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    assert!(
        error.to_string().starts_with(&format!(
            "pyodide {TEST_VERSION} is not in the cache (\"{}\") and the network cannot be \
             reached through URL \"{url}\" (offline?); try again online or set PYODIDE_DIST to \
             a local pyodide tarball: ",
            fixture.cache().join("pyodide").join(TEST_VERSION).display()
        )),
        "{error}"
    );
    assert_eq!(fixture.dist_entries(), Vec::<String>::new());
}

/// Builds a tarball of `entries` (with the good files before them), expects
/// it to be refused with `reason`, and checks nothing was left in the cache.
fn assert_entry_refused(bad: Entry<'_>, name: &str, reason: &str) {
    let fixture = Fixture::new();
    let mut entries = good_entries();
    entries.push(bad);
    let bytes = tarball(&entries);
    let version = version_for(&bytes);
    let path = fixture.write_tarball(&bytes);

    let error = ensure(
        &version,
        &fixture.cache(),
        &Source::Path(path.clone()),
        &mut |_| {},
    )
    .unwrap_err();

    assert!(matches!(error, Error::UnsafeEntry { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "refusing tarball entry \"{name}\" from file \"{}\": {reason}",
            path.display()
        )
    );
    assert_eq!(fixture.dist_entries(), Vec::<String>::new());
    assert!(!fixture.cache().join("evil").exists());
    assert!(!fixture.cache().join("pyodide").join("evil").exists());
}

#[test]
fn path_traversal_entry_is_refused_and_nothing_is_left() {
    assert_entry_refused(
        Entry::File("package/../../evil", b"x"),
        "package/../../evil",
        "\"..\" components are not allowed",
    );
}

#[test]
fn absolute_entry_is_refused() {
    assert_entry_refused(
        Entry::File("/tmp/evil", b"x"),
        "/tmp/evil",
        "absolute paths are not allowed",
    );
}

#[test]
fn entry_outside_package_is_refused() {
    assert_entry_refused(
        Entry::File("evil", b"x"),
        "evil",
        "entries must be under \"package/\"",
    );
}

#[test]
fn links_are_refused() {
    assert_entry_refused(
        Entry::Symlink("package/evil", "/etc/passwd"),
        "package/evil",
        "links are not allowed",
    );
    assert_entry_refused(
        Entry::HardLink("package/evil", "package/pyodide.asm.wasm"),
        "package/evil",
        "links are not allowed",
    );
}

#[test]
fn duplicate_and_reserved_names_are_refused() {
    assert_entry_refused(
        Entry::File("package/pyodide.asm.wasm", b"again"),
        "package/pyodide.asm.wasm",
        "the same path appears twice",
    );
    assert_entry_refused(
        Entry::File("package/.pyworkerd-manifest.json", b"{}"),
        "package/.pyworkerd-manifest.json",
        "the name is reserved for the cache manifest",
    );
}

#[test]
fn missing_asm_wasm_is_refused() {
    let fixture = Fixture::new();
    let entries: Vec<Entry<'_>> = good_entries()
        .into_iter()
        .filter(|entry| !matches!(entry, Entry::File("package/pyodide.asm.wasm", _)))
        .collect();
    let bytes = tarball(&entries);
    let version = version_for(&bytes);
    let path = fixture.write_tarball(&bytes);

    let error = ensure(
        &version,
        &fixture.cache(),
        &Source::Path(path.clone()),
        &mut |_| {},
    )
    .unwrap_err();

    assert!(matches!(error, Error::MissingFiles { .. }));
    assert_eq!(
        error.to_string(),
        format!(
            "pyodide {TEST_VERSION} tarball from file \"{}\" lacks expected files: pyodide.asm.wasm",
            path.display()
        )
    );
    assert_eq!(fixture.dist_entries(), Vec::<String>::new());
}

#[test]
fn malformed_tarball_is_refused() {
    let fixture = Fixture::new();
    let bytes = b"this is not gzip".to_vec();
    let version = version_for(&bytes);
    let path = fixture.write_tarball(&bytes);

    let error = ensure(
        &version,
        &fixture.cache(),
        &Source::Path(path.clone()),
        &mut |_| {},
    )
    .unwrap_err();

    assert!(matches!(error, Error::MalformedTarball { .. }), "{error:?}");
    assert!(
        error.to_string().starts_with(&format!(
            "malformed pyodide tarball from file \"{}\": ",
            path.display()
        )),
        "{error}"
    );
    assert_eq!(fixture.dist_entries(), Vec::<String>::new());
}

#[test]
fn damaged_cache_is_reported_once_and_fetched_again() {
    let fixture = Fixture::new();
    let bytes = tarball(&good_entries());
    let version = version_for(&bytes);
    let source = Source::Path(fixture.write_tarball(&bytes));
    let dist = ensure(&version, &fixture.cache(), &source, &mut |_| {}).unwrap();

    // Same size, different content: only the sha256 can tell.
    fs::write(dist.stdlib_zip(), b"PK\x05\x06 STDLIB").unwrap();
    let (result, events) = ensure_recording(&version, &fixture.cache(), &source);
    let repaired = result.unwrap();
    assert!(!repaired.was_cached());
    let damage: Vec<&Event> = events
        .iter()
        .filter(|event| matches!(event, Event::CacheDamaged { .. }))
        .collect();
    assert_eq!(damage.len(), 1, "{events:?}");
    let Event::CacheDamaged { dir, problem } = damage[0] else {
        unreachable!()
    };
    assert_eq!(dir, dist.dir());
    assert!(
        problem.starts_with("\"python_stdlib.zip\" has sha256 "),
        "{problem}"
    );
    assert_eq!(
        fs::read(repaired.stdlib_zip()).unwrap(),
        b"PK\x05\x06 stdlib"
    );

    // A missing file is damage too.
    fs::remove_file(repaired.asm_wasm()).unwrap();
    let (result, events) = ensure_recording(&version, &fixture.cache(), &source);
    assert!(result.unwrap().asm_wasm().is_file());
    assert_eq!(
        events[0],
        Event::CacheDamaged {
            dir: dist.dir().to_path_buf(),
            problem: "\"pyodide.asm.wasm\" is missing".to_owned()
        }
    );

    // Once repaired, the cache is used again and nothing is reported.
    let (result, events) = ensure_recording(&version, &fixture.cache(), &source);
    assert!(result.unwrap().was_cached());
    assert_eq!(events, []);
    assert_eq!(fixture.dist_entries(), [TEST_VERSION]);
}

#[test]
fn a_cache_of_another_tarball_is_replaced() {
    let fixture = Fixture::new();
    let old = tarball(&good_entries());
    let old_version = version_for(&old);
    ensure(
        &old_version,
        &fixture.cache(),
        &Source::Path(fixture.write_tarball(&old)),
        &mut |_| {},
    )
    .unwrap();

    let mut entries = good_entries();
    entries.push(Entry::File("package/new.txt", b"new"));
    let new = tarball(&entries);
    let new_version = version_for(&new);
    let (result, events) = ensure_recording(
        &new_version,
        &fixture.cache(),
        &Source::Path(fixture.write_tarball(&new)),
    );
    let dist = result.unwrap();
    assert!(dist.dir().join("new.txt").is_file());
    assert!(
        matches!(&events[0], Event::CacheDamaged { problem, .. }
            if problem.starts_with(&format!("it holds pyodide {TEST_VERSION} with integrity {}", old_version.integrity))),
        "{events:?}"
    );
}

#[test]
fn a_concurrent_winner_is_verified_and_ours_dropped() {
    let fixture = Fixture::new();
    let bytes = tarball(&good_entries());
    let version = version_for(&bytes);
    let source = Source::Path(fixture.write_tarball(&bytes));
    let cache = fixture.cache();

    // While we extract, "another process" installs the same version.
    let mut winner = None;
    let mut events = Vec::new();
    let dist = ensure(&version, &cache, &source, &mut |event| {
        if event == Event::PhaseStarted(Phase::Extracting) && winner.is_none() {
            winner = Some(ensure(&version, &cache, &source, &mut |_| {}).unwrap());
        }
        events.push(event);
    })
    .unwrap();

    let winner = winner.unwrap();
    assert_eq!(dist.dir(), winner.dir());
    assert!(!dist.was_cached());
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::CacheDamaged { .. }))
    );
    assert_eq!(
        dist.file_sha256(ASM_WASM),
        Some(hex::encode(Sha256::digest(b"\0asm\x01\0\0\0fake")).as_str())
    );
    // Our own extraction was dropped: only the winner's directory is left.
    assert_eq!(fixture.dist_entries(), [TEST_VERSION]);
}

#[test]
fn a_damaged_concurrent_winner_is_replaced() {
    let fixture = Fixture::new();
    let bytes = tarball(&good_entries());
    let version = version_for(&bytes);
    let source = Source::Path(fixture.write_tarball(&bytes));
    let final_dir = fixture.cache().join("pyodide").join(TEST_VERSION);

    let mut events = Vec::new();
    let dist = ensure(&version, &fixture.cache(), &source, &mut |event| {
        if event == Event::PhaseStarted(Phase::Extracting) {
            fs::create_dir_all(&final_dir).unwrap();
            fs::write(final_dir.join("junk"), b"half").unwrap();
        }
        events.push(event);
    })
    .unwrap();

    assert!(events.contains(&Event::CacheDamaged {
        dir: final_dir.clone(),
        problem: "its manifest \".pyworkerd-manifest.json\" is missing".to_owned()
    }));
    assert!(!final_dir.join("junk").exists());
    assert!(dist.asm_wasm().is_file());
    assert_eq!(fixture.dist_entries(), [TEST_VERSION]);
}

#[test]
fn work_directories_left_by_a_killed_fetch_are_cleaned_up() {
    let fixture = Fixture::new();
    let parent = fixture.cache().join("pyodide");
    let stale = parent.join(".extract-0.0.0-test-killed");
    let fresh = parent.join(".download-0.0.0-test-running");
    let unrelated = parent.join(".keep-me");
    for dir in [&stale, &fresh, &unrelated] {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join("file"), b"x").unwrap();
    }
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86_400);
    for dir in [&stale, &unrelated] {
        File::open(dir).unwrap().set_modified(two_days_ago).unwrap();
    }
    let bytes = tarball(&good_entries());
    let version = version_for(&bytes);

    ensure(
        &version,
        &fixture.cache(),
        &Source::Path(fixture.write_tarball(&bytes)),
        &mut |_| {},
    )
    .unwrap();

    assert_eq!(
        fixture.dist_entries(),
        [".download-0.0.0-test-running", ".keep-me", TEST_VERSION]
    );
}

#[test]
fn versions_that_cannot_name_a_directory_are_refused() {
    let fixture = Fixture::new();
    for bad in ["", "..", ".hidden", "a/b", "a\\b"] {
        let version = KnownVersion {
            version: bad,
            ..*default_version()
        };
        let error = ensure(&version, &fixture.cache(), &Source::Npm, &mut |_| {}).unwrap_err();
        assert!(
            matches!(error, Error::InvalidVersion { .. }),
            "{bad}: {error:?}"
        );
    }
    assert_eq!(
        Error::InvalidVersion {
            version: "../x".into()
        }
        .to_string(),
        "invalid pyodide version \"../x\": use letters, digits, '.', '-', '+' and '_', not \
         starting with '.'"
    );
}

#[test]
fn missing_npm_says_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let error = source::npm_pack(
        std::ffi::OsStr::new("pyworkerd-test-no-such-npm"),
        default_version(),
        dir.path(),
        Path::new("/cache/pyodide/314.0.7"),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(error, Error::NpmMissing));
    assert_eq!(
        error.to_string(),
        "npm was not found on PATH; install Node.js (it brings npm) or set PYODIDE_DIST to the \
         path or URL of a pyodide tarball"
    );
}

#[cfg(unix)]
#[test]
fn failing_npm_is_reported_with_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let mut events = Vec::new();
    // `false` ignores its arguments and exits 1 without output.
    let error = source::npm_pack(
        std::ffi::OsStr::new("false"),
        default_version(),
        dir.path(),
        Path::new("/cache/pyodide/314.0.7"),
        &mut |event| events.push(event),
    )
    .unwrap_err();
    assert_eq!(events, [Event::PhaseStarted(Phase::NpmPack)]);
    assert_eq!(
        error.to_string(),
        "\"npm pack pyodide@314.0.7\" failed (exit status: 1): (no output)"
    );
}

#[test]
fn npm_network_failures_are_recognised() {
    let offline = "npm error code ENOTFOUND\n\
                   npm error syscall getaddrinfo\n\
                   npm error network request failed, reason: getaddrinfo ENOTFOUND registry.invalid\n";
    assert!(source::is_network_failure(offline));
    for code in ["EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ENETUNREACH"] {
        assert!(
            source::is_network_failure(&format!("npm error code {code}")),
            "{code}"
        );
    }
    assert!(!source::is_network_failure(
        "npm error code E404\nnpm error 404 Not Found - pyodide@9.9.9"
    ));
    let many: String = (1..=12).map(|i| format!("line {i}\n\n")).collect();
    assert_eq!(
        source::last_lines(&many),
        "line 5\n  line 6\n  line 7\n  line 8\n  line 9\n  line 10\n  line 11\n  line 12"
    );
    let error = Error::Unreachable {
        version: "314.0.7".into(),
        cache_dir: "/c/pyodide/314.0.7".into(),
        from: "npm pack pyodide@314.0.7".into(),
        detail: source::last_lines(offline),
    };
    assert!(error.to_string().starts_with(
        "pyodide 314.0.7 is not in the cache (\"/c/pyodide/314.0.7\") and the network cannot be \
         reached through npm pack pyodide@314.0.7 (offline?); try again online or set \
         PYODIDE_DIST to a local pyodide tarball: npm error code ENOTFOUND\n  npm error \
         syscall getaddrinfo"
    ));
}

#[test]
fn npm_failure_detail_prefers_the_json_summary() {
    let stdout = r#"{
      "error": {
        "code": "ECONNREFUSED",
        "summary": "FetchError: request failed, reason: connect ECONNREFUSED 127.0.0.1:9",
        "detail": "If you are behind a proxy, please make sure that the 'proxy' config is set properly."
      }
    }"#;
    let stderr = "npm error code ECONNREFUSED\n\
                  npm error     at ClientRequest.<anonymous> (index.js:130:14)\n\
                  npm error A complete log of this run can be found in: /x/debug-0.log\n";
    assert_eq!(
        source::npm_failure_detail(stdout, stderr),
        "FetchError: request failed, reason: connect ECONNREFUSED 127.0.0.1:9\n  \
         If you are behind a proxy, please make sure that the 'proxy' config is set properly.\n  \
         npm error A complete log of this run can be found in: /x/debug-0.log"
    );
    // Without a JSON report: stderr's last lines, stack frames left out.
    assert_eq!(
        source::npm_failure_detail("", stderr),
        "npm error code ECONNREFUSED\n  \
         npm error A complete log of this run can be found in: /x/debug-0.log"
    );
    let not_found = r#"{"error": {"code": "E404", "summary": "Not Found - pyodide@9.9.9"}}"#;
    assert_eq!(
        source::npm_failure_detail(not_found, ""),
        "E404: Not Found - pyodide@9.9.9"
    );
}

#[test]
fn disk_full_names_the_directory() {
    let dir = Path::new("/cache/pyodide");
    let from_errno = write_error(
        "write",
        &dir.join("x"),
        dir,
        std::io::Error::from_raw_os_error(28),
    );
    let from_kind = write_error(
        "write",
        &dir.join("x"),
        dir,
        std::io::ErrorKind::StorageFull.into(),
    );
    for error in [from_errno, from_kind] {
        assert!(matches!(error, Error::DiskFull { .. }));
        assert_eq!(
            error.to_string(),
            "no space left on the device holding \"/cache/pyodide\"; free some space or set \
             PYWORKERD_CACHE to a directory on another disk"
        );
    }
    let other = write_error(
        "write",
        &dir.join("x"),
        dir,
        std::io::ErrorKind::PermissionDenied.into(),
    );
    assert!(matches!(other, Error::Io { .. }));
}

#[cfg(target_os = "linux")]
#[test]
fn a_real_full_device_is_recognised() {
    // Every write to /dev/full fails with ENOSPC.
    let mut full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let error = full
        .write_all(b"x")
        .and_then(|()| full.flush())
        .unwrap_err();
    assert!(error::is_disk_full(&error), "{error:?}");
}

#[test]
fn source_from_env_value() {
    let source = |value: &str| Source::from_env_value(Some(OsString::from(value)));
    assert_eq!(Source::from_env_value(None), Source::Npm);
    assert_eq!(source(""), Source::Npm);
    assert_eq!(
        source("https://example.invalid/p-{version}.tgz"),
        Source::Url("https://example.invalid/p-{version}.tgz".into())
    );
    assert_eq!(
        source("http://127.0.0.1/p.tgz"),
        Source::Url("http://127.0.0.1/p.tgz".into())
    );
    assert_eq!(
        source("file:///tmp/p.tgz"),
        Source::Path("/tmp/p.tgz".into())
    );
    assert_eq!(source("/tmp/p.tgz"), Source::Path("/tmp/p.tgz".into()));
    assert_eq!(
        Source::Url("https://example.invalid/p-{version}.tgz".into()).describe(default_version()),
        "URL \"https://example.invalid/p-314.0.7.tgz\""
    );
    assert_eq!(
        Source::Npm.describe(default_version()),
        "npm pack pyodide@314.0.7"
    );
}

/// Fetches the real default release the way the runtime does on first use
/// (npm, or `PYODIDE_DIST`), into the user's cache (or `PYWORKERD_CACHE`).
/// This is how CI fills its cache; once filled it passes offline.
#[test]
fn fetches_the_real_default_release_through_ensure_from_env() {
    let version = default_version();
    let dist = ensure_from_env(version).unwrap();

    assert_eq!(dist.version().version, "314.0.7");
    assert_eq!(
        dist.dir(),
        cache_root().unwrap().join("pyodide").join("314.0.7")
    );
    let mut magic = [0u8; 4];
    File::open(dist.asm_wasm())
        .unwrap()
        .read_exact(&mut magic)
        .unwrap();
    assert_eq!(&magic, b"\0asm");
    assert!(fs::metadata(dist.asm_wasm()).unwrap().len() > 1_000_000);
    File::open(dist.stdlib_zip())
        .unwrap()
        .read_exact(&mut magic)
        .unwrap();
    assert_eq!(&magic, b"PK\x03\x04");
    // The lock file agrees with the Python version pinned in the table.
    let lock: serde_json::Value =
        serde_json::from_slice(&fs::read(dist.lock_file()).unwrap()).unwrap();
    let python = lock["info"]["python"].as_str().unwrap();
    assert!(
        python.starts_with(&format!("{}.", version.python)),
        "lock file says Python {python}, table says {}",
        version.python
    );
    assert_eq!(dist.file_sha256(ASM_WASM).unwrap().len(), 64);

    // The second time it is found in the cache.
    assert!(ensure_from_env(version).unwrap().was_cached());
}

#[test]
fn find_cached_checks_sizes_and_leaves_contents_to_ensure() {
    let fixture = Fixture::new();
    let bytes = tarball(&good_entries());
    let version = version_for(&bytes);
    assert!(
        find_cached(&version, &fixture.cache()).is_none(),
        "nothing installed yet"
    );
    let path = fixture.write_tarball(&bytes);
    ensure(&version, &fixture.cache(), &Source::Path(path), &mut |_| {}).unwrap();
    let found = find_cached(&version, &fixture.cache()).expect("installed");
    assert!(found.was_cached());
    assert!(found.file_sha256(ASM_WASM).is_some());

    // Same size, other bytes: the quick check does not read contents...
    let wasm = found.asm_wasm();
    let mut altered = fs::read(&wasm).unwrap();
    altered[9] ^= 1;
    fs::write(&wasm, &altered).unwrap();
    assert!(find_cached(&version, &fixture.cache()).is_some());
    // ...a different size is noticed.
    altered.push(0);
    fs::write(&wasm, &altered).unwrap();
    assert!(find_cached(&version, &fixture.cache()).is_none());
    // A missing file too.
    fs::remove_file(&wasm).unwrap();
    assert!(find_cached(&version, &fixture.cache()).is_none());
}
