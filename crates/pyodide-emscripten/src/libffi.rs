//! libffi's Emscripten backend, which `ctypes` calls: `ffi_call_js` (call a
//! C function pointer with arguments described by an `ffi_cif`),
//! `ffi_closure_alloc_js` / `ffi_prep_closure_loc_js` /
//! `ffi_closure_free_js` (make a C function pointer that calls back into a
//! libffi closure handler, as `CFUNCTYPE(...)(python_function)` does).
//!
//! Behaviour follows the backend Pyodide links (libffi's `wasm32/ffi.c`):
//!
//! * Structs of one field are unboxed to that field (repeatedly), empty
//!   structs are `void`; other structs are passed as a pointer to a copy on
//!   the C stack, and returned through a hidden first pointer argument, as is
//!   `long double` (two `i64` halves when passed).
//! * Variadic arguments go on the C stack, the callee gets one extra pointer
//!   to them; small integers are stored in their own width, structs by
//!   pointer.
//! * A closure is a guest-allocated `ffi_closure` (`{table slot, cif, fun,
//!   user_data}`) whose table slot holds a host function with the wasm
//!   signature the cif implies; calling it lays the arguments out on the C
//!   stack and calls `fun(cif, ret, args, user_data)`.
//!
//! Arguments are converted to the callee's own parameter types as
//! JavaScript would convert them; where JavaScript would throw (an `i64`
//! where a number is expected, or the reverse) the call traps with a
//! message, as Pyodide's would end in a fatal error.

use wasmtime::{Caller, Func, FuncType, Linker, Ref, Table, TypedFunc, Val, ValType};

use crate::GuestAbort;
use crate::guest::Guest;
use crate::linker::{CtxGetter, with_guest};

const ENV: &str = "env";

const FFI_TYPE_VOID: u16 = 0;
const FFI_TYPE_INT: u16 = 1;
const FFI_TYPE_FLOAT: u16 = 2;
const FFI_TYPE_DOUBLE: u16 = 3;
const FFI_TYPE_LONGDOUBLE: u16 = 4;
const FFI_TYPE_UINT8: u16 = 5;
const FFI_TYPE_SINT8: u16 = 6;
const FFI_TYPE_UINT16: u16 = 7;
const FFI_TYPE_SINT16: u16 = 8;
const FFI_TYPE_UINT32: u16 = 9;
const FFI_TYPE_SINT32: u16 = 10;
const FFI_TYPE_UINT64: u16 = 11;
const FFI_TYPE_SINT64: u16 = 12;
const FFI_TYPE_STRUCT: u16 = 13;
const FFI_TYPE_POINTER: u16 = 14;

const FFI_OK: i32 = 0;
const FFI_BAD_TYPEDEF: i32 = 1;

/// Host state: table slots of freed closures, and the module's C-stack
/// functions once looked up.
#[derive(Default)]
pub(crate) struct LibffiState {
    free_slots: Vec<u32>,
    stack: Option<CStack>,
}

impl std::fmt::Debug for LibffiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibffiState")
            .field("free_slots", &self.free_slots)
            .finish_non_exhaustive()
    }
}

/// The main module's exports that move its C stack pointer.
#[derive(Clone)]
struct CStack {
    current: TypedFunc<(), i32>,
    restore: TypedFunc<i32, ()>,
    alloc: TypedFunc<i32, i32>,
}

/// An `ffi_type` after unboxing one-field structs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ArgType {
    id: u16,
    size: u32,
    align: u32,
}

/// The parts of an `ffi_cif` the backend reads.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cif {
    args: Vec<ArgType>,
    fixed: usize,
    ret: ArgType,
}

fn fail(message: String) -> wasmtime::Error {
    wasmtime::Error::new(GuestAbort(format!("libffi: {message}")))
}

/// Reads an `ffi_type`, unboxing structs of exactly one field (a struct with
/// no fields is `void`).
fn unbox(g: &Guest<'_>, mut ty: u32) -> Result<ArgType, pyodide_vfs::Errno> {
    loop {
        let size = g.u32(ty)?;
        let align = u32::from(u16::from_le_bytes(g.read(ty + 4)?));
        let id = u16::from_le_bytes(g.read(ty + 6)?);
        if id != FFI_TYPE_STRUCT {
            return Ok(ArgType { id, size, align });
        }
        let elements = g.u32(ty + 8)?;
        let first = g.u32(elements)?;
        if first == 0 {
            return Ok(ArgType {
                id: FFI_TYPE_VOID,
                size,
                align,
            });
        }
        if g.u32(elements + 4)? != 0 {
            return Ok(ArgType { id, size, align });
        }
        ty = first;
    }
}

