//! Instantiating an Emscripten main module and running it up to `main`:
//! imports resolved (host functions, the `GOT.func` globals, and for a
//! relocatable module its memory, table, bases, stack globals and tags),
//! data relocations, constructors, then `__main_argc_argv`.

use wasmtime::{
    AsContextMut, Extern, ExternType, Func, Global, Instance, InstancePre, Linker, Memory, Module,
    Ref, Store, Table, Tag, TypedFunc, Val,
};

use std::sync::Arc;

use crate::ctx::Handles;
use crate::dylink::DylinkInfo;
use crate::linker::CtxGetter;
use crate::{Error, GuestExit, UnsupportedImport};

/// Where a relocatable main module's data starts (what Emscripten's loader
/// uses: the first 1 KiB stays unmapped-by-convention).
const RELOCATABLE_MEMORY_BASE: u32 = 1024;
/// Table slot 0 is the null function pointer.
const RELOCATABLE_TABLE_BASE: u32 = 1;
/// Shadow stack of a relocatable main module (Emscripten's default).
const RELOCATABLE_STACK_SIZE: u32 = 5 << 20;

/// What the imports of an instance restored from a snapshot get back: the
/// values the host gave the instance that was captured (a relocatable
/// module's bases, stack globals and `GOT` entries, its table's length).
/// The module is a baked one: its memory is its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoredImports {
    /// Imported globals: (module, name, value); the others get 0.
    pub globals: Vec<(String, String, i32)>,
    /// The length of an imported function table (its slots start null;
    /// the module's element segments fill theirs again).
    pub table_len: u64,
}

/// How the imports of an instance are given values.
enum Plan<'a> {
    /// A fresh start: a relocatable module is laid out by the host.
    Boot(Option<RelocatableLayout>),
    /// A restore from a snapshot.
    Restore(&'a RestoredImports),
}

/// An instantiated Emscripten main module and the exports the host drives.
#[derive(Clone)]
pub struct EmscriptenInstance {
    instance: Instance,
    memory: Memory,
    table: Table,
    malloc: TypedFunc<i32, i32>,
    free: TypedFunc<i32, ()>,
    imported_globals: Arc<[(String, String, Global)]>,
    initial_table_len: u64,
    /// Where a relocatable module's data starts (its exported data
    /// addresses are relative to it); 0 otherwise.
    memory_base: u32,
}

