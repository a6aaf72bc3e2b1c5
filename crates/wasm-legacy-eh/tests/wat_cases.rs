//! WAT programs using legacy exception handling, translated, validated
//! without the legacy feature, run in wasmtime, and compared with the
//! results the legacy semantics give (worked out by hand in the comments, or
//! by a Rust model of the program).

use std::sync::OnceLock;

use anyhow::{Context, Result, bail, ensure};
use wasmparser::{KnownCustom, Name, Operator, Parser, Payload, Validator, WasmFeatures};
use wasmtime::{Config, Engine, Instance, Module, Store, Val};

/// What calling an export must give.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Returns(Vec<i32>),
    /// An exception escapes to the host.
    Throws,
}
use Expect::{Returns, Throws};

fn ret(values: &[i32]) -> Expect {
    Returns(values.to_vec())
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config
            .wasm_exceptions(true)
            .wasm_function_references(true)
            .wasm_gc(true);
        Engine::new(&config).expect("engine")
    })
}

fn legacy_op_count(wasm: &[u8]) -> Result<usize> {
    let mut count = 0;
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionEntry(body) = payload? {
            let mut reader = body.get_operators_reader()?;
            while !reader.eof() {
                if let Operator::Try { .. }
                | Operator::Catch { .. }
                | Operator::CatchAll
                | Operator::Delegate { .. }
                | Operator::Rethrow { .. } = reader.read()?
                {
                    count += 1;
                }
            }
        }
    }
    Ok(count)
}

/// Translates `wat`, checks the output validates without legacy exceptions
/// and has no legacy instruction left, then runs each `(export, args,
/// expected)` case.
fn check(wat: &str, cases: &[(&str, &[i32], Expect)]) -> Result<Vec<u8>> {
    let input = wat::parse_str(wat).context("parse wat")?;
    ensure!(
        legacy_op_count(&input)? > 0,
        "test input has no legacy instruction"
    );
    let output = wasm_legacy_eh::translate(&input).context("translate")?;
    let mut features = WasmFeatures::all();
    features.remove(WasmFeatures::LEGACY_EXCEPTIONS);
    if let Err(err) = Validator::new_with_features(features).validate_all(&output) {
        let text = wasmprinter::print_bytes(&output).unwrap_or_default();
        bail!("translated module does not validate: {err}\n{text}");
    }
    ensure!(legacy_op_count(&output)? == 0, "legacy instructions remain");
    run(&output, cases)?;
    Ok(output)
}

fn run(wasm: &[u8], cases: &[(&str, &[i32], Expect)]) -> Result<()> {
    let module = Module::new(engine(), wasm).map_err(|e| anyhow::anyhow!("compile: {e:?}"))?;
    let mut store = Store::new(engine(), ());
    let instance = Instance::new(&mut store, &module, &[])
        .map_err(|e| anyhow::anyhow!("instantiate: {e:?}"))?;
    for (name, args, expected) in cases {
        let func = instance
            .get_func(&mut store, name)
            .with_context(|| format!("no export {name:?}"))?;
        let params: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
        let mut results = vec![Val::I32(0); func.ty(&store).results().len()];
        let got = match func.call(&mut store, &params, &mut results) {
            Ok(()) => Returns(
                results
                    .iter()
                    .map(|v| v.i32().context("non-i32 result"))
                    .collect::<Result<_>>()?,
            ),
            Err(err) if err.downcast_ref::<wasmtime::ThrownException>().is_some() => {
                // Take the exception out of the store so the next call starts clean.
                let _ = store.take_pending_exception();
                Throws
            }
            Err(err) => bail!("{name}{args:?} trapped: {err:?}"),
        };
        ensure!(
            &got == expected,
            "{name}{args:?}: expected {expected:?}, got {got:?}"
        );
    }
    Ok(())
}

const TAGS: &str = r#"
  (tag $e0)
  (tag $e1 (param i32))
  (tag $pair (param i32 i32))
"#;

fn module(body: &str) -> String {
    format!("(module {TAGS} {body})")
}