/// `ffi_cif`: abi, nargs, arg_types, rtype, bytes, flags, nfixedargs.
fn read_cif(g: &Guest<'_>, cif: u32) -> Result<Cif, pyodide_vfs::Errno> {
    let nargs = g.u32(cif + 4)?;
    let arg_types = g.u32(cif + 8)?;
    let rtype = g.u32(cif + 12)?;
    let fixed = g.u32(cif + 24)?.min(nargs) as usize;
    let args = (0..nargs)
        .map(|i| unbox(g, g.u32(arg_types + 4 * i)?))
        .collect::<Result<_, _>>()?;
    Ok(Cif {
        args,
        fixed,
        ret: unbox(g, rtype)?,
    })
}

/// Whether the return value goes through a hidden first pointer argument.
fn returns_by_pointer(ret: ArgType) -> bool {
    matches!(ret.id, FFI_TYPE_STRUCT | FFI_TYPE_LONGDOUBLE)
}

/// The wasm result type of a return type passed normally.
fn result_type(ret: ArgType) -> Result<Option<ValType>, String> {
    Ok(match ret.id {
        FFI_TYPE_VOID | FFI_TYPE_STRUCT | FFI_TYPE_LONGDOUBLE => None,
        FFI_TYPE_INT | FFI_TYPE_UINT8 | FFI_TYPE_SINT8 | FFI_TYPE_UINT16 | FFI_TYPE_SINT16
        | FFI_TYPE_UINT32 | FFI_TYPE_SINT32 | FFI_TYPE_POINTER => Some(ValType::I32),
        FFI_TYPE_FLOAT => Some(ValType::F32),
        FFI_TYPE_DOUBLE => Some(ValType::F64),
        FFI_TYPE_UINT64 | FFI_TYPE_SINT64 => Some(ValType::I64),
        id => return Err(format!("unsupported return type {id}")),
    })
}

/// The wasm parameters one fixed argument becomes.
fn param_types(arg: ArgType) -> Result<&'static [ValType], String> {
    Ok(match arg.id {
        FFI_TYPE_INT | FFI_TYPE_UINT8 | FFI_TYPE_SINT8 | FFI_TYPE_UINT16 | FFI_TYPE_SINT16
        | FFI_TYPE_UINT32 | FFI_TYPE_SINT32 | FFI_TYPE_POINTER | FFI_TYPE_STRUCT => &[ValType::I32],
        FFI_TYPE_FLOAT => &[ValType::F32],
        FFI_TYPE_DOUBLE => &[ValType::F64],
        FFI_TYPE_UINT64 | FFI_TYPE_SINT64 => &[ValType::I64],
        FFI_TYPE_LONGDOUBLE => &[ValType::I64, ValType::I64],
        id => return Err(format!("unsupported argument type {id}")),
    })
}

/// `STACK_ALLOC`: move the stack pointer down by `size` and align it.
fn stack_alloc(sp: &mut u32, size: u32, align: u32) {
    *sp = sp.wrapping_sub(size) & !(align.max(1) - 1);
}

