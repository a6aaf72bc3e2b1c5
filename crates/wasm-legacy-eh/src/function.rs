//! Translation of one function body.
//!
//! Three passes over the body's operators, which are read once into a
//! `Vec`:
//!
//! 1. **read**: decode every operator, note whether any is legacy, and record
//!    for each `try` how it ends (`catch` clauses, `delegate`, or plain `end`)
//!    with its clauses' tags.
//! 2. **analyse**: walk the legacy control stack to resolve every `rethrow`
//!    (which catch clause must keep its `exnref`, in which local) and every
//!    `delegate` (which landing it branches to, or none when it is a no-op).
//! 3. **emit**: write the new body; operators that neither open nor close a
//!    legacy construct nor carry a label are copied byte for byte.
//!
//! The shapes emitted, for a try with block type `P -> R`:
//!
//! ```text
//! try bt B catch $t1 H1 .. catch_all Hn end
//! =>
//! block bt                                ;; $outer: legacy label in handlers
//!   block (P -> Tn [exnref]?)             ;; $c_n
//!     ..
//!       block (P -> T1 [exnref]?)         ;; $c_1
//!         try_table bt (catch[_ref] $t1 $c_1) .. (catch_all[_ref] $c_n)
//!           B
//!         end
//!         br $outer
//!       end
//!       [local.set $exn_d] H1
//!       br $outer
//!     ..
//!   end
//!   [local.set $exn_d] Hn
//! end
//!
//! try bt B delegate l   =>   try_table bt (catch_all_ref $landing(l)) B end
//! rethrow l             =>   local.get $exn_d  throw_ref
//! ```
//!
//! A delegate rethrows its exception as if it were thrown directly inside the
//! block `l` names. Inside a block, loop, `if` arm, a catch handler or a
//! `try` without handlers that is the same as throwing just outside that
//! construct, so the target is normalised outwards to the nearest `try` body
//! that intercepts exceptions (one with catch clauses or a delegate; an
//! input `try_table` with catch clauses counts too), or to the function (the
//! caller). That `try` body, or the whole function body,
//! gets a landing pad around its content:
//!
//! ```text
//! block bt  block (P -> exnref)  content  br 1  end  throw_ref  end
//! ```
//!
//! so that the `throw_ref` happens inside it. When no intercepting `try` lies
//! between the delegate and its target the exception reaches the target
//! unaided and the delegating `try` becomes a plain `block`.
//!
//! The exnref of a catch is kept (with `catch_ref`/`catch_all_ref`) only when
//! some `rethrow` names that catch. It is stored in the local for the
//! handler's nesting depth (the number of enclosing handlers): a handler
//! nested in a handler uses the next local, siblings reuse theirs.

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{Encode, InstructionSink};
use wasmparser::{FunctionBody, Operator, ValType};

use crate::Error;
use crate::types::{NewBlockType, TypeTable};

const NONE: u32 = u32::MAX;

/// What the module tells a function translation.
#[derive(Debug)]
pub(crate) struct ModuleCtx<'a> {
    pub(crate) wasm: &'a [u8],
    /// Type index of each tag, imported tags first.
    pub(crate) tag_types: &'a [u32],
}

