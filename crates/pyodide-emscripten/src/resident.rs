//! Keeping an instance's working set resident in its pool slot.
//!
//! When an instance ends, the pooling allocator resets its linear memory for
//! the next instance of the same module: written pages up to
//! [`KEEP_RESIDENT`] bytes are copied back from the memory image and stay
//! mapped, everything else is given back to the kernel. The next instance
//! then takes a copy-on-write page fault (≈ 2.5 µs on the development VM)
//! on every page it writes that was given back, and a page written by the
//! last instance is usually written again by the next one.
//!
//! wasmtime 48 finds the written pages with one `PAGEMAP_SCAN` that returns
//! at most [`KEPT_RUNS`] runs of pages (`MAX_REGIONS` in its
//! `vm/sys/unix/pagemap.rs`) and gives back everything past the last run it
//! got. CPython writes pages scattered over its heap (a first pydantic model
//! after a restore writes ~1,100 pages in ~600 runs), so only the lowest
//! few runs stayed resident and each restore into a reused slot faulted on
//! the rest again.
//!
//! [`keep_working_set`], called just before a store is dropped, joins the
//! runs: it rewrites, with the bytes they already hold, the pages in all but
//! the largest gaps between them, so the written pages form at most
//! [`KEPT_RUNS`] runs within the budget, and the reset keeps all of them.
//! No byte of the memory changes, so what the next instance sees is exactly
//! the image either way; only which pages are resident differs. The cost is
//! the fill (a page fault per gap page, once per slot: the pages stay
//! resident afterwards) and the reset's copy of the kept pages at every end
//! of an instance (≈ 0.4 µs per page), against a fault per page at every
//! restore. Should wasmtime keep more runs, fewer gaps are filled; should
//! it keep fewer, the slot keeps less, as before.

use std::fs::File;
use std::os::unix::fs::FileExt;

use wasmtime::{AsContext, AsContextMut, Memory};

pub use crate::engine::KEEP_RESIDENT;

/// How many runs of written pages the pooling allocator's reset keeps.
pub const KEPT_RUNS: usize = 32;

/// What [`keep_working_set`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkingSet {
    /// Written pages within the budget.
    pub written: usize,
    /// Runs those pages formed.
    pub runs: usize,
    /// Pages rewritten to join runs.
    pub filled: usize,
    /// Runs after the fill (at most [`KEPT_RUNS`]).
    pub kept_runs: usize,
}

/// Joins the written pages of `memory` into at most [`KEPT_RUNS`] runs
/// within [`KEEP_RESIDENT`] bytes (see the module documentation). Call it
/// when the store's instance is done, just before the store is dropped.
///
/// Returns `None`, having changed nothing, where the pages cannot be
/// inspected (no `/proc/self/pagemap`).
pub fn keep_working_set(mut store: impl AsContextMut, memory: Memory) -> Option<WorkingSet> {
    let (page, first, pages) = host_pages(&store, memory);
    let budget = KEEP_RESIDENT / page;
    let runs = scan(&pagemap()?, first, pages, budget)?;
    let (chosen, fills) = plan_fill(&runs, budget, KEPT_RUNS);
    let data = memory.data_mut(&mut store);
    let mut filled = 0;
    for (start, end) in fills {
        for p in start..end {
            // Rewriting the byte it holds: `black_box` keeps the compiler
            // from dropping the store, which is what makes the page the
            // slot's own.
            let at = p * page;
            data[at] = std::hint::black_box(data[at]);
            filled += 1;
        }
    }
    let written = runs.iter().map(|(s, e)| e - s).sum();
    Some(WorkingSet {
        written,
        runs: runs.len(),
        filled,
        kept_runs: chosen.min(KEPT_RUNS),
    })
}

/// The runs `[start, end)` of host pages of `memory`, counted from its
/// start, that hold a private copy: the pages written since the slot was
/// last reset, or kept resident by it. `None` where the pages cannot be
/// inspected.
pub fn written_runs(store: impl AsContext, memory: Memory) -> Option<Vec<(usize, usize)>> {
    let (_, first, pages) = host_pages(&store, memory);
    scan(&pagemap()?, first, pages, usize::MAX)
}

/// The host page size, and the host page `memory` starts at and how many
/// it spans.
fn host_pages(store: impl AsContext, memory: Memory) -> (usize, usize, usize) {
    let page = rustix::param::page_size();
    let base = memory.data_ptr(&store) as usize;
    (page, base / page, memory.data_size(&store) / page)
}

