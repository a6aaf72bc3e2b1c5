//! `dylink.0` metadata (the first custom section of a relocatable module):
//! memory and table sizes and alignments, needed libraries, weak imports,
//! runtime paths. Read from the start of the file, so a large module does
//! not have to be read whole to be laid out.

use crate::Error;

/// What `dylink.0` says about a module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DylinkInfo {
    /// Bytes of static data the module needs at its memory base.
    pub mem_size: u32,
    /// Alignment of that data, as a power of two.
    pub mem_p2align: u32,
    /// Table slots the module needs at its table base.
    pub table_size: u32,
    /// Alignment of the table slots, as a power of two.
    pub table_p2align: u32,
    /// Libraries to load first (`NEEDED`).
    pub needed: Vec<String>,
    /// Imports marked weak: `(module, field)`.
    pub weak_imports: Vec<(String, String)>,
    /// Runtime search paths (`$ORIGIN` = the library's directory).
    pub runtime_paths: Vec<String>,
}

const MEM_INFO: u8 = 1;
const NEEDED: u8 = 2;
const IMPORT_INFO: u8 = 4;
const RUNTIME_PATH: u8 = 5;
const WEAK_FLAG_MASK: u32 = 3;
const WEAK: u32 = 1;

/// Reads `dylink.0` from the beginning of a wasm file. `prefix` may be the
/// first bytes only; `Ok(None)` when the first section is something else.
pub fn read_dylink_info(name: &str, prefix: &[u8]) -> Result<Option<DylinkInfo>, Error> {
    let bad = |why: &str| Error::BadDylink {
        name: name.to_owned(),
        why: why.to_owned(),
    };
    if prefix.len() < 8 || &prefix[..4] != b"\0asm" {
        return Err(bad("not a wasm module"));
    }
    let mut r = Reader {
        bytes: prefix,
        at: 8,
    };
    if r.at >= prefix.len() || prefix[r.at] != 0 {
        return Ok(None);
    }
    r.at += 1;
    let size = r.uleb().ok_or_else(|| bad("truncated section size"))? as usize;
    let start = r.at;
    let end = start
        .checked_add(size)
        .filter(|&e| e <= prefix.len())
        .ok_or_else(|| bad("truncated first section"))?;
    let section_name = r.string().ok_or_else(|| bad("truncated section name"))?;
    if section_name != "dylink.0" {
        return Ok(None);
    }
    let mut info = DylinkInfo::default();
    while r.at < end {
        let kind = r.byte().ok_or_else(|| bad("truncated subsection"))?;
        let len = r.uleb().ok_or_else(|| bad("truncated subsection size"))? as usize;
        let sub_end =
            r.at.checked_add(len)
                .filter(|&e| e <= end)
                .ok_or_else(|| bad("subsection overruns the section"))?;
        let mut s = Reader {
            bytes: &prefix[..sub_end],
            at: r.at,
        };
        let parsed = match kind {
            MEM_INFO => (|| {
                info.mem_size = s.uleb()?;
                info.mem_p2align = s.uleb()?;
                info.table_size = s.uleb()?;
                info.table_p2align = s.uleb()?;
                Some(())
            })(),
            NEEDED => (|| {
                for _ in 0..s.uleb()? {
                    info.needed.push(s.string()?);
                }
                Some(())
            })(),
            IMPORT_INFO => (|| {
                for _ in 0..s.uleb()? {
                    let (module, field, flags) = (s.string()?, s.string()?, s.uleb()?);
                    if flags & WEAK_FLAG_MASK == WEAK {
                        info.weak_imports.push((module, field));
                    }
                }
                Some(())
            })(),
            RUNTIME_PATH => (|| {
                for _ in 0..s.uleb()? {
                    info.runtime_paths.push(s.string()?);
                }
                Some(())
            })(),
            // EXPORT_INFO (TLS flags) and unknown subsections are skipped.
            _ => Some(()),
        };
        parsed.ok_or_else(|| bad(&format!("malformed subsection {kind}")))?;
        r.at = sub_end;
    }
    Ok(Some(info))
}