#[test]
fn nested_try() -> Result<()> {
    let wat = module(
        r#"
        (func (export "nested") (param $x i32) (result i32)
          try (result i32)
            try (result i32)
              local.get $x
              i32.eqz
              if
                throw $e0
              end
              local.get $x
              throw $e1
            catch $e1
              i32.const 100
              i32.add
            end
          catch $e0
            i32.const -1
          end)
        (func (export "no_throw") (param $x i32) (result i32)
          try (result i32)
            try (result i32)
              local.get $x
            catch_all
              i32.const -2
            end
            i32.const 1
            i32.add
          catch_all
            i32.const -3
          end)
        "#,
    );
    check(
        &wat,
        &[
            ("nested", &[5], ret(&[105])),
            ("nested", &[0], ret(&[-1])),
            ("no_throw", &[7], ret(&[8])),
        ],
    )?;
    Ok(())
}

#[test]
fn catch_with_tag_payloads() -> Result<()> {
    let wat = module(
        r#"
        (func (export "single") (param $x i32) (result i32)
          try (result i32)
            local.get $x
            throw $e1
          catch $e1
            i32.const 2
            i32.mul
          end)
        (func (export "pair") (param $a i32) (param $b i32) (result i32)
          try (result i32)
            local.get $a
            local.get $b
            throw $pair
          catch $e1
            i32.const -1
          catch $pair
            i32.sub
          end)
        ;; The first matching clause wins; later clauses and catch_all are skipped.
        (func (export "which") (param $x i32) (result i32)
          try (result i32)
            local.get $x
            i32.eqz
            if
              throw $e0
            end
            local.get $x
            i32.const 1
            i32.eq
            if
              i32.const 10
              i32.const 3
              throw $pair
            end
            local.get $x
            throw $e1
          catch $pair
            i32.mul
          catch $e0
            i32.const 1000
          catch $e1
            i32.const 2000
            i32.add
          catch_all
            i32.const -1
          end)
        "#,
    );
    check(
        &wat,
        &[
            ("single", &[21], ret(&[42])),
            ("pair", &[10, 3], ret(&[7])),
            ("which", &[0], ret(&[1000])),
            ("which", &[1], ret(&[30])),
            ("which", &[5], ret(&[2005])),
        ],
    )?;
    Ok(())
}

#[test]
fn catch_all_and_uncaught() -> Result<()> {
    let wat = module(
        r#"
        (func (export "catch_all") (param $x i32) (result i32)
          try (result i32)
            local.get $x
            throw $e1
          catch $e0
            i32.const -1
          catch_all
            i32.const 42
          end)
        (func (export "uncaught") (param $x i32) (result i32)
          try (result i32)
            local.get $x
            throw $e1
          catch $e0
            i32.const -1
          end)
        (func (export "no_clauses") (param $x i32) (result i32)
          try (result i32)
            local.get $x
            i32.eqz
            if
              throw $e0
            end
            local.get $x
          end)
        "#,
    );
    check(
        &wat,
        &[
            ("catch_all", &[1], ret(&[42])),
            ("uncaught", &[1], Throws),
            ("no_clauses", &[3], ret(&[3])),
            ("no_clauses", &[0], Throws),
        ],
    )?;
    Ok(())
}

