//! [`Interpreter`]: one booted CPython with its own store, memory and file
//! system.

use std::path::PathBuf;

use pyodide_emscripten::{
    DEFAULT_MEMORY_LIMIT, EmscriptenCtx, EmscriptenInstance, GuestExit, SharedEntropy,
};
use pyodide_vfs::{
    Dirfd, GuestPath, InputSource, MountAccess, OsEntropy, OutputSink, SetTime, Vfs,
};
use wasmtime::{Store, TypedFunc};

use crate::runtime::{HostState, Runtime, ctx_of};
use crate::{
    AddedSlot, Error, InterruptHandle, LoadOptions, LoadedLibrary, PYTHON_MODULES_GUEST_DIR,
    Packages,
};

pub(crate) const DRIVER: &str = include_str!("driver.py");
/// The file name of the driver's code: `<exec>`, as Pyodide's `runPython`
/// (which the reference runner uses) names it.
const DRIVER_FILENAME: &str = "<exec>";
const PY_FILE_INPUT: i32 = 257;
pub(crate) const HOME: &str = "/home/pyodide";

/// A host directory made visible to the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The host directory.
    pub host: PathBuf,
    /// Where the guest sees it (absolute).
    pub guest: String,
    /// Whether the guest may write to it.
    pub writable: bool,
}

/// How to boot an [`Interpreter`]. The defaults deny: no host directories,
/// no input, output discarded.
#[derive(Debug)]
pub struct InterpreterConfig {
    /// Extra environment variables (on top of Pyodide's defaults).
    pub env: Vec<(String, String)>,
    /// Host directories to mount.
    pub mounts: Vec<Mount>,
    /// The guest's stdin.
    pub stdin: InputSource,
    /// The guest's stdout.
    pub stdout: OutputSink,
    /// The guest's stderr.
    pub stderr: OutputSink,
    /// `argv[0]` of the interpreter (`sys.executable`).
    pub program_name: String,
    /// Linear memory ceiling in bytes.
    pub memory_limit: u64,
    /// How much of the shadow stack CPython's C-recursion guard may use.
    /// Runaway C recursion (a `repr` of a deeply nested list) consumes the
    /// native wasm stack much faster than the shadow stack; with the default
    /// 1 MiB window and the default 16 MiB wasm stack it raises
    /// `RecursionError` long before the wasm stack runs out.
    pub c_stack_window: u32,
    /// Packages installed before Python starts (wheels in site-packages,
    /// shared libraries in `/usr/lib` or `site-packages`, `python_modules/` on `sys.path`).
    pub packages: Packages,
}

impl Default for InterpreterConfig {
    fn default() -> Self {
        InterpreterConfig {
            env: Vec::new(),
            mounts: Vec::new(),
            stdin: InputSource::Empty,
            stdout: OutputSink::Discard,
            stderr: OutputSink::Discard,
            program_name: "python".to_owned(),
            memory_limit: DEFAULT_MEMORY_LIMIT,
            c_stack_window: 1 << 20,
            packages: Packages::default(),
        }
    }
}

/// Why a run did not end normally.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// An uncaught exception; its traceback was also printed to the guest's
    /// stderr, as Python does.
    #[error("uncaught Python exception\n{traceback}")]
    Exception {
        /// The traceback text.
        traceback: String,
    },
    /// An uncaught `KeyboardInterrupt` — from an [`InterruptHandle`] or
    /// raised by the code —; its traceback was also printed to the guest's
    /// stderr. `python` ends such a run by `SIGINT` (130 in a shell).
    ///
    /// [`InterruptHandle`]: crate::InterruptHandle
    #[error("interrupted (KeyboardInterrupt)\n{traceback}")]
    Interrupted {
        /// The traceback text.
        traceback: String,
    },
    /// `SystemExit` with a non-zero status (`sys.exit(0)` is success).
    #[error("Python exited with status {status}")]
    Exit {
        /// The status, as `python` would exit with it (1 for a message).
        status: i32,
    },
    /// The host failed: a trap, an unsupported import, a driver fault.
    #[error(transparent)]
    Host(#[from] Error),
}