/// How many leading bytes of a wasm file hold its header and first
/// section (`dylink.0` for a side module): what [`read_dylink_info`] needs.
/// `None` when `prefix` is shorter than that or not a wasm module.
pub fn first_section_end(prefix: &[u8]) -> Option<usize> {
    if prefix.len() < 9 || &prefix[..4] != b"\0asm" {
        return None;
    }
    let mut r = Reader {
        bytes: prefix,
        at: 9,
    };
    let size = r.uleb()? as usize;
    r.at.checked_add(size).filter(|&end| end <= prefix.len())
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn uleb(&mut self) -> Option<u32> {
        let mut result: u64 = 0;
        for shift in (0..35).step_by(7) {
            let b = self.byte()?;
            result |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return u32::try_from(result).ok();
            }
        }
        None
    }

    fn string(&mut self) -> Option<String> {
        let len = self.uleb()? as usize;
        let end = self.at.checked_add(len)?;
        let s = std::str::from_utf8(self.bytes.get(self.at..end)?)
            .ok()?
            .to_owned();
        self.at = end;
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uleb(mut v: u32, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn string(s: &str, out: &mut Vec<u8>) {
        uleb(s.len() as u32, out);
        out.extend_from_slice(s.as_bytes());
    }

    fn module_with(subsections: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut body = Vec::new();
        string("dylink.0", &mut body);
        for (kind, payload) in subsections {
            body.push(*kind);
            uleb(payload.len() as u32, &mut body);
            body.extend_from_slice(payload);
        }
        let mut wasm = b"\0asm\x01\0\0\0\0".to_vec();
        uleb(body.len() as u32, &mut wasm);
        wasm.extend(body);
        wasm
    }

    #[test]
    fn reads_every_known_subsection_and_skips_unknown_ones() {
        let mut mem = Vec::new();
        for v in [3_566_612, 6, 6075, 0] {
            uleb(v, &mut mem);
        }
        let mut needed = Vec::new();
        uleb(1, &mut needed);
        string("libfoo.so", &mut needed);
        let mut imports = Vec::new();
        uleb(2, &mut imports);
        for (m, f, flags) in [("env", "weak_fn", 1), ("env", "strong_fn", 0)] {
            string(m, &mut imports);
            string(f, &mut imports);
            uleb(flags, &mut imports);
        }
        let wasm = module_with(&[
            (MEM_INFO, mem),
            (99, vec![1, 2, 3]),
            (NEEDED, needed),
            (IMPORT_INFO, imports),
        ]);
        let info = read_dylink_info("test", &wasm).unwrap().unwrap();
        assert_eq!(first_section_end(&wasm), Some(wasm.len()));
        let mut longer = wasm.clone();
        longer.extend_from_slice(&[1, 5, 1, 96, 0, 0]);
        assert_eq!(first_section_end(&longer), Some(wasm.len()));
        let header = &longer[..wasm.len()];
        assert_eq!(
            read_dylink_info("test", header).unwrap(),
            Some(info.clone())
        );
        assert_eq!(first_section_end(&wasm[..wasm.len() - 1]), None);
        assert_eq!(info.mem_size, 3_566_612);
        assert_eq!(info.mem_p2align, 6);
        assert_eq!(info.table_size, 6075);
        assert_eq!(info.needed, vec!["libfoo.so"]);
        assert_eq!(
            info.weak_imports,
            vec![("env".to_owned(), "weak_fn".to_owned())]
        );
    }

    #[test]
    fn other_first_sections_and_garbage() {
        assert_eq!(
            read_dylink_info("t", b"\0asm\x01\0\0\0\x01\x01\0").unwrap(),
            None
        );
        let err = read_dylink_info("lib.so", b"MZ\0\0\0\0\0\0").unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed dylink.0 section in 'lib.so': not a wasm module"
        );
        let mut truncated = module_with(&[(MEM_INFO, vec![1, 2, 3, 4])]);
        truncated.truncate(truncated.len() - 2);
        assert!(read_dylink_info("t", &truncated).is_err());
    }
}
