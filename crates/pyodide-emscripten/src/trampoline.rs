//! The C-call trampoline in wasm.
//!
//! CPython on Emscripten calls C functions (methods, getters, setters)
//! through a trampoline that tolerates functions declaring fewer
//! parameters than the call passes. Without help it calls the import
//! `_PyEM_TrampolineCall_JS` (a host call per C call, see `ffi`). 314.x
//! also accepts a wasm function in `_PyRuntime.emscripten_trampoline`,
//! whose signature is `(int *success, func, a1, a2, a3) -> result`. This
//! module is ours: it tests the table entry's type with `ref.test` and
//! calls it with `call_ref`, so C calls never leave wasm; a function of any
//! other type makes it report failure (CPython raises `SystemError`), as
//! Pyodide's own trampoline does.

use wasmtime::{Instance, Module, Ref, Store, Val};

use crate::{EmscriptenInstance, Error, ModuleCache};

const TRAMPOLINE_WAT: &str = r#"
(module
  (type $args0 (func (result i32)))
  (type $args1 (func (param i32) (result i32)))
  (type $args2 (func (param i32 i32) (result i32)))
  (type $args3 (func (param i32 i32 i32) (result i32)))
  (import "env" "table" (table $table 0 funcref))
  (import "env" "memory" (memory 0))
  (func (export "trampoline")
        (param $success i32) (param $f i32) (param $a i32) (param $b i32) (param $c i32)
        (result i32)
    (local $target funcref)
    (local.set $target (table.get $table (local.get $f)))
    (if (ref.test (ref $args3) (local.get $target))
      (then (return (call_ref $args3 (local.get $a) (local.get $b) (local.get $c)
                                     (ref.cast (ref $args3) (local.get $target))))))
    (if (ref.test (ref $args2) (local.get $target))
      (then (return (call_ref $args2 (local.get $a) (local.get $b)
                                     (ref.cast (ref $args2) (local.get $target))))))
    (if (ref.test (ref $args1) (local.get $target))
      (then (return (call_ref $args1 (local.get $a)
                                     (ref.cast (ref $args1) (local.get $target))))))
    (if (ref.test (ref $args0) (local.get $target))
      (then (return (call_ref $args0 (ref.cast (ref $args0) (local.get $target))))))
    (i32.store (local.get $success) (i32.const 0))
    (i32.const 0)))
"#;

/// The compiled trampoline module (compile once per engine).
#[derive(Debug, Clone)]
pub struct CallTrampoline {
    module: Module,
}

impl CallTrampoline {
    /// The trampoline for the engine of `cache`, compiled once and then
    /// loaded from the cache like any module.
    pub fn new(cache: &ModuleCache) -> Result<Self, Error> {
        let wasm = wat::parse_str(TRAMPOLINE_WAT).map_err(|e| Error::Compile {
            name: "call trampoline".to_owned(),
            source: Box::new(e),
        })?;
        Ok(CallTrampoline {
            module: cache.load("call trampoline", &wasm)?.module,
        })
    }

    /// Installs the trampoline into `instance` if its CPython supports one
    /// (it exports `_PyEM_EMSCRIPTEN_TRAMPOLINE_OFFSET`): instantiates it on
    /// the instance's table and memory, appends it to the table and writes
    /// the slot into `_PyRuntime`. Call before `main`. Returns whether it
    /// was installed; when not, C calls use the `_PyEM_TrampolineCall_JS`
    /// import.
    pub fn install<T>(
        &self,
        store: &mut Store<T>,
        instance: &EmscriptenInstance,
    ) -> Result<bool, Error> {
        let main = instance.instance();
        let (Some(runtime), Some(offset)) = (
            main.get_global(&mut *store, "_PyRuntime"),
            main.get_global(&mut *store, "_PyEM_EMSCRIPTEN_TRAMPOLINE_OFFSET"),
        ) else {
            return Ok(false);
        };
        let (Val::I32(runtime), Val::I32(offset_addr)) =
            (runtime.get(&mut *store), offset.get(&mut *store))
        else {
            return Ok(false);
        };
        let offset = u32::from_le_bytes(
            instance
                .read(store, offset_addr as u32, 4)?
                .try_into()
                .expect("4 bytes"),
        );
        let table = instance.table();
        let ours = Instance::new(
            &mut *store,
            &self.module,
            &[table.into(), instance.memory().into()],
        )
        .map_err(|e| Error::Instantiate {
            name: "call trampoline".to_owned(),
            source: crate::boxed(e),
        })?;
        let func = ours
            .get_func(&mut *store, "trampoline")
            .ok_or(Error::MissingExport("trampoline"))?;
        let slot = table
            .grow(&mut *store, 1, Ref::Func(Some(func)))
            .map_err(|e| Error::Instantiate {
                name: "call trampoline".to_owned(),
                source: crate::boxed(e),
            })?;
        instance.write(
            store,
            (runtime as u32).wrapping_add(offset),
            &(slot as u32).to_le_bytes(),
        )?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EmscriptenCtx, EngineSettings, add_to_linker};
    use wasmtime::Linker;