/// Buffers reused from one function to the next.
#[derive(Debug, Default)]
pub(crate) struct Scratch<'a> {
    ops: Vec<Operator<'a>>,
    /// `offsets[i]` is where `ops[i]` starts; one more entry for the body end.
    offsets: Vec<usize>,
    tries: Vec<TryInfo>,
    read_stack: Vec<u32>,
    analysis_stack: Vec<AnalysisFrame>,
    emit_stack: Vec<EmitFrame>,
    landing_abs: Vec<u32>,
    /// Per `try_table` of the input, in order: some delegate targets its body.
    table_landing: Vec<bool>,
    table_landing_abs: Vec<u32>,
    targets: Vec<u32>,
    pub(crate) out: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TryKind {
    /// `try ... end`: no handlers, transparent to exceptions.
    Plain,
    /// `try ... catch/catch_all ... end`.
    Catch,
    /// `try ... delegate l`.
    Delegate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DelegateTarget {
    /// The exception reaches the target without help: emit a plain block.
    Transparent,
    /// Branch to the function body's landing pad (rethrow to the caller).
    Function,
    /// Branch to the landing pad in the body of this `try`.
    Try(u32),
    /// Branch to the landing pad in the body of this `try_table` of the input.
    Table(u32),
}

#[derive(Debug)]
struct TryInfo {
    kind: TryKind,
    clauses: Vec<Clause>,
    /// Some delegate targets this try's body.
    body_landing: bool,
    delegate: DelegateTarget,
    /// Index (from the first exnref local) of the local holding the caught exnref.
    handler_depth: u32,
}

#[derive(Debug, Clone, Copy)]
struct Clause {
    /// `None` for `catch_all`.
    tag: Option<u32>,
    /// Some `rethrow` needs this clause's exnref.
    by_ref: bool,
    offset: usize,
}

#[derive(Debug, Clone, Copy)]
struct AnalysisFrame {
    /// `NONE` unless a legacy `try`.
    try_id: u32,
    /// `NONE` unless a `try_table` with catch clauses (ordinal among all `try_table`s).
    table_id: u32,
    in_handler: bool,
    /// Current clause index while `in_handler`.
    clause: u32,
    /// Number of handlers enclosing this frame's current content.
    handler_depth: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EmitKind {
    Other,
    TryCatch,
    TryDelegate,
    /// A `try_table` of the input whose body has a landing pad.
    TableWithLanding,
}

#[derive(Debug, Clone, Copy)]
struct EmitFrame {
    kind: EmitKind,
    try_id: u32,
    /// Absolute index (function frame = 0) of the emitted frame a branch to this legacy label targets.
    target: u32,
    /// For `TryCatch`: number of handlers started so far.
    handlers_started: u32,
}

/// Translates one body. Returns `false` (leaving `scratch.out` unspecified)
/// when the body has no legacy instruction; otherwise `scratch.out` holds the
/// new body without its size prefix.
pub(crate) fn translate_function<'a>(
    ctx: &ModuleCtx<'a>,
    types: &mut TypeTable,
    func_type: u32,
    body: &FunctionBody<'a>,
    scratch: &mut Scratch<'a>,
) -> Result<bool, Error> {
    let locals = read(body, scratch)?;
    if !locals.has_legacy {
        return Ok(false);
    }
    let plan = analyse(scratch)?;
    emit(ctx, types, func_type, body, &locals, &plan, scratch)?;
    Ok(true)
}

#[derive(Debug)]
struct Locals {
    has_legacy: bool,
    groups: u32,
    /// Where the local groups start (after their count) and end (= first operator).
    groups_start: usize,
    ops_start: usize,
    count: u32,
}

fn read<'a>(body: &FunctionBody<'a>, scratch: &mut Scratch<'a>) -> Result<Locals, Error> {
    scratch.ops.clear();
    scratch.offsets.clear();
    scratch.tries.clear();
    scratch.table_landing.clear();
    scratch.read_stack.clear();

    let mut locals = body.get_locals_reader()?;
    let groups = locals.get_count();
    let groups_start = locals.original_position();
    let mut count: u32 = 0;
    for _ in 0..groups {
        let pos = locals.original_position();
        let (n, _) = locals.read()?;
        count = count.checked_add(n).ok_or_else(|| Error::Malformed {
            offset: pos,
            message: "too many locals".to_string(),
        })?;
    }
    let ops_start = locals.original_position();
    let ops_reader = locals.get_binary_reader();

    // Most bodies have no legacy instruction: find out without keeping the
    // operators, stopping at the first legacy one.
    let mut reader = wasmparser::OperatorsReader::new(ops_reader.clone());
    let mut has_legacy = false;
    while !reader.eof() {
        if let Operator::Try { .. }
        | Operator::Catch { .. }
        | Operator::CatchAll
        | Operator::Delegate { .. }
        | Operator::Rethrow { .. } = reader.read()?
        {
            has_legacy = true;
            break;
        }
    }
    let locals = Locals {
        has_legacy,
        groups,
        groups_start,
        ops_start,
        count,
    };
    if !has_legacy {
        reader.finish()?;
        return Ok(locals);
    }

    let mut reader = wasmparser::OperatorsReader::new(ops_reader);
    while !reader.eof() {
        let (op, offset) = reader.read_with_offset()?;
        match &op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                scratch.read_stack.push(NONE)
            }
            Operator::TryTable { .. } => {
                scratch.table_landing.push(false);
                scratch.read_stack.push(NONE);
            }
            Operator::Try { .. } => {
                scratch.read_stack.push(scratch.tries.len() as u32);
                scratch.tries.push(TryInfo {
                    kind: TryKind::Plain,
                    clauses: Vec::new(),
                    body_landing: false,
                    delegate: DelegateTarget::Transparent,
                    handler_depth: 0,
                });
            }
            Operator::Catch { .. } | Operator::CatchAll => {
                let tag = match op {
                    Operator::Catch { tag_index } => Some(tag_index),
                    _ => None,
                };
                let info = current_try(scratch, offset)?;
                info.kind = TryKind::Catch;
                info.clauses.push(Clause {
                    tag,
                    by_ref: false,
                    offset,
                });
            }
            Operator::Delegate { .. } => {
                current_try(scratch, offset)?.kind = TryKind::Delegate;
                scratch.read_stack.pop();
            }
            Operator::End => {
                scratch.read_stack.pop();
            }
            _ => {}
        }
        scratch.ops.push(op);
        scratch.offsets.push(offset);
    }
    reader.finish()?;
    scratch.offsets.push(body.range().end);
    Ok(locals)
}

