//! Where the guest's entropy comes from: the [`EntropySource`] trait behind
//! WASI `random_get` and `/dev/(u)random`, real operating-system entropy
//! ([`OsEntropy`]) for normal operation, and [`SnapshotEntropy`], a
//! deterministic ChaCha20 stream with a fixed seed, accounted per consumer
//! against a [`Policy`] of budgets, for the run whose memory becomes a
//! snapshot.
//!
//! Why: a snapshot's memory is restored in many instances. Any value drawn
//! from entropy while it is made (a random seed, a token, a UUID) would be
//! the same in every one of them. So while a snapshot is made, only the
//! draws a [`Policy`] allows are served (CPython's start-up, the `random`
//! module seeding its global generator, `tempfile`'s name generator, a few
//! packages that seed at import; modelled on workerd's table), each is
//! recorded in a [`Ledger`] (consumer → calls, bytes, denials; serde, so a
//! snapshot's sidecar can keep it), and everything else is [`Denied`]. The
//! generators seeded from the stream are reseeded from real entropy after a
//! restore (the entrypoint does that), so they cannot repeat.
//!
//! Consumers are plain names: the host passes the Python module whose top
//! level is running (or one of the pseudo-consumers [`STARTUP`], [`DEVICE`],
//! [`UNKNOWN`]). This crate knows nothing of wasmtime or of how the host
//! learns that name.
//!
//! # Hash randomisation is pinned while a snapshot is made
//!
//! CPython draws its hash secret (`_Py_HashSecret`, 24 bytes) from entropy
//! at start-up, before any Python code runs; in snapshot mode that draw is
//! the [`STARTUP`] consumer's first bytes of the fixed-seed stream. The
//! secret lives in linear memory, so it is part of the snapshot and cannot
//! be changed afterwards (every `str` and `bytes` hash already stored in a
//! dict or set depends on it). What that means for users:
//!
//! - every instance restored from one snapshot, and every snapshot made by
//!   the same pyworkerd with the same seed, has the same hash secret: `hash("x")`
//!   and the iteration order of sets of strings are the same across instances;
//! - `sys.flags.hash_randomization` still reads 1 (unless `PYTHONHASHSEED`
//!   was set when the snapshot was made, in which case CPython used that
//!   value and drew nothing), but the randomisation is per snapshot, not per
//!   instance, so it offers no protection against hash-flooding inputs
//!   crafted against that secret; untrusted keys should be bounded in number;
//! - setting `PYTHONHASHSEED` for a restored instance has no effect: the
//!   environment is read only at start-up, which a restored instance skips.
//!
//! Tests: unit tests beside the code (reproducible stream, budgets, denials,
//! ledger round trip, a proptest of the accounting); the Python side is
//! tested through real Pyodide in `pyodide-entrypoint/tests/entropy.rs`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

/// Draws made before the host could name a consumer: CPython's start-up
/// (the hash secret) and anything else before the policy is in place.
pub const STARTUP: &str = "<startup>";
/// Reads of `/dev/random` or `/dev/urandom` while consumers are being named
/// (the file system cannot tell which module reads).
pub const DEVICE: &str = "</dev/urandom>";
/// Draws while no module's top level is running and nothing else is named.
pub const UNKNOWN: &str = "<unknown>";

/// The fixed seed of [`SnapshotEntropy`]: every snapshot starts from the same
/// stream, so making a snapshot twice gives the same memory.
pub const SNAPSHOT_SEED: [u8; 32] = *b"pyworkerd snapshot entropy seed1";

/// The most denials a [`Ledger`] keeps individually (all are counted in
/// [`Usage`]); a loop retrying a denied draw cannot grow it without bound.
pub const MAX_RECORDED_DENIALS: usize = 64;

/// A draw the source refused: nothing was written to the buffer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("entropy denied to '{consumer}': {bytes} bytes ({reason})")]
pub struct Denied {
    /// Who asked.
    pub consumer: String,
    /// How many bytes were asked for.
    pub bytes: u64,
    /// Why it was refused.
    pub reason: DenialReason,
}

/// Why a draw was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DenialReason {
    /// The consumer is not in the policy.
    NotAllowed,
    /// The consumer is in the policy but this draw would exceed its budget.
    OverBudget,
}

impl std::fmt::Display for DenialReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DenialReason::NotAllowed => "not in the allow-list",
            DenialReason::OverBudget => "over its budget",
        })
    }
}

/// Where the guest's random bytes come from (`random_get`, `/dev/random`,
/// `/dev/urandom`).
///
/// Sources that do not account for consumers implement [`fill`](Self::fill)
/// only.
pub trait EntropySource: Send {
    /// Fills `buf` completely, or refuses and leaves it untouched.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Denied>;