    /// A stand-in for CPython: `_PyRuntime` at 1000 with the trampoline
    /// field at offset 16 (the offset itself stored at 900), functions of
    /// 0–3 parameters and one of a foreign type in the table, and `call`,
    /// which does what `_PyEM_TrampolineCall` does with the field.
    const MAIN: &str = r#"
    (module
      (type $tramp (func (param i32 i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (table (export "__indirect_function_table") 8 funcref)
      (global (export "_PyRuntime") i32 (i32.const 1000))
      (global (export "_PyEM_EMSCRIPTEN_TRAMPOLINE_OFFSET") i32 (i32.const 900))
      (data (i32.const 900) "\10\00\00\00")
      (func $f0 (result i32) i32.const 100)
      (func $f1 (param i32) (result i32) local.get 0)
      (func $f2 (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
      (func $f3 (param i32 i32 i32) (result i32) (i32.add (i32.add (local.get 0) (local.get 1)) (local.get 2)))
      (func $odd (param i64) (result i32) i32.const -1)
      (elem (i32.const 1) func $f0 $f1 $f2 $f3 $odd)
      (func (export "malloc") (param i32) (result i32) i32.const 2048)
      (func (export "free") (param i32))
      ;; returns the callee's result, or -99 when the trampoline reported failure
      (func (export "call") (param $f i32) (result i32)
        (local $result i32)
        (i32.store (i32.const 500) (i32.const 1))
        (local.set $result
          (call_indirect (type $tramp) (i32.const 500) (local.get $f) (i32.const 1) (i32.const 20) (i32.const 300)
            (i32.load (i32.add (global.get 0) (i32.load (i32.const 900))))))
        (if (result i32) (i32.load (i32.const 500)) (then (local.get $result)) (else (i32.const -99)))))
    "#;

    #[test]
    fn passes_as_many_arguments_as_the_callee_takes_and_refuses_other_types() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ModuleCache::new(EngineSettings::default(), dir.path()).unwrap();
        let engine = cache.engine().clone();
        let module = Module::new(&engine, MAIN).unwrap();
        let mut linker: Linker<EmscriptenCtx> = Linker::new(&engine);
        add_to_linker(&mut linker, |ctx| ctx).unwrap();
        let mut store = Store::new(&engine, EmscriptenCtx::builder().build());
        let instance =
            EmscriptenInstance::instantiate(&mut store, &linker, &module, None, |c| c).unwrap();
        let trampoline = CallTrampoline::new(&cache).unwrap();
        assert!(trampoline.install(&mut store, &instance).unwrap());
        let call = instance
            .typed_func::<_, i32, i32>(&mut store, "call")
            .unwrap();
        let results: Vec<i32> = (1..=5)
            .map(|slot| call.call(&mut store, slot).unwrap())
            .collect();
        assert_eq!(results, vec![100, 1, 21, 321, -99]);
    }

    #[test]
    fn modules_without_the_field_keep_the_import_path() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ModuleCache::new(EngineSettings::default(), dir.path()).unwrap();
        let engine = cache.engine().clone();
        let plain = r#"(module (memory (export "memory") 1) (table (export "__indirect_function_table") 1 funcref)
            (func (export "malloc") (param i32) (result i32) i32.const 0) (func (export "free") (param i32)))"#;
        let module = Module::new(&engine, plain).unwrap();
        let linker: Linker<EmscriptenCtx> = Linker::new(&engine);
        let mut store = Store::new(&engine, EmscriptenCtx::builder().build());
        let instance =
            EmscriptenInstance::instantiate(&mut store, &linker, &module, None, |c| c).unwrap();
        assert!(
            !CallTrampoline::new(&cache)
                .unwrap()
                .install(&mut store, &instance)
                .unwrap()
        );
    }
}