impl std::fmt::Debug for EmscriptenInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmscriptenInstance")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl EmscriptenInstance {
    /// Instantiates `module` in `store` with the imports of `linker` (see
    /// [`crate::add_to_linker`]); function imports nobody defines trap with
    /// their name when called. `dylink` is the module's `dylink.0` metadata
    /// (see [`crate::dylink::read_dylink_info`]); a relocatable module (one
    /// that imports its memory) needs it to be laid out. Attaches the host
    /// state to the instance and applies data relocations, but runs no
    /// constructor yet.
    pub fn instantiate<T: 'static>(
        store: &mut Store<T>,
        linker: &Linker<T>,
        module: &Module,
        dylink: Option<&DylinkInfo>,
        get: CtxGetter<T>,
    ) -> Result<Self, Error> {
        let layout = match dylink {
            Some(info) if imports_memory(module) => Some(RelocatableLayout::new(info)),
            None if imports_memory(module) => return Err(Error::MissingDylink),
            _ => None,
        };
        Self::instantiate_with(store, linker, module, Plan::Boot(layout), get)
    }

    /// Instantiates a module baked from a snapshot (see
    /// `pyodide-snapshot`): as [`EmscriptenInstance::instantiate`], but the
    /// imported globals and table get what `restored` says, and no data
    /// relocation runs (the baked memory holds the relocated data).
    pub fn instantiate_restored<T: 'static>(
        store: &mut Store<T>,
        linker: &Linker<T>,
        module: &Module,
        restored: &RestoredImports,
        get: CtxGetter<T>,
    ) -> Result<Self, Error> {
        Self::instantiate_with(store, linker, module, Plan::Restore(restored), get)
    }

    fn instantiate_with<T: 'static>(
        store: &mut Store<T>,
        linker: &Linker<T>,
        module: &Module,
        plan: Plan<'_>,
        get: CtxGetter<T>,
    ) -> Result<Self, Error> {
        let given: std::collections::HashMap<(&str, &str), u32> = match &plan {
            Plan::Boot(_) => Default::default(),
            Plan::Restore(restored) => restored
                .globals
                .iter()
                .map(|(m, n, value)| ((m.as_str(), n.as_str()), *value as u32))
                .collect(),
        };
        let restored_global = |m: &str, name: &str| match &plan {
            Plan::Boot(layout) => layout.as_ref().and_then(|l| l.global(m, name)),
            Plan::Restore(_) => given.get(&(m, name)).copied(),
        };
        let mut imported_globals = Vec::new();
        let mut own_memory = None;
        let mut own_table = None;
        let mut imports = Vec::new();
        // What side modules share with the main module (see `dlopen`).
        let mut shared = std::collections::HashMap::new();
        let mut got = Vec::new();
        for import in module.imports() {
            let (m, name) = (import.module(), import.name());
            let value: Extern = match import.ty() {
                ExternType::Func(ty) => match linker.get(&mut *store, m, name).ok() {
                    Some(defined) => defined,
                    None => {
                        let name = format!("{m}.{name}");
                        Func::new(&mut *store, ty, move |_, _, _| {
                            Err(wasmtime::Error::new(UnsupportedImport {
                                name: name.clone(),
                            }))
                        })
                        .into()
                    }
                },
                ExternType::Global(ty) => {
                    let value = restored_global(m, name).unwrap_or(0);
                    let global = Global::new(&mut *store, ty, Val::I32(value as i32))
                        .map_err(|e| Error::instantiate(module, e))?;
                    imported_globals.push((m.to_owned(), name.to_owned(), global));
                    global.into()
                }
                ExternType::Memory(ty) => {
                    let memory =
                        Memory::new(&mut *store, ty).map_err(|e| Error::instantiate(module, e))?;
                    own_memory = Some(memory);
                    memory.into()
                }
                ExternType::Table(ty) => {
                    let needed = match &plan {
                        Plan::Boot(layout) => layout.as_ref().map_or(0, |l| u64::from(l.table_end)),
                        Plan::Restore(restored) => restored.table_len,
                    };
                    let ty = wasmtime::TableType::new(
                        ty.element().clone(),
                        ty.minimum().max(needed) as u32,
                        ty.maximum().map(|m| m as u32),
                    );
                    let table = Table::new(&mut *store, ty, Ref::Func(None));
                    let table = table.map_err(|e| Error::instantiate(module, e))?;
                    own_table = Some(table);
                    table.into()
                }
                ExternType::Tag(ty) => Tag::new(&mut *store, &ty)
                    .map_err(|e| Error::instantiate(module, e))?
                    .into(),
            };
            match (m, &value) {
                ("GOT.mem" | "GOT.func", Extern::Global(global)) => {
                    got.push((name.to_owned(), *global));
                }
                ("env" | "wasi_snapshot_preview1", _) => {
                    shared.insert(name.to_owned(), value.clone());
                }
                _ => {}
            }
            imports.push(value);
        }
        let instance = Instance::new(&mut *store, module, &imports)
            .map_err(|e| Error::instantiate(module, e))?;
        let memory_base = restored_global("env", "__memory_base").unwrap_or(0);
        let mut this = Self::attach(
            store,
            instance,
            own_memory,
            own_table,
            get,
            imported_globals,
            |dylinker| dylinker.attach_main(instance, memory_base, shared, got),
        )?;
        this.memory_base = memory_base;
        if matches!(plan, Plan::Boot(Some(_))) {
            this.call_export(store, "__wasm_apply_data_relocs")?;
        }
        Ok(this)
    }

    /// Instantiates a module all of whose imports are functions of the
    /// linker `pre` was made from (a snapshot's module baked with its
    /// imported globals defined, see `pyodide_snapshot::bake_with`): no
    /// import is resolved per instance. The dynamic linker finds what the
    /// host provides in `linker` (the one `pre` came from) and the `GOT`
    /// entries among the module's exports (`GOT.func.<name>`,
    /// `GOT.mem.<name>`) when a side module first needs them.
    pub fn instantiate_pre<T: 'static>(
        store: &mut Store<T>,
        pre: &InstancePre<T>,
        linker: Arc<Linker<T>>,
        get: CtxGetter<T>,
    ) -> Result<Self, Error> {
        let instance = pre
            .instantiate(&mut *store)
            .map_err(|e| Error::instantiate(pre.module(), e))?;
        Self::attach(store, instance, None, None, get, Vec::new(), |dylinker| {
            dylinker.attach_main_linked(instance, linker)
        })
    }

    /// What every instantiation ends with: the memory and table found, the
    /// host state given its handles, the dynamic linker told of the main
    /// module (by `attach`).
    fn attach<T: 'static>(
        store: &mut Store<T>,
        instance: Instance,
        own_memory: Option<Memory>,
        own_table: Option<Table>,
        get: CtxGetter<T>,
        imported_globals: Vec<(String, String, Global)>,
        attach: impl FnOnce(&mut crate::dlopen::DynamicLinker),
    ) -> Result<Self, Error> {
        let memory = match own_memory {
            Some(memory) => memory,
            None => instance
                .get_memory(&mut *store, "memory")
                .ok_or(Error::MissingExport("memory"))?,
        };
        let table = match own_table {
            Some(table) => table,
            None => instance
                .get_table(&mut *store, "__indirect_function_table")
                .ok_or(Error::MissingExport("__indirect_function_table"))?,
        };
        let malloc = typed(&instance, &mut *store, "malloc")?;
        let free = typed(&instance, &mut *store, "free")?;
        let handles = Handles {
            memory,
            table,
            free: Some(free.clone()),
            memalign: instance
                .get_typed_func(&mut *store, "emscripten_builtin_memalign")
                .ok(),
            funcs_on_exit: instance.get_typed_func(&mut *store, "__funcs_on_exit").ok(),
            fflush: instance.get_typed_func(&mut *store, "fflush").ok(),
            set_interrupt: instance
                .get_typed_func(&mut *store, "PyErr_SetInterruptEx")
                .ok(),
        };
        let ctx = get(store.data_mut());
        ctx.handles = Some(handles);
        attach(&mut ctx.dylinker);

        let initial_table_len = table.size(&*store);
        Ok(EmscriptenInstance {
            instance,
            memory,
            table,
            malloc,
            free,
            imported_globals: imported_globals.into(),
            initial_table_len,
            memory_base: 0,
        })
    }

    /// The wasmtime instance.
    pub fn instance(&self) -> &Instance {
        &self.instance
    }

    /// The linear memory.
    pub fn memory(&self) -> Memory {
        self.memory
    }

    /// The function table (`__indirect_function_table`).
    pub fn table(&self) -> Table {
        self.table
    }

    /// The globals the host created for the module's global imports:
    /// (module, name, global), in import order. Their values at a capture
    /// are what [`RestoredImports::globals`] gives back.
    pub fn imported_globals(&self) -> &[(String, String, Global)] {
        &self.imported_globals
    }

    /// The current value of the module's imported global `module`.`name`:
    /// the global the host created for it, or — in a module baked with its
    /// imported globals defined — the global exported in its place.
    pub fn global_import_value<T>(
        &self,
        store: &mut Store<T>,
        module: &str,
        name: &str,
    ) -> Option<Val> {
        if let Some((_, _, global)) = self
            .imported_globals
            .iter()
            .find(|(m, n, _)| m == module && n == name)
        {
            return Some(global.get(&mut *store));
        }
        let export = format!("{module}.{name}");
        Some(
            self.instance
                .get_global(&mut *store, &export)?
                .get(&mut *store),
        )
    }

    /// The function table's length right after instantiation (before the
    /// host or the guest added anything).
    pub fn initial_table_len(&self) -> u64 {
        self.initial_table_len
    }

    /// Runs `__wasm_call_ctors` (which also initialises the stack limits
    /// and copies the environment).
    pub fn call_ctors<T>(&self, store: &mut Store<T>) -> Result<(), Error> {
        self.call_export(store, "__wasm_call_ctors")
    }

    /// Narrows the shadow-stack range that C code sees as its stack (through
    /// `emscripten_stack_get_base`/`_end`) to its top `window` bytes. Call
    /// after the constructors and before `main`: CPython 3.14 derives its
    /// C-recursion limit from this range when it starts, so a smaller range
    /// turns runaway C recursion into `RecursionError` before the native
    /// wasm stack runs out (which would be a trap).
    pub fn limit_c_stack<T>(&self, store: &mut Store<T>, window: u32) -> Result<(), Error> {
        let get_base: TypedFunc<(), i32> =
            typed(&self.instance, &mut *store, "emscripten_stack_get_base")?;
        let get_end: TypedFunc<(), i32> =
            typed(&self.instance, &mut *store, "emscripten_stack_get_end")?;
        let set: TypedFunc<(i32, i32), ()> =
            typed(&self.instance, &mut *store, "emscripten_stack_set_limits")?;
        let base = get_base
            .call(&mut *store, ())
            .map_err(|e| Error::trap("emscripten_stack_get_base", e))? as u32;
        let end = get_end
            .call(&mut *store, ())
            .map_err(|e| Error::trap("emscripten_stack_get_end", e))? as u32;
        let narrowed = end.max(base.saturating_sub(window));
        set.call(&mut *store, (base as i32, narrowed as i32))
            .map_err(|e| Error::trap("emscripten_stack_set_limits", e))
    }

    /// Calls `__main_argc_argv` with `argv` placed on the shadow stack and
    /// returns `main`'s result (or the status of an `exit` during `main`).
    pub fn call_main<T>(&self, store: &mut Store<T>, argv: &[&str]) -> Result<i32, Error> {
        let stack_alloc: TypedFunc<i32, i32> =
            typed(&self.instance, &mut *store, "_emscripten_stack_alloc")?;
        let mut pointers = Vec::with_capacity(argv.len() + 1);
        for arg in argv {
            let ptr = stack_alloc
                .call(&mut *store, arg.len() as i32 + 1)
                .map_err(|e| Error::trap("main", e))?;
            let mut bytes = arg.as_bytes().to_vec();
            bytes.push(0);
            self.write(store, ptr as u32, &bytes)?;
            pointers.push(ptr as u32);
        }
        pointers.push(0);
        let table_bytes: Vec<u8> = pointers.iter().flat_map(|p| p.to_le_bytes()).collect();
        let argv_ptr = stack_alloc
            .call(&mut *store, table_bytes.len() as i32)
            .map_err(|e| Error::trap("main", e))?;
        self.write(store, argv_ptr as u32, &table_bytes)?;
        let main: TypedFunc<(i32, i32), i32> =
            typed(&self.instance, &mut *store, "__main_argc_argv")?;
        match main.call(&mut *store, (argv.len() as i32, argv_ptr)) {
            Ok(status) => Ok(status),
            Err(e) => match e.downcast_ref::<GuestExit>() {
                Some(GuestExit(status)) => Ok(*status),
                None => Err(Error::trap("main", e)),
            },
        }
    }

    /// Turns CPython's signal hook on (its `Py_EMSCRIPTEN_SIGNAL_HANDLING`
    /// flag): from then on Python code takes an interrupt from the
    /// context's [`crate::InterruptHandle`] within 50 checks of its eval
    /// breaker, at the cost of one import call per 50 checks. Returns
    /// `false` for a module without the hook.
    pub fn enable_interrupts<T>(&self, store: &mut Store<T>) -> Result<bool, Error> {
        let Some(flag) = self
            .instance
            .get_global(&mut *store, "Py_EMSCRIPTEN_SIGNAL_HANDLING")
        else {
            return Ok(false);
        };
        let Val::I32(address) = flag.get(&mut *store) else {
            return Ok(false);
        };
        let address = (address as u32).wrapping_add(self.memory_base);
        self.write(store, address, &1i32.to_le_bytes())?;
        Ok(true)
    }

    /// Copies `bytes` into guest memory at `ptr`.
    pub fn write<T>(&self, store: &mut Store<T>, ptr: u32, bytes: &[u8]) -> Result<(), Error> {
        self.memory
            .write(store, ptr as usize, bytes)
            .map_err(|_| Error::OutOfBounds {
                ptr,
                len: bytes.len(),
            })
    }

    /// Copies `len` bytes out of guest memory at `ptr`.
    pub fn read<T>(&self, store: &mut Store<T>, ptr: u32, len: usize) -> Result<Vec<u8>, Error> {
        let mut out = vec![0; len];
        self.memory
            .read(store, ptr as usize, &mut out)
            .map_err(|_| Error::OutOfBounds { ptr, len })?;
        Ok(out)
    }

    /// Copies `bytes` plus a NUL into a fresh `malloc` block; free it with
    /// [`EmscriptenInstance::free`].
    pub fn malloc_c_string<T>(&self, store: &mut Store<T>, bytes: &[u8]) -> Result<u32, Error> {
        let ptr = self
            .malloc
            .call(&mut *store, bytes.len() as i32 + 1)
            .map_err(|e| Error::trap("malloc", e))?;
        if ptr == 0 {
            return Err(Error::OutOfMemory {
                bytes: bytes.len() + 1,
            });
        }
        let mut with_nul = bytes.to_vec();
        with_nul.push(0);
        self.write(store, ptr as u32, &with_nul)?;
        Ok(ptr as u32)
    }

    /// `free(ptr)`.
    pub fn free<T>(&self, store: &mut Store<T>, ptr: u32) -> Result<(), Error> {
        self.free
            .call(store, ptr as i32)
            .map_err(|e| Error::trap("free", e))
    }

    /// A typed export of the module.
    pub fn typed_func<T, P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        &self,
        store: &mut Store<T>,
        name: &'static str,
    ) -> Result<TypedFunc<P, R>, Error> {
        typed(&self.instance, store, name)
    }

    fn call_export<T>(&self, store: &mut Store<T>, name: &'static str) -> Result<(), Error> {
        let func: TypedFunc<(), ()> = typed(&self.instance, &mut *store, name)?;
        func.call(store, ()).map_err(|e| Error::trap(name, e))
    }
}

