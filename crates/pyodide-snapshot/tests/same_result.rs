//! The key property of snapshots (as in Wizer's `same_result` fuzz target):
//! running from a snapshot is indistinguishable from running on.
//!
//! A random module (memory limits, globals of every numeric type, active and
//! passive data segments, maybe a start function) runs a random sequence of
//! operations (stores anywhere, including out of bounds, memory growth,
//! global updates, `memory.init`); at a random point the instance is
//! captured and the baked module instantiated. The rest of the sequence
//! must give the same results (values and traps) on both, and both must end
//! in the same state.
//!
//! One documented difference is kept out of the programs: a passive segment
//! dropped before the snapshot is undropped in the baked module (wasm cannot
//! export whether a segment was dropped), so `data.drop` only happens after
//! the snapshot point.

use std::fmt::Write as _;

use proptest::prelude::*;
use pyodide_snapshot::{bake, capture, export_mutable_globals};
use wasmtime::{Engine, Instance, Module, Store, Val};

const PAGE: u32 = 1 << 16;

#[derive(Debug, Clone, Copy)]
enum Ty {
    I32,
    I64,
    F32,
    F64,
}

#[derive(Debug, Clone)]
struct GlobalSpec {
    ty: Ty,
    mutable: bool,
    init: i64,
}

#[derive(Debug, Clone)]
struct Spec {
    min_pages: u32,
    extra_max: u32,
    globals: Vec<GlobalSpec>,
    active: Vec<(u32, Vec<u8>)>,
    passive: Vec<Vec<u8>>,
    start: bool,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Store8 { addr: u32, value: u8 },
    Store64 { addr: u32, value: i64 },
    Load64 { addr: u32 },
    Grow { pages: u32 },
    Bump { global: usize, by: i64 },
    Init { segment: usize, dst: u32, len: u32 },
    Drop { segment: usize },
}

fn ty() -> impl Strategy<Value = Ty> {
    prop_oneof![Just(Ty::I32), Just(Ty::I64), Just(Ty::F32), Just(Ty::F64)]
}

fn spec() -> impl Strategy<Value = Spec> {
    (1u32..4, 0u32..6).prop_flat_map(|(min_pages, extra_max)| {
        let bytes = prop::collection::vec(any::<u8>(), 1..40);
        (
            Just(min_pages),
            Just(extra_max),
            prop::collection::vec(
                (ty(), any::<bool>(), -1000i64..1000).prop_map(|(ty, mutable, init)| GlobalSpec {
                    ty,
                    mutable,
                    init,
                }),
                0..6,
            ),
            prop::collection::vec((0..min_pages * PAGE - 40, bytes.clone()), 0..4),
            prop::collection::vec(bytes, 0..3),
            any::<bool>(),
        )
            .prop_map(
                |(min_pages, extra_max, globals, active, passive, start)| Spec {
                    min_pages,
                    extra_max,
                    globals,
                    active,
                    passive,
                    start,
                },
            )
    })
}

fn op(spec: &Spec) -> impl Strategy<Value = Op> + use<> {
    let limit = (spec.min_pages + spec.extra_max + 1) * PAGE;
    let globals = spec.globals.len().max(1);
    let segments = spec.passive.len().max(1);
    // Mostly in bounds, sometimes anywhere (out of bounds traps).
    let addr = prop_oneof![4 => 0..limit, 1 => any::<u32>()];
    prop_oneof![
        4 => (addr.clone(), any::<u8>()).prop_map(|(addr, value)| Op::Store8 { addr, value }),
        3 => (addr.clone(), any::<i64>()).prop_map(|(addr, value)| Op::Store64 { addr, value }),
        2 => addr.clone().prop_map(|addr| Op::Load64 { addr }),
        1 => (0u32..3).prop_map(|pages| Op::Grow { pages }),
        3 => (0..globals, -50i64..50).prop_map(|(global, by)| Op::Bump { global, by }),
        1 => (0..segments, addr, 0u32..48)
            .prop_map(|(segment, dst, len)| Op::Init { segment, dst, len }),
        1 => (0..segments).prop_map(|segment| Op::Drop { segment }),
    ]
}

fn case() -> impl Strategy<Value = (Spec, Vec<Op>, usize)> {
    spec().prop_flat_map(|spec| {
        let ops = prop::collection::vec(op(&spec), 0..24);
        (Just(spec), ops).prop_flat_map(|(spec, ops)| {
            let len = ops.len();
            (Just(spec), Just(ops), 0..=len)
        })
    })
}

fn wat_type(ty: Ty) -> &'static str {
    match ty {
        Ty::I32 => "i32",
        Ty::I64 => "i64",
        Ty::F32 => "f32",
        Ty::F64 => "f64",
    }
}