    /// Fills `buf` for the named consumer (see the crate docs). The default
    /// ignores the name.
    fn fill_for(&mut self, consumer: &str, buf: &mut [u8]) -> Result<(), Denied> {
        let _ = consumer;
        self.fill(buf)
    }

    /// The ledger this source keeps, if it accounts for its consumers.
    fn ledger(&self) -> Option<LedgerHandle> {
        None
    }
}

impl<S: EntropySource + ?Sized> EntropySource for Box<S> {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Denied> {
        (**self).fill(buf)
    }

    fn fill_for(&mut self, consumer: &str, buf: &mut [u8]) -> Result<(), Denied> {
        (**self).fill_for(consumer, buf)
    }

    fn ledger(&self) -> Option<LedgerHandle> {
        (**self).ledger()
    }
}

/// The operating system's entropy (`getrandom`); never refuses.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsEntropy;

impl EntropySource for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Denied> {
        if let Err(e) = getrandom::fill(buf) {
            // Without OS entropy there is nothing safe to hand out, and
            // handing out a refusal would let callers fall back to weak
            // seeds silently.
            panic!("operating system entropy unavailable: {e}");
        }
        Ok(())
    }
}

/// How much entropy one consumer may draw while a snapshot is made. A draw
/// is served only if both totals stay within the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Most draws (one `random_get` or one device read each, whatever its
    /// length; CPython asks for at most 256 bytes per call).
    pub calls: u64,
    /// Most bytes over all draws.
    pub bytes: u64,
}

impl Budget {
    /// A budget of `calls` draws and `bytes` bytes.
    pub const fn new(calls: u64, bytes: u64) -> Self {
        Budget { calls, bytes }
    }
}

/// Bytes `random.Random()` draws to seed itself: 624 32-bit words, fetched
/// by CPython in calls of at most 256 bytes (10 calls).
const RANDOM_SEED: Budget = Budget::new(10, 624 * 4);

/// The allow-list: consumer name → [`Budget`]. Anything not listed is denied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    budgets: BTreeMap<String, Budget>,
}

impl Default for Policy {
    /// The default allow-list, modelled on workerd's (calls as workerd
    /// counts them, bytes as CPython asks for them):
    ///
    /// | consumer | budget | why |
    /// |---|---|---|
    /// | [`STARTUP`] | 4 calls, 256 B | CPython's hash secret (one draw of 24 bytes on both supported releases), with room to spare |
    /// | `random` | 10 calls, 2496 B | its global `Random()` seeds itself at import (reseeded after restore) |
    /// | `tempfile` | 20 calls, 4992 B | its name generators' `Random()`s: one probing for the default directory, one for names (reset after restore) |
    /// | `multiprocessing.process` | 1 call, 32 B | the main process's `authkey` |
    /// | `numpy.random`, `numpy.random.mtrand` | 2 calls, 64 B | the legacy global `RandomState` (reseeded after restore) |
    /// | `pydantic_core` | 2 calls, 128 B | hash seeds of its Rust core |
    /// | `pydantic.types` | 1 call, 64 B | the hash seed of `pydantic_core`'s serializers (`Secret` builds one at import) |
    /// | `tiktoken`, `tiktoken.core`, `jiter`, `cryptography.exceptions` | 1 call, 64 B | hash seeds of Rust extensions |
    ///
    /// Extension modules (`.so`) run no Python top level: their draws are
    /// accounted to the Python module that imports them.
    fn default() -> Self {
        let small = Budget::new(1, 64);
        Policy::empty()
            .allow(STARTUP, Budget::new(4, 256))
            .allow("random", RANDOM_SEED)
            .allow(
                "tempfile",
                Budget::new(2 * RANDOM_SEED.calls, 2 * RANDOM_SEED.bytes),
            )
            .allow("multiprocessing.process", Budget::new(1, 32))
            .allow("numpy.random", Budget::new(2, 64))
            .allow("numpy.random.mtrand", Budget::new(2, 64))
            .allow("pydantic_core", Budget::new(2, 128))
            .allow("pydantic.types", small)
            .allow("tiktoken", small)
            .allow("tiktoken.core", small)
            .allow("jiter", small)
            .allow("cryptography.exceptions", small)
    }
}

impl Policy {
    /// A policy that allows nothing.
    pub fn empty() -> Self {
        Policy {
            budgets: BTreeMap::new(),
        }
    }

