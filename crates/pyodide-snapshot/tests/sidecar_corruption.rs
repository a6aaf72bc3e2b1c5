//! A damaged sidecar is always refused with an error, never accepted and
//! never a panic: every byte is covered by the magic, the version, the
//! length or the payload checksum.

use proptest::prelude::*;
use pyodide_snapshot::sidecar::{SnapshotError, decode_sidecar, encode_sidecar, read_sidecar};
use pyodide_snapshot::{ArtifactDigest, Identity, Sidecar, SnapshotKind};

fn identity() -> Identity {
    Identity::new("314.0.7", [7; 32], [8; 32])
}

fn sidecar() -> impl Strategy<Value = Sidecar> {
    (
        prop_oneof![
            Just(SnapshotKind::Baseline),
            Just(SnapshotKind::Package),
            Just(SnapshotKind::Dedicated)
        ],
        any::<u64>(),
        prop::collection::vec(("[A-Z_]{1,8}", ".{0,12}"), 0..4),
        prop::collection::vec("[a-z_.]{1,16}", 0..6),
        prop::collection::vec(any::<u8>(), 0..64),
        (any::<u64>(), any::<u64>()),
        prop::collection::vec(("[a-z_]{1,8}", any::<u64>()), 0..4),
        prop::collection::vec(any::<u8>(), 0..16),
    )
        .prop_map(
            |(kind, table_len, environment, imports, vfs, (len, xxh3), anchors, entropy)| Sidecar {
                kind,
                identity: identity(),
                table_len,
                null_tables: vec![(1, table_len / 2)],
                environment,
                imports,
                artifact: ArtifactDigest { len, xxh3 },
                side_modules: vec![],
                side_slots: vec![],
                got: vec![],
                packages: vec![],
                python_modules: None,
                anchors,
                mounts: vec![],
                vfs,
                entropy,
            },
        )
}

#[derive(Debug, Clone)]
enum Damage {
    /// XOR a byte (at a position modulo the length) with a non-zero mask.
    Flip(usize, u8),
    /// Keep only a prefix (of a length modulo the length).
    Truncate(usize),
    /// Append bytes.
    Extend(Vec<u8>),
}

fn damage() -> impl Strategy<Value = Vec<Damage>> {
    let one = prop_oneof![
        4 => (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Damage::Flip(at, mask)),
        2 => any::<usize>().prop_map(Damage::Truncate),
        1 => prop::collection::vec(any::<u8>(), 1..8).prop_map(Damage::Extend),
    ];
    prop::collection::vec(one, 1..4)
}

fn apply(bytes: &mut Vec<u8>, damage: &[Damage]) {
    for d in damage {
        match d {
            Damage::Flip(at, mask) if !bytes.is_empty() => {
                let at = at % bytes.len();
                bytes[at] ^= mask;
            }
            Damage::Flip(..) => {}
            Damage::Truncate(len) => {
                let len = len % bytes.len().max(1);
                bytes.truncate(len);
            }
            Damage::Extend(more) => bytes.extend_from_slice(more),
        }
    }
}

proptest! {
    #[test]
    fn round_trips(value in sidecar()) {
        let bytes = encode_sidecar(&value).unwrap();
        prop_assert_eq!(decode_sidecar(&bytes, &identity()).unwrap(), value);
    }

    #[test]
    fn damaged_sidecars_are_always_refused(value in sidecar(), damage in damage()) {
        let original = encode_sidecar(&value).unwrap();
        let mut bytes = original.clone();
        apply(&mut bytes, &damage);
        // Damage that cancels out (two flips of the same bit) is no damage.
        prop_assume!(bytes != original);
        let result = decode_sidecar(&bytes, &identity());
        prop_assert!(result.is_err(), "accepted damaged sidecar: {:?}", damage);
        let err = result.unwrap_err();
        // The message is one of the documented ones, lowercase.
        let message = err.to_string();
        prop_assert!(message.chars().next().is_some_and(|c| c.is_lowercase()), "{}", message);
        prop_assert!(
            matches!(
                err,
                SnapshotError::NotASnapshot { .. }
                    | SnapshotError::UnknownFormatVersion { .. }
                    | SnapshotError::Truncated { .. }
                    | SnapshotError::TrailingBytes { .. }
                    | SnapshotError::ChecksumMismatch { .. }
            ),
            "unexpected error {:?}", err
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
        prop_assert!(decode_sidecar(&bytes, &identity()).is_err());
    }
}

#[test]
fn a_damaged_file_is_refused_from_disk_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sidecar");
    let value = Sidecar {
        kind: SnapshotKind::Baseline,
        identity: identity(),
        table_len: 1,
        null_tables: vec![],
        environment: vec![],
        imports: vec![],
        artifact: ArtifactDigest { len: 1, xxh3: 2 },
        side_modules: vec![],
        side_slots: vec![],
        got: vec![],
        packages: vec![],
        python_modules: None,
        anchors: vec![],
        mounts: vec![],
        vfs: vec![1, 2, 3],
        entropy: vec![],
    };
    pyodide_snapshot::write_sidecar(&path, &value).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        read_sidecar(&path, &identity()),
        Err(SnapshotError::ChecksumMismatch { .. })
    ));
}