impl RunError {
    /// What `python` would exit with: the `SystemExit` status, 1 after an
    /// uncaught exception, 130 after an uncaught `KeyboardInterrupt` (the
    /// status a shell shows for a process ended by `SIGINT`); `None` for a
    /// host failure.
    pub fn exit_status(&self) -> Option<i32> {
        match self {
            RunError::Exception { .. } => Some(1),
            RunError::Interrupted { .. } => Some(INTERRUPTED_STATUS),
            RunError::Exit { status } => Some(*status),
            RunError::Host(Error::Exited { status }) => Some(*status),
            RunError::Host(_) => None,
        }
    }
}

/// A booted CPython.
pub struct Interpreter {
    pub(crate) store: Store<HostState>,
    pub(crate) instance: EmscriptenInstance,
    pub(crate) driver_run: i32,
    /// The environment the guest's C library started with (what a
    /// snapshot of this interpreter records).
    pub(crate) environment: Vec<(String, String)>,
    unicode_from: TypedFunc<(i32, i32), i32>,
    call_one: TypedFunc<(i32, i32), i32>,
    as_utf8: TypedFunc<(i32, i32), i32>,
    decref: TypedFunc<i32, ()>,
    /// Set once the guest has exited the process (`os._exit`, C `exit`).
    exited: Option<i32>,
    /// Whether to keep this interpreter's working set resident in its pool
    /// slot when it is dropped ([`RuntimeOptions::warm_slots`]).
    ///
    /// [`RuntimeOptions::warm_slots`]: crate::RuntimeOptions::warm_slots
    warm_slot: bool,
}

impl Drop for Interpreter {
    fn drop(&mut self) {
        if self.warm_slot {
            let memory = self.instance.memory();
            pyodide_emscripten::resident::keep_working_set(&mut self.store, memory);
        }
    }
}