fn typed<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
    instance: &Instance,
    mut store: impl AsContextMut,
    name: &'static str,
) -> Result<TypedFunc<P, R>, Error> {
    instance
        .get_typed_func(&mut store, name)
        .map_err(|e| Error::ExportType {
            name,
            source: crate::boxed(e),
        })
}

fn imports_memory(module: &Module) -> bool {
    module
        .imports()
        .any(|i| matches!(i.ty(), ExternType::Memory(_)))
}

/// Addresses the host gives a relocatable main module, derived from its
/// `dylink.0` memory and table sizes the way Emscripten's loader lays out
/// memory: data at 1024, then the shadow stack, then the heap.
struct RelocatableLayout {
    stack_low: u32,
    stack_high: u32,
    table_end: u32,
}

impl RelocatableLayout {
    fn new(info: &DylinkInfo) -> Self {
        let data_end = RELOCATABLE_MEMORY_BASE + info.mem_size;
        let stack_low = data_end.div_ceil(16) * 16;
        let stack_high = stack_low + RELOCATABLE_STACK_SIZE;
        RelocatableLayout {
            stack_low,
            stack_high,
            table_end: RELOCATABLE_TABLE_BASE + info.table_size,
        }
    }

    fn global(&self, module: &str, name: &str) -> Option<u32> {
        Some(match (module, name) {
            ("env", "__memory_base") => RELOCATABLE_MEMORY_BASE,
            ("env", "__table_base") => RELOCATABLE_TABLE_BASE,
            ("env", "__stack_pointer") => self.stack_high,
            ("GOT.mem", "__stack_low") => self.stack_low,
            ("GOT.mem", "__stack_high") => self.stack_high,
            ("GOT.mem", "__heap_base") => self.stack_high,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EmscriptenCtx, EngineSettings, GuestAbort, add_to_linker, new_engine};

    const MODULE: &str = r#"
    (module
      (import "env" "not_a_real_import" (func $missing (param i32) (result i32)))
      (import "env" "exit" (func $exit (param i32)))
      (import "env" "_abort_js" (func $abort))
      (memory (export "memory") 1)
      (table (export "__indirect_function_table") 1 funcref)
      (func (export "malloc") (param i32) (result i32) i32.const 1024)
      (func (export "free") (param i32))
      (func (export "call_missing") (result i32) (call $missing (i32.const 1)))
      (func (export "exit_7") (call $exit (i32.const 7)))
      (func (export "abort") (call $abort)))
    "#;

    fn setup() -> (Store<EmscriptenCtx>, EmscriptenInstance) {
        let engine = new_engine(&EngineSettings::default()).unwrap();
        let module = Module::new(&engine, MODULE).unwrap();
        let mut linker: Linker<EmscriptenCtx> = Linker::new(&engine);
        add_to_linker(&mut linker, |c| c).unwrap();
        let mut store = Store::new(&engine, EmscriptenCtx::builder().build());
        let instance =
            EmscriptenInstance::instantiate(&mut store, &linker, &module, None, |c| c).unwrap();
        (store, instance)
    }

    #[test]
    fn unimplemented_imports_trap_with_their_name() {
        let (mut store, instance) = setup();
        let f = instance
            .typed_func::<_, (), i32>(&mut store, "call_missing")
            .unwrap();
        let error = f.call(&mut store, ()).unwrap_err();
        let unsupported = error
            .downcast_ref::<UnsupportedImport>()
            .expect("an UnsupportedImport");
        assert_eq!(unsupported.name, "env.not_a_real_import");
        assert_eq!(
            unsupported.to_string(),
            "the guest called import 'env.not_a_real_import', which pyworkerd does not implement"
        );
    }

    #[test]
    fn exit_and_abort_are_values_not_process_exits() {
        let (mut store, instance) = setup();
        let exit = instance
            .typed_func::<_, (), ()>(&mut store, "exit_7")
            .unwrap();
        let error = exit.call(&mut store, ()).unwrap_err();
        assert_eq!(error.downcast_ref::<GuestExit>(), Some(&GuestExit(7)));
        let abort = instance
            .typed_func::<_, (), ()>(&mut store, "abort")
            .unwrap();
        let error = abort.call(&mut store, ()).unwrap_err();
        assert_eq!(
            error.downcast_ref::<GuestAbort>().map(|a| a.0.as_str()),
            Some("abort() called")
        );
    }

    #[test]
    fn relocatable_modules_need_their_dylink_metadata() {
        let engine = new_engine(&EngineSettings::default()).unwrap();
        let module =
            Module::new(&engine, r#"(module (import "env" "memory" (memory 1)))"#).unwrap();
        let linker: Linker<EmscriptenCtx> = Linker::new(&engine);
        let mut store = Store::new(&engine, EmscriptenCtx::builder().build());
        let error =
            EmscriptenInstance::instantiate(&mut store, &linker, &module, None, |c| c).unwrap_err();
        assert!(matches!(error, Error::MissingDylink), "{error:?}");
    }
}
