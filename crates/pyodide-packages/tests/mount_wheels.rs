//! Wheels opened and planned by `install`, mounted with `pyodide-vfs`'s
//! union zip mounts, and read back through the guest file system: the path
//! the entrypoint takes.

use std::io::{Cursor, Write};
use std::sync::Arc;

use pyodide_packages::install::{SchemePaths, Wheel, plan};
use pyodide_vfs::{Dirfd, Errno, GuestPath, OpenFlags, Vfs, ZipPlacement, ZipSource};

fn wheel(name: &str, version: &str, files: &[(&str, &[u8])]) -> Wheel {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let dist = format!("{name}-{version}.dist-info");
    let metadata = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    let wheel_file = "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
    let mut all: Vec<(String, &[u8])> = files.iter().map(|(n, d)| ((*n).to_owned(), *d)).collect();
    all.push((format!("{dist}/METADATA"), metadata.as_bytes()));
    all.push((format!("{dist}/WHEEL"), wheel_file.as_bytes()));
    for (n, d) in all {
        w.start_file(n, options).unwrap();
        w.write_all(d).unwrap();
    }
    let bytes: Arc<[u8]> = w.finish().unwrap().into_inner().into();
    let file = format!("{name}-{version}-py3-none-any.whl");
    Wheel::from_bytes(&file, &file, bytes, None).unwrap()
}

fn read(vfs: &mut Vfs, path: &str) -> Result<Vec<u8>, Errno> {
    let fd = vfs.open(Dirfd::Cwd, GuestPath::from(path), OpenFlags::RDONLY, 0)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = vfs.read(fd, &mut buf)?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    vfs.close(fd)?;
    Ok(out)
}

#[test]
fn planned_wheels_mount_and_read_back() {
    let wheels = [
        wheel(
            "alpha",
            "1.0",
            &[
                ("alpha/__init__.py", b"A = 1\n"),
                ("shared_ns/alpha_part.py", b"a\n"),
                ("alpha-1.0.data/scripts/alpha-cli", b"#!python\n"),
            ],
        ),
        wheel(
            "beta",
            "2.0",
            &[("beta.py", b"B = 2\n"), ("shared_ns/beta_part.py", b"b\n")],
        ),
    ];
    let paths = SchemePaths::pyodide("3.14");
    let plan = plan(&wheels, &paths).unwrap();
    let archives: Vec<ZipSource> = wheels
        .iter()
        .map(|w| ZipSource::new(w.file_name(), w.bytes().clone()).unwrap())
        .collect();
    let mut vfs = Vfs::default();
    for mount in &plan.mounts {
        let placements: Vec<ZipPlacement> = mount
            .files
            .iter()
            .map(|f| ZipPlacement {
                archive: f.wheel,
                entry: f.entry.clone(),
                path: f.path.clone(),
            })
            .collect();
        vfs.mount_zip_union(
            GuestPath::from(mount.point.as_str()),
            &archives,
            &placements,
        )
        .unwrap();
    }
    let site = &paths.site_packages;
    assert_eq!(
        read(&mut vfs, &format!("{site}/alpha/__init__.py")).unwrap(),
        b"A = 1\n"
    );
    assert_eq!(
        read(&mut vfs, &format!("{site}/beta.py")).unwrap(),
        b"B = 2\n"
    );
    assert_eq!(
        read(&mut vfs, &format!("{site}/shared_ns/alpha_part.py")).unwrap(),
        b"a\n"
    );
    assert_eq!(
        read(&mut vfs, &format!("{site}/shared_ns/beta_part.py")).unwrap(),
        b"b\n"
    );
    assert_eq!(
        read(&mut vfs, &format!("{site}/beta-2.0.dist-info/METADATA")).unwrap(),
        b"Metadata-Version: 2.1\nName: beta\nVersion: 2.0\n"
    );
    assert_eq!(read(&mut vfs, "/bin/alpha-cli").unwrap(), b"#!python\n");
    assert_eq!(
        read(
            &mut vfs,
            &format!("{site}/alpha-1.0.data/scripts/alpha-cli")
        ),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        vfs.open(
            Dirfd::Cwd,
            GuestPath::from(format!("{site}/beta.py").as_str()),
            OpenFlags::WRONLY,
            0
        ),
        Err(Errno::EROFS)
    );
}
