//! Rewriting a module section by section: the sections a rewrite replaces
//! or drops are spliced out, every other byte is copied as it is (what
//! `replay_form` and `sleep_form` do).

use std::ops::Range;

use wasm_encoder::Encode;

/// A section's id and its encoded contents (size first), or `None` to drop
/// the section.
pub(crate) type Replacement = Option<(u8, Vec<u8>)>;

/// `section` encoded (its size, then its contents), ready to splice.
pub(crate) fn encoded(section: &impl Encode) -> Vec<u8> {
    let mut bytes = Vec::new();
    section.encode(&mut bytes);
    bytes
}

/// `wasm` with each section whose contents span the given range (as
/// wasmparser reports it) replaced or dropped.
pub(crate) fn splice(wasm: &[u8], mut replaced: Vec<(Range<usize>, Replacement)>) -> Vec<u8> {
    replaced.sort_by_key(|(range, _)| range.start);
    let mut out = Vec::with_capacity(wasm.len());
    let mut copied_to = 0;
    for (contents, section) in replaced {
        out.extend_from_slice(&wasm[copied_to..section_start(wasm, contents.start)]);
        if let Some((id, bytes)) = section {
            out.push(id);
            out.extend_from_slice(&bytes);
        }
        copied_to = contents.end;
    }
    out.extend_from_slice(&wasm[copied_to..]);
    out
}

/// Where the section whose contents start at `contents` begins (its id
/// byte): the contents follow the id and a LEB128 size, whose last byte
/// has its high bit clear and the ones before it set.
fn section_start(wasm: &[u8], contents: usize) -> usize {
    let mut at = contents - 1;
    while wasm[at - 1] & 0x80 != 0 {
        at -= 1;
    }
    at - 1
}
