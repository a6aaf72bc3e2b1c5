//! WAT modules run, captured, baked and restored: the restored instance has
//! the captured memory and globals and behaves as the original from there
//! on; the baked image skips zero pages and suits copy-on-write; the
//! instrumentation changes no behaviour.

use anyhow::Result;
use pyodide_snapshot::{
    BakeOptions, Capture, Error, GlobalValue, bake, bake_with, capture, capture_with_memory,
    data_layout, defined_import_export_name, export_mutable_globals,
};
use wasmtime::{
    Engine, Extern, Global, GlobalType, Instance, Memory, MemoryType, Module, Mutability, Ref,
    Store, Table, TableType, Val, ValType,
};

const PAGE: usize = 1 << 16;

/// Mutates memory (also past its initial size), mutable globals of every
/// numeric type, and uses a passive segment; its start function bumps a
/// counter, which must not happen again on restore.
const PROGRAM: &str = r#"
(module
  (memory (export "memory") 2 64)
  (global $counter (mut i32) (i32.const 0))
  (global $acc (mut i64) (i64.const 5))
  (global $f32 (mut f32) (f32.const 0.25))
  (global $f64 (mut f64) (f64.const 1.5))
  (global $vec (mut v128) (v128.const i32x4 1 2 3 4))
  (global $sp (export "sp") (mut i32) (i32.const 4096))
  (global $fixed i32 (i32.const 77))
  (data (i32.const 16) "hello")
  (data (i32.const 70000) "second page")
  (data $passive "passive!")
  (func $start (global.set $counter (i32.add (global.get $counter) (i32.const 100))))
  (start $start)
  ;; One step: counter += 1; acc = acc * 31 + x; f32 += 1; f64 *= 1.25;
  ;; vec += splat(x); sp -= 16; store x at 1024 + 4 * counter and at the
  ;; same offset in the last page. Returns the counter.
  (func (export "step") (param $x i32) (result i32)
    (local $last i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (global.set $acc (i64.add (i64.mul (global.get $acc) (i64.const 31))
                              (i64.extend_i32_u (local.get $x))))
    (global.set $f32 (f32.add (global.get $f32) (f32.const 1)))
    (global.set $f64 (f64.mul (global.get $f64) (f64.const 1.25)))
    (global.set $vec (i32x4.add (global.get $vec) (i32x4.splat (local.get $x))))
    (global.set $sp (i32.sub (global.get $sp) (i32.const 16)))
    (i32.store (i32.add (i32.const 1024) (i32.shl (global.get $counter) (i32.const 2)))
               (local.get $x))
    (local.set $last (i32.mul (i32.sub (memory.size) (i32.const 1)) (i32.const 65536)))
    (i32.store (i32.add (local.get $last) (i32.shl (global.get $counter) (i32.const 2)))
               (local.get $x))
    (global.get $counter))
  (func (export "grow") (param $pages i32) (result i32)
    (memory.grow (local.get $pages)))
  (func (export "poke") (param $addr i32) (param $value i32)
    (i32.store8 (local.get $addr) (local.get $value)))
  (func (export "copy_passive") (param $dst i32)
    (memory.init $passive (local.get $dst) (i32.const 0) (i32.const 8)))
  (func (export "drop_passive") (data.drop $passive))
  ;; A digest of memory and globals: FNV-1a over every byte, mixed with
  ;; the globals.
  (func (export "digest") (result i64)
    (local $i i32) (local $h i64) (local $end i32)
    (local.set $h (i64.const 0xcbf29ce484222325))
    (local.set $end (i32.mul (memory.size) (i32.const 65536)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load8_u (local.get $i)))
                               (i64.const 0x100000001b3)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i64.add (local.get $h)
      (i64.add (i64.extend_i32_u (global.get $counter))
        (i64.add (global.get $acc)
          (i64.add (i64.reinterpret_f64 (global.get $f64))
            (i64.add (i64.extend_i32_u (i32.reinterpret_f32 (global.get $f32)))
              (i64.add (i64x2.extract_lane 1 (global.get $vec))
                (i64.extend_i32_u (global.get $sp))))))))))
"#;

#[derive(Debug, Clone, Copy)]
enum Op {
    Step(i32),
    Grow(i32),
    Poke(i32, i32),
    CopyPassive(i32),
    DropPassive,
}