impl std::fmt::Debug for Interpreter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interpreter")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl Interpreter {
    /// Boots CPython: builds the file system, instantiates, runs the
    /// constructors and `main`, and installs the driver.
    pub fn boot(runtime: &Runtime, config: InterpreterConfig) -> Result<Interpreter, Error> {
        Self::boot_with_entropy(runtime, config, SharedEntropy::new(OsEntropy))
    }

    /// [`Interpreter::boot`] with `entropy` behind `random_get` and
    /// `/dev/(u)random` from the first instruction on (the deterministic
    /// stream of snapshot creation).
    pub(crate) fn boot_with_entropy(
        runtime: &Runtime,
        config: InterpreterConfig,
        entropy: SharedEntropy,
    ) -> Result<Interpreter, Error> {
        let mut vfs = base_vfs(
            runtime,
            &entropy,
            config.stdin,
            config.stdout,
            config.stderr,
        )?;
        let python = runtime.version.python;
        config
            .packages
            .install(&mut vfs, &format!("{}.{}", python.major, python.minor))?;
        apply_mounts(&mut vfs, &config.mounts)?;
        vfs.chdir(Dirfd::Cwd, GuestPath::from(HOME))
            .map_err(|errno| Error::Layout {
                path: HOME.to_owned(),
                errno,
            })?;
        let mut environment = default_environment(runtime, &config.program_name);
        for (key, value) in config.env {
            environment.retain(|(k, _)| *k != key);
            environment.push((key, value));
        }
        if config.packages.python_modules.is_some() {
            // The vendored tree comes first on the path, as on Workers.
            let user = environment
                .iter()
                .find(|(k, _)| k == "PYTHONPATH")
                .map(|(_, v)| v.clone());
            let path = match user {
                Some(user) if !user.is_empty() => format!("{PYTHON_MODULES_GUEST_DIR}:{user}"),
                _ => PYTHON_MODULES_GUEST_DIR.to_owned(),
            };
            environment.retain(|(k, _)| k != "PYTHONPATH");
            environment.push(("PYTHONPATH".to_owned(), path));
        }
        let mut store = new_store(
            runtime,
            vfs,
            entropy,
            &environment,
            &config.program_name,
            config.memory_limit,
        );
        let module = runtime.main_module()?;
        let instance = EmscriptenInstance::instantiate(
            &mut store,
            runtime.linker(module)?,
            module,
            runtime.dylink.as_ref(),
            ctx_of,
        )?;
        runtime.trampoline.install(&mut store, &instance)?;
        instance.call_ctors(&mut store)?;
        instance.limit_c_stack(&mut store, config.c_stack_window)?;
        let status = instance.call_main(&mut store, &[config.program_name.as_str()])?;
        if status != 0 {
            return Err(Error::Startup { status });
        }

        let mut interpreter = Interpreter::attach(runtime, store, instance, 0, environment)?;
        interpreter.driver_run = interpreter.install_driver()?;
        Ok(interpreter)
    }

    /// Wraps an instance whose CPython is initialised (booted, or restored
    /// from a snapshot) with the C-API functions the driver is called with.
    pub(crate) fn attach(
        runtime: &Runtime,
        mut store: Store<HostState>,
        instance: EmscriptenInstance,
        driver_run: i32,
        environment: Vec<(String, String)>,
    ) -> Result<Interpreter, Error> {
        Ok(Interpreter {
            warm_slot: runtime.warm_slots,
            driver_run,
            unicode_from: instance.typed_func(&mut store, "PyUnicode_FromStringAndSize")?,
            call_one: instance.typed_func(&mut store, "PyObject_CallOneArg")?,
            as_utf8: instance.typed_func(&mut store, "PyUnicode_AsUTF8AndSize")?,
            decref: instance.typed_func(&mut store, "Py_DecRef")?,
            exited: None,
            environment,
            store,
            instance,
        })
    }

    /// Runs `code` as `python -c` would, with `args` after `-c` in `sys.argv`.
    pub fn run(&mut self, code: &str, args: &[String]) -> Result<(), RunError> {
        self.request("code", code, args)
    }

    /// Runs `source` read from stdin, as `python - args…` would.
    pub fn run_stdin(&mut self, source: &str, args: &[String]) -> Result<(), RunError> {
        self.request("stdin", source, args)
    }

    /// Runs the guest file `path` as `python path args…` would.
    pub fn run_file(&mut self, path: &str, args: &[String]) -> Result<(), RunError> {
        self.request("file", path, args)
    }

    /// Runs module `name` as `python -m name args…` would.
    pub fn run_module(&mut self, name: &str, args: &[String]) -> Result<(), RunError> {
        self.request("module", name, args)
    }

    /// Runs the `atexit` handlers and flushes the standard streams, as
    /// Python does before the process ends.
    pub fn finish(&mut self) -> Result<(), RunError> {
        self.request("atexit", "", &[])
    }

    /// A handle that raises `KeyboardInterrupt` in this interpreter from any
    /// thread (a Ctrl-C handler, a deadline): Python code takes it within
    /// 50 checks of CPython's eval breaker, and a sleep or a `poll`/`select`
    /// wait ends at once (within 10 ms). Unless the code catches it, the
    /// run ends in [`RunError::Interrupted`]; the interpreter stays usable.
    /// A guest blocked in a host read (stdin) takes it only once the read
    /// returns. This turns CPython's signal hook on, which costs one host
    /// call per 50 eval-breaker checks from then on.
    pub fn interrupt_handle(&mut self) -> Result<InterruptHandle, Error> {
        self.instance.enable_interrupts(&mut self.store)?;
        Ok(self.store.data().ctx.interrupt_handle())
    }

    /// The guest's file system.
    pub fn vfs(&self) -> &Vfs {
        self.store.data().ctx.vfs()
    }

    /// Loads the side module at guest path `path` (and the libraries it
    /// needs) as `dlopen` would, before any Python code asks for it: a later
    /// `dlopen` of the same path (an import of the extension) finds it
    /// loaded. With `options.at` and `run_init: false` it re-creates a
    /// library recorded in a snapshot.
    pub fn load_library(
        &mut self,
        path: &str,
        options: LoadOptions,
    ) -> Result<LoadedLibrary, Error> {
        Ok(pyodide_emscripten::load_library(
            &mut self.store,
            ctx_of,
            path,
            options,
        )?)
    }

    /// The side modules loaded so far, in load order, with the memory and
    /// table bases they were placed at.
    pub fn loaded_libraries(&self) -> Vec<LoadedLibrary> {
        self.store.data().ctx.loaded_libraries().cloned().collect()
    }

    /// Table slots the dynamic linker added for functions that had none, in
    /// order; a restore replays them with `pyodide_emscripten::restore_slot`
    /// after re-creating the libraries loaded before each.
    pub fn added_slots(&self) -> Vec<AddedSlot> {
        self.store.data().ctx.added_slots().to_vec()
    }

    fn install_driver(&mut self) -> Result<i32, Error> {
        let store = &mut self.store;
        let dict_new: TypedFunc<(), i32> = self.instance.typed_func(store, "PyDict_New")?;
        let compile: TypedFunc<(i32, i32, i32), i32> =
            self.instance.typed_func(store, "Py_CompileString")?;
        let eval_code: TypedFunc<(i32, i32, i32), i32> =
            self.instance.typed_func(store, "PyEval_EvalCode")?;
        let get_item: TypedFunc<(i32, i32), i32> =
            self.instance.typed_func(store, "PyDict_GetItemString")?;
        let namespace = dict_new
            .call(&mut *store, ())
            .map_err(|e| driver_error("PyDict_New", e))?;
        // As PyRun_String would: imports made from C while the driver's frame
        // runs (compile's \N{...}, the traceback printer) look them up here.
        let get_builtins: TypedFunc<(), i32> =
            self.instance.typed_func(store, "PyEval_GetBuiltins")?;
        let set_item: TypedFunc<(i32, i32, i32), i32> =
            self.instance.typed_func(store, "PyDict_SetItemString")?;
        let builtins = get_builtins
            .call(&mut *store, ())
            .map_err(|e| driver_error("PyEval_GetBuiltins", e))?;
        let key = self.instance.malloc_c_string(store, b"__builtins__")?;
        let set = set_item
            .call(&mut *store, (namespace, key as i32, builtins))
            .map_err(|e| driver_error("PyDict_SetItemString", e))?;
        self.instance.free(store, key)?;
        if set != 0 || builtins == 0 {
            return Err(Error::Driver(
                "cannot give the driver its builtins".to_owned(),
            ));
        }
        let source = self.instance.malloc_c_string(store, DRIVER.as_bytes())?;
        // Named as Pyodide's runPython names code, so the driver's frame
        // (visible to traceback.print_stack and faulthandler) reads the same.
        let filename = self
            .instance
            .malloc_c_string(store, DRIVER_FILENAME.as_bytes())?;
        let code = compile
            .call(&mut *store, (source as i32, filename as i32, PY_FILE_INPUT))
            .map_err(|e| driver_error("Py_CompileString", e))?;
        self.instance.free(store, source)?;
        self.instance.free(store, filename)?;
        if code == 0 {
            return Err(Error::Driver(
                "the driver source does not compile".to_owned(),
            ));
        }
        let result = eval_code
            .call(&mut *store, (code, namespace, namespace))
            .map_err(|e| driver_error("PyEval_EvalCode", e))?;
        self.decref
            .call(&mut *store, code)
            .map_err(|e| driver_error("Py_DecRef", e))?;
        if result == 0 {
            return Err(Error::Driver(
                "the driver source raised an exception".to_owned(),
            ));
        }
        self.decref
            .call(&mut *store, result)
            .map_err(|e| driver_error("Py_DecRef", e))?;
        let name = self.instance.malloc_c_string(store, b"run")?;
        let run = get_item
            .call(&mut *store, (namespace, name as i32))
            .map_err(|e| driver_error("PyDict_GetItemString", e))?;
        self.instance.free(store, name)?;
        if run == 0 {
            return Err(Error::Driver("the driver defines no run()".to_owned()));
        }
        // `namespace` is never released, so the borrowed `run` stays alive.
        Ok(run)
    }

    pub(crate) fn request(
        &mut self,
        kind: &str,
        target: &str,
        args: &[String],
    ) -> Result<(), RunError> {
        if let Some(status) = self.exited {
            return Err(RunError::Host(Error::Exited { status }));
        }
        let reply = self.call_driver(kind, target, args)?;
        parse_reply(&reply)
    }

    /// Calls the driver's `run` with the request and returns its reply.
    fn call_driver(&mut self, kind: &str, target: &str, args: &[String]) -> Result<Vec<u8>, Error> {
        let mut request = format!("{kind}\0{target}");
        for arg in args {
            request.push('\0');
            request.push_str(arg);
        }
        let store = &mut self.store;
        let bytes = self.instance.malloc_c_string(store, request.as_bytes())?;
        let text = self
            .unicode_from
            .call(&mut *store, (bytes as i32, request.len() as i32))
            .map_err(|e| driver_error("PyUnicode_FromStringAndSize", e))?;
        self.instance.free(store, bytes)?;
        if text == 0 {
            return Err(Error::Driver("cannot decode the request".to_owned()));
        }
        let result = self.call_one.call(&mut *store, (self.driver_run, text));
        if let Err(error) = &result
            && let Some(GuestExit(status)) = error.downcast_ref::<GuestExit>()
        {
            self.exited = Some(*status);
            return Err(Error::Exited { status: *status });
        }
        self.decref
            .call(&mut *store, text)
            .map_err(|e| driver_error("Py_DecRef", e))?;
        let result = result.map_err(|e| driver_error("run", e))?;
        if result == 0 {
            return Err(Error::Driver("the driver raised an exception".to_owned()));
        }
        let size_slot = self.instance.malloc_c_string(store, &[0; 4])?;
        let data = self
            .as_utf8
            .call(&mut *store, (result, size_slot as i32))
            .map_err(|e| driver_error("PyUnicode_AsUTF8AndSize", e))?;
        let size = u32::from_le_bytes(
            self.instance
                .read(store, size_slot, 4)?
                .try_into()
                .expect("4 bytes"),
        );
        let reply = self.instance.read(store, data as u32, size as usize)?;
        self.instance.free(store, size_slot)?;
        self.decref
            .call(&mut *store, result)
            .map_err(|e| driver_error("Py_DecRef", e))?;
        Ok(reply)
    }
}

