//! Heap growth: `emscripten_resize_heap` grows linear memory the way
//! Emscripten's glue does (over-allocating by up to 20 %), bounded by the
//! context's memory limit so a runaway allocation becomes `MemoryError`.

use wasmtime::{Caller, Linker};

use crate::ctx::EMSCRIPTEN_HEAP_MAX;
use crate::linker::CtxGetter;

const ENV: &str = "env";
const PAGE: u64 = 65536;

pub(crate) fn add<T: 'static>(linker: &mut Linker<T>, get: CtxGetter<T>) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "emscripten_get_heap_max",
        move |mut caller: Caller<'_, T>| -> i32 {
            heap_max(get(caller.data_mut()).memory_limit) as u32 as i32
        },
    )?;
    linker.func_wrap(
        ENV,
        "emscripten_resize_heap",
        move |mut caller: Caller<'_, T>, requested: i32| -> wasmtime::Result<i32> {
            let ctx = get(caller.data_mut());
            let limit = heap_max(ctx.memory_limit);
            let memory = ctx.handles()?.memory;
            let old = memory.data_size(&caller) as u64;
            let requested = u64::from(requested as u32);
            for candidate in growth_candidates(old, requested, limit) {
                let pages = candidate.div_ceil(PAGE).saturating_sub(old / PAGE);
                if memory.grow(&mut caller, pages).is_ok() {
                    return Ok(1);
                }
            }
            Ok(0)
        },
    )?;
    Ok(())
}

fn heap_max(memory_limit: u64) -> u64 {
    memory_limit.min(EMSCRIPTEN_HEAP_MAX) / PAGE * PAGE
}

/// The sizes to try, largest first, as Emscripten's `emscripten_resize_heap`:
/// the request over-allocated by 20 %, 10 %, 5 % (capped at request + 96 MiB),
/// rounded up to a page and capped at `limit`; nothing if the request itself
/// exceeds `limit`.
fn growth_candidates(old: u64, requested: u64, limit: u64) -> Vec<u64> {
    if requested > limit || requested <= old {
        return if requested <= old {
            vec![old]
        } else {
            Vec::new()
        };
    }
    [1u64, 2, 4]
        .iter()
        .map(|cut_down| {
            let overgrown = old + old / (5 * cut_down);
            let candidate = requested.max(overgrown).min(requested + (96 << 20));
            (candidate.div_ceil(PAGE) * PAGE).min(limit)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_overallocates_within_limits() {
        let mib = 1 << 20;
        let tries = growth_candidates(100 * mib, 101 * mib, 4096 * mib);
        assert_eq!(tries, vec![120 * mib, 110 * mib, 105 * mib]);
        // Never past the limit, never refused below it.
        let tries = growth_candidates(100 * mib, 101 * mib, 102 * mib);
        assert!(tries.iter().all(|&t| t == 102 * mib), "{tries:?}");
        assert!(growth_candidates(100 * mib, 300 * mib, 200 * mib).is_empty());
        // A huge request is not over-allocated by more than 96 MiB.
        let tries = growth_candidates(1000 * mib, 2000 * mib, 4096 * mib);
        assert_eq!(tries[0], 2000 * mib);
    }
}