fn current_try<'s>(scratch: &'s mut Scratch<'_>, offset: usize) -> Result<&'s mut TryInfo, Error> {
    match scratch.read_stack.last() {
        Some(&id) if id != NONE => Ok(&mut scratch.tries[id as usize]),
        _ => Err(Error::Malformed {
            offset,
            message: "catch or delegate outside a try block".to_string(),
        }),
    }
}

#[derive(Debug)]
struct Plan {
    function_landing: bool,
    exn_locals: u32,
}

fn analyse(scratch: &mut Scratch<'_>) -> Result<Plan, Error> {
    let Scratch {
        ops,
        offsets,
        tries,
        table_landing,
        analysis_stack: stack,
        ..
    } = scratch;
    stack.clear();
    stack.push(AnalysisFrame {
        try_id: NONE,
        table_id: NONE,
        in_handler: false,
        clause: 0,
        handler_depth: 0,
    });
    let mut plan = Plan {
        function_landing: false,
        exn_locals: 0,
    };
    let mut next_try = 0u32;
    let mut next_table = 0u32;
    // Whether an exception thrown directly in the frame's current content
    // is looked at by the frame's handlers.
    let intercepts = |tries: &[TryInfo], frame: &AnalysisFrame| {
        frame.table_id != NONE
            || (frame.try_id != NONE
                && !frame.in_handler
                && tries[frame.try_id as usize].kind != TryKind::Plain)
    };
    for (i, op) in ops.iter().enumerate() {
        let depth = stack.last().map_or(0, |f| f.handler_depth);
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                stack.push(AnalysisFrame {
                    try_id: NONE,
                    table_id: NONE,
                    in_handler: false,
                    clause: 0,
                    handler_depth: depth,
                })
            }
            Operator::TryTable { try_table } => {
                stack.push(AnalysisFrame {
                    try_id: NONE,
                    table_id: if try_table.catches.is_empty() {
                        NONE
                    } else {
                        next_table
                    },
                    in_handler: false,
                    clause: 0,
                    handler_depth: depth,
                });
                next_table += 1;
            }
            Operator::Try { .. } => {
                stack.push(AnalysisFrame {
                    try_id: next_try,
                    table_id: NONE,
                    in_handler: false,
                    clause: 0,
                    handler_depth: depth,
                });
                next_try += 1;
            }
            Operator::Catch { .. } | Operator::CatchAll => {
                let frame = stack.last_mut().expect("read pass checked the frame");
                if frame.in_handler {
                    frame.clause += 1;
                } else {
                    frame.in_handler = true;
                    tries[frame.try_id as usize].handler_depth = frame.handler_depth;
                    frame.handler_depth += 1;
                }
            }
            Operator::Rethrow { relative_depth } => {
                let offset = offsets[i];
                let frame = label_frame(stack, *relative_depth)
                    .filter(|f| f.try_id != NONE && f.in_handler)
                    .ok_or(Error::RethrowNotInCatch {
                        offset,
                        depth: *relative_depth,
                    })?;
                let info = &mut tries[frame.try_id as usize];
                info.clauses[frame.clause as usize].by_ref = true;
                plan.exn_locals = plan.exn_locals.max(info.handler_depth + 1);
            }
            Operator::Delegate { relative_depth } => {
                let offset = offsets[i];
                let delegating = stack.pop().expect("read pass checked the frame").try_id;
                let len = stack.len();
                if *relative_depth as usize >= len {
                    return Err(Error::DelegateOutOfRange {
                        offset,
                        depth: *relative_depth,
                    });
                }
                let mut target = len - 1 - *relative_depth as usize;
                while target > 0 && !intercepts(tries, &stack[target]) {
                    target -= 1;
                }
                let transparent = !stack[target + 1..].iter().any(|f| intercepts(tries, f));
                let resolved = if transparent {
                    DelegateTarget::Transparent
                } else if target == 0 {
                    plan.function_landing = true;
                    DelegateTarget::Function
                } else if stack[target].table_id != NONE {
                    let id = stack[target].table_id;
                    table_landing[id as usize] = true;
                    DelegateTarget::Table(id)
                } else {
                    let id = stack[target].try_id;
                    tries[id as usize].body_landing = true;
                    DelegateTarget::Try(id)
                };
                tries[delegating as usize].delegate = resolved;
            }
            Operator::End => {
                stack.pop();
            }
            _ => {}
        }
    }
    Ok(plan)
}