#[test]
fn rethrow_at_depth() -> Result<()> {
    let wat = module(
        r#"
        ;; rethrow 2 (inside an if) from the inner handler rethrows the outer
        ;; catch's exception ($e1 x); rethrow 0 the inner one ($e0).
        (func $rethrow (param $x i32) (param $depth i32) (result i32)
          try (result i32)
            try (result i32)
              local.get $x
              throw $e1
            catch $e1
              drop
              try (result i32)
                throw $e0
              catch $e0
                local.get $depth
                if
                  ;; 0 = this if, 1 = the inner try, 2 = the outer catch's try
                  rethrow 2
                end
                rethrow 0
              end
            end
          catch $e1
            i32.const 1000
            i32.add
          catch $e0
            i32.const -1
          end)
        (func (export "rethrow_outer") (param $x i32) (result i32)
          local.get $x
          i32.const 1
          call $rethrow)
        (func (export "rethrow_inner") (param $x i32) (result i32)
          local.get $x
          i32.const 0
          call $rethrow)
        ;; A rethrow from catch_all keeps the payload; a pair payload with its
        ;; exnref needs a multi-value block type.
        (func (export "rethrow_all") (param $x i32) (result i32)
          try (result i32)
            try (result i32)
              local.get $x
              throw $e1
            catch_all
              rethrow 0
            end
          catch $e1
            i32.const 3
            i32.add
          end)
        (func (export "rethrow_pair") (param $a i32) (param $b i32) (result i32)
          try (result i32)
            try (result i32)
              local.get $a
              local.get $b
              throw $pair
            catch $pair
              i32.add
              local.get $a
              i32.eqz
              br_if 0
              drop
              rethrow 0
            end
          catch $pair
            i32.mul
          end)
        ;; Sibling handlers at the same depth, each rethrowing its own exception,
        ;; and a rethrow inside a try body nested in a handler, caught there.
        (func (export "siblings") (param $x i32) (result i32)
          (local $acc i32)
          try
            local.get $x
            throw $e1
          catch $e1
            drop
            try
              i32.const 7
              throw $e1
            catch $e1
              local.get $acc
              i32.add
              local.set $acc
            end
            try
              rethrow 1
            catch $e1
              local.get $acc
              i32.add
              local.set $acc
            end
          end
          try
            i32.const 100
            throw $e1
          catch $e1
            drop
            try
              try
                rethrow 2
              catch $e0
              end
            catch $e1
              local.get $acc
              i32.add
              local.set $acc
            end
          end
          local.get $acc)
        "#,
    );
    check(
        &wat,
        &[
            ("rethrow_outer", &[5], ret(&[1005])),
            ("rethrow_inner", &[5], ret(&[-1])),
            ("rethrow_all", &[4], ret(&[7])),
            ("rethrow_pair", &[0, 9], ret(&[9])),
            ("rethrow_pair", &[3, 4], ret(&[12])),
            ("siblings", &[5], ret(&[112])),
        ],
    )?;
    Ok(())
}