/// The file system every interpreter starts from: Emscripten's layout,
/// the standard library archive, `site-packages`, the home directory.
pub(crate) fn base_vfs(
    runtime: &Runtime,
    entropy: &SharedEntropy,
    stdin: InputSource,
    stdout: OutputSink,
    stderr: OutputSink,
) -> Result<Vfs, Error> {
    let mut vfs = Vfs::builder()
        .entropy(entropy.clone())
        .stdin(stdin)
        .stdout(stdout)
        .stderr(stderr)
        .build();
    let lib = lib_dir(runtime);
    for dir in [
        format!("{lib}/site-packages"),
        format!("{lib}/lib-dynload"),
        HOME.to_owned(),
    ] {
        // 0o777 and 0o666 below: the modes Pyodide's files get on Node.
        vfs.create_dir_all(GuestPath::from(dir.as_str()), 0o777)
            .map_err(|errno| Error::Layout {
                path: dir.clone(),
                errno,
            })?;
    }
    let zip = stdlib_zip(runtime);
    let mtime = SetTime::To(runtime.stdlib_mtime);
    vfs.create_shared_file(GuestPath::from(zip.as_str()), runtime.stdlib.clone(), 0o666)
        .and_then(|_| {
            vfs.utimens(
                Dirfd::Cwd,
                GuestPath::from(zip.as_str()),
                true,
                mtime,
                mtime,
            )
        })
        .map_err(|errno| Error::Layout {
            path: zip.clone(),
            errno,
        })?;
    Ok(vfs)
}