struct Running {
    store: Store<()>,
    instance: Instance,
}

impl Running {
    fn new(engine: &Engine, wasm: &[u8]) -> Result<Self> {
        let module = Module::new(engine, wasm)?;
        let mut store = Store::new(engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        Ok(Running { store, instance })
    }

    /// Runs `op`; the result is the function's result, or the trap message.
    fn run(&mut self, op: Op) -> String {
        let store = &mut self.store;
        let i = &self.instance;
        let result = match op {
            Op::Step(x) => i
                .get_typed_func::<i32, i32>(&mut *store, "step")
                .and_then(|f| f.call(&mut *store, x))
                .map(|v| v.to_string()),
            Op::Grow(pages) => i
                .get_typed_func::<i32, i32>(&mut *store, "grow")
                .and_then(|f| f.call(&mut *store, pages))
                .map(|v| v.to_string()),
            Op::Poke(addr, value) => i
                .get_typed_func::<(i32, i32), ()>(&mut *store, "poke")
                .and_then(|f| f.call(&mut *store, (addr, value)))
                .map(|()| String::new()),
            Op::CopyPassive(dst) => i
                .get_typed_func::<i32, ()>(&mut *store, "copy_passive")
                .and_then(|f| f.call(&mut *store, dst))
                .map(|()| String::new()),
            Op::DropPassive => i
                .get_typed_func::<(), ()>(&mut *store, "drop_passive")
                .and_then(|f| f.call(&mut *store, ()))
                .map(|()| String::new()),
        };
        result.unwrap_or_else(|e| format!("trap: {}", e.root_cause()))
    }

    fn digest(&mut self) -> i64 {
        let f = self
            .instance
            .get_typed_func::<(), i64>(&mut self.store, "digest")
            .unwrap();
        f.call(&mut self.store, ()).unwrap()
    }

    fn capture(&mut self) -> Capture {
        capture(&mut self.store, &self.instance).unwrap()
    }
}

fn program() -> Vec<u8> {
    wat::parse_str(PROGRAM).unwrap()
}

const BEFORE: [Op; 7] = [
    Op::Step(3),
    Op::Step(1000),
    Op::Grow(3),
    Op::Step(-7),
    Op::Poke(3 * PAGE as i32 + 5, 0x5a),
    Op::CopyPassive(200),
    Op::Step(42),
];

const AFTER: [Op; 7] = [
    Op::Step(9),
    Op::Grow(1),
    Op::Step(11),
    Op::CopyPassive(300),
    Op::DropPassive,
    Op::CopyPassive(400),
    Op::Step(-1),
];

#[test]
fn restored_instance_has_the_captured_state_and_continues_like_the_original() -> Result<()> {
    let engine = Engine::default();
    let instrumented = export_mutable_globals(&program())?;
    let mut original = Running::new(&engine, &instrumented)?;
    for op in BEFORE {
        original.run(op);
    }
    let captured = original.capture();
    assert_eq!(captured.memory.len(), 5 * PAGE);
    assert_eq!(captured.globals.len(), 6, "{:?}", captured.globals);
    assert_eq!(captured.globals[0], (0, GlobalValue::I32(104)));

    let baked = bake(&instrumented, &captured)?;
    wasmparser::validate(&baked)?;
    let mut restored = Running::new(&engine, &baked)?;
    // Same memory and globals (the start function did not run again).
    let again = restored.capture();
    assert_eq!(again.memory.len(), captured.memory.len());
    assert!(again.memory == captured.memory, "restored memory differs");
    assert_eq!(again.globals, captured.globals);
    assert_eq!(restored.digest(), original.digest());

    for op in AFTER {
        assert_eq!(restored.run(op), original.run(op), "{op:?}");
    }
    assert_eq!(restored.digest(), original.digest());
    assert!(restored.capture() == original.capture());
    Ok(())
}

#[test]
fn a_restored_instance_can_be_snapshotted_again() -> Result<()> {
    let engine = Engine::default();
    let instrumented = export_mutable_globals(&program())?;
    let mut original = Running::new(&engine, &instrumented)?;
    original.run(Op::Step(5));
    let first = bake(&instrumented, &original.capture())?;
    // The baked module keeps the instrumentation.
    assert_eq!(export_mutable_globals(&first)?, first);

    let mut restored = Running::new(&engine, &first)?;
    for op in [Op::Grow(2), Op::Step(6)] {
        assert_eq!(restored.run(op), original.run(op));
    }
    let second = bake(&first, &restored.capture())?;
    let mut twice = Running::new(&engine, &second)?;
    assert_eq!(twice.run(Op::Step(7)), original.run(Op::Step(7)));
    assert_eq!(twice.digest(), original.digest());
    Ok(())
}

#[test]
fn instrumentation_changes_no_behaviour() -> Result<()> {
    let engine = Engine::default();
    let mut plain = Running::new(&engine, &program())?;
    let mut instrumented = Running::new(&engine, &export_mutable_globals(&program())?)?;
    for op in BEFORE.into_iter().chain(AFTER) {
        assert_eq!(instrumented.run(op), plain.run(op), "{op:?}");
    }
    assert_eq!(instrumented.digest(), plain.digest());
    Ok(())
}

/// 64 pages, of which pages 0, 1, 2 (data), 20 and 63 are written.
const SPARSE: &str = r#"
(module
  (memory (export "memory") 64)
  (global (mut i32) (i32.const 0))
  (data (i32.const 0) "a")
  (data (i32.const 70000) "b")
  (data (i32.const 140000) "c")
  (func (export "poke") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))
"#;

#[test]
fn zero_pages_are_skipped_and_runs_coalesced() -> Result<()> {
    let engine = Engine::default();
    let wasm = export_mutable_globals(&wat::parse_str(SPARSE)?)?;
    let mut running = Running::new(&engine, &wasm)?;
    running.run(Op::Poke(20 * PAGE as i32 + 9, 1));
    running.run(Op::Poke(63 * PAGE as i32 + 7, 1));
    let captured = running.capture();
    let baked = bake(&wasm, &captured)?;
    let layout = data_layout(&baked)?;
    // Pages 0-2 are one run; 20 and 63 are apart. 5 non-zero pages over an
    // extent of 64 would be too sparse for copy-on-write, so the smallest
    // gap (17 pages) is filled: 21 of 64 pages, still too sparse; then the
    // 42-page gap. The result is dense.
    assert!(layout.cow_eligible(), "{layout:?}");
    assert!(layout.page_aligned && layout.constant_offsets && layout.in_bounds);
    assert_eq!(layout.minimum_pages, 64);
    assert_eq!(layout.passive_segments, 0);
    assert_eq!(layout.active_segments, 1);
    assert_eq!(layout.active_bytes, 64 * PAGE as u64);

    // Dense enough already: the gap stays.
    let mut running = Running::new(&engine, &wasm)?;
    for page in [10, 11, 12, 13, 14] {
        running.run(Op::Poke((page * PAGE) as i32, 1));
    }
    let baked = bake(&wasm, &running.capture())?;
    let layout = data_layout(&baked)?;
    // Pages 0-2 and 10-14: extent 15 pages < 2 x 8 pages: no filling.
    assert_eq!(layout.active_segments, 2);
    assert_eq!(layout.active_bytes, 8 * PAGE as u64);
    assert_eq!(layout.extent, 15 * PAGE as u64);
    assert!(layout.cow_eligible());
    let restored = Running::new(&engine, &baked)?.capture();
    assert!(restored.memory == running.capture().memory);
    Ok(())
}

#[test]
fn an_all_zero_memory_bakes_to_no_segment() -> Result<()> {
    let wasm = wat::parse_str(r#"(module (memory (export "memory") 3) (func))"#)?;
    let captured = Capture {
        memory: vec![0; 5 * PAGE],
        globals: vec![],
        tables: vec![],
    };
    let baked = bake(&wasm, &captured)?;
    let layout = data_layout(&baked)?;
    assert_eq!((layout.active_segments, layout.minimum_pages), (0, 5));
    let engine = Engine::default();
    assert_eq!(
        Running::new(&engine, &baked)?.capture().memory,
        captured.memory
    );
    Ok(())
}

#[test]
fn segment_positions_are_kept_only_when_code_names_segments() -> Result<()> {
    // PROGRAM uses memory.init / data.drop: its three segments stay (two
    // active ones as empty passive ones, the passive one as it was), the
    // image follows.
    let wasm = program();
    let engine = Engine::default();
    let instrumented = export_mutable_globals(&wasm)?;
    let mut running = Running::new(&engine, &instrumented)?;
    let layout = data_layout(&bake(&instrumented, &running.capture())?)?;
    assert_eq!(layout.passive_segments, 3);
    assert_eq!(layout.active_segments, 1, "{layout:?}"); // pages 0-1, one run

    // SPARSE names no segment: its segments are replaced outright.
    let sparse = export_mutable_globals(&wat::parse_str(SPARSE)?)?;
    let captured = Running::new(&engine, &sparse)?.capture();
    let layout = data_layout(&bake(&sparse, &captured)?)?;
    assert_eq!((layout.passive_segments, layout.active_segments), (0, 1));
    Ok(())
}

#[test]
fn modules_that_cannot_be_baked_are_refused() -> Result<()> {
    let capture = |pages: usize, globals: Vec<(u32, GlobalValue)>| Capture {
        memory: vec![0; pages * PAGE],
        globals,
        tables: vec![],
    };
    let two = wat::parse_str(r#"(module (import "env" "memory" (memory 1)) (memory 1))"#)?;
    assert_eq!(
        bake(&two, &capture(1, vec![])),
        Err(Error::SeveralMemories { count: 2 })
    );
    assert_eq!(
        bake(&wat::parse_str("(module)")?, &capture(1, vec![])),
        Err(Error::NoMemory)
    );

    let wasm = wat::parse_str(
        r#"(module (import "env" "g" (global i32)) (memory 2 4)
                   (global (mut i32) (i32.const 0)) (global i64 (i64.const 0)))"#,
    )?;
    let ok = vec![(1, GlobalValue::I32(5))];
    assert!(bake(&wasm, &capture(2, ok.clone())).is_ok());
    let cases = [
        (
            Capture {
                memory: vec![0; PAGE + 1],
                ..capture(0, ok.clone())
            },
            Error::MemoryNotPageSized { len: PAGE + 1 },
        ),
        (
            capture(1, ok.clone()),
            Error::MemoryBelowMinimum {
                pages: 1,
                minimum: 2,
            },
        ),
        (
            capture(5, ok.clone()),
            Error::MemoryAboveMaximum {
                pages: 5,
                maximum: 4,
            },
        ),
        (capture(2, vec![]), Error::MissingGlobal { index: 1 }),
        (
            capture(2, vec![(0, GlobalValue::I32(1)), (1, GlobalValue::I32(1))]),
            Error::GlobalNotDefined { index: 0 },
        ),
        (
            capture(2, vec![(1, GlobalValue::I32(1)), (2, GlobalValue::I64(1))]),
            Error::GlobalImmutable { index: 2 },
        ),
        (
            capture(2, vec![(1, GlobalValue::I32(1)), (3, GlobalValue::I32(1))]),
            Error::GlobalNotDefined { index: 3 },
        ),
        (
            capture(2, vec![(1, GlobalValue::F64(1))]),
            Error::GlobalTypeMismatch {
                index: 1,
                expected: "i32".into(),
                found: "f64".into(),
            },
        ),
        (
            capture(2, vec![(1, GlobalValue::I32(1)), (1, GlobalValue::I32(2))]),
            Error::DuplicateGlobal { index: 1 },
        ),
    ];
    for (capture, expected) in cases {
        assert_eq!(bake(&wasm, &capture), Err(expected));
    }
    Ok(())
}

#[test]
fn baked_globals_keep_float_bit_patterns() -> Result<()> {
    let wasm = wat::parse_str(
        r#"(module (memory 1)
             (global (export "a") (mut f32) (f32.const 0))
             (global (export "b") (mut f64) (f64.const 0)))"#,
    )?;
    let nan32 = 0x7fa0_0001u32; // a signalling NaN with a payload
    let nan64 = 0xfff0_0000_0000_0abcu64;
    let captured = Capture {
        memory: vec![0; PAGE],
        globals: vec![(0, GlobalValue::F32(nan32)), (1, GlobalValue::F64(nan64))],
        tables: vec![],
    };
    let engine = Engine::default();
    let mut restored = Running::new(&engine, &bake(&wasm, &captured)?)?;
    let get = |r: &mut Running, name: &str| {
        let global = r.instance.get_global(&mut r.store, name).unwrap();
        global.get(&mut r.store)
    };
    assert!(matches!(get(&mut restored, "a"), Val::F32(bits) if bits == nan32));
    assert!(matches!(get(&mut restored, "b"), Val::F64(bits) if bits == nan64));
    Ok(())
}

/// A relocatable main module in miniature: memory, table, bases and stack
/// pointer come from the host; its data segment and element segment sit
/// at the bases; its start function "relocates" (adds the memory base to
/// a word, which must not happen twice).
const RELOCATABLE: &str = r#"
(module
  (type $op (func (param i32) (result i32)))
  (import "env" "memory" (memory 1 64))
  (import "env" "__indirect_function_table" (table 2 funcref))
  (import "env" "__memory_base" (global $mb i32))
  (import "env" "__table_base" (global $tb i32))
  (import "env" "__stack_pointer" (global $sp (mut i32)))
  (global $counter (mut i32) (i32.const 0))
  (data (global.get $mb) "\10\00\00\00relocated")
  (elem (global.get $tb) func $double $triple)
  (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $triple (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (func $relocate
    (i32.store (global.get $mb) (i32.add (i32.load (global.get $mb)) (global.get $mb))))
  (start $relocate)
  ;; counter += 1; sp -= 16; r = table[tb + (x & 1)](x); store r at
  ;; mb + 64 + 4 * counter; returns r + the relocated word.
  (func (export "step") (param $x i32) (result i32)
    (local $r i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (global.set $sp (i32.sub (global.get $sp) (i32.const 16)))
    (local.set $r (call_indirect (type $op) (local.get $x)
      (i32.add (global.get $tb) (i32.and (local.get $x) (i32.const 1)))))
    (i32.store (i32.add (i32.add (global.get $mb) (i32.const 64))
                        (i32.shl (global.get $counter) (i32.const 2)))
               (local.get $r))
    (i32.add (local.get $r) (i32.load (global.get $mb))))
  (func (export "grow") (param $pages i32) (result i32)
    (memory.grow (local.get $pages)))
  (func (export "digest") (result i64)
    (local $i i32) (local $h i64) (local $end i32)
    (local.set $h (i64.const 0xcbf29ce484222325))
    (local.set $end (i32.mul (memory.size) (i32.const 65536)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load8_u (local.get $i)))
                               (i64.const 0x100000001b3)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i64.add (local.get $h)
      (i64.add (i64.extend_i32_u (global.get $counter))
               (i64.extend_i32_u (global.get $sp))))))
"#;

/// An instance of a relocatable module and the host objects it imports.
struct Relocatable {
    store: Store<()>,
    instance: Instance,
    memory: Memory,
    stack_pointer: Global,
}

impl Relocatable {
    /// Instantiates `wasm` with the host's imports: a memory (when the
    /// module still imports one), a table of `table_len` null slots, the
    /// bases 1024 and 1, and `stack_pointer`.
    fn new(engine: &Engine, wasm: &[u8], table_len: u32, stack_pointer: i32) -> Result<Self> {
        let module = Module::new(engine, wasm)?;
        let mut store = Store::new(engine, ());
        let mut memory = None;
        let mut sp = None;
        let mut imports: Vec<Extern> = Vec::new();
        for import in module.imports() {
            let item: Extern = match import.name() {
                "memory" => {
                    let m = Memory::new(&mut store, MemoryType::new(1, Some(64)))?;
                    memory = Some(m);
                    m.into()
                }
                "__indirect_function_table" => {
                    let ty = TableType::new(wasmtime::RefType::FUNCREF, table_len, None);
                    Table::new(&mut store, ty, Ref::Func(None))?.into()
                }
                "__memory_base" | "__table_base" => {
                    let value = if import.name() == "__memory_base" {
                        1024
                    } else {
                        1
                    };
                    let ty = GlobalType::new(ValType::I32, Mutability::Const);
                    Global::new(&mut store, ty, Val::I32(value))?.into()
                }
                "__stack_pointer" => {
                    let ty = GlobalType::new(ValType::I32, Mutability::Var);
                    let g = Global::new(&mut store, ty, Val::I32(stack_pointer))?;
                    sp = Some(g);
                    g.into()
                }
                other => anyhow::bail!("unexpected import {other}"),
            };
            imports.push(item);
        }
        let instance = Instance::new(&mut store, &module, &imports)?;
        let memory = match memory {
            Some(memory) => memory,
            None => instance
                .get_memory(&mut store, "memory")
                .ok_or_else(|| anyhow::anyhow!("the baked module exports no memory"))?,
        };
        Ok(Relocatable {
            store,
            instance,
            memory,
            stack_pointer: sp.ok_or_else(|| anyhow::anyhow!("no stack pointer import"))?,
        })
    }

    fn call(&mut self, name: &str, x: i32) -> String {
        self.instance
            .get_typed_func::<i32, i32>(&mut self.store, name)
            .and_then(|f| f.call(&mut self.store, x))
            .map_or_else(|e| format!("trap: {}", e.root_cause()), |v| v.to_string())
    }

    fn digest(&mut self) -> i64 {
        let f = self
            .instance
            .get_typed_func::<(), i64>(&mut self.store, "digest")
            .unwrap();
        f.call(&mut self.store, ()).unwrap()
    }

    fn capture(&mut self) -> Capture {
        capture_with_memory(&mut self.store, &self.instance, self.memory).unwrap()
    }

    fn stack_pointer(&mut self) -> i32 {
        self.stack_pointer.get(&mut self.store).unwrap_i32()
    }
}

#[test]
fn an_imported_memory_is_baked_into_a_defined_one() -> Result<()> {
    let engine = Engine::default();
    let instrumented = export_mutable_globals(&wat::parse_str(RELOCATABLE)?)?;
    let before = data_layout(&instrumented)?;
    assert!(before.memory_imported && !before.constant_offsets);

    let mut original = Relocatable::new(&engine, &instrumented, 3, 8192)?;
    assert_eq!(original.call("grow", 2), "1");
    let mut results = Vec::new();
    for x in [4, 7, -3, 10] {
        results.push(original.call("step", x));
    }
    // 2x and 3x through the table, plus the word relocated once (16 + 1024).
    assert_eq!(results, ["1048", "1061", "1031", "1060"]);
    let captured = original.capture();
    assert_eq!(captured.memory.len(), 3 * PAGE);
    let stack_pointer = original.stack_pointer();
    assert_eq!(stack_pointer, 8192 - 4 * 16);

    let baked = bake(&instrumented, &captured)?;
    wasmparser::validate(&baked)?;
    let layout = data_layout(&baked)?;
    assert!(!layout.memory_imported, "{layout:?}");
    assert_eq!((layout.minimum_pages, layout.maximum_pages), (3, Some(64)));
    assert!(layout.cow_eligible() && !layout.has_start, "{layout:?}");

    // The host gives back the table (null slots: the element segment
    // fills them at the same base) and the captured stack pointer.
    let mut restored = Relocatable::new(&engine, &baked, 3, stack_pointer)?;
    let again = restored.capture();
    assert!(again.memory == captured.memory, "restored memory differs");
    assert_eq!(again.globals, captured.globals);
    assert_eq!(restored.digest(), original.digest());
    for x in [5, 6, 0, -11] {
        assert_eq!(
            restored.call("step", x),
            original.call("step", x),
            "step {x}"
        );
    }
    assert_eq!(restored.call("grow", 1), original.call("grow", 1));
    assert_eq!(restored.digest(), original.digest());
    assert_eq!(restored.stack_pointer(), original.stack_pointer());
    assert!(restored.capture() == original.capture());

    // The baked module can be baked again (it is its own instrumentation).
    let rebaked = bake(&export_mutable_globals(&baked)?, &restored.capture())?;
    wasmparser::validate(&rebaked)?;
    assert!(data_layout(&rebaked)?.cow_eligible());
    Ok(())
}

/// Imported globals (an Emscripten main module's `GOT.func`/`GOT.mem`
/// entries) become defined, exported globals holding the given values; the
/// code still reads and writes them at the same indices, and the module
/// keeps only its function imports.
#[test]
fn imported_globals_become_defined_exported_globals() -> Result<()> {
    let wasm = wat::parse_str(
        r#"(module
             (import "env" "tick" (func $tick (result i32)))
             (import "GOT.func" "f" (global $f (mut i32)))
             (import "env" "base" (global $base i32))
             (import "GOT.mem" "m" (global $m (mut i32)))
             (memory (export "memory") 1)
             (global $own (mut i32) (i32.const 1))
             (func (export "sum") (result i32)
               (i32.add (call $tick)
                 (i32.add (global.get $f)
                   (i32.add (global.get $base)
                     (i32.add (global.get $m) (global.get $own))))))
             (func (export "bump") (global.set $m (i32.add (global.get $m) (i32.const 1)))))"#,
    )?;
    let captured = Capture {
        memory: vec![0; PAGE],
        globals: vec![(3, GlobalValue::I32(1000))],
        tables: vec![],
    };
    let values = vec![
        ("GOT.mem".to_owned(), "m".to_owned(), GlobalValue::I32(30)),
        ("GOT.func".to_owned(), "f".to_owned(), GlobalValue::I32(7)),
        ("env".to_owned(), "base".to_owned(), GlobalValue::I32(200)),
    ];
    let options = BakeOptions {
        define_imported_globals: Some(values.clone()),
    };
    let baked = bake_with(&wasm, &captured, &options)?;

    let engine = Engine::default();
    let module = Module::new(&engine, &baked)?;
    let imports: Vec<_> = module
        .imports()
        .map(|i| (i.module().to_owned(), i.name().to_owned()))
        .collect();
    assert_eq!(imports, vec![("env".to_owned(), "tick".to_owned())]);
    let mut store = Store::new(&engine, ());
    let tick = wasmtime::Func::wrap(&mut store, || 4i32);
    let instance = Instance::new(&mut store, &module, &[tick.into()])?;
    let sum = instance.get_typed_func::<(), i32>(&mut store, "sum")?;
    assert_eq!(sum.call(&mut store, ())?, 4 + 7 + 200 + 30 + 1000);
    let got = |store: &mut Store<()>, name: &str| {
        instance
            .get_global(&mut *store, name)
            .map(|g| (g.get(&mut *store).i32(), g.ty(&*store).mutability()))
    };
    assert_eq!(
        got(&mut store, &defined_import_export_name("GOT.func", "f")),
        Some((Some(7), Mutability::Var))
    );
    assert_eq!(
        got(&mut store, "env.base"),
        Some((Some(200), Mutability::Const))
    );
    // The host sees the code's writes through the export, and the other way
    // round.
    instance
        .get_typed_func::<(), ()>(&mut store, "bump")?
        .call(&mut store, ())?;
    assert_eq!(
        got(&mut store, "GOT.mem.m"),
        Some((Some(31), Mutability::Var))
    );
    let m = instance.get_global(&mut store, "GOT.mem.m").unwrap();
    m.set(&mut store, Val::I32(50))?;
    assert_eq!(sum.call(&mut store, ())?, 4 + 7 + 200 + 50 + 1000);

    // All or nothing, and each value must fit its import.
    let missing = BakeOptions {
        define_imported_globals: Some(values[..2].to_vec()),
    };
    assert_eq!(
        bake_with(&wasm, &captured, &missing),
        Err(Error::MissingImportedGlobal {
            module: "env".into(),
            name: "base".into()
        })
    );
    let mut extra = values.clone();
    extra.push(("env".into(), "tick".into(), GlobalValue::I32(0)));
    assert_eq!(
        bake_with(
            &wasm,
            &captured,
            &BakeOptions {
                define_imported_globals: Some(extra)
            }
        ),
        Err(Error::UnknownImportedGlobal {
            module: "env".into(),
            name: "tick".into()
        })
    );
    let mut wrong = values.clone();
    wrong[2].2 = GlobalValue::I64(200);
    assert_eq!(
        bake_with(
            &wasm,
            &captured,
            &BakeOptions {
                define_imported_globals: Some(wrong)
            }
        ),
        Err(Error::ImportedGlobalType {
            module: "env".into(),
            name: "base".into(),
            expected: "i32".into(),
            found: "i64".into()
        })
    );
    Ok(())
}