/// Lays out the arguments of `ffi_call` below `sp` where they need stack
/// space; returns the wasm arguments and the new stack pointer.
fn call_arguments(
    g: &mut Guest<'_>,
    cif: &Cif,
    rvalue: u32,
    avalue: u32,
    mut sp: u32,
) -> Result<(Vec<Val>, u32), pyodide_vfs::Errno> {
    let mut args = Vec::new();
    if returns_by_pointer(cif.ret) {
        args.push(Val::I32(rvalue as i32));
    }
    for (i, arg) in cif.args.iter().enumerate().take(cif.fixed) {
        let ptr = g.u32(avalue + 4 * i as u32)?;
        match arg.id {
            FFI_TYPE_INT | FFI_TYPE_SINT32 | FFI_TYPE_UINT32 | FFI_TYPE_POINTER => {
                args.push(Val::I32(g.i32(ptr)?));
            }
            FFI_TYPE_FLOAT => args.push(Val::F32(g.u32(ptr)?)),
            FFI_TYPE_DOUBLE => args.push(Val::F64(g.i64(ptr)? as u64)),
            FFI_TYPE_UINT8 => args.push(Val::I32(i32::from(g.read::<1>(ptr)?[0]))),
            FFI_TYPE_SINT8 => args.push(Val::I32(i32::from(g.read::<1>(ptr)?[0] as i8))),
            FFI_TYPE_UINT16 => args.push(Val::I32(i32::from(u16::from_le_bytes(g.read(ptr)?)))),
            FFI_TYPE_SINT16 => args.push(Val::I32(i32::from(i16::from_le_bytes(g.read(ptr)?)))),
            FFI_TYPE_UINT64 | FFI_TYPE_SINT64 => args.push(Val::I64(g.i64(ptr)?)),
            FFI_TYPE_LONGDOUBLE => {
                args.push(Val::I64(g.i64(ptr)?));
                args.push(Val::I64(g.i64(ptr + 8)?));
            }
            FFI_TYPE_STRUCT => {
                // Passed by value: the callee gets a pointer to a copy.
                stack_alloc(&mut sp, arg.size, arg.align);
                let bytes = g.slice(ptr, arg.size as usize)?.to_vec();
                g.write_bytes(sp, &bytes)?;
                args.push(Val::I32(sp as i32));
            }
            _ => return Err(pyodide_vfs::Errno::EINVAL),
        }
    }
    if cif.fixed < cif.args.len() {
        // Variadic arguments, laid out last to first, then structs copied
        // below them and their slots pointed at the copies.
        let mut structs = Vec::new();
        for (i, arg) in cif.args.iter().enumerate().skip(cif.fixed).rev() {
            let ptr = g.u32(avalue + 4 * i as u32)?;
            let (size, align) = match arg.id {
                FFI_TYPE_UINT8 | FFI_TYPE_SINT8 => (1, 1),
                FFI_TYPE_UINT16 | FFI_TYPE_SINT16 => (2, 2),
                FFI_TYPE_INT | FFI_TYPE_UINT32 | FFI_TYPE_SINT32 | FFI_TYPE_POINTER
                | FFI_TYPE_FLOAT => (4, 4),
                FFI_TYPE_DOUBLE | FFI_TYPE_UINT64 | FFI_TYPE_SINT64 => (8, 8),
                FFI_TYPE_LONGDOUBLE => (16, 8),
                FFI_TYPE_STRUCT => {
                    stack_alloc(&mut sp, 4, 4);
                    structs.push((sp, ptr, *arg));
                    continue;
                }
                _ => return Err(pyodide_vfs::Errno::EINVAL),
            };
            stack_alloc(&mut sp, size, align);
            let bytes = g.slice(ptr, size as usize)?.to_vec();
            g.write_bytes(sp, &bytes)?;
        }
        args.push(Val::I32(sp as i32));
        for (slot, ptr, arg) in structs {
            stack_alloc(&mut sp, arg.size, arg.align);
            let bytes = g.slice(ptr, arg.size as usize)?.to_vec();
            g.write_bytes(sp, &bytes)?;
            g.write_u32(slot, sp)?;
        }
    }
    Ok((args, sp))
}

/// Converts `value` to the callee's parameter type `ty` as JavaScript's
/// wrapper would; `None` where JavaScript throws.
fn coerce(value: Option<&Val>, ty: &ValType) -> Option<Val> {
    let number = |v: &Val| match v {
        Val::I32(x) => Some(f64::from(*x)),
        Val::F32(bits) => Some(f64::from(f32::from_bits(*bits))),
        Val::F64(bits) => Some(f64::from_bits(*bits)),
        _ => None,
    };
    Some(match (ty, value) {
        (ValType::I32, None) => Val::I32(0),
        (ValType::F32, None) => Val::F32(f32::NAN.to_bits()),
        (ValType::F64, None) => Val::F64(f64::NAN.to_bits()),
        (ValType::I64, None) => return None,
        (ValType::I32, Some(Val::I32(x))) => Val::I32(*x),
        (ValType::I64, Some(Val::I64(x))) => Val::I64(*x),
        (ValType::I32, Some(v)) => Val::I32(to_int32(number(v)?)),
        (ValType::F32, Some(v)) => Val::F32((number(v)? as f32).to_bits()),
        (ValType::F64, Some(v)) => Val::F64(number(v)?.to_bits()),
        _ => return None,
    })
}

/// JavaScript's `ToInt32`.
fn to_int32(x: f64) -> i32 {
    if !x.is_finite() {
        return 0;
    }
    (x.trunc().rem_euclid(4_294_967_296.0) as u64) as u32 as i32
}