fn lib_dir(runtime: &Runtime) -> String {
    let python = runtime.version.python;
    format!("/lib/python{}.{}", python.major, python.minor)
}

/// Where the standard library archive is (re-created from the runtime,
/// never part of a snapshot).
pub(crate) fn stdlib_zip(runtime: &Runtime) -> String {
    let python = runtime.version.python;
    format!("/lib/python{}{}.zip", python.major, python.minor)
}

/// Mounts host directories into `vfs`.
pub(crate) fn apply_mounts(vfs: &mut Vfs, mounts: &[Mount]) -> Result<(), Error> {
    for mount in mounts {
        let mount_error = |source: Box<dyn std::error::Error + Send + Sync>| Error::Mount {
            host: mount.host.clone(),
            guest: mount.guest.clone(),
            source,
        };
        let dir = pyodide_vfs::open_host_dir(&mount.host).map_err(|e| mount_error(Box::new(e)))?;
        vfs.create_dir_all(GuestPath::from(mount.guest.as_str()), 0o755)
            .map_err(|errno| Error::Layout {
                path: mount.guest.clone(),
                errno,
            })?;
        let access = if mount.writable {
            MountAccess::ReadWrite
        } else {
            MountAccess::ReadOnly
        };
        vfs.mount_host(GuestPath::from(mount.guest.as_str()), dir, access)
            .map_err(|e| mount_error(Box::new(e)))?;
    }
    Ok(())
}