    /// Allows `consumer` up to `budget` (replacing an earlier budget).
    pub fn allow(mut self, consumer: impl Into<String>, budget: Budget) -> Self {
        self.budgets.insert(consumer.into(), budget);
        self
    }

    /// The budget of `consumer`, if it is allowed at all.
    pub fn budget(&self, consumer: &str) -> Option<Budget> {
        self.budgets.get(consumer).copied()
    }

    /// The allowed consumers and their budgets, by name.
    pub fn budgets(&self) -> impl Iterator<Item = (&str, Budget)> {
        self.budgets
            .iter()
            .map(|(name, budget)| (name.as_str(), *budget))
    }
}

/// What one consumer drew.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Draws served.
    pub calls: u64,
    /// Bytes served.
    pub bytes: u64,
    /// Draws refused.
    pub denied_calls: u64,
    /// Bytes refused.
    pub denied_bytes: u64,
}

/// The accounting of a [`SnapshotEntropy`]: who drew how much, and every
/// refusal in order (the first [`MAX_RECORDED_DENIALS`] of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    usage: BTreeMap<String, Usage>,
    denials: Vec<Denied>,
}

impl Ledger {
    /// What `consumer` drew (zero if it never asked).
    pub fn usage(&self, consumer: &str) -> Usage {
        self.usage.get(consumer).copied().unwrap_or_default()
    }

    /// Every consumer that asked, by name.
    pub fn consumers(&self) -> impl Iterator<Item = (&str, Usage)> {
        self.usage
            .iter()
            .map(|(name, usage)| (name.as_str(), *usage))
    }

    /// The refusals, oldest first (at most [`MAX_RECORDED_DENIALS`]).
    pub fn denials(&self) -> &[Denied] {
        &self.denials
    }

    /// Bytes served to all consumers.
    pub fn total_bytes(&self) -> u64 {
        self.usage.values().map(|u| u.bytes).sum()
    }

    /// Whether a draw of `len` bytes by `consumer` fits `policy`; records
    /// it either way.
    fn charge(&mut self, policy: &Policy, consumer: &str, len: u64) -> Result<(), Denied> {
        let usage = self.usage.entry(consumer.to_owned()).or_default();
        let reason = match policy.budget(consumer) {
            None => Some(DenialReason::NotAllowed),
            Some(budget)
                if usage.calls >= budget.calls
                    || usage.bytes.saturating_add(len) > budget.bytes =>
            {
                Some(DenialReason::OverBudget)
            }
            Some(_) => None,
        };
        match reason {
            None => {
                usage.calls += 1;
                usage.bytes += len;
                Ok(())
            }
            Some(reason) => {
                usage.denied_calls += 1;
                usage.denied_bytes = usage.denied_bytes.saturating_add(len);
                let denied = Denied {
                    consumer: consumer.to_owned(),
                    bytes: len,
                    reason,
                };
                if self.denials.len() < MAX_RECORDED_DENIALS {
                    self.denials.push(denied.clone());
                }
                Err(denied)
            }
        }
    }
}

/// A shared view of a [`SnapshotEntropy`]'s ledger, readable while the
/// source itself sits type-erased behind the host's handle.
#[derive(Debug, Clone, Default)]
pub struct LedgerHandle(Arc<Mutex<Ledger>>);

impl LedgerHandle {
    /// A copy of the ledger as it is now.
    pub fn get(&self) -> Ledger {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // A panic while the lock was held cannot leave the ledger torn
        // (each update is one insertion), so a poisoned lock is still good.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The source used while a snapshot is made: a ChaCha20 stream from a fixed
/// seed, served only to consumers the [`Policy`] allows, every draw and
/// refusal recorded in a [`Ledger`].
///
/// [`fill`](EntropySource::fill) (no consumer named) counts as [`STARTUP`].
pub struct SnapshotEntropy {
    rng: ChaCha20Rng,
    policy: Policy,
    ledger: LedgerHandle,
}

impl std::fmt::Debug for SnapshotEntropy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotEntropy")
            .field("policy", &self.policy)
            .field("ledger", &self.ledger)
            .finish_non_exhaustive()
    }
}

impl SnapshotEntropy {
    /// The stream of [`SNAPSHOT_SEED`] under `policy`.
    pub fn new(policy: Policy) -> Self {
        SnapshotEntropy::with_seed(SNAPSHOT_SEED, policy)
    }

    /// The stream of `seed` under `policy`.
    pub fn with_seed(seed: [u8; 32], policy: Policy) -> Self {
        SnapshotEntropy {
            rng: ChaCha20Rng::from_seed(seed),
            policy,
            ledger: LedgerHandle::default(),
        }
    }