fn table_func<T>(caller: &mut Caller<'_, T>, table: &Table, index: u32) -> wasmtime::Result<Func> {
    match table.get(&mut *caller, u64::from(index)) {
        Some(Ref::Func(Some(func))) => Ok(func),
        _ => Err(fail(format!("no function in table slot {index}"))),
    }
}

/// Calls `func` with `args` converted to its parameter types; returns its
/// first result, if any.
fn call_converted<T>(
    caller: &mut Caller<'_, T>,
    func: &Func,
    args: &[Val],
) -> wasmtime::Result<Option<Val>> {
    let ty = func.ty(&*caller);
    let params = ty
        .params()
        .enumerate()
        .map(|(i, p)| {
            coerce(args.get(i), &p).ok_or_else(|| {
                fail(format!(
                    "argument {i} cannot be converted to the callee's {p}"
                ))
            })
        })
        .collect::<wasmtime::Result<Vec<_>>>()?;
    let mut results = vec![Val::I32(0); ty.results().len()];
    func.call(&mut *caller, &params, &mut results)?;
    Ok(results.into_iter().next())
}

fn c_stack<T>(caller: &mut Caller<'_, T>, get: CtxGetter<T>) -> wasmtime::Result<CStack> {
    if let Some(stack) = &get(caller.data_mut()).libffi.stack {
        return Ok(stack.clone());
    }
    fn export<T, P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        caller: &mut Caller<'_, T>,
        name: &str,
    ) -> wasmtime::Result<TypedFunc<P, R>> {
        caller
            .get_export(name)
            .and_then(|e| e.into_func())
            .ok_or_else(|| fail(format!("the module does not export {name}")))?
            .typed(&*caller)
    }
    let stack = CStack {
        current: export(caller, "emscripten_stack_get_current")?,
        restore: export(caller, "_emscripten_stack_restore")?,
        alloc: export(caller, "_emscripten_stack_alloc")?,
    };
    get(caller.data_mut()).libffi.stack = Some(stack.clone());
    Ok(stack)
}

fn ffi_call<T>(
    caller: &mut Caller<'_, T>,
    get: CtxGetter<T>,
    [cif, func, rvalue, avalue]: [u32; 4],
) -> wasmtime::Result<()> {
    let stack = c_stack(caller, get)?;
    let table = get(caller.data_mut()).handles()?.table;
    let sp = stack.current.call(&mut *caller, ())? as u32;
    let (cif, args, new_sp) = with_guest(caller, get, |_, g| {
        let cif = read_cif(g, cif)?;
        let (args, new_sp) = call_arguments(g, &cif, rvalue, avalue, sp)?;
        Ok::<_, pyodide_vfs::Errno>((cif, args, new_sp))
    })?
    .map_err(|errno| fail(format!("cannot read the call's description: {errno}")))?;
    result_type(cif.ret).map_err(fail)?;
    stack.restore.call(&mut *caller, new_sp as i32)?;
    stack.alloc.call(&mut *caller, 0)?;
    let callee = table_func(caller, &table, func)?;
    let result = call_converted(caller, &callee, &args);
    stack.restore.call(&mut *caller, sp as i32)?;
    let result = result?;
    if returns_by_pointer(cif.ret) {
        return Ok(());
    }
    with_guest(caller, get, |_, g| {
        write_return(g, rvalue, cif.ret.id, result)
    })?
    .map_err(|errno| fail(format!("cannot store the return value: {errno}")))
}

/// Stores a call's result as `ffi_call` leaves it in `*rvalue`: in the
/// return type's own width (a missing result is 0, as JavaScript's
/// `undefined`).
fn write_return(
    g: &mut Guest<'_>,
    rvalue: u32,
    id: u16,
    result: Option<Val>,
) -> Result<(), pyodide_vfs::Errno> {
    let bits = match result {
        Some(Val::I32(x)) => x as u32 as u64,
        Some(Val::I64(x)) => x as u64,
        Some(Val::F32(bits)) => u64::from(bits),
        Some(Val::F64(bits)) => bits,
        _ => 0,
    };
    match id {
        FFI_TYPE_VOID => Ok(()),
        FFI_TYPE_UINT8 | FFI_TYPE_SINT8 => g.write_bytes(rvalue, &[bits as u8]),
        FFI_TYPE_UINT16 | FFI_TYPE_SINT16 => g.write_u16(rvalue, bits as u16),
        FFI_TYPE_UINT64 | FFI_TYPE_SINT64 | FFI_TYPE_DOUBLE => g.write_u64(rvalue, bits),
        _ => g.write_u32(rvalue, bits as u32),
    }
}