#[test]
fn delegate_targets() -> Result<()> {
    let wat = module(
        r#"
        ;; delegate 1 skips the intermediate try's catch_all and lands in the
        ;; outer try's catches; delegate 0 goes to the intermediate try.
        (func (export "to_outer_try") (param $x i32) (result i32)
          try (result i32)
            try (result i32)
              try (result i32)
                local.get $x
                throw $e1
              delegate 1
            catch_all
              i32.const -1
            end
          catch $e1
            i32.const 7
            i32.add
          end)
        (func (export "to_inner_try") (param $x i32) (result i32)
          try (result i32)
            try (result i32)
              try (result i32)
                local.get $x
                throw $e1
              delegate 0
            catch_all
              i32.const -1
            end
          catch $e1
            i32.const 7
            i32.add
          end)
        ;; Delegating to a block rethrows after the block: the intermediate
        ;; try's catch_all inside the block is skipped.
        (func (export "to_block") (param $x i32) (result i32)
          try (result i32)
            block $b (result i32)
              try (result i32)
                try (result i32)
                  local.get $x
                  throw $e1
                delegate $b
              catch_all
                i32.const -1
              end
            end
          catch $e1
            i32.const 200
            i32.add
          end)
        ;; Delegating to the function label rethrows to the caller.
        (func $to_caller (export "to_caller") (param $x i32) (result i32)
          try (result i32)
            try (result i32)
              local.get $x
              throw $e1
            delegate 1
          catch_all
            i32.const -1
          end)
        (func (export "call_to_caller") (param $x i32) (result i32)
          try (result i32)
            local.get $x
            call $to_caller
          catch $e1
            i32.const 300
            i32.add
          end)
        ;; Delegate to the immediately enclosing try is a no-op.
        (func (export "trivial") (param $x i32) (result i32)
          try (result i32)
            try (result i32)
              local.get $x
              throw $e1
            delegate 0
          catch $e1
            i32.const 1
            i32.add
          end)
        ;; A delegate to a try that itself delegates: the chain is followed.
        (func (export "chain") (param $x i32) (result i32)
          try (result i32)
            try (result i32)
              try (result i32)
                try (result i32)
                  local.get $x
                  throw $e1
                delegate 1
              catch_all
                i32.const -1
              end
            delegate 0
          catch $e1
            i32.const 50
            i32.add
          end)
        ;; A catch-less try and a loop are transparent: delegating to them
        ;; skips the try_catch_all inside them and reaches the outer try.
        (func (export "to_plain_try") (param $x i32) (result i32)
          try (result i32)
            try (result i32)
              try (result i32)
                try (result i32)
                  local.get $x
                  throw $e1
                delegate 1
              catch_all
                i32.const -1
              end
            end
          catch $e1
            i32.const 30
            i32.add
          end)
        (func (export "to_loop") (param $x i32) (result i32)
          try (result i32)
            loop $l (result i32)
              try (result i32)
                try (result i32)
                  local.get $x
                  throw $e1
                delegate $l
              catch_all
                i32.const -1
              end
            end
          catch $e1
            i32.const 10
            i32.add
          end)
        ;; Delegating to the caller from a function with two results: the
        ;; function-level landing pad needs a multi-value block type.
        (func $two (param $x i32) (result i32 i32)
          try (result i32 i32)
            try (result i32 i32)
              local.get $x
              i32.const 1
              i32.and
              if
                local.get $x
                throw $e1
              end
              local.get $x
              local.get $x
            delegate 1
          catch_all
            i32.const -1
            i32.const -1
          end)
        (func (export "two_results_to_caller") (param $x i32) (result i32)
          try (result i32)
            local.get $x
            call $two
            i32.add
          catch $e1
          end)
        ;; Many delegates to the same try share one landing pad, and a delegate
        ;; whose body does not throw returns normally.
        (func (export "shared_landing") (param $x i32) (result i32)
          try (result i32)
            try (result i32)
              try (result i32)
                local.get $x
              delegate 1
              try (result i32)
                local.get $x
                i32.eqz
                if
                  i32.const 9
                  throw $e1
                end
                local.get $x
              delegate 1
              i32.add
            catch_all
              i32.const -1
            end
          catch $e1
            i32.const 20
            i32.add
          end)
        "#,
    );
    check(
        &wat,
        &[
            ("to_outer_try", &[1], ret(&[8])),
            ("to_inner_try", &[1], ret(&[-1])),
            ("to_block", &[2], ret(&[202])),
            ("to_caller", &[3], Throws),
            ("call_to_caller", &[3], ret(&[303])),
            ("trivial", &[4], ret(&[5])),
            ("to_plain_try", &[1], ret(&[31])),
            ("to_loop", &[1], ret(&[11])),
            ("two_results_to_caller", &[2], ret(&[4])),
            ("two_results_to_caller", &[3], ret(&[3])),
            ("chain", &[6], ret(&[56])),
            ("shared_landing", &[4], ret(&[8])),
            ("shared_landing", &[0], ret(&[29])),
        ],
    )?;
    Ok(())
}

#[test]
fn delegate_from_catch_handler() -> Result<()> {
    let wat = module(
        r#"
        ;; Delegating to the try whose handler we are in: that try's other
        ;; handlers are no longer active, the exception goes to the outer try.
        (func (export "own_try") (param $x i32) (result i32)
          try (result i32)
            try $l1 (result i32)
              throw $e0
            catch $e0
              try (result i32)
                local.get $x
                throw $e1
              delegate $l1
            catch_all
              i32.const -1
            end
          catch $e1
            i32.const 400
            i32.add
          end)
        ;; From a handler to a try body further out, past a try with catches
        ;; that lies inside the handler.
        (func (export "outer_body") (param $x i32) (result i32)
          try $out (result i32)
            try (result i32)
              throw $e0
            catch $e0
              try (result i32)
                try (result i32)
                  local.get $x
                  throw $e1
                delegate $out
              catch_all
                i32.const -1
              end
            end
          catch $e1
            i32.const 500
            i32.add
          end)
        ;; From a handler to the caller.
        (func (export "handler_to_caller") (param $x i32) (result i32)
          try (result i32)
            throw $e0
          catch $e0
            try (result i32)
              try (result i32)
                local.get $x
                throw $e1
              delegate 2
            catch_all
              i32.const -1
            end
          end)
        "#,
    );
    check(
        &wat,
        &[
            ("own_try", &[1], ret(&[401])),
            ("outer_body", &[2], ret(&[502])),
            ("handler_to_caller", &[2], Throws),
        ],
    )?;
    Ok(())
}

