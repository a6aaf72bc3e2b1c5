use std::io::Write;

use zip::write::SimpleFileOptions;

use super::*;

pub(crate) enum Member<'a> {
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
}

/// A zip archive with the given members, deflated.
pub(crate) fn zip_bytes(members: &[Member<'_>]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for member in members {
        match member {
            Member::File(name, data) => {
                w.start_file(*name, options).unwrap();
                w.write_all(data).unwrap();
            }
            Member::Symlink(name, target) => w.add_symlink(*name, *target, options).unwrap(),
        }
    }
    w.finish().unwrap().into_inner()
}

/// A minimal valid wheel for `name`/`version` plus `extra` members.
pub(crate) fn wheel_bytes(
    name: &str,
    version: &str,
    requires: &[&str],
    extra: &[Member<'_>],
) -> Vec<u8> {
    let dist = format!("{name}-{version}.dist-info");
    let mut metadata = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    for r in requires {
        metadata.push_str(&format!("Requires-Dist: {r}\n"));
    }
    metadata.push_str("\nLong description: Name: not-a-header\n");
    let wheel = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
    let metadata_path = format!("{dist}/METADATA");
    let wheel_path = format!("{dist}/WHEEL");
    let record_path = format!("{dist}/RECORD");
    let mut members: Vec<Member<'_>> = Vec::new();
    for m in extra {
        members.push(match m {
            Member::File(n, d) => Member::File(n, d),
            Member::Symlink(n, t) => Member::Symlink(n, t),
        });
    }
    members.push(Member::File(&metadata_path, metadata.as_bytes()));
    members.push(Member::File(&wheel_path, wheel.as_bytes()));
    members.push(Member::File(&record_path, b""));
    zip_bytes(&members)
}

fn open(file: &str, bytes: Vec<u8>) -> Result<Wheel, InstallError> {
    Wheel::from_bytes(file, file, bytes.into(), None)
}

#[test]
fn members_are_placed_by_scheme() {
    let bytes = wheel_bytes(
        "demo_pkg",
        "1.0",
        &[
            "typing-extensions>=4; python_version < \"3.99\"",
            "pytest; extra == \"test\"",
        ],
        &[
            Member::File("demo_pkg/__init__.py", b"X = 1\n"),
            Member::File("demo_pkg-1.0.data/purelib/demo_extra.py", b"pure\n"),
            Member::File("demo_pkg-1.0.data/platlib/demo_native.so", b"\0asm"),
            Member::File("demo_pkg-1.0.data/scripts/demo", b"#!python\n"),
            Member::File("demo_pkg-1.0.data/headers/demo.h", b"int x;\n"),
            Member::File("demo_pkg-1.0.data/data/share/demo/readme.txt", b"hi\n"),
            Member::Symlink("demo_pkg/alias.py", "__init__.py"),
        ],
    );
    let wheel = open("demo_pkg-1.0-py3-none-any.whl", bytes.clone()).unwrap();
    assert_eq!(wheel.sha256(), sha256_hex(&bytes));
    assert_eq!(wheel.dist_info(), "demo_pkg-1.0.dist-info");
    assert_eq!(wheel.metadata().name, "demo_pkg");
    assert_eq!(wheel.metadata().version, "1.0");
    assert_eq!(wheel.metadata().requires_dist.len(), 2);
    let requirements = wheel.requirements().unwrap();
    assert_eq!(requirements[0].key(), "typing-extensions");
    let placed: Vec<(Scheme, &str, &str)> = wheel
        .placements()
        .iter()
        .map(|p| (p.scheme, p.path.as_str(), p.entry.as_str()))
        .collect();
    assert!(placed.contains(&(
        Scheme::SitePackages,
        "demo_pkg/__init__.py",
        "demo_pkg/__init__.py"
    )));
    assert!(placed.contains(&(
        Scheme::SitePackages,
        "demo_extra.py",
        "demo_pkg-1.0.data/purelib/demo_extra.py"
    )));
    assert!(placed.contains(&(
        Scheme::SitePackages,
        "demo_native.so",
        "demo_pkg-1.0.data/platlib/demo_native.so"
    )));
    assert!(placed.contains(&(Scheme::Scripts, "demo", "demo_pkg-1.0.data/scripts/demo")));
    assert!(placed.contains(&(
        Scheme::Headers,
        "demo_pkg/demo.h",
        "demo_pkg-1.0.data/headers/demo.h"
    )));
    assert!(placed.contains(&(
        Scheme::Data,
        "share/demo/readme.txt",
        "demo_pkg-1.0.data/data/share/demo/readme.txt"
    )));
    assert!(placed.contains(&(
        Scheme::SitePackages,
        "demo_pkg-1.0.dist-info/METADATA",
        "demo_pkg-1.0.dist-info/METADATA"
    )));

    let plan = plan(&[wheel], &SchemePaths::pyodide("3.14")).unwrap();
    let points: Vec<&str> = plan.mounts.iter().map(|m| m.point.as_str()).collect();
    assert_eq!(
        points,
        [
            "/bin",
            "/include/site/python3.14",
            "/lib/python3.14/site-packages",
            "/share"
        ]
    );
    let share = &plan.mounts[3];
    assert_eq!(share.files[0].path, "demo/readme.txt");
    assert!(plan.overwrites.is_empty());
}

#[test]
fn hash_mismatch_and_corrupt_archives_are_refused() {
    let bytes = wheel_bytes("a", "1", &[], &[Member::File("a.py", b"")]);
    let good = sha256_hex(&bytes);
    let uppercase = good.to_ascii_uppercase();
    assert!(
        Wheel::from_bytes(
            "a-1-py3-none-any.whl",
            "here",
            bytes.clone().into(),
            Some(&uppercase)
        )
        .is_ok()
    );
    let wrong = "0".repeat(64);
    let err = Wheel::from_bytes(
        "a-1-py3-none-any.whl",
        "here",
        bytes.clone().into(),
        Some(&wrong),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        format!("sha256 mismatch for wheel \"here\": expected {wrong}, got {good}")
    );
    let err = Wheel::from_bytes(
        "a-1-py3-none-any.whl",
        "here",
        bytes.clone().into(),
        Some("abc"),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(err, "invalid sha256 \"abc\" given for wheel \"here\"");

    let err = open(
        "a-1-py3-none-any.whl",
        b"PK\x03\x04 definitely not a zip".to_vec(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("wheel \"a-1-py3-none-any.whl\" is not a valid zip archive: "),
        "{err}"
    );
    let truncated = bytes[..bytes.len() - 30].to_vec();
    assert!(matches!(
        open("a-1-py3-none-any.whl", truncated),
        Err(InstallError::Corrupt { .. })
    ));
    let err = open("a-1.tar.gz", bytes).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid wheel file name \"a-1.tar.gz\": does not end in \".whl\""
    );
}

#[test]
fn traversal_entries_are_refused_naming_wheel_and_entry() {
    let cases: [(Member<'_>, &str); 6] = [
        (
            Member::File("../../etc/evil.py", b""),
            "path contains \"..\"",
        ),
        (Member::File("/etc/evil.py", b""), "absolute path"),
        (
            Member::File("a\\..\\evil.py", b""),
            "path contains a backslash",
        ),
        (
            Member::File("C:/evil.py", b""),
            "path starts with a drive letter",
        ),
        (
            Member::Symlink("a/link", "../../outside"),
            "symlink target leaves its directory",
        ),
        (
            Member::Symlink("link", "/etc/passwd"),
            "symlink target leaves its directory",
        ),
    ];
    for (member, reason) in cases {
        let entry = match &member {
            Member::File(n, _) | Member::Symlink(n, _) => n.to_string(),
        };
        let bytes = wheel_bytes("a", "1", &[], &[member]);
        let err = open("a-1-py3-none-any.whl", bytes).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("wheel \"a-1-py3-none-any.whl\" has an unsafe entry \"{entry}\": {reason}")
        );
    }
    let bytes = wheel_bytes("a", "1", &[], &[Member::File("a-1.data/bogus/x", b"")]);
    let err = open("a-1-py3-none-any.whl", bytes).unwrap_err().to_string();
    assert!(err.contains("unknown .data scheme"), "{err}");
    let bytes = wheel_bytes("a", "1", &[], &[Member::File("a-1.data/data/top.txt", b"")]);
    let err = open("a-1-py3-none-any.whl", bytes).unwrap_err().to_string();
    assert!(
        err.contains("data files must be inside a directory"),
        "{err}"
    );
}

#[test]
fn dist_info_is_required_and_must_match() {
    let bytes = zip_bytes(&[Member::File("a.py", b"")]);
    let err = open("a-1-py3-none-any.whl", bytes).unwrap_err().to_string();
    assert_eq!(
        err,
        "wheel \"a-1-py3-none-any.whl\": no .dist-info directory"
    );
    let bytes = wheel_bytes("b", "1", &[], &[]);
    let err = open("a-1-py3-none-any.whl", bytes).unwrap_err().to_string();
    assert!(
        err.contains("does not match the file name's project \"a\""),
        "{err}"
    );
    let bytes = zip_bytes(&[
        Member::File("a-1.dist-info/WHEEL", b"Wheel-Version: 2.0\n"),
        Member::File("a-1.dist-info/METADATA", b"Name: a\nVersion: 1\n"),
    ]);
    let err = open("a-1-py3-none-any.whl", bytes).unwrap_err().to_string();
    assert!(err.contains("Wheel-Version 2.0 is not supported"), "{err}");
    let bytes = zip_bytes(&[Member::File("a-1.dist-info/WHEEL", b"Wheel-Version: 1.0\n")]);
    let err = open("a-1-py3-none-any.whl", bytes).unwrap_err().to_string();
    assert!(
        err.contains("\"a-1.dist-info/METADATA\" is missing"),
        "{err}"
    );
}

#[test]
fn several_wheels_share_site_packages() {
    let a = open(
        "a-1-py3-none-any.whl",
        wheel_bytes(
            "a",
            "1",
            &[],
            &[
                Member::File("a/__init__.py", b""),
                Member::File("ns/x.py", b""),
                Member::File("tests/__init__.py", b"a"),
            ],
        ),
    )
    .unwrap();
    let b = open(
        "b-1-py3-none-any.whl",
        wheel_bytes(
            "b",
            "1",
            &[],
            &[
                Member::File("b/__init__.py", b""),
                Member::File("ns/y.py", b""),
                Member::File("tests/__init__.py", b"b"),
            ],
        ),
    )
    .unwrap();
    let plan = plan(&[a.clone(), b], &SchemePaths::pyodide("3.13")).unwrap();
    assert_eq!(plan.mounts.len(), 1);
    assert_eq!(plan.mounts[0].point, "/lib/python3.13/site-packages");
    let files: Vec<(usize, &str)> = plan.mounts[0]
        .files
        .iter()
        .map(|f| (f.wheel, f.path.as_str()))
        .collect();
    assert!(files.contains(&(0, "ns/x.py")) && files.contains(&(1, "ns/y.py")));
    assert!(
        files.contains(&(0, "a-1.dist-info/METADATA"))
            && files.contains(&(1, "b-1.dist-info/METADATA"))
    );
    assert_eq!(
        plan.overwrites,
        [Overwrite {
            path: "/lib/python3.13/site-packages/tests/__init__.py".to_owned(),
            earlier: "a-1-py3-none-any.whl".to_owned(),
            later: "b-1-py3-none-any.whl".to_owned(),
        }]
    );
    let c = open(
        "c-1-py3-none-any.whl",
        wheel_bytes(
            "c",
            "1",
            &[],
            &[Member::File("a", b"a file where a has a directory")],
        ),
    )
    .unwrap();
    let err = super::plan(&[a, c], &SchemePaths::pyodide("3.13"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "wheels \"a-1-py3-none-any.whl\" and \"c-1-py3-none-any.whl\" conflict at \
         \"/lib/python3.13/site-packages/a\": one has a file where the other has a directory"
    );
}