fn pagemap() -> Option<File> {
    File::open("/proc/self/pagemap").ok()
}

/// The runs `[start, end)` of written pages (present and not backed by the
/// page cache: a private copy) among `pages` pages from host page
/// `first_page`, relative to it, up to `budget` written pages. `None` when
/// the pagemap cannot be read.
fn scan(
    pagemap: &File,
    first_page: usize,
    pages: usize,
    budget: usize,
) -> Option<Vec<(usize, usize)>> {
    const PRESENT: u64 = 1 << 63;
    const FILE_OR_SHARED: u64 = 1 << 61;
    const CHUNK: usize = 8192;
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut written = 0;
    let mut entries = vec![0u8; CHUNK * 8];
    let mut at = 0;
    while at < pages && written < budget {
        let n = CHUNK.min(pages - at);
        let bytes = &mut entries[..n * 8];
        pagemap
            .read_exact_at(bytes, ((first_page + at) * 8) as u64)
            .ok()?;
        for (i, entry) in bytes.chunks_exact(8).enumerate() {
            let entry = u64::from_le_bytes(entry.try_into().expect("8 bytes"));
            if entry & PRESENT == 0 || entry & FILE_OR_SHARED != 0 {
                continue;
            }
            let p = at + i;
            match runs.last_mut() {
                Some((_, end)) if *end == p => *end = p + 1,
                _ => runs.push((p, p + 1)),
            }
            written += 1;
            if written == budget {
                break;
            }
        }
        at += n;
    }
    Some(runs)
}

/// Which gaps to fill: the longest prefix of `runs` whose pages plus fill
/// fit in `budget` when all but its `max_runs - 1` largest gaps are filled,
/// and those gaps as page ranges. Returns the prefix length and the ranges.
fn plan_fill(
    runs: &[(usize, usize)],
    budget: usize,
    max_runs: usize,
) -> (usize, Vec<(usize, usize)>) {
    if runs.len() <= max_runs {
        return (runs.len(), Vec::new());
    }
    // Pages needed to keep the first `k` runs: theirs plus the gaps filled.
    let cost = |k: usize| -> usize {
        let pages: usize = runs[..k].iter().map(|(s, e)| e - s).sum();
        let mut gaps: Vec<usize> = runs[..k].windows(2).map(|w| w[1].0 - w[0].1).collect();
        gaps.sort_unstable_by(|a, b| b.cmp(a));
        pages + gaps.iter().skip(max_runs - 1).sum::<usize>()
    };
    // `cost` grows with `k`: find the largest `k` within the budget.
    let (mut lo, mut hi) = (max_runs, runs.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if cost(mid) <= budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let prefix = &runs[..lo];
    let mut gaps: Vec<(usize, usize)> = prefix.windows(2).map(|w| (w[0].1, w[1].0)).collect();
    gaps.sort_unstable_by_key(|(s, e)| std::cmp::Reverse(e - s));
    let mut fills = gaps.split_off((max_runs - 1).min(gaps.len()));
    fills.sort_unstable();
    (lo, fills)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_runs_need_no_fill() {
        let runs = [(0, 2), (5, 6), (9, 12)];
        assert_eq!(plan_fill(&runs, 100, 32), (3, vec![]));
    }

    #[test]
    fn all_but_the_largest_gaps_are_filled() {
        // Gaps: 1 (2..3), 10 (4..14), 2 (15..17), 5 (18..23).
        let runs = [(0, 2), (3, 4), (14, 15), (17, 18), (23, 24)];
        let (kept, fills) = plan_fill(&runs, 100, 3);
        assert_eq!(kept, 5);
        // The two largest gaps (10 and 5) stay; 1 and 2 are filled.
        assert_eq!(fills, vec![(2, 3), (15, 17)]);
    }

    #[test]
    fn the_budget_bounds_the_runs_kept() {
        // Ten one-page runs, gaps of 3: keeping k runs with at most 2 runs
        // left costs k + 3 * (k - 2) pages.
        let runs: Vec<_> = (0..10).map(|i| (i * 4, i * 4 + 1)).collect();
        let (kept, fills) = plan_fill(&runs, 20, 2);
        // k = 6 costs 18, k = 7 costs 22.
        assert_eq!(kept, 6);
        let filled: usize = fills.iter().map(|(s, e)| e - s).sum();
        assert_eq!(6 + filled, 18);
        assert!(fills.iter().all(|(_, e)| *e <= runs[5].0));
    }
}