fn data_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// The module text for `spec`: `store8`, `store64`, `load64`, `grow`,
/// `bump_<i>` per global (adds to it, returns its bits as i64), and
/// `init_<i>` / `drop_<i>` per passive segment.
fn module_text(spec: &Spec) -> String {
    let mut text = String::from("(module\n");
    let max = spec.min_pages + spec.extra_max;
    writeln!(text, "  (memory {} {max})", spec.min_pages).unwrap();
    for (i, g) in spec.globals.iter().enumerate() {
        let t = wat_type(g.ty);
        let ty = if g.mutable {
            format!("(mut {t})")
        } else {
            t.to_owned()
        };
        writeln!(text, "  (global $g{i} {ty} ({t}.const {}))", g.init).unwrap();
    }
    for (offset, bytes) in &spec.active {
        writeln!(
            text,
            "  (data (i32.const {offset}) \"{}\")",
            data_string(bytes)
        )
        .unwrap();
    }
    for (i, bytes) in spec.passive.iter().enumerate() {
        writeln!(text, "  (data $p{i} \"{}\")", data_string(bytes)).unwrap();
    }
    if spec.start {
        // Touches memory and every mutable global: must not run on restore.
        let mut body = String::from("(i32.store8 (i32.const 3) (i32.const 99))");
        for (i, g) in spec.globals.iter().enumerate().filter(|(_, g)| g.mutable) {
            let t = wat_type(g.ty);
            write!(
                body,
                " (global.set $g{i} ({t}.add (global.get $g{i}) ({t}.const 7)))"
            )
            .unwrap();
        }
        writeln!(text, "  (func $start {body}) (start $start)").unwrap();
    }
    text.push_str(
        r#"  (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "store64") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "load64") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
"#,
    );
    for (i, g) in spec.globals.iter().enumerate() {
        let t = wat_type(g.ty);
        let (by, bits) = match g.ty {
            Ty::I32 => (
                "(i32.wrap_i64 (local.get 0))",
                "(i64.extend_i32_s (global.get $g{i}))",
            ),
            Ty::I64 => ("(local.get 0)", "(global.get $g{i})"),
            Ty::F32 => (
                "(f32.convert_i64_s (local.get 0))",
                "(i64.extend_i32_u (i32.reinterpret_f32 (global.get $g{i})))",
            ),
            Ty::F64 => (
                "(f64.convert_i64_s (local.get 0))",
                "(i64.reinterpret_f64 (global.get $g{i}))",
            ),
        };
        let bits = bits.replace("{i}", &i.to_string());
        let set = if g.mutable {
            format!("(global.set $g{i} ({t}.add (global.get $g{i}) {by}))")
        } else {
            String::new()
        };
        writeln!(
            text,
            "  (func (export \"bump_{i}\") (param i64) (result i64) {set} {bits})"
        )
        .unwrap();
    }
    for i in 0..spec.passive.len() {
        writeln!(
            text,
            "  (func (export \"init_{i}\") (param i32 i32) \
             (memory.init $p{i} (local.get 0) (i32.const 0) (local.get 1)))\n  \
             (func (export \"drop_{i}\") (data.drop $p{i}))"
        )
        .unwrap();
    }
    text.push(')');
    text
}

struct Running {
    store: Store<()>,
    instance: Instance,
}

impl Running {
    fn new(engine: &Engine, wasm: &[u8]) -> Self {
        let module = Module::new(engine, wasm).unwrap();
        let mut store = Store::new(engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        Running { store, instance }
    }

    fn call(&mut self, name: &str, args: &[Val]) -> String {
        let Some(func) = self.instance.get_func(&mut self.store, name) else {
            return "absent".to_owned();
        };
        let mut results = vec![Val::I32(0); func.ty(&self.store).results().len()];
        match func.call(&mut self.store, args, &mut results) {
            Ok(()) => format!("{:?}", results.iter().map(show).collect::<Vec<_>>()),
            Err(e) => format!("trap: {}", e.root_cause()),
        }
    }

    fn run(&mut self, op: Op) -> String {
        match op {
            Op::Store8 { addr, value } => self.call(
                "store8",
                &[Val::I32(addr as i32), Val::I32(i32::from(value))],
            ),
            Op::Store64 { addr, value } => {
                self.call("store64", &[Val::I32(addr as i32), Val::I64(value)])
            }
            Op::Load64 { addr } => self.call("load64", &[Val::I32(addr as i32)]),
            Op::Grow { pages } => self.call("grow", &[Val::I32(pages as i32)]),
            Op::Bump { global, by } => self.call(&format!("bump_{global}"), &[Val::I64(by)]),
            Op::Init { segment, dst, len } => self.call(
                &format!("init_{segment}"),
                &[Val::I32(dst as i32), Val::I32(len as i32)],
            ),
            Op::Drop { segment } => self.call(&format!("drop_{segment}"), &[]),
        }
    }
}

fn show(val: &Val) -> String {
    match val {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        other => format!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn running_from_a_snapshot_gives_the_same_results((spec, ops, at) in case()) {
        let engine = Engine::default();
        let text = module_text(&spec);
        let instrumented = export_mutable_globals(&wat::parse_str(&text).unwrap()).unwrap();
        let mut original = Running::new(&engine, &instrumented);
        // data.drop only after the snapshot (see the header).
        for op in ops[..at].iter().filter(|op| !matches!(op, Op::Drop { .. })) {
            original.run(*op);
        }
        let captured = capture(&mut original.store, &original.instance).unwrap();
        let baked = bake(&instrumented, &captured).unwrap();
        let mut restored = Running::new(&engine, &baked);
        let again = capture(&mut restored.store, &restored.instance).unwrap();
        prop_assert!(again == captured, "restored state differs\n{text}");
        for op in &ops[at..] {
            prop_assert_eq!(restored.run(*op), original.run(*op), "{:?}\n{}", op, text);
        }
        let end_original = capture(&mut original.store, &original.instance).unwrap();
        let end_restored = capture(&mut restored.store, &restored.instance).unwrap();
        prop_assert!(end_original == end_restored, "final states differ\n{text}");
    }
}