/// The signature of a closure's table function, or why there is none.
fn closure_type(cif: &Cif) -> Result<(Vec<ValType>, Option<ValType>), String> {
    let mut params = Vec::new();
    if returns_by_pointer(cif.ret) {
        params.push(ValType::I32);
    }
    for arg in &cif.args[..cif.fixed] {
        params.extend_from_slice(param_types(*arg)?);
    }
    if cif.fixed < cif.args.len() {
        params.push(ValType::I32);
    }
    Ok((params, result_type(cif.ret)?))
}

/// Lays a closure call's arguments out on the C stack below `sp` as
/// `void *args[]` for the handler; returns `(ret, args, new sp)`.
fn closure_frame(
    g: &mut Guest<'_>,
    cif: &Cif,
    params: &[Val],
    mut sp: u32,
) -> Result<(u32, u32, u32), pyodide_vfs::Errno> {
    let mut next = params.iter();
    let ret = if returns_by_pointer(cif.ret) {
        next.next().and_then(Val::i32).unwrap_or(0) as u32
    } else {
        stack_alloc(&mut sp, 8, 8);
        sp
    };
    sp -= 4 * cif.args.len() as u32;
    let args = sp;
    for (i, arg) in cif.args.iter().enumerate().take(cif.fixed) {
        let slot = args + 4 * i as u32;
        let value = next.next().cloned().unwrap_or(Val::I32(0));
        match arg.id {
            FFI_TYPE_UINT8 | FFI_TYPE_SINT8 => {
                stack_alloc(&mut sp, 1, 4);
                g.write_bytes(sp, &[value.i32().unwrap_or(0) as u8])?;
            }
            FFI_TYPE_UINT16 | FFI_TYPE_SINT16 => {
                stack_alloc(&mut sp, 2, 4);
                g.write_u16(sp, value.i32().unwrap_or(0) as u16)?;
            }
            FFI_TYPE_INT | FFI_TYPE_UINT32 | FFI_TYPE_SINT32 | FFI_TYPE_POINTER => {
                stack_alloc(&mut sp, 4, 4);
                g.write_i32(sp, value.i32().unwrap_or(0))?;
            }
            FFI_TYPE_STRUCT => {
                let from = value.i32().unwrap_or(0) as u32;
                stack_alloc(&mut sp, arg.size, arg.align);
                let bytes = g.slice(from, arg.size as usize)?.to_vec();
                g.write_bytes(sp, &bytes)?;
            }
            FFI_TYPE_FLOAT => {
                stack_alloc(&mut sp, 4, 4);
                g.write_u32(sp, value.f32().map(f32::to_bits).unwrap_or(0))?;
            }
            FFI_TYPE_DOUBLE => {
                stack_alloc(&mut sp, 8, 8);
                g.write_u64(sp, value.f64().map(f64::to_bits).unwrap_or(0))?;
            }
            FFI_TYPE_UINT64 | FFI_TYPE_SINT64 => {
                stack_alloc(&mut sp, 8, 8);
                g.write_u64(sp, value.i64().unwrap_or(0) as u64)?;
            }
            FFI_TYPE_LONGDOUBLE => {
                stack_alloc(&mut sp, 16, 8);
                g.write_u64(sp, value.i64().unwrap_or(0) as u64)?;
                let high = next.next().and_then(Val::i64).unwrap_or(0);
                g.write_u64(sp + 8, high as u64)?;
            }
            _ => return Err(pyodide_vfs::Errno::EINVAL),
        }
        g.write_u32(slot, sp)?;
    }
    if cif.fixed < cif.args.len() {
        let mut varargs = params.last().and_then(Val::i32).unwrap_or(0) as u32;
        for (i, arg) in cif.args.iter().enumerate().skip(cif.fixed) {
            let slot = args + 4 * i as u32;
            if arg.id == FFI_TYPE_STRUCT {
                let from = g.u32(varargs)?;
                stack_alloc(&mut sp, arg.size, arg.align);
                let bytes = g.slice(from, arg.size as usize)?.to_vec();
                g.write_bytes(sp, &bytes)?;
                g.write_u32(slot, sp)?;
            } else {
                g.write_u32(slot, varargs)?;
            }
            varargs += 4;
        }
    }
    Ok((ret, args, sp))
}