fn label_frame(stack: &[AnalysisFrame], depth: u32) -> Option<AnalysisFrame> {
    let len = stack.len();
    (len > depth as usize).then(|| stack[len - 1 - depth as usize])
}

fn emit<'a>(
    ctx: &ModuleCtx<'a>,
    types: &mut TypeTable,
    func_type: u32,
    body: &FunctionBody<'a>,
    locals: &Locals,
    plan: &Plan,
    scratch: &mut Scratch<'a>,
) -> Result<(), Error> {
    let wasm = ctx.wasm;
    let Scratch {
        ops,
        offsets,
        tries,
        emit_stack: stack,
        landing_abs,
        table_landing,
        table_landing_abs,
        targets,
        out,
        ..
    } = scratch;
    out.clear();
    stack.clear();
    landing_abs.clear();
    landing_abs.resize(tries.len(), 0);
    table_landing_abs.clear();
    table_landing_abs.resize(table_landing.len(), 0);

    let body_start = body.range().start;
    let func_sig = types.func(func_type, body_start)?;
    let exn_base = (func_sig.params.len() as u32)
        .checked_add(locals.count)
        .filter(|n| n.checked_add(plan.exn_locals).is_some())
        .ok_or_else(|| Error::Malformed {
            offset: body_start,
            message: "too many locals".to_string(),
        })?;

    // Locals: the existing groups unchanged, then the exnref locals.
    if plan.exn_locals > 0 {
        (locals.groups + 1).encode(out);
        out.extend_from_slice(&wasm[locals.groups_start..locals.ops_start]);
        plan.exn_locals.encode(out);
        wasm_encoder::ValType::EXNREF.encode(out);
    } else {
        out.extend_from_slice(&wasm[body_start..locals.ops_start]);
    }

    stack.push(EmitFrame {
        kind: EmitKind::Other,
        try_id: NONE,
        target: 0,
        handlers_started: 0,
    });
    let mut elen: u32 = 1;
    const FUNCTION_LANDING: u32 = 2;
    if plan.function_landing {
        let results = func_sig.results.clone();
        let norm = types.block_type(&[], &results);
        encode_block(out, norm, body_start)?;
        encode_block(out, NewBlockType::Value(ValType::EXNREF), body_start)?;
        elen = 3;
    }

    let mut next_try = 0u32;
    let mut next_table = 0u32;
    for (i, op) in ops.iter().enumerate() {
        let offset = offsets[i];
        let raw = &wasm[offset..offsets[i + 1]];
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                out.extend_from_slice(raw);
                stack.push(EmitFrame {
                    kind: EmitKind::Other,
                    try_id: NONE,
                    target: elen,
                    handlers_started: 0,
                });
                elen += 1;
            }
            Operator::TryTable { try_table } => {
                let mut table = try_table.clone();
                for catch in &mut table.catches {
                    let label = match catch {
                        wasmparser::Catch::One { label, .. }
                        | wasmparser::Catch::OneRef { label, .. }
                        | wasmparser::Catch::All { label }
                        | wasmparser::Catch::AllRef { label } => label,
                    };
                    *label = remap(stack, elen, *label, offset)?;
                }
                let blockty = table.ty;
                reencode(out, Operator::TryTable { try_table: table }, offset)?;
                let id = next_table;
                next_table += 1;
                let landing = table_landing[id as usize];
                stack.push(EmitFrame {
                    kind: if landing {
                        EmitKind::TableWithLanding
                    } else {
                        EmitKind::Other
                    },
                    try_id: NONE,
                    target: elen,
                    handlers_started: 0,
                });
                elen += 1;
                if landing {
                    let (params, _) = types.block_sig(blockty, offset)?;
                    let bt =
                        RoundtripReencoder
                            .block_type(blockty)
                            .map_err(|e| Error::Reencode {
                                offset,
                                message: e.to_string(),
                            })?;
                    InstructionSink::new(out).block(bt);
                    let landing = types.block_type(&params, &[ValType::EXNREF]);
                    encode_block(out, landing, offset)?;
                    elen += 2;
                    table_landing_abs[id as usize] = elen - 1;
                }
            }
            Operator::Try { blockty } => {
                let id = next_try;
                next_try += 1;
                let info = &tries[id as usize];
                let bt_raw = &raw[1..];
                let mut frame = EmitFrame {
                    kind: EmitKind::Other,
                    try_id: id,
                    target: elen,
                    handlers_started: 0,
                };
                match info.kind {
                    TryKind::Plain => {
                        out.push(0x02);
                        out.extend_from_slice(bt_raw);
                        elen += 1;
                    }
                    TryKind::Delegate => {
                        frame.kind = EmitKind::TryDelegate;
                        let landing = match info.delegate {
                            DelegateTarget::Transparent => None,
                            DelegateTarget::Function => Some(FUNCTION_LANDING),
                            DelegateTarget::Try(t) => Some(landing_abs[t as usize]),
                            DelegateTarget::Table(t) => Some(table_landing_abs[t as usize]),
                        };
                        match landing {
                            None => {
                                out.push(0x02);
                                out.extend_from_slice(bt_raw);
                            }
                            Some(abs) => {
                                out.push(0x1f);
                                out.extend_from_slice(bt_raw);
                                1u32.encode(out);
                                out.push(0x03); // catch_all_ref
                                (elen - 1 - abs).encode(out);
                            }
                        }
                        elen += 1;
                    }
                    TryKind::Catch => {
                        frame.kind = EmitKind::TryCatch;
                        let (params, _) = types.block_sig(*blockty, offset)?;
                        // $outer
                        out.push(0x02);
                        out.extend_from_slice(bt_raw);
                        elen += 1;
                        // $c_n .. $c_1
                        for clause in info.clauses.iter().rev() {
                            let mut results = match clause.tag {
                                Some(tag) => tag_params(ctx, types, tag, clause.offset)?.to_vec(),
                                None => Vec::new(),
                            };
                            if clause.by_ref {
                                results.push(ValType::EXNREF);
                            }
                            let bt = types.block_type(&params, &results);
                            encode_block(out, bt, offset)?;
                            elen += 1;
                        }
                        out.push(0x1f);
                        out.extend_from_slice(bt_raw);
                        (info.clauses.len() as u32).encode(out);
                        for (label, clause) in info.clauses.iter().enumerate() {
                            let label = label as u32;
                            match (clause.tag, clause.by_ref) {
                                (Some(tag), false) => {
                                    out.push(0x00);
                                    tag.encode(out);
                                }
                                (Some(tag), true) => {
                                    out.push(0x01);
                                    tag.encode(out);
                                }
                                (None, false) => out.push(0x02),
                                (None, true) => out.push(0x03),
                            }
                            label.encode(out);
                        }
                        elen += 1;
                    }
                }
                if info.body_landing {
                    let (params, _) = types.block_sig(*blockty, offset)?;
                    out.push(0x02);
                    out.extend_from_slice(bt_raw);
                    let landing = types.block_type(&params, &[ValType::EXNREF]);
                    encode_block(out, landing, offset)?;
                    elen += 2;
                    landing_abs[id as usize] = elen - 1;
                }
                stack.push(frame);
            }
            Operator::Catch { .. } | Operator::CatchAll => {
                let frame = stack.last_mut().expect("read pass checked the frame");
                let info = &tries[frame.try_id as usize];
                let n = info.clauses.len() as u32;
                let mut sink = InstructionSink::new(out);
                if frame.handlers_started == 0 {
                    if info.body_landing {
                        close_landing(&mut sink);
                        elen -= 2;
                    }
                    sink.end(); // try_table
                    sink.br(n); // $outer
                    elen -= 1;
                } else {
                    sink.br(n - frame.handlers_started);
                }
                sink.end(); // $c_i
                elen -= 1;
                let clause = info.clauses[frame.handlers_started as usize];
                if clause.by_ref {
                    sink.local_set(exn_base + info.handler_depth);
                }
                frame.handlers_started += 1;
            }
            Operator::Delegate { .. } => {
                let frame = stack.pop().expect("read pass checked the frame");
                let mut sink = InstructionSink::new(out);
                if tries[frame.try_id as usize].body_landing {
                    close_landing(&mut sink);
                    elen -= 2;
                }
                sink.end();
                elen -= 1;
            }
            Operator::Rethrow { relative_depth } => {
                let len = stack.len();
                let frame = stack[len - 1 - *relative_depth as usize];
                let info = &tries[frame.try_id as usize];
                InstructionSink::new(out)
                    .local_get(exn_base + info.handler_depth)
                    .throw_ref();
            }
            Operator::End => {
                if stack.len() == 1 {
                    if plan.function_landing {
                        close_landing(&mut InstructionSink::new(out));
                        elen -= 2;
                    }
                } else {
                    let frame = stack.pop().expect("not the function frame");
                    if frame.kind == EmitKind::TableWithLanding {
                        close_landing(&mut InstructionSink::new(out));
                        elen -= 2;
                    }
                }
                out.push(0x0b);
                elen -= 1;
            }
            Operator::Br { relative_depth } => {
                let l = remap(stack, elen, *relative_depth, offset)?;
                InstructionSink::new(out).br(l);
            }
            Operator::BrIf { relative_depth } => {
                let l = remap(stack, elen, *relative_depth, offset)?;
                InstructionSink::new(out).br_if(l);
            }
            Operator::BrOnNull { relative_depth } => {
                let l = remap(stack, elen, *relative_depth, offset)?;
                InstructionSink::new(out).br_on_null(l);
            }
            Operator::BrOnNonNull { relative_depth } => {
                let l = remap(stack, elen, *relative_depth, offset)?;
                InstructionSink::new(out).br_on_non_null(l);
            }
            Operator::BrTable { targets: table } => {
                targets.clear();
                for target in table.targets() {
                    targets.push(remap(stack, elen, target?, offset)?);
                }
                let default = remap(stack, elen, table.default(), offset)?;
                InstructionSink::new(out).br_table(targets.iter().copied(), default);
            }
            Operator::BrOnCast {
                relative_depth,
                from_ref_type,
                to_ref_type,
            } => {
                let op = Operator::BrOnCast {
                    relative_depth: remap(stack, elen, *relative_depth, offset)?,
                    from_ref_type: *from_ref_type,
                    to_ref_type: *to_ref_type,
                };
                reencode(out, op, offset)?;
            }
            Operator::BrOnCastFail {
                relative_depth,
                from_ref_type,
                to_ref_type,
            } => {
                let op = Operator::BrOnCastFail {
                    relative_depth: remap(stack, elen, *relative_depth, offset)?,
                    from_ref_type: *from_ref_type,
                    to_ref_type: *to_ref_type,
                };
                reencode(out, op, offset)?;
            }
            Operator::BrOnCastDescEq {
                relative_depth,
                from_ref_type,
                to_ref_type,
            } => {
                let op = Operator::BrOnCastDescEq {
                    relative_depth: remap(stack, elen, *relative_depth, offset)?,
                    from_ref_type: *from_ref_type,
                    to_ref_type: *to_ref_type,
                };
                reencode(out, op, offset)?;
            }
            Operator::BrOnCastDescEqFail {
                relative_depth,
                from_ref_type,
                to_ref_type,
            } => {
                let op = Operator::BrOnCastDescEqFail {
                    relative_depth: remap(stack, elen, *relative_depth, offset)?,
                    from_ref_type: *from_ref_type,
                    to_ref_type: *to_ref_type,
                };
                reencode(out, op, offset)?;
            }
            Operator::Resume {
                cont_type_index,
                resume_table,
            } => {
                let op = Operator::Resume {
                    cont_type_index: *cont_type_index,
                    resume_table: remap_resume(stack, elen, resume_table, offset)?,
                };
                reencode(out, op, offset)?;
            }
            Operator::ResumeThrow {
                cont_type_index,
                tag_index,
                resume_table,
            } => {
                let op = Operator::ResumeThrow {
                    cont_type_index: *cont_type_index,
                    tag_index: *tag_index,
                    resume_table: remap_resume(stack, elen, resume_table, offset)?,
                };
                reencode(out, op, offset)?;
            }
            Operator::ResumeThrowRef {
                cont_type_index,
                resume_table,
            } => {
                let op = Operator::ResumeThrowRef {
                    cont_type_index: *cont_type_index,
                    resume_table: remap_resume(stack, elen, resume_table, offset)?,
                };
                reencode(out, op, offset)?;
            }
            _ => out.extend_from_slice(raw),
        }
    }
    Ok(())
}