#[test]
fn try_with_block_params_and_results() -> Result<()> {
    let wat = module(
        r#"
        (func (export "params") (param $a i32) (param $b i32) (result i32 i32)
          (local $t i32)
          local.get $a
          local.get $b
          try (param i32 i32) (result i32 i32)
            i32.add
            local.set $t
            local.get $a
            i32.eqz
            if
              local.get $t
              i32.const 99
              throw $pair
            end
            local.get $t
            local.get $t
            i32.const 2
            i32.mul
          catch $pair
          catch_all
            i32.const -1
            i32.const -1
          end)
        ;; A try with params that is the target of a delegate (its landing pad
        ;; takes the params too), and whose handler rethrows.
        (func (export "params_delegate") (param $a i32) (result i32 i32)
          local.get $a
          i32.const 1
          try (param i32 i32) (result i32 i32)
            try (param i32 i32) (result i32 i32)
              try (param i32 i32) (result i32 i32)
                drop
                throw $e1
              delegate 1
            catch_all
              i32.const -1
              i32.const -1
            end
          catch $e1
            i32.const 5
          end)
        (func (export "params_rethrow") (param $a i32) (result i32 i32)
          try (result i32 i32)
            local.get $a
            i32.const 2
            try (param i32 i32) (result i32 i32)
              throw $pair
            catch $pair
              local.get $a
              if
                rethrow 1
              end
            end
          catch $pair
            i32.const 100
            i32.add
          end)
        "#,
    );
    check(
        &wat,
        &[
            ("params", &[1, 2], ret(&[3, 6])),
            ("params", &[0, 5], ret(&[5, 99])),
            ("params_delegate", &[8], ret(&[8, 5])),
            ("params_rethrow", &[0], ret(&[0, 2])),
            ("params_rethrow", &[4], ret(&[4, 102])),
        ],
    )?;
    Ok(())
}

/// The loop program of `branches_in_loops`, run natively.
fn loop_model(n: i32) -> i32 {
    let mut acc = 0;
    let mut i = 0;
    loop {
        if i >= n {
            break;
        }
        i += 1;
        match i % 4 {
            0 => continue,
            1 => acc += i * 10,
            2 => {
                if i >= 6 {
                    break;
                }
                acc += 1;
            }
            _ => acc += 100,
        }
        if i % 5 == 0 {
            break;
        }
    }
    acc
}

#[test]
fn branches_in_loops() -> Result<()> {
    let wat = module(
        r#"
        (func (export "loop") (param $n i32) (result i32)
          (local $i i32) (local $acc i32)
          block $exit
            loop $top
              local.get $i
              local.get $n
              i32.ge_s
              br_if $exit
              local.get $i
              i32.const 1
              i32.add
              local.set $i
              try $t
                block $normal
                  block $throw0
                    block $throw1
                      local.get $i
                      i32.const 4
                      i32.rem_u
                      ;; out of the try body to the loop, or to inner blocks
                      br_table $top $throw1 $throw0 $normal
                    end
                    local.get $i
                    throw $e1
                  end
                  throw $e0
                end
                local.get $acc
                i32.const 100
                i32.add
                local.set $acc
                ;; br_if out of the body past the try
                local.get $i
                i32.const 5
                i32.rem_u
                i32.eqz
                br_if $exit
              catch $e1
                i32.const 10
                i32.mul
                local.get $acc
                i32.add
                local.set $acc
                ;; br_if to the try label from a handler
                local.get $i
                i32.const 5
                i32.rem_u
                i32.eqz
                br_if $exit
                br $top
              catch_all
                local.get $i
                i32.const 6
                i32.ge_u
                br_if $exit
                local.get $acc
                i32.const 1
                i32.add
                local.set $acc
                local.get $i
                i32.const 5
                i32.rem_u
                i32.eqz
                br_if $exit
                br $t
              end
              br $top
            end
          end
          local.get $acc)
        ;; br_table from a handler, with targets in and out of the try.
        (func (export "handler_table") (param $x i32) (result i32)
          block $a (result i32)
            block $b (result i32)
              try (result i32)
                local.get $x
                throw $e1
              catch $e1
                i32.const 10
                local.get $x
                br_table $a $b 2 0
              end
              i32.const 3
              i32.add
            end
            i32.const 20
            i32.add
          end)
        "#,
    );
    let cases: Vec<(&str, Vec<i32>, Expect)> = (0..12)
        .map(|n| ("loop", vec![n], ret(&[loop_model(n)])))
        .chain([
            ("handler_table", vec![0], ret(&[10])),
            ("handler_table", vec![1], ret(&[30])),
            ("handler_table", vec![2], ret(&[10])),
            ("handler_table", vec![7], ret(&[33])),
        ])
        .collect();
    let cases: Vec<(&str, &[i32], Expect)> = cases
        .iter()
        .map(|(name, args, expect)| (*name, args.as_slice(), expect.clone()))
        .collect();
    check(&wat, &cases)?;
    Ok(())
}