/// Pyodide's environment on Node, so programs see the same values.
fn default_environment(runtime: &Runtime, program_name: &str) -> Vec<(String, String)> {
    let lib = lib_dir(runtime);
    [
        ("USER", "web_user".to_owned()),
        ("LOGNAME", "web_user".to_owned()),
        ("PATH", "/".to_owned()),
        ("PWD", "/".to_owned()),
        ("HOME", HOME.to_owned()),
        ("LANG", "C.UTF-8".to_owned()),
        ("_", program_name.to_owned()),
        ("PYTHONINSPECT", "1".to_owned()),
        ("LD_LIBRARY_PATH", format!("/usr/lib:{lib}/site-packages")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// A store whose host state has `vfs`, `entropy` and `environment`.
pub(crate) fn new_store(
    runtime: &Runtime,
    vfs: Vfs,
    entropy: SharedEntropy,
    environment: &[(String, String)],
    program_name: &str,
    memory_limit: u64,
) -> Store<HostState> {
    let mut builder = EmscriptenCtx::builder()
        .vfs(vfs)
        .entropy(entropy)
        .program_name(program_name)
        .memory_limit(memory_limit)
        .module_cache(runtime.cache.clone());
    for (key, value) in environment {
        builder = builder.env(key, value);
    }
    Store::new(
        runtime.cache.engine(),
        HostState {
            ctx: builder.build(),
        },
    )
}

/// The status the driver reports an uncaught `KeyboardInterrupt` with.
const INTERRUPTED_STATUS: i32 = 130;

fn parse_reply(reply: &[u8]) -> Result<(), RunError> {
    let reply = String::from_utf8_lossy(reply);
    let (status, traceback) = reply
        .split_once('\n')
        .ok_or_else(|| Error::Driver(format!("malformed driver reply {reply:?}")))?;
    let status = status
        .parse()
        .map_err(|_| Error::Driver(format!("malformed status {status:?}")))?;
    match (status, traceback) {
        (INTERRUPTED_STATUS, traceback) if !traceback.is_empty() => Err(RunError::Interrupted {
            traceback: traceback.to_owned(),
        }),
        (_, traceback) if !traceback.is_empty() => Err(RunError::Exception {
            traceback: traceback.to_owned(),
        }),
        (0, _) => Ok(()),
        (status, _) => Err(RunError::Exit { status }),
    }
}

fn driver_error(during: &'static str, error: wasmtime::Error) -> Error {
    Error::Host(pyodide_emscripten::Error::Trap {
        during,
        source: error.into_boxed_dyn_error(),
    })
}