/// Ends a landing pad opened with `block bt; block (P -> exnref)`.
fn close_landing(sink: &mut InstructionSink<'_>) {
    sink.br(1).end().throw_ref().end();
}

fn remap(stack: &[EmitFrame], elen: u32, depth: u32, offset: usize) -> Result<u32, Error> {
    let len = stack.len();
    if depth as usize >= len {
        return Err(Error::LabelOutOfRange { offset, depth });
    }
    Ok(elen - 1 - stack[len - 1 - depth as usize].target)
}

fn remap_resume(
    stack: &[EmitFrame],
    elen: u32,
    table: &wasmparser::ResumeTable,
    offset: usize,
) -> Result<wasmparser::ResumeTable, Error> {
    let mut table = table.clone();
    for handle in &mut table.handlers {
        if let wasmparser::Handle::OnLabel { label, .. } = handle {
            *label = remap(stack, elen, *label, offset)?;
        }
    }
    Ok(table)
}

fn tag_params<'t>(
    ctx: &ModuleCtx<'_>,
    types: &'t TypeTable,
    tag: u32,
    offset: usize,
) -> Result<&'t [ValType], Error> {
    let ty = *ctx
        .tag_types
        .get(tag as usize)
        .ok_or(Error::UnknownTag { offset, tag })?;
    Ok(&types.func(ty, offset)?.params)
}

fn encode_block(out: &mut Vec<u8>, bt: NewBlockType, offset: usize) -> Result<(), Error> {
    out.push(0x02);
    let bt = match bt {
        NewBlockType::Empty => wasm_encoder::BlockType::Empty,
        NewBlockType::Value(t) => wasm_encoder::BlockType::Result(val_type(t, offset)?),
        NewBlockType::Func(index) => wasm_encoder::BlockType::FunctionType(index),
    };
    bt.encode(out);
    Ok(())
}

pub(crate) fn val_type(t: ValType, offset: usize) -> Result<wasm_encoder::ValType, Error> {
    RoundtripReencoder.val_type(t).map_err(|e| Error::Reencode {
        offset,
        message: e.to_string(),
    })
}

fn reencode(out: &mut Vec<u8>, op: Operator<'_>, offset: usize) -> Result<(), Error> {
    let instruction = RoundtripReencoder
        .instruction(op)
        .map_err(|e| Error::Reencode {
            offset,
            message: e.to_string(),
        })?;
    instruction.encode(out);
    Ok(())
}