#[test]
fn exceptions_crossing_calls() -> Result<()> {
    let wat = module(
        r#"
        (func $thrower (param $x i32)
          local.get $x
          throw $e1)
        (func $catch_and_rethrow (param $x i32) (result i32)
          try (result i32)
            local.get $x
            call $thrower
            i32.const 0
          catch_all
            rethrow 0
          end)
        (func (export "across") (param $x i32) (result i32)
          try (result i32)
            local.get $x
            call $catch_and_rethrow
          catch $e1
            i32.const 1
            i32.add
          end)
        ;; A handler that calls a throwing function: caught by the outer try.
        (func (export "throw_in_handler") (param $x i32) (result i32)
          try (result i32)
            try (result i32)
              throw $e0
            catch $e0
              local.get $x
              call $thrower
              i32.const -1
            end
          catch $e1
            i32.const 2
            i32.mul
          end)
        ;; Recursion: each level catches, adds, and rethrows.
        (func $recurse (param $n i32) (result i32)
          local.get $n
          i32.eqz
          if
            i32.const 1
            throw $e1
          end
          try (result i32)
            local.get $n
            i32.const 1
            i32.sub
            call $recurse
          catch $e1
            local.get $n
            i32.add
            local.get $n
            i32.const 3
            i32.eq
            br_if 0
            throw $e1
          end)
        (func (export "recurse") (param $n i32) (result i32)
          try (result i32)
            local.get $n
            call $recurse
          catch $e1
            i32.const -1000
            i32.add
          end)
        "#,
    );
    check(
        &wat,
        &[
            ("across", &[4], ret(&[5])),
            ("throw_in_handler", &[6], ret(&[12])),
            // 1 + 1 + 2 + 3 = 7, caught at level 3
            ("recurse", &[5], ret(&[7])),
            // 1 + 1 + 2 = 4 escapes, the export subtracts 1000
            ("recurse", &[2], ret(&[-996])),
        ],
    )?;
    Ok(())
}

#[test]
fn existing_try_table_is_kept_and_relabelled() -> Result<()> {
    let wat = module(
        r#"
        ;; A standard try_table inside a legacy try: its catch label names a
        ;; block outside the legacy try, so it must be relabelled.
        (func (export "mixed") (param $x i32) (result i32)
          block $h (result i32)
            try (result i32)
              try_table (result i32) (catch $e1 $h)
                local.get $x
                i32.const 1
                i32.and
                i32.eqz
                if
                  local.get $x
                  throw $e1
                end
                local.get $x
              end
            catch_all
              i32.const -1
            end
            i32.const 1000
            i32.add
          end
          i32.const 500
          i32.add)
;; A delegate past a try_table with a catch_all skips it; a delegate to
        ;; the try_table's label is caught by it.
        (func $past_table (param $x i32) (param $skip i32) (result i32)
          try $t (result i32)
            block $h
              try_table (result i32) (catch_all $h)
                local.get $skip
                if (result i32)
                  try (result i32)
                    local.get $x
                    throw $e1
                  delegate $t
                else
                  try (result i32)
                    local.get $x
                    throw $e1
                  delegate 1
                end
              end
              return
            end
            i32.const -1
          catch $e1
            i32.const 600
            i32.add
          end)
        (func (export "past_table") (param $x i32) (result i32)
          local.get $x
          i32.const 1
          call $past_table)
        (func (export "to_table") (param $x i32) (result i32)
          local.get $x
          i32.const 0
          call $past_table)
        ;; A function with only standard EH is copied as it is.
        (func (export "standard") (param $x i32) (result i32)
          block $h (result i32)
            try_table (result i32) (catch $e1 $h)
              local.get $x
              throw $e1
            end
          end)
        "#,
    );
    check(
        &wat,
        &[
            ("mixed", &[4], ret(&[504])),
            ("mixed", &[3], ret(&[1503])),
            ("past_table", &[5], ret(&[605])),
            ("to_table", &[5], ret(&[-1])),
            ("standard", &[8], ret(&[8])),
        ],
    )?;
    Ok(())
}

