//! The sources against a loopback HTTP server serving PEP 691 JSON and
//! PEP 503 HTML pages, a wheelhouse, a `python_modules/` tree and a lock file.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;

use super::*;
use crate::install::SchemePaths;
use crate::install::tests::{Member, wheel_bytes};

/// A loopback server answering at most `max_requests` requests from `routes`
/// (path -> content type, body); 404 for anything else. Returns the base URL
/// and the log of request paths.
fn serve(
    routes: HashMap<String, (&'static str, Vec<u8>)>,
    max_requests: usize,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    thread::spawn(move || {
        for stream in listener.incoming().take(max_requests) {
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

const JSON: &str = "application/vnd.pypi.simple.v1+json";
const HTML: &str = "text/html; charset=utf-8";

fn platform() -> Platform {
    Platform::for_pyodide("314.0.7").unwrap()
}

struct Index {
    routes: HashMap<String, (&'static str, Vec<u8>)>,
    alpha2: Vec<u8>,
    beta: Vec<u8>,
}

/// alpha (JSON page): 1.0, 2.0 (needs beta>=1.0; gamma only with an extra;
/// delta only on old Pythons), 2.5 yanked, 3.0 for manylinux only.
/// beta (HTML page, relative link with #sha256=): 0.9 and 1.1.
fn index() -> Index {
    let alpha1 = wheel_bytes(
        "alpha",
        "1.0",
        &[],
        &[Member::File("alpha/__init__.py", b"V = 1\n")],
    );
    let alpha2 = wheel_bytes(
        "alpha",
        "2.0",
        &[
            "beta>=1.0",
            "gamma; extra == \"x\"",
            "delta; python_version < \"3.0\"",
        ],
        &[Member::File("alpha/__init__.py", b"V = 2\n")],
    );
    let beta09 = wheel_bytes("beta", "0.9", &[], &[Member::File("beta.py", b"old\n")]);
    let beta = wheel_bytes("beta", "1.1", &[], &[Member::File("beta.py", b"B = 1\n")]);
    let mut routes = HashMap::new();
    let alpha_page = serde_json::json!({
        "meta": {"api-version": "1.1"},
        "name": "alpha",
        "files": [
            {"filename": "alpha-1.0-py3-none-any.whl", "url": "../../files/alpha-1.0-py3-none-any.whl",
             "hashes": {"sha256": sha256_hex(&alpha1)}},
            {"filename": "alpha-2.0-py3-none-any.whl", "url": "/files/alpha-2.0-py3-none-any.whl",
             "hashes": {"sha256": sha256_hex(&alpha2)}},
            {"filename": "alpha-2.5-py3-none-any.whl", "url": "/files/alpha-2.5-py3-none-any.whl",
             "hashes": {"sha256": sha256_hex(&alpha2)}, "yanked": "broken"},
            {"filename": "alpha-3.0-cp314-cp314-manylinux_2_17_x86_64.whl", "url": "/files/alpha-3.0.whl",
             "hashes": {"sha256": sha256_hex(&alpha2)}},
            {"filename": "alpha-3.0.tar.gz", "url": "/files/alpha-3.0.tar.gz", "hashes": {}},
            {"filename": "alpha-4.0-py3-none-any.whl", "url": "/files/alpha-4.0-py3-none-any.whl",
             "hashes": {"sha256": sha256_hex(&alpha2)}, "requires-python": ">=3.99"},
        ]
    });
    routes.insert(
        "/simple/alpha/".to_owned(),
        (JSON, alpha_page.to_string().into_bytes()),
    );
    let beta_page = format!(
        "<!DOCTYPE html><html><body>\n\
         <a href=\"../../files/beta-0.9-py3-none-any.whl#sha256={}\">beta-0.9-py3-none-any.whl</a><br/>\n\
         <a href=\"../../files/beta-1.1-py3-none-any.whl#sha256={}\" data-requires-python=\"&gt;=3.8\">beta-1.1-py3-none-any.whl</a>\n\
         <a href=\"../../files/beta-7.0-py3-none-any.whl#sha256={}\" data-requires-python=\"&lt;3.0\">beta-7.0-py3-none-any.whl</a>\n\
         </body></html>",
        sha256_hex(&beta09),
        sha256_hex(&beta),
        sha256_hex(&beta)
    );
    routes.insert("/simple/beta/".to_owned(), (HTML, beta_page.into_bytes()));
    for (file, bytes) in [
        ("alpha-1.0-py3-none-any.whl", &alpha1),
        ("alpha-2.0-py3-none-any.whl", &alpha2),
        ("beta-0.9-py3-none-any.whl", &beta09),
        ("beta-1.1-py3-none-any.whl", &beta),
    ] {
        routes.insert(
            format!("/files/{file}"),
            ("application/octet-stream", bytes.clone()),
        );
    }
    Index {
        routes,
        alpha2,
        beta,
    }
}

fn requirements(text: &str) -> Vec<Requirement> {
    crate::requirements::parse_requirements(text, "test").unwrap()
}

#[test]
fn resolves_a_package_and_its_dependency_from_json_and_html_pages() {
    let index = index();
    let (base, log) = serve(index.routes.clone(), 40);
    let cache = tempfile::tempdir().unwrap();
    let sources = PackageSources {
        index_url: Some(format!("{base}/simple")),
        cache_root: cache.path().to_owned(),
        ..PackageSources::default()
    };
    let mut events = Vec::new();
    let resolution = Resolver::new(&sources, platform(), None, "3.14.2")
        .with_progress(|e| events.push(e))
        .resolve(&requirements("alpha>=1.0\n"))
        .unwrap();
    let got: Vec<(&str, &str)> = resolution
        .wheels
        .iter()
        .map(|w| (w.project.as_str(), w.version.as_str()))
        .collect();
    assert_eq!(got, [("alpha", "2.0"), ("beta", "1.1")]);
    let alpha = &resolution.wheels[0];
    assert_eq!(alpha.sha256, sha256_hex(&index.alpha2));
    assert_eq!(
        alpha.origin,
        Origin::Index(format!("{base}/files/alpha-2.0-py3-none-any.whl"))
    );
    assert_eq!(
        alpha.path,
        cache
            .path()
            .join("wheels")
            .join(&alpha.sha256)
            .join("alpha-2.0-py3-none-any.whl")
    );
    assert_eq!(fs::read(&alpha.path).unwrap(), index.alpha2);
    assert_eq!(fs::read(&resolution.wheels[1].path).unwrap(), index.beta);
    assert!(events.contains(&Event::Downloading {
        url: format!("{base}/files/beta-1.1-py3-none-any.whl")
    }));
    let requested = log.lock().unwrap().clone();
    assert!(
        !requested
            .iter()
            .any(|p| p.contains("gamma") || p.contains("delta")),
        "{requested:?}"
    );
    // No temporary files are left beside the cache entries.
    let leftovers: Vec<String> = fs::read_dir(cache.path().join("wheels"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A second run uses the verified cache instead of downloading.
    let mut events = Vec::new();
    let again = Resolver::new(&sources, platform(), None, "3.14.2")
        .with_progress(|e| events.push(e))
        .resolve(&requirements("alpha==1.0\n"))
        .unwrap();
    assert_eq!(again.wheels.len(), 1, "alpha 1.0 has no dependencies");
    assert_eq!(again.wheels[0].version, "1.0");
    let mut events = Vec::new();
    Resolver::new(&sources, platform(), None, "3.14.2")
        .with_progress(|e| events.push(e))
        .resolve(&requirements("beta\n"))
        .unwrap();
    assert!(
        matches!(events.as_slice(), [Event::Cached { .. }]),
        "{events:?}"
    );

    // Offline (nothing listens on the index's port any more): the cache serves
    // what it has, and says what it lacks.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let offline_url = format!("http://{}/simple/", closed.local_addr().unwrap());
    drop(closed);
    let offline = PackageSources {
        index_url: Some(offline_url.clone()),
        cache_root: cache.path().to_owned(),
        ..PackageSources::default()
    };
    let resolution = Resolver::new(&offline, platform(), None, "3.14.2")
        .resolve(&requirements("alpha"))
        .unwrap();
    let got: Vec<(&str, &str, &Origin)> = resolution
        .wheels
        .iter()
        .map(|w| (w.project.as_str(), w.version.as_str(), &w.origin))
        .collect();
    assert_eq!(
        got,
        [
            ("alpha", "2.0", &Origin::Cache),
            ("beta", "1.1", &Origin::Cache)
        ]
    );
    let err = Resolver::new(&offline, platform(), None, "3.14.2")
        .resolve(&requirements("alpha>=2.5"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "no usable wheel for \"alpha>=2.5\": cannot reach \"{offline_url}alpha/\" (offline?): "
        )),
        "{err}"
    );
    assert!(
        err.ends_with(", and the cache has no fitting wheel"),
        "{err}"
    );
}

#[test]
fn a_mismatching_download_is_refused_and_not_cached() {
    let mut index = index();
    let wrong = "ab".repeat(32);
    let page = serde_json::json!({"files": [{"filename": "beta-1.1-py3-none-any.whl",
        "url": "/files/beta-1.1-py3-none-any.whl", "hashes": {"sha256": wrong}}]});
    index.routes.insert(
        "/simple/beta/".to_owned(),
        (JSON, page.to_string().into_bytes()),
    );
    let page = serde_json::json!({"files": [{"filename": "nohash-1.1-py3-none-any.whl",
        "url": "/files/nohash-1.1-py3-none-any.whl", "hashes": {}}]});
    index.routes.insert(
        "/simple/nohash/".to_owned(),
        (JSON, page.to_string().into_bytes()),
    );
    let (base, _) = serve(index.routes, 10);
    let cache = tempfile::tempdir().unwrap();
    let sources = PackageSources {
        index_url: Some(format!("{base}/simple/")),
        cache_root: cache.path().to_owned(),
        ..PackageSources::default()
    };
    let err = Resolver::new(&sources, platform(), None, "3.14.2")
        .resolve(&requirements("beta"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "sha256 mismatch for \"{base}/files/beta-1.1-py3-none-any.whl\": expected {wrong}, got {}; \
             the download was deleted",
            sha256_hex(&index.beta)
        )
    );
    let wheels = cache.path().join("wheels");
    let left: Vec<_> = fs::read_dir(&wheels).unwrap().collect();
    assert!(
        left.is_empty(),
        "no cache entry and no temporary file: {left:?}"
    );

    let err = Resolver::new(&sources, platform(), None, "3.14.2")
        .resolve(&requirements("nohash"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "index entry \"{base}/files/nohash-1.1-py3-none-any.whl\" has no sha256 (neither in \
             the JSON hashes nor as #sha256=); refusing an unverifiable download"
        )
    );
}

#[test]
fn wheelhouse_and_python_modules_come_before_the_index_and_failures_say_what_was_tried() {
    let index = index();
    let (base, log) = serve(index.routes, 20);
    let cache = tempfile::tempdir().unwrap();
    let house = tempfile::tempdir().unwrap();
    fs::write(
        house.path().join("alpha-2.0-py3-none-any.whl"),
        wheel_bytes(
            "alpha",
            "2.0",
            &["beta>=1.0"],
            &[Member::File("alpha/__init__.py", b"local\n")],
        ),
    )
    .unwrap();
    fs::write(
        house
            .path()
            .join("alpha-9.0-cp312-cp312-manylinux_2_17_x86_64.whl"),
        b"ignored",
    )
    .unwrap();
    let vendor = tempfile::tempdir().unwrap();
    let dist_info = vendor.path().join("beta-1.5.dist-info");
    fs::create_dir(&dist_info).unwrap();
    fs::write(
        dist_info.join("METADATA"),
        "Metadata-Version: 2.1\nName: Beta\nVersion: 1.5\n",
    )
    .unwrap();
    fs::create_dir(vendor.path().join("beta")).unwrap();
    let sources = PackageSources {
        wheelhouses: vec![house.path().to_owned()],
        python_modules: Some(vendor.path().to_owned()),
        index_url: Some(format!("{base}/simple/")),
        cache_root: cache.path().to_owned(),
        ..PackageSources::default()
    };
    let resolution = Resolver::new(&sources, platform(), None, "3.14.2")
        .resolve(&requirements("alpha"))
        .unwrap();
    assert_eq!(resolution.wheels.len(), 1);
    assert_eq!(resolution.wheels[0].origin, Origin::Wheelhouse);
    assert_eq!(
        resolution.wheels[0].path,
        house.path().join("alpha-2.0-py3-none-any.whl")
    );
    assert_eq!(
        resolution.vendored,
        [VendoredDist {
            project: "beta".to_owned(),
            version: "1.5".to_owned(),
            dist_info
        }]
    );
    assert_eq!(resolution.python_modules.as_deref(), Some(vendor.path()));
    assert!(log.lock().unwrap().is_empty(), "the index was not needed");

    let err = Resolver::new(&sources, platform(), None, "3.14.2")
        .resolve(&requirements("zeta>=1"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("no usable wheel for \"zeta>=1\": no wheel in the wheelhouse"),
        "{err}"
    );
    assert!(err.contains("not in python_modules"), "{err}");
    assert!(
        err.contains(&format!("the index has no page \"{base}/simple/zeta/\"")),
        "{err}"
    );

    let err = Resolver::new(&sources, platform(), None, "3.14.2")
        .resolve(&requirements("alpha\nbeta<1.0"))
        .unwrap_err()
        .to_string();
    // Requested first, beta<1.0 skips python_modules' 1.5 and takes 0.9 from
    // the index; alpha's own requirement then conflicts (no backtracking).
    assert_eq!(
        err,
        "\"beta>=1.0\" (required by alpha 2.0) conflicts with beta 0.9, already chosen"
    );
}

#[test]
fn lock_file_packages_come_from_the_configured_base_url() {
    let core = wheel_bytes(
        "pkg_core",
        "1.0",
        &[],
        &[Member::File("pkg_core/__init__.py", b"")],
    );
    let top = wheel_bytes("pkg", "2.0", &[], &[Member::File("pkg/__init__.py", b"")]);
    let library = crate::install::tests::zip_bytes(&[Member::File("libfast.so", b"\0asm")]);
    let lock_json = serde_json::json!({
        "info": {"abi_version": "2026_0", "arch": "wasm32", "platform": "emscripten_5_0_3", "python": "3.14.2"},
        "packages": {
            "pkg": {"name": "pkg", "version": "2.0", "file_name": "pkg-2.0-py3-none-any.whl",
                "install_dir": "site", "package_type": "package", "sha256": sha256_hex(&top),
                "depends": ["pkg_core"]},
            "pkg-core": {"name": "pkg_core", "version": "1.0",
                "file_name": "pkg_core-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
                "install_dir": "site", "package_type": "package", "sha256": sha256_hex(&core),
                "depends": ["libfast"]},
            "libfast": {"name": "libfast", "version": "0.3", "file_name": "libfast-0.3.zip",
                "install_dir": "dynlib", "package_type": "shared_library",
                "sha256": sha256_hex(&library), "depends": []}
        }
    });
    let lock = LockFile::parse(lock_json.to_string().as_bytes()).unwrap();
    let mut routes = HashMap::new();
    routes.insert(
        "/dist/pkg-2.0-py3-none-any.whl".to_owned(),
        ("application/octet-stream", top),
    );
    routes.insert(
        "/dist/pkg_core-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl".to_owned(),
        ("application/octet-stream", core.clone()),
    );
    routes.insert(
        "/dist/libfast-0.3.zip".to_owned(),
        ("application/octet-stream", library.clone()),
    );
    let (base, _) = serve(routes, 10);
    let cache = tempfile::tempdir().unwrap();
    let mut sources = PackageSources {
        cache_root: cache.path().to_owned(),
        ..PackageSources::default()
    };
    let err = Resolver::new(&sources, platform(), Some(&lock), "3.14.2")
        .resolve(&requirements("PKG"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the lock file has pkg 2.0 but no base URL for its files is configured"),
        "{err}"
    );
    sources.lock_base_url = Some(format!("{base}/dist"));
    let resolution = Resolver::new(&sources, platform(), Some(&lock), "3.14.2")
        .resolve(&requirements("PKG"))
        .unwrap();
    let got: Vec<&str> = resolution
        .wheels
        .iter()
        .map(|w| w.project.as_str())
        .collect();
    assert_eq!(got, ["pkg", "pkg-core"]);
    assert_eq!(
        resolution.wheels[1].origin,
        Origin::Lock(format!(
            "{base}/dist/pkg_core-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
        ))
    );
    assert_eq!(resolution.wheels[1].sha256, sha256_hex(&core));
    assert_eq!(resolution.libraries.len(), 1);
    let lib = &resolution.libraries[0];
    assert_eq!(
        (lib.project.as_str(), lib.version.as_str()),
        ("libfast", "0.3")
    );
    assert_eq!(lib.archive.sha256(), sha256_hex(&library));
    assert_eq!(lib.install_dir, crate::lock::InstallDir::Dynlib);
    let mount = crate::install::plan_libraries(std::slice::from_ref(&lib.archive), "/usr/lib");
    assert_eq!(mount.point, "/usr/lib");
    assert_eq!(mount.files[0].path, "libfast.so");

    // Mounted as the embedder would, and read back through the guest file system.
    let set = resolution.mount_set(&SchemePaths::pyodide("3.14")).unwrap();
    let points: Vec<&str> = set.mounts.iter().map(|m| m.point.as_str()).collect();
    assert_eq!(points, ["/lib/python3.14/site-packages", "/usr/lib"]);
    let archives: Vec<pyodide_vfs::ZipSource> = set
        .archives
        .iter()
        .map(|a| pyodide_vfs::ZipSource::new(a.name.clone(), a.bytes.clone()).unwrap())
        .collect();
    let mut vfs = pyodide_vfs::Vfs::default();
    for mount in &set.mounts {
        let placements: Vec<pyodide_vfs::ZipPlacement> = mount
            .files
            .iter()
            .map(|f| pyodide_vfs::ZipPlacement {
                archive: f.wheel,
                entry: f.entry.clone(),
                path: f.path.clone(),
            })
            .collect();
        vfs.mount_zip_union(
            pyodide_vfs::GuestPath::from(mount.point.as_str()),
            &archives,
            &placements,
        )
        .unwrap();
    }
    for (path, size) in [
        ("/usr/lib/libfast.so", 4),
        ("/lib/python3.14/site-packages/pkg/__init__.py", 0),
        (
            "/lib/python3.14/site-packages/pkg_core-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: pkg_core\nVersion: 1.0\n\nLong description: Name: not-a-header\n"
                .len() as u64,
        ),
    ] {
        let st = vfs
            .stat(
                pyodide_vfs::Dirfd::Cwd,
                pyodide_vfs::GuestPath::from(path),
                true,
            )
            .unwrap_or_else(|e| panic!("{path}: {e:?}"));
        assert_eq!(st.size, size, "{path}");
    }
}

#[test]
fn urls_join_and_pages_parse() {
    let page = "http://h:1/simple/beta/";
    assert_eq!(
        join_url(page, "../../files/x.whl#sha256=ab"),
        "http://h:1/files/x.whl#sha256=ab"
    );
    assert_eq!(join_url(page, "/files/x.whl"), "http://h:1/files/x.whl");
    assert_eq!(join_url(page, "x.whl"), "http://h:1/simple/beta/x.whl");
    assert_eq!(join_url(page, "//other/x.whl"), "http://other/x.whl");
    assert_eq!(join_url(page, "https://b/x.whl"), "https://b/x.whl");
    assert_eq!(join_url("http://h/simple", "alpha/"), "http://h/alpha/");
    let html = "<a href='x-1-py3-none-any.whl#sha256=AB&amp;x=1' data-yanked>x-1-py3-none-any.whl</a>\
                <A HREF=\"sub/y%2B1-1-py3-none-any.whl\">link</A><a name=anchor>no href</a>";
    let files = parse_index_html(html, page).unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].filename, "x-1-py3-none-any.whl");
    assert_eq!(files[0].url, "http://h:1/simple/beta/x-1-py3-none-any.whl");
    assert_eq!(files[0].sha256.as_deref(), Some("ab"));
    assert!(files[0].yanked);
    assert_eq!(files[1].filename, "y+1-1-py3-none-any.whl");
    assert_eq!(files[0].requires_python, None);
    assert!(!files[1].yanked);
    let err = parse_index_json("{\"files\": [{\"url\": \"x\"}]}", page).unwrap_err();
    assert_eq!(err, "files[0] has no string \"filename\"");
    assert_eq!(
        parse_index_json("[]", page).unwrap_err(),
        "missing \"files\" array"
    );
}

#[test]
fn wheelhouses_are_searched_in_order_and_refusals_name_both_tag_sets() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    let pure = |project: &str, version: &str| {
        wheel_bytes(
            project,
            version,
            &[],
            &[Member::File("m/__init__.py", b"\n")],
        )
    };
    fs::write(
        first.path().join("alpha-1.0-py3-none-any.whl"),
        pure("alpha", "1.0"),
    )
    .unwrap();
    fs::write(
        second.path().join("alpha-2.0-py3-none-any.whl"),
        pure("alpha", "2.0"),
    )
    .unwrap();
    fs::write(
        second.path().join("gamma-1.0-py3-none-any.whl"),
        pure("gamma", "1.0"),
    )
    .unwrap();
    fs::write(
        first
            .path()
            .join("delta-1.0-cp313-cp313-manylinux_2_17_x86_64.whl"),
        b"never opened",
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let sources = PackageSources {
        wheelhouses: vec![first.path().to_owned(), second.path().to_owned()],
        cache_root: cache.path().to_owned(),
        ..PackageSources::default()
    };
    let resolution = Resolver::new(&sources, platform(), None, "3.14.2")
        .resolve(&requirements("alpha\ngamma"))
        .unwrap();
    let chosen: Vec<&Path> = resolution.wheels.iter().map(|w| w.path.as_path()).collect();
    // The first directory's alpha wins over a higher version in the second.
    assert_eq!(
        chosen,
        [
            first.path().join("alpha-1.0-py3-none-any.whl"),
            second.path().join("gamma-1.0-py3-none-any.whl")
        ]
    );

    let err = Resolver::new(&sources, platform(), None, "3.14.2")
        .resolve(&requirements("delta"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("wheel \"delta-1.0-cp313-cp313-manylinux_2_17_x86_64.whl\" is tagged cp313-cp313-manylinux_2_17_x86_64"),
        "{err}"
    );
    assert!(err.contains("pyemscripten_2026_0_wasm32"), "{err}");
    assert!(
        err.contains(&format!(
            "no wheel in the wheelhouse \"{}\"",
            second.path().display()
        )),
        "{err}"
    );
}