/// Reads a closure handler's result from `ret` as the closure's wasm result.
fn read_return(g: &Guest<'_>, ret: u32, ty: ValType) -> Result<Val, pyodide_vfs::Errno> {
    Ok(match ty {
        ValType::I64 => Val::I64(g.i64(ret)?),
        ValType::F32 => Val::F32(g.u32(ret)?),
        ValType::F64 => Val::F64(g.i64(ret)? as u64),
        _ => Val::I32(g.i32(ret)?),
    })
}

/// The body of a closure's table function.
fn call_closure<T>(
    caller: &mut Caller<'_, T>,
    get: CtxGetter<T>,
    closure: u32,
    cif: &Cif,
    params: &[Val],
    results: &mut [Val],
) -> wasmtime::Result<()> {
    let stack = c_stack(caller, get)?;
    let table = get(caller.data_mut()).handles()?.table;
    let sp = stack.current.call(&mut *caller, ())? as u32;
    let frame = with_guest(caller, get, |_, g| {
        let (ret, args, new_sp) = closure_frame(g, cif, params, sp)?;
        // `ffi_closure`: {table slot, cif, fun, user_data}.
        let fields = [
            g.u32(closure + 4)?,
            g.u32(closure + 8)?,
            g.u32(closure + 12)?,
        ];
        Ok::<_, pyodide_vfs::Errno>((ret, args, new_sp, fields))
    })?
    .map_err(|errno| fail(format!("cannot lay out a closure call: {errno}")))?;
    let (ret, args, new_sp, [closure_cif, fun, user_data]) = frame;
    stack.restore.call(&mut *caller, new_sp as i32)?;
    stack.alloc.call(&mut *caller, 0)?;
    let handler = table_func(caller, &table, fun)?;
    let handler_args = [closure_cif, ret, args, user_data].map(|v| Val::I32(v as i32));
    let called = call_converted(caller, &handler, &handler_args);
    stack.restore.call(&mut *caller, sp as i32)?;
    called?;
    if let Some(slot) = results.first_mut() {
        let ty = closure_type(cif).map_err(fail)?.1.unwrap_or(ValType::I32);
        *slot = with_guest(caller, get, |_, g| read_return(g, ret, ty))?
            .map_err(|errno| fail(format!("cannot read a closure's result: {errno}")))?;
    }
    Ok(())
}

fn prep_closure<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: CtxGetter<T>,
    [closure, cif_ptr, fun, user_data, codeloc]: [u32; 5],
) -> wasmtime::Result<i32> {
    let cif = with_guest(caller, get, |_, g| read_cif(g, cif_ptr))?
        .map_err(|errno| fail(format!("cannot read the closure's description: {errno}")))?;
    let Ok((params, result)) = closure_type(&cif) else {
        return Ok(FFI_BAD_TYPEDEF);
    };
    let engine = caller.engine().clone();
    let ty = FuncType::new(&engine, params, result);
    let func = Func::new(&mut *caller, ty, move |mut caller, params, results| {
        call_closure(&mut caller, get, closure, &cif, params, results)
    });
    let ctx = get(caller.data_mut());
    let table = ctx.handles()?.table;
    // A cached trampoline for this slot would call whatever it held before.
    ctx.trampolines.remove(&codeloc);
    table.set(&mut *caller, u64::from(codeloc), Ref::Func(Some(func)))?;
    with_guest(caller, get, |_, g| {
        g.write_u32(closure + 4, cif_ptr)?;
        g.write_u32(closure + 8, fun)?;
        g.write_u32(closure + 12, user_data)
    })?
    .map_err(|errno| fail(format!("cannot fill the closure: {errno}")))?;
    Ok(FFI_OK)
}

fn closure_alloc<T>(
    caller: &mut Caller<'_, T>,
    get: CtxGetter<T>,
    size: u32,
    code: u32,
) -> wasmtime::Result<i32> {
    let handles = get(caller.data_mut()).handles()?;
    let (table, memalign) = (handles.table, handles.memalign.clone());
    let memalign = memalign.ok_or_else(|| fail("the module exports no allocator".to_owned()))?;
    let closure = memalign.call(&mut *caller, (8, size as i32))? as u32;
    if closure == 0 {
        return Ok(0);
    }
    let slot = match get(caller.data_mut()).libffi.free_slots.pop() {
        Some(slot) => slot,
        None => table.grow(&mut *caller, 1, Ref::Func(None))? as u32,
    };
    with_guest(caller, get, |_, g| {
        g.write_u32(code, slot)?;
        g.write_u32(closure, slot)
    })?
    .map_err(|errno| fail(format!("cannot fill the closure: {errno}")))?;
    Ok(closure as i32)
}