#[test]
fn unreachable_code_inside_constructs() -> Result<()> {
    let wat = module(
        r#"
        (func (export "dead") (param $x i32) (result i32)
          try (result i32)
            local.get $x
            throw $e1
            i32.add
            try
              unreachable
            delegate 0
          catch $e1
            return
            rethrow 0
          catch_all
            unreachable
          end)
        (func (export "empty_handlers") (param $x i32) (result i32)
          try
            local.get $x
            throw $e1
          catch $e1
            drop
          catch_all
          end
          local.get $x)
        "#,
    );
    check(
        &wat,
        &[
            ("dead", &[9], ret(&[9])),
            ("empty_handlers", &[9], ret(&[9])),
        ],
    )?;
    Ok(())
}

#[test]
fn module_without_legacy_eh_is_returned_unchanged() -> Result<()> {
    let wat = module(
        r#"
        (memory 1)
        (func $f (export "f") (param $x i32) (result i32)
          block $h (result i32)
            try_table (result i32) (catch $e1 $h)
              local.get $x
              throw $e1
            end
          end)
        (@custom "trailer" "bytes")
        "#,
    );
    let input = wat::parse_str(&wat)?;
    let output = wasm_legacy_eh::translate(&input)?;
    ensure!(output == input, "bytes changed");
    let empty = wat::parse_str("(module)")?;
    ensure!(
        wasm_legacy_eh::translate(&empty)? == empty,
        "empty module changed"
    );
    Ok(())
}

/// Custom sections as (name, data) in order, and the name section's
/// function and local names.
#[derive(Debug, PartialEq)]
struct CustomSections {
    customs: Vec<(String, Vec<u8>)>,
    functions: Vec<(u32, String)>,
    locals: Vec<(u32, Vec<(u32, String)>)>,
    first_is_custom: bool,
}