    /// The ledger, shared: it stays readable after the source is boxed.
    pub fn ledger_handle(&self) -> LedgerHandle {
        self.ledger.clone()
    }

    /// The policy the draws are checked against.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

impl EntropySource for SnapshotEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Denied> {
        self.fill_for(STARTUP, buf)
    }

    fn fill_for(&mut self, consumer: &str, buf: &mut [u8]) -> Result<(), Denied> {
        self.ledger
            .lock()
            .charge(&self.policy, consumer, buf.len() as u64)?;
        self.rng.fill_bytes(buf);
        Ok(())
    }

    fn ledger(&self) -> Option<LedgerHandle> {
        Some(self.ledger.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn draw(
        source: &mut impl EntropySource,
        consumer: &str,
        len: usize,
    ) -> Result<Vec<u8>, Denied> {
        let mut buf = vec![0u8; len];
        source.fill_for(consumer, &mut buf)?;
        Ok(buf)
    }

    #[test]
    fn the_stream_is_reproducible_for_the_fixed_seed() {
        let policy = Policy::empty().allow("m", Budget::new(100, 1 << 20));
        let mut a = SnapshotEntropy::new(policy.clone());
        let mut b = SnapshotEntropy::new(policy.clone());
        let first = draw(&mut a, "m", 300).unwrap();
        assert_eq!(first, draw(&mut b, "m", 300).unwrap());
        // The stream goes on: the next draw differs from the first.
        let second = draw(&mut a, "m", 300).unwrap();
        assert_ne!(first, second);
        assert_eq!(second, draw(&mut b, "m", 300).unwrap());
        // Another seed is another stream.
        let mut c = SnapshotEntropy::with_seed([7; 32], policy);
        assert_ne!(first, draw(&mut c, "m", 300).unwrap());
    }

    #[test]
    fn the_stream_is_not_the_operating_system_s() {
        let mut snapshot = SnapshotEntropy::new(Policy::default());
        let fixed = draw(&mut snapshot, STARTUP, 32).unwrap();
        let mut os = OsEntropy;
        let real = draw(&mut os, "anyone", 32).unwrap();
        let again = draw(&mut os, "anyone", 32).unwrap();
        assert_ne!(fixed, real);
        assert_ne!(real, again, "OS entropy does not repeat");
        assert!(OsEntropy.ledger().is_none());
    }

    #[test]
    fn unnamed_draws_count_as_startup() {
        let mut source = SnapshotEntropy::new(Policy::default());
        let mut secret = [0u8; 24];
        source.fill(&mut secret).unwrap();
        let ledger = source.ledger_handle().get();
        assert_eq!(
            ledger.usage(STARTUP),
            Usage {
                calls: 1,
                bytes: 24,
                ..Usage::default()
            }
        );
    }

    #[test]
    fn budgets_limit_calls_and_bytes() {
        let policy = Policy::empty().allow("m", Budget::new(3, 100));
        let mut source = SnapshotEntropy::new(policy);
        draw(&mut source, "m", 60).unwrap();
        // 60 + 50 > 100 bytes: refused although a call is left.
        let over = draw(&mut source, "m", 50).unwrap_err();
        assert_eq!(over.reason, DenialReason::OverBudget);
        draw(&mut source, "m", 40).unwrap();
        draw(&mut source, "m", 0).unwrap();
        // Three calls served: the fourth is refused even for no bytes.
        let over = draw(&mut source, "m", 0).unwrap_err();
        assert_eq!(over.reason, DenialReason::OverBudget);
        let usage = source.ledger_handle().get().usage("m");
        assert_eq!(
            usage,
            Usage {
                calls: 3,
                bytes: 100,
                denied_calls: 2,
                denied_bytes: 50,
            }
        );
    }

    #[test]
    fn a_consumer_outside_the_policy_is_denied_and_its_buffer_untouched() {
        let mut source = SnapshotEntropy::new(Policy::default());
        let mut buf = [0xAA; 16];
        let denied = source.fill_for("app", &mut buf).unwrap_err();
        assert_eq!(buf, [0xAA; 16]);
        assert_eq!(
            denied,
            Denied {
                consumer: "app".to_owned(),
                bytes: 16,
                reason: DenialReason::NotAllowed,
            }
        );
        assert_eq!(
            denied.to_string(),
            "entropy denied to 'app': 16 bytes (not in the allow-list)"
        );
        assert_eq!(source.ledger_handle().get().denials(), &[denied]);
    }

    #[test]
    fn a_denied_draw_does_not_advance_the_stream() {
        let policy = Policy::empty().allow("ok", Budget::new(10, 1000));
        let mut denied_first = SnapshotEntropy::new(policy.clone());
        let _ = draw(&mut denied_first, "nope", 32);
        let mut plain = SnapshotEntropy::new(policy);
        assert_eq!(
            draw(&mut denied_first, "ok", 32).unwrap(),
            draw(&mut plain, "ok", 32).unwrap()
        );
    }

    #[test]
    fn default_policy_covers_random_seeding_itself() {
        let mut source = SnapshotEntropy::new(Policy::default());
        // random.Random() asks for 2496 bytes in calls of at most 256.
        let mut left = 624 * 4;
        while left > 0 {
            let n = left.min(256);
            draw(&mut source, "random", n).unwrap();
            left -= n;
        }
        assert!(draw(&mut source, "random", 1).is_err());
        assert!(source.ledger_handle().get().denials().len() == 1);
    }

    #[test]
    fn recorded_denials_are_capped() {
        let mut source = SnapshotEntropy::new(Policy::empty());
        for _ in 0..MAX_RECORDED_DENIALS + 10 {
            let _ = draw(&mut source, "app", 1);
        }
        let ledger = source.ledger_handle().get();
        assert_eq!(ledger.denials().len(), MAX_RECORDED_DENIALS);
        assert_eq!(
            ledger.usage("app").denied_calls,
            MAX_RECORDED_DENIALS as u64 + 10
        );
    }

    #[test]
    fn the_ledger_survives_a_bincode_round_trip() {
        let mut source = SnapshotEntropy::new(Policy::default());
        draw(&mut source, "random", 256).unwrap();
        let _ = draw(&mut source, "app", 16);
        let ledger = source.ledger_handle().get();
        let config = bincode::config::standard();
        let bytes = bincode::serde::encode_to_vec(&ledger, config).unwrap();
        let (back, read): (Ledger, usize) =
            bincode::serde::decode_from_slice(&bytes, config).unwrap();
        assert_eq!(read, bytes.len());
        assert_eq!(back, ledger);
        assert_eq!(back.usage("random").bytes, 256);
        assert_eq!(back.total_bytes(), 256);
        let policy = Policy::default();
        let bytes = bincode::serde::encode_to_vec(&policy, config).unwrap();
        let (back, _): (Policy, usize) = bincode::serde::decode_from_slice(&bytes, config).unwrap();
        assert_eq!(back, policy);
    }

    #[test]
    fn a_boxed_source_keeps_its_ledger_and_names() {
        let mut boxed: Box<dyn EntropySource> = Box::new(SnapshotEntropy::new(Policy::default()));
        let handle = boxed.ledger().expect("a snapshot source keeps a ledger");
        let mut buf = [0u8; 8];
        boxed.fill_for("random", &mut buf).unwrap();
        assert_eq!(handle.get().usage("random").calls, 1);
    }

    proptest! {
        /// Whatever the sequence of draws, a consumer is never served past
        /// its budget, every draw is either served or recorded as refused,
        /// and a draw is refused only if serving it would break the budget.
        #[test]
        fn accounting_never_exceeds_a_budget(
            calls in 0u64..6,
            bytes in 0u64..600,
            draws in proptest::collection::vec((0usize..3, 0usize..300), 0..40),
        ) {
            let names = ["a", "b", "c"];
            let policy = Policy::empty()
                .allow("a", Budget::new(calls, bytes))
                .allow("b", Budget::new(calls + 1, bytes / 2));
            let mut source = SnapshotEntropy::new(policy.clone());
            let mut expected: BTreeMap<&str, Usage> = BTreeMap::new();
            for (who, len) in draws {
                let name = names[who];
                let before = expected.get(name).copied().unwrap_or_default();
                let fits = policy.budget(name).is_some_and(|b| {
                    before.calls < b.calls && before.bytes + len as u64 <= b.bytes
                });
                let result = draw(&mut source, name, len);
                prop_assert_eq!(result.is_ok(), fits);
                let entry = expected.entry(name).or_default();
                if fits {
                    entry.calls += 1;
                    entry.bytes += len as u64;
                } else {
                    entry.denied_calls += 1;
                    entry.denied_bytes += len as u64;
                }
            }
            let ledger = source.ledger_handle().get();
            for name in names {
                let usage = ledger.usage(name);
                prop_assert_eq!(usage, expected.get(name).copied().unwrap_or_default());
                if let Some(budget) = policy.budget(name) {
                    prop_assert!(usage.calls <= budget.calls && usage.bytes <= budget.bytes);
                } else {
                    prop_assert_eq!(usage.calls, 0);
                }
            }
        }
    }
}