fn closure_free<T>(
    caller: &mut Caller<'_, T>,
    get: CtxGetter<T>,
    closure: u32,
) -> wasmtime::Result<()> {
    let slot = with_guest(caller, get, |_, g| g.u32(closure))?
        .map_err(|errno| fail(format!("cannot read the closure: {errno}")))?;
    let ctx = get(caller.data_mut());
    ctx.libffi.free_slots.push(slot);
    if let Some(free) = ctx.handles()?.free.clone() {
        free.call(&mut *caller, closure as i32)?;
    }
    Ok(())
}

pub(crate) fn add<T: 'static>(linker: &mut Linker<T>, get: CtxGetter<T>) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "ffi_call_js",
        move |mut caller: Caller<'_, T>, cif: i32, func: i32, rvalue: i32, avalue: i32| {
            ffi_call(
                &mut caller,
                get,
                [cif, func, rvalue, avalue].map(|v| v as u32),
            )
        },
    )?;
    linker.func_wrap(
        ENV,
        "ffi_closure_alloc_js",
        move |mut caller: Caller<'_, T>, size: i32, code: i32| {
            closure_alloc(&mut caller, get, size as u32, code as u32)
        },
    )?;
    linker.func_wrap(
        ENV,
        "ffi_closure_free_js",
        move |mut caller: Caller<'_, T>, closure: i32| {
            closure_free(&mut caller, get, closure as u32)
        },
    )?;
    linker.func_wrap(
        ENV,
        "ffi_prep_closure_loc_js",
        move |mut caller: Caller<'_, T>,
              closure: i32,
              cif: i32,
              fun: i32,
              user_data: i32,
              codeloc: i32| {
            prep_closure(
                &mut caller,
                get,
                [closure, cif, fun, user_data, codeloc].map(|v| v as u32),
            )
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEM: usize = 4096;

    /// Writes an `ffi_type` at `at`: size, alignment, type id, elements.
    fn ffi_type(g: &mut Guest<'_>, at: u32, size: u32, align: u16, id: u16, elements: u32) {
        g.write_u32(at, size).unwrap();
        g.write_u16(at + 4, align).unwrap();
        g.write_u16(at + 6, id).unwrap();
        g.write_u32(at + 8, elements).unwrap();
    }

    #[test]
    fn one_field_structs_unbox_and_empty_ones_are_void() {
        let mut mem = vec![0u8; MEM];
        let mut g = Guest::new(&mut mem);
        ffi_type(&mut g, 100, 8, 8, FFI_TYPE_DOUBLE, 0);
        // struct { struct { double } } -> double
        g.write_u32(200, 100).unwrap();
        g.write_u32(204, 0).unwrap();
        ffi_type(&mut g, 300, 8, 8, FFI_TYPE_STRUCT, 200);
        g.write_u32(400, 300).unwrap();
        g.write_u32(404, 0).unwrap();
        ffi_type(&mut g, 500, 8, 8, FFI_TYPE_STRUCT, 400);
        assert_eq!(unbox(&g, 500).unwrap().id, FFI_TYPE_DOUBLE);
        // struct { } -> void
        g.write_u32(600, 0).unwrap();
        ffi_type(&mut g, 700, 0, 1, FFI_TYPE_STRUCT, 600);
        assert_eq!(unbox(&g, 700).unwrap().id, FFI_TYPE_VOID);
        // struct { double, double } stays a struct
        g.write_u32(800, 100).unwrap();
        g.write_u32(804, 100).unwrap();
        g.write_u32(808, 0).unwrap();
        ffi_type(&mut g, 900, 16, 8, FFI_TYPE_STRUCT, 800);
        let pair = unbox(&g, 900).unwrap();
        assert_eq!((pair.id, pair.size, pair.align), (FFI_TYPE_STRUCT, 16, 8));
    }

    fn arg(id: u16, size: u32, align: u32) -> ArgType {
        ArgType { id, size, align }
    }

    #[test]
    fn call_arguments_widen_small_ints_and_copy_structs_to_the_stack() {
        let mut mem = vec![0u8; MEM];
        let mut g = Guest::new(&mut mem);
        let cif = Cif {
            args: vec![
                arg(FFI_TYPE_SINT8, 1, 1),
                arg(FFI_TYPE_UINT16, 2, 2),
                arg(FFI_TYPE_DOUBLE, 8, 8),
                arg(FFI_TYPE_SINT64, 8, 8),
                arg(FFI_TYPE_STRUCT, 12, 4),
            ],
            fixed: 5,
            ret: arg(FFI_TYPE_INT, 4, 4),
        };
        let values: [u32; 5] = [1000, 1010, 1020, 1030, 1040];
        for (i, v) in values.iter().enumerate() {
            g.write_u32(900 + 4 * i as u32, *v).unwrap();
        }
        g.write_bytes(1000, &[0xfe]).unwrap();
        g.write_u16(1010, 0xffff).unwrap();
        g.write_u64(1020, 2.5f64.to_bits()).unwrap();
        g.write_i64(1030, -3).unwrap();
        g.write_bytes(1040, b"twelve bytes").unwrap();
        let (args, sp) = call_arguments(&mut g, &cif, 0, 900, 4000).unwrap();
        assert_eq!(sp, (4000 - 12) & !3);
        assert_eq!(g.slice(sp, 12).unwrap(), b"twelve bytes");
        let expected = [
            Val::I32(-2),
            Val::I32(0xffff),
            Val::F64(2.5f64.to_bits()),
            Val::I64(-3),
            Val::I32(sp as i32),
        ];
        assert_eq!(args.len(), expected.len());
        for (got, want) in args.iter().zip(&expected) {
            assert_eq!(format!("{got:?}"), format!("{want:?}"));
        }
    }

    #[test]
    fn closures_take_the_signature_their_cif_implies() {
        let cif = Cif {
            args: vec![
                arg(FFI_TYPE_POINTER, 4, 4),
                arg(FFI_TYPE_LONGDOUBLE, 16, 16),
            ],
            fixed: 1,
            ret: arg(FFI_TYPE_STRUCT, 16, 8),
        };
        let (params, result) = closure_type(&cif).unwrap();
        // Hidden return pointer, the fixed pointer, the varargs pointer.
        assert_eq!(params.len(), 3);
        assert!(params.iter().all(|p| matches!(p, ValType::I32)));
        assert!(result.is_none());
        let cif = Cif {
            args: vec![arg(FFI_TYPE_FLOAT, 4, 4), arg(FFI_TYPE_UINT64, 8, 8)],
            fixed: 2,
            ret: arg(FFI_TYPE_DOUBLE, 8, 8),
        };
        let (params, result) = closure_type(&cif).unwrap();
        assert!(matches!(params[..], [ValType::F32, ValType::I64]));
        assert!(matches!(result, Some(ValType::F64)));
    }

    #[test]
    fn closure_frames_point_each_argument_at_a_stack_copy() {
        let mut mem = vec![0u8; MEM];
        let mut g = Guest::new(&mut mem);
        let cif = Cif {
            args: vec![arg(FFI_TYPE_SINT16, 2, 2), arg(FFI_TYPE_DOUBLE, 8, 8)],
            fixed: 2,
            ret: arg(FFI_TYPE_INT, 4, 4),
        };
        let params = [Val::I32(-7), Val::F64(0.25f64.to_bits())];
        let (ret, args, sp) = closure_frame(&mut g, &cif, &params, 4000).unwrap();
        assert_eq!(ret, 3992, "8 aligned bytes for the result");
        assert_eq!(args, 3984);
        let first = g.u32(args).unwrap();
        let second = g.u32(args + 4).unwrap();
        assert_eq!(i16::from_le_bytes(g.read(first).unwrap()), -7);
        assert_eq!(f64::from_bits(g.i64(second).unwrap() as u64), 0.25);
        assert!(sp <= second && second.is_multiple_of(8));
    }

    #[test]
    fn arguments_convert_to_the_callees_types_as_javascript_would() {
        assert!(matches!(
            coerce(Some(&Val::F64(3.9f64.to_bits())), &ValType::I32),
            Some(Val::I32(3))
        ));
        assert!(matches!(coerce(None, &ValType::I32), Some(Val::I32(0))));
        assert!(coerce(Some(&Val::I32(1)), &ValType::I64).is_none());
        assert!(coerce(Some(&Val::I64(1)), &ValType::F64).is_none());
        assert_eq!(to_int32(4_294_967_297.0), 1);
        assert_eq!(to_int32(-1.5), -1);
        assert_eq!(to_int32(f64::NAN), 0);
    }
}