fn custom_sections(wasm: &[u8]) -> Result<CustomSections> {
    let mut customs = Vec::new();
    let mut functions = Vec::new();
    let mut locals = Vec::new();
    let mut first_is_custom = false;
    for (i, payload) in Parser::new(0).parse_all(wasm).enumerate() {
        let payload = payload?;
        if let Payload::CustomSection(section) = &payload {
            if i == 1 {
                first_is_custom = true;
            }
            customs.push((section.name().to_string(), section.data().to_vec()));
            if let KnownCustom::Name(reader) = section.as_known() {
                for name in reader {
                    match name? {
                        Name::Function(map) => {
                            for naming in map {
                                let naming = naming?;
                                functions.push((naming.index, naming.name.to_string()));
                            }
                        }
                        Name::Local(map) => {
                            for indirect in map {
                                let indirect = indirect?;
                                let mut names = Vec::new();
                                for naming in indirect.names {
                                    let naming = naming?;
                                    names.push((naming.index, naming.name.to_string()));
                                }
                                locals.push((indirect.index, names));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(CustomSections {
        customs,
        functions,
        locals,
        first_is_custom,
    })
}

#[test]
fn names_and_custom_sections_are_preserved() -> Result<()> {
    let wat = r#"
        (module
          (@custom "dylink.0" (before first) "")
          (@custom "between" (after type) "\01\02\03")
          (tag $e1 (param i32))
          (func $helper (param $p i32) (result i32)
            local.get $p)
          (func $uses_legacy (export "f") (param $x i32) (result i32)
            (local $kept i32) (local $also f64)
            try (result i32)
              local.get $x
              throw $e1
            catch $e1
              local.set $kept
              try (result i32)
                local.get $kept
                throw $e1
              catch_all
                rethrow 1
              end
            end)
          (func (export "g") (param $x i32) (result i32)
            try (result i32)
              local.get $x
              call $uses_legacy
            catch $e1
              call $helper
            end)
          (@custom "trailer" (after code) "end"))
    "#;
    let output = check(wat, &[("g", &[11], ret(&[11]))])?;
    let input = wat::parse_str(wat)?;
    let before = custom_sections(&input)?;
    let after = custom_sections(&output)?;
    ensure!(before == after, "{before:?} != {after:?}");
    ensure!(
        after.first_is_custom && after.customs[0].0 == "dylink.0",
        "dylink.0 is no longer the first section: {after:?}"
    );
    let CustomSections {
        functions, locals, ..
    } = after;
    ensure!(
        functions.contains(&(1, "uses_legacy".to_string())),
        "{functions:?}"
    );
    ensure!(
        locals.contains(&(
            1,
            vec![
                (0, "x".to_string()),
                (1, "kept".to_string()),
                (2, "also".to_string())
            ]
        )),
        "{locals:?}"
    );
    // The positions of the custom sections among the others are unchanged.
    let order = |wasm: &[u8]| -> Result<Vec<u8>> {
        let mut ids = Vec::new();
        for payload in Parser::new(0).parse_all(wasm) {
            if let Some((id, _)) = payload?.as_section() {
                ids.push(id);
            }
        }
        Ok(ids)
    };
    ensure!(order(&input)? == order(&output)?, "section order changed");
    Ok(())
}

#[test]
fn invalid_legacy_code_is_an_error() -> Result<()> {
    let translate = |wat: &str| -> Result<wasm_legacy_eh::Error> {
        let wasm = wat::parse_str(module(wat))?;
        match wasm_legacy_eh::translate(&wasm) {
            Ok(_) => bail!("translated invalid code"),
            Err(err) => Ok(err),
        }
    };
    let err = translate("(func try rethrow 0 catch_all end)")?;
    ensure!(
        matches!(
            err,
            wasm_legacy_eh::Error::RethrowNotInCatch { depth: 0, .. }
        ),
        "{err:?}"
    );
    ensure!(
        err.to_string().starts_with("`rethrow 0` at offset 0x")
            && err
                .to_string()
                .ends_with("does not name an enclosing catch block"),
        "{err}"
    );
    let err = translate("(func block try catch_all rethrow 1 end end)")?;
    ensure!(
        matches!(
            err,
            wasm_legacy_eh::Error::RethrowNotInCatch { depth: 1, .. }
        ),
        "{err:?}"
    );
    let err = translate("(func try delegate 1)")?;
    ensure!(
        matches!(
            err,
            wasm_legacy_eh::Error::DelegateOutOfRange { depth: 1, .. }
        ),
        "{err:?}"
    );
    let err = translate("(func try catch 9 end)")?;
    ensure!(
        matches!(err, wasm_legacy_eh::Error::UnknownTag { tag: 9, .. }),
        "{err:?}"
    );
    ensure!(
        err.to_string().starts_with("unknown tag 9 at offset 0x"),
        "{err}"
    );
    let err = translate("(func try br 3 catch_all end)")?;
    ensure!(
        matches!(err, wasm_legacy_eh::Error::LabelOutOfRange { depth: 3, .. }),
        "{err:?}"
    );

    let err = wasm_legacy_eh::translate(b"\0asm\x01\0\0\0\x0a\x05").unwrap_err();
    ensure!(
        matches!(err, wasm_legacy_eh::Error::Malformed { .. }),
        "{err:?}"
    );
    ensure!(
        err.to_string().starts_with("malformed wasm at offset 0x"),
        "{err}"
    );
    let component = wat::parse_str("(component)")?;
    let err = wasm_legacy_eh::translate(&component).unwrap_err();
    ensure!(
        err.to_string() == "input is not a core wasm module",
        "{err}"
    );
    Ok(())
}
