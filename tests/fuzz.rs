//! The fuzz targets' short run, on every `cargo test` (the long,
//! coverage-guided run is `fuzz/run`; see `fuzz/README.md`).
//!
//! For each target in `botyard::fuzzing::TARGETS` — the same functions the
//! cargo-fuzz targets call — this replays every seed in
//! `fuzz/corpus/<target>/` and every crash kept in
//! `fuzz/regressions/<target>/`, then a bounded number of inputs from a
//! seeded, deterministic mutator: byte flips, insertions, deletions,
//! duplications, splices of seeds, dictionary tokens, and mutations that know
//! the input's structure (JSON, form, TOML, header lines): huge strings, deep
//! nesting, unicode, extreme numbers, removed and added keys, repeated
//! elements. Each input runs on a worker thread under a time bound and an
//! allocation cap; a panic, an input over the bound, or one over the cap
//! fails the test, naming the input and saving it under the target
//! directory (`fuzz-failures/`) to be kept as a regression.
//!
//! `BOTYARD_FUZZ_RUNS` sets the mutated inputs per target (default 20,000),
//! `BOTYARD_FUZZ_SEED` the mutator's seed (default: fixed per target).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use botyard::fuzzing::{Format, TARGETS, Target};
use serde_json::Value;

/// Mutated inputs per target.
const RUNS: usize = 20_000;
/// Longest any one input may take (a debug build, on a busy machine).
const TIME_BOUND: Duration = Duration::from_secs(5);
/// Most memory an input may hold at once before it is reported.
const ALLOCATION_CAP: usize = 256 << 20;
/// Past this an input is stopped at once (the process aborts, after saying
/// which input), before it can take the machine's memory.
const ALLOCATION_HARD_CAP: usize = 2 << 30;
/// Longest mutated input.
const MAX_INPUT: usize = 256 << 10;

// ---------------------------------------------------------------------------
// Allocation accounting: the bytes an input's thread holds, at peak.

thread_local! {
    /// Set on a worker while it runs an input.
    static TRACKED: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    /// The input being run and its target, to name it if it hits the hard cap.
    static CURRENT: Cell<(*const u8, usize, &'static str)> =
        const { Cell::new((std::ptr::null(), 0, "")) };
}

struct Counting;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Counts `delta` bytes against the running input; `false` past the hard cap.
fn account(delta: isize) -> bool {
    if !TRACKED.with(Cell::get) {
        return true;
    }
    let live = LIVE.with(|l| {
        let live = l.get() + delta;
        l.set(live);
        live
    });
    PEAK.with(|p| p.set(p.get().max(live)));
    if live > ALLOCATION_HARD_CAP as isize {
        TRACKED.with(|t| t.set(false));
        let (ptr, len, target) = CURRENT.with(Cell::get);
        // SAFETY: the worker set it to the input it is running, which
        // outlives the run.
        let input = unsafe { std::slice::from_raw_parts(ptr, len) };
        let saved = save_failure(target, input);
        eprintln!(
            "fuzz {target}: an input allocated over {} MiB; aborting. Input ({} bytes) saved as {}: {}",
            ALLOCATION_HARD_CAP >> 20,
            input.len(),
            saved.display(),
            shown(input)
        );
        return false;
    }
    true
}

// SAFETY: every call is passed to `System` unchanged; only counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !account(layout.size() as isize) {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !account(layout.size() as isize) {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        account(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !account(new_size as isize - layout.size() as isize) {
            return std::ptr::null_mut();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

// ---------------------------------------------------------------------------
// The runner.

/// An input a target failed on.
#[derive(Debug)]
struct Failure {
    input: Vec<u8>,
    what: String,
}

/// What a worker says about one input.
struct Ran {
    panic: Option<String>,
    peak: usize,
}

/// Runs inputs through one target on a worker thread, each under the time
/// bound and the allocation cap.
struct Runner {
    inputs: mpsc::Sender<Vec<u8>>,
    results: mpsc::Receiver<Ran>,
    bound: Duration,
    executed: usize,
}

impl Runner {
    fn new(name: &'static str, run: fn(&[u8]), bound: Duration) -> Runner {
        let (inputs, todo) = mpsc::channel::<Vec<u8>>();
        let (done, results) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("fuzz-{name}"))
            // As much as the host's tokio workers, where these parsers run.
            .stack_size(2 << 20)
            .spawn(move || {
                for input in todo {
                    CURRENT.with(|c| c.set((input.as_ptr(), input.len(), name)));
                    LIVE.with(|l| l.set(0));
                    PEAK.with(|p| p.set(0));
                    TRACKED.with(|t| t.set(true));
                    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| run(&input)));
                    TRACKED.with(|t| t.set(false));
                    let panic = outcome.err().map(|payload| {
                        payload
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "a panic".into())
                    });
                    let peak = PEAK.with(Cell::get).max(0) as usize;
                    if done.send(Ran { panic, peak }).is_err() {
                        return;
                    }
                }
            })
            .expect("a worker thread");
        Runner {
            inputs,
            results,
            bound,
            executed: 0,
        }
    }

    /// Runs one input. After a failure on time the worker is lost (it is
    /// still running); the caller stops there.
    fn run(&mut self, input: &[u8]) -> Result<(), Failure> {
        let fail = |what: String| Failure {
            input: input.to_vec(),
            what,
        };
        self.executed += 1;
        let started = Instant::now();
        self.inputs
            .send(input.to_vec())
            .map_err(|_| fail("the worker is gone".into()))?;
        let ran = match self.results.recv_timeout(self.bound) {
            Ok(ran) => ran,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(fail(format!("took longer than {:?} (a hang)", self.bound)));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(fail("the worker died".into()));
            }
        };
        if let Some(message) = ran.panic {
            return Err(fail(format!("panicked: {message}")));
        }
        if ran.peak > ALLOCATION_CAP {
            return Err(fail(format!(
                "held {} MiB at once (cap {} MiB)",
                ran.peak >> 20,
                ALLOCATION_CAP >> 20
            )));
        }
        let took = started.elapsed();
        if took > self.bound {
            return Err(fail(format!("took {took:?}, over {:?}", self.bound)));
        }
        Ok(())
    }
}

/// The input, escaped, at most 300 bytes of it.
fn shown(input: &[u8]) -> String {
    let head: String = input
        .iter()
        .take(300)
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    if input.len() > 300 {
        format!("{head}…")
    } else {
        head
    }
}

/// Saves a failing input to keep as a regression; returns where.
fn save_failure(target: &str, input: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{target}-{:016x}", fnv(input)));
    let _ = std::fs::write(&path, input);
    path
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `dir`, sorted by name; none if it does not exist.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    found.sort();
    found
}

/// The short run of one target: its regressions, its seeds, then `runs`
/// mutated inputs. Returns the inputs run, or the first failure.
fn fuzz_with(
    target: &Target,
    regressions: &[Vec<u8>],
    seeds: &[Vec<u8>],
    runs: usize,
    seed: u64,
    bound: Duration,
) -> Result<usize, Failure> {
    let mut runner = Runner::new(target.name, target.run, bound);
    for input in regressions.iter().chain(seeds) {
        runner.run(input)?;
    }
    let mut rng = Rng(seed);
    let mut pool = seeds.to_vec();
    if pool.is_empty() {
        pool.push(Vec::new());
    }
    let fixed = pool.len();
    for _ in 0..runs {
        let input = mutate(&mut rng, target.format, &pool);
        runner.run(&input)?;
        // Keep some inputs as bases for later ones, so mutations stack.
        if rng.below(16) == 0 && input.len() <= 16 << 10 {
            if pool.len() < fixed + 256 {
                pool.push(input);
            } else {
                let at = fixed + rng.below(pool.len() - fixed);
                pool[at] = input;
            }
        }
    }
    Ok(runner.executed)
}

/// [`fuzz_with`] the files of `fuzz/regressions/<target>/` and
/// `fuzz/corpus/<target>/`.
fn fuzz(target: &Target, runs: usize, seed: u64, bound: Duration) -> Result<usize, Failure> {
    let read = |kind: &str| -> Vec<Vec<u8>> {
        files(&fuzz_dir().join(kind).join(target.name))
            .into_iter()
            .map(|(_, bytes)| bytes)
            .collect()
    };
    fuzz_with(
        target,
        &read("regressions"),
        &read("corpus"),
        runs,
        seed,
        bound,
    )
}

fn runs() -> usize {
    std::env::var("BOTYARD_FUZZ_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(RUNS)
}

fn seed_for(name: &str) -> u64 {
    std::env::var("BOTYARD_FUZZ_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
        ^ fnv(name.as_bytes())
}

/// The short run of the target called `name`; fails naming the input.
fn short_run(name: &str) {
    let target = TARGETS
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no fuzz target {name}"));
    let started = Instant::now();
    match fuzz(target, runs(), seed_for(name), TIME_BOUND) {
        Ok(executed) => eprintln!(
            "fuzz {name}: {executed} inputs in {:.1} s, no failure",
            started.elapsed().as_secs_f64()
        ),
        Err(failure) => {
            let saved = save_failure(name, &failure.input);
            panic!(
                "fuzz {name}: an input {}.\nSaved as {}; keep it as fuzz/regressions/{name}/<name> once fixed.\nInput ({} bytes): {}",
                failure.what,
                saved.display(),
                failure.input.len(),
                shown(&failure.input)
            );
        }
    }
}

macro_rules! short_runs {
    ($($name:ident)*) => {
        $(
            #[test]
            fn $name() {
                short_run(stringify!($name));
            }
        )*

        #[test]
        fn every_target_has_a_short_run() {
            let here: Vec<&str> = vec![$(stringify!($name)),*];
            let all: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
            assert_eq!(here, all, "a target without a #[test] here, or one too many");
        }
    };
}

short_runs! {
    signature
    slash_command
    interaction
    event
    socket_mode
    webhook_verify
    webhook_config
    config
    app_limits
    blocks
    plain_words
}

// ---------------------------------------------------------------------------
// The mutator: deterministic for a seed.

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// In `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Strings worth trying anywhere: empty, control characters, multi-byte and
/// odd unicode (combining, right-to-left, the last code point, the
/// replacement character), escapes of each format, secret references.
const STRINGS: &[&str] = &[
    "",
    " ",
    "\0",
    "\n",
    "\r\n",
    "\t",
    "é",
    "🦀",
    "a\u{301}",
    "\u{202e}txet",
    "\u{fffd}",
    "\u{10ffff}",
    "\u{feff}",
    "%",
    "%zz",
    "%ff",
    "%00",
    "+",
    "&",
    "=",
    "\\",
    "\\u0000",
    "\\ud800",
    "\"",
    "'",
    "${",
    "}",
    "${env:HOME}",
    "${env:BOTYARD_FUZZ_NO_SUCH_VAR}",
    "${file:/nonexistent/secret}",
    "${file:/dev/zero}",
    "${file:/dev/urandom}",
    "${file:/proc/self/environ}",
    "${file:/}",
    "${file:}",
    "${vault:x}",
    "${env:HOME}${env:PATH}",
];

/// Keys the parsers look for, per format.
const JSON_KEYS: &[&str] = &[
    "type",
    "user",
    "id",
    "actions",
    "action_id",
    "block_id",
    "value",
    "selected_option",
    "selected_options",
    "selected_date_time",
    "selected_users",
    "container",
    "channel",
    "channel_id",
    "message",
    "message_ts",
    "ts",
    "text",
    "trigger_id",
    "response_url",
    "view",
    "callback_id",
    "private_metadata",
    "state",
    "values",
    "is_cleared",
    "event",
    "event_id",
    "challenge",
    "envelope_id",
    "payload",
    "accepts_response_payload",
    "retry_attempt",
    "reason",
    "blocks",
    "title",
    "command",
    "user_id",
];

const JSON_VALUES: &[&str] = &[
    "block_actions",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
    "url_verification",
    "event_callback",
    "app_rate_limited",
    "hello",
    "disconnect",
    "events_api",
    "slash_commands",
    "interactive",
    "section",
    "header",
    "actions",
    "modal",
    "home",
    "message",
    "view",
];

const FORM_KEYS: &[&str] = &[
    "command",
    "text",
    "user_id",
    "channel_id",
    "trigger_id",
    "response_url",
    "ssl_check",
    "payload",
    "token",
];

const TOML_KEYS: &[&str] = &[
    "apps_dir",
    "limits",
    "apps",
    "slack",
    "webhooks",
    "deadline_ms",
    "memory_mib",
    "wasm_stack_kib",
    "ready_instances",
    "grants",
    "verify",
    "secret",
    "token",
    "username",
    "password",
    "delivery_header",
    "max_body_bytes",
    "attempts",
    "retry_after_ms",
    "mode",
    "listen",
    "api_url",
    "connections",
    "http",
    "settings",
    "allow",
    "url",
    "private",
    "headers",
    "basic",
    "permissions",
    "store_bytes",
    "store_keys",
    "slack_calls_per_minute",
    "http_requests_per_minute",
    "webhook_deliveries_kept",
];

const TOML_VALUES: &[&str] = &[
    "github", "bearer", "basic", "none", "http", "socket", "slack", "store", "schedule", "log",
    "clock",
];

const INTEGERS: &[i64] = &[
    0,
    1,
    -1,
    2,
    8,
    9,
    10,
    11,
    64,
    100,
    101,
    255,
    256,
    4096,
    4097,
    16_384,
    300_000,
    300_001,
    600_000,
    600_001,
    1 << 20,
    64 << 20,
    (64 << 20) + 1,
    u32::MAX as i64,
    u32::MAX as i64 + 1,
    1_531_420_618,
    i64::MAX,
    i64::MIN,
];

const FLOATS: &[f64] = &[0.5, -0.0, 1e308, -1e308, 5e-324, 1.5e9, f64::EPSILON];

/// Lines for the header-line targets: timestamps, signatures, credentials.
const HEADER_LINES: &[&str] = &[
    "1531420618",
    " 1531420618 ",
    "+1531420618",
    "1531420918",
    "1531420919",
    "0",
    "-1",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "１５３１４２０６１８",
    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    "v0=A2114D57B48EAC39B9AD189DD8316235A7B4A8D21A10BD27519666489C69B503",
    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b50",
    "v0=",
    "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17",
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
    "sha256=",
    "Bearer t0ken",
    "bearer   t0ken  ",
    "BEARER t0ken",
    "Bearer",
    "Bearer ",
    "Bearer t0ken\u{e9}",
    "Basic YWxlcnRtYW5hZ2VyOnBhOnNz",
    "basic YWxlcnRtYW5hZ2VyOnBhOnNz",
    "Basic YWxlcnRtYW5hZ2VyOnBhOnN",
    "Basic YWxlcnRtYW5hZ2VyOnBhOnNz==",
    "Basic OnBhOnNz",
    "Basic Og==",
    "Basic ",
    "Digest x",
];

fn huge_string(rng: &mut Rng) -> String {
    let unit = *rng.pick(&["x", "é", "🦀", "a\u{301}", "\\", "\"", "%", "${env:HOME}"]);
    // Each just past one of Slack's limits; the longest ones rarely, as
    // they cost the most to run.
    let n = match rng.below(8) {
        0 => *rng.pick(&[40_000, 40_001, 70_000]),
        _ => *rng.pick(&[24, 25, 150, 151, 255, 256, 3000, 3001]),
    };
    unit.repeat(n)
}

/// A JSON value nested `depth` deep (serde_json stops at 128).
fn deep_json(rng: &mut Rng) -> Value {
    let depth = *rng.pick(&[10, 127, 128, 129, 1000]);
    let mut value = Value::Null;
    for _ in 0..depth {
        value = if rng.below(2) == 0 {
            Value::Array(vec![value])
        } else {
            serde_json::json!({ "a": value })
        };
    }
    value
}

fn any_json(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => Value::String(huge_string(rng)),
        1 => deep_json(rng),
        2 => Value::String((*rng.pick(STRINGS)).into()),
        3 => Value::String((*rng.pick(JSON_VALUES)).into()),
        4 => Value::from(*rng.pick(INTEGERS)),
        5 => Value::from(u64::MAX),
        6 => serde_json::Number::from_f64(*rng.pick(FLOATS)).map_or(Value::Null, Value::Number),
        7 => Value::Bool(rng.below(2) == 0),
        8 => Value::Null,
        _ => {
            if rng.below(2) == 0 {
                Value::Array(vec![])
            } else {
                Value::Object(Default::default())
            }
        }
    }
}

/// Mutates one node of `value`, found by a random walk down from the root.
fn mutate_json(rng: &mut Rng, value: &mut Value, depth: usize) {
    let descend = rng.below(3) != 0 && depth < 200;
    match value {
        Value::Object(map) if !map.is_empty() && descend => {
            let key = map.keys().nth(rng.below(map.len())).unwrap().clone();
            mutate_json(rng, map.get_mut(&key).unwrap(), depth + 1);
        }
        Value::Array(items) if !items.is_empty() && descend => {
            let at = rng.below(items.len());
            mutate_json(rng, &mut items[at], depth + 1);
        }
        Value::Object(map) => match rng.below(4) {
            0 if !map.is_empty() => {
                let key = map.keys().nth(rng.below(map.len())).unwrap().clone();
                map.remove(&key);
            }
            1 => {
                map.insert((*rng.pick(JSON_KEYS)).into(), any_json(rng));
            }
            2 if !map.is_empty() => {
                let key = map.keys().nth(rng.below(map.len())).unwrap().clone();
                let inner = map.remove(&key).unwrap();
                map.insert((*rng.pick(JSON_KEYS)).into(), inner);
            }
            _ => *value = any_json(rng),
        },
        Value::Array(items) => match rng.below(3) {
            0 if !items.is_empty() => {
                // Past Slack's limits: 50 blocks, 100 in a view, and far more.
                let copies = *rng.pick(&[2, 50, 51, 100, 101, 1000]);
                let item = items[rng.below(items.len())].clone();
                items.extend(std::iter::repeat_n(item, copies));
            }
            1 if !items.is_empty() => {
                items.remove(rng.below(items.len()));
            }
            _ => items.push(any_json(rng)),
        },
        _ => *value = any_json(rng),
    }
}

fn mutate_form(rng: &mut Rng, pairs: &mut Vec<(String, String)>) {
    match rng.below(6) {
        0 if !pairs.is_empty() => {
            pairs.remove(rng.below(pairs.len()));
        }
        1 if !pairs.is_empty() => {
            let pair = pairs[rng.below(pairs.len())].clone();
            pairs.push(pair);
        }
        2 => pairs.push(((*rng.pick(FORM_KEYS)).into(), (*rng.pick(STRINGS)).into())),
        _ if !pairs.is_empty() => {
            let at = rng.below(pairs.len());
            let value = &mut pairs[at].1;
            // A JSON value (the `payload` field) mutated as JSON.
            if let Ok(mut json) = serde_json::from_str::<Value>(value)
                && rng.below(4) != 0
            {
                mutate_json(rng, &mut json, 0);
                *value = json.to_string();
            } else {
                *value = match rng.below(3) {
                    0 => huge_string(rng),
                    1 => (*rng.pick(STRINGS)).into(),
                    _ => (*rng.pick(JSON_VALUES)).into(),
                };
            }
        }
        _ => pairs.push(("ssl_check".into(), "1".into())),
    }
}

fn deep_toml(rng: &mut Rng) -> toml::Value {
    let depth = *rng.pick(&[10, 50, 100, 200]);
    let mut value = toml::Value::Integer(1);
    for _ in 0..depth {
        value = if rng.below(2) == 0 {
            toml::Value::Array(vec![value])
        } else {
            let mut table = toml::Table::new();
            table.insert("a".into(), value);
            toml::Value::Table(table)
        };
    }
    value
}

fn any_toml(rng: &mut Rng) -> toml::Value {
    match rng.below(10) {
        0 => toml::Value::String(huge_string(rng)),
        1 => deep_toml(rng),
        2 => toml::Value::String((*rng.pick(STRINGS)).into()),
        3 => toml::Value::String((*rng.pick(TOML_VALUES)).into()),
        4 | 5 => toml::Value::Integer(*rng.pick(INTEGERS)),
        6 => toml::Value::Float(*rng.pick(&[f64::INFINITY, f64::NAN, -0.0, 1e300, 0.5])),
        7 => toml::Value::Boolean(rng.below(2) == 0),
        8 => toml::Value::Datetime("1979-05-27T07:32:00Z".parse().unwrap()),
        _ => toml::Value::Array(
            (0..rng.below(4))
                .map(|_| toml::Value::String((*rng.pick(TOML_VALUES)).into()))
                .collect(),
        ),
    }
}

fn mutate_toml(rng: &mut Rng, table: &mut toml::Table, depth: usize) {
    let descend = rng.below(3) != 0 && depth < 50;
    if descend && !table.is_empty() {
        let key = table.keys().nth(rng.below(table.len())).unwrap().clone();
        if let Some(toml::Value::Table(inner)) = table.get_mut(&key) {
            return mutate_toml(rng, inner, depth + 1);
        }
    }
    match rng.below(5) {
        0 if !table.is_empty() => {
            let key = table.keys().nth(rng.below(table.len())).unwrap().clone();
            table.remove(&key);
        }
        1 => {
            let mut inner = toml::Table::new();
            inner.insert((*rng.pick(TOML_KEYS)).into(), any_toml(rng));
            table.insert((*rng.pick(TOML_KEYS)).into(), toml::Value::Table(inner));
        }
        2 if !table.is_empty() => {
            let key = table.keys().nth(rng.below(table.len())).unwrap().clone();
            let value = table.remove(&key).unwrap();
            let renamed = match rng.below(3) {
                0 => (*rng.pick(STRINGS)).to_string(),
                _ => (*rng.pick(TOML_KEYS)).to_string(),
            };
            table.insert(renamed, value);
        }
        _ => {
            table.insert((*rng.pick(TOML_KEYS)).into(), any_toml(rng));
        }
    }
}

/// TOML text the serializer does not write: headers, dotted keys, multi-line
/// strings, nesting past any sane depth.
fn toml_text(rng: &mut Rng) -> String {
    match rng.below(8) {
        0 => format!("a = {}1{}\n", "[".repeat(5000), "]".repeat(5000)),
        1 => format!("a = {}1{}\n", "{b = ".repeat(5000), "}".repeat(5000)),
        2 => "[apps.x]\n[apps.x]\n".into(),
        3 => "[[apps]]\n".into(),
        4 => "a.b.c.d = 1\n".into(),
        5 => "s = \"\"\"\nline\n\"\"\"\n".into(),
        6 => format!("[{}]\n", "a.".repeat(2000) + "a"),
        _ => "x = 1979-05-27T07:32:00.999999-07:00\n".into(),
    }
}

/// One structural mutation, or `None` when `input` is not of its format.
fn mutate_structure(rng: &mut Rng, format: Format, input: &[u8]) -> Option<Vec<u8>> {
    match format {
        Format::Json => {
            let mut value: Value = serde_json::from_slice(input).ok()?;
            mutate_json(rng, &mut value, 0);
            Some(value.to_string().into_bytes())
        }
        Format::Form => {
            let mut pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(input).ok()?;
            mutate_form(rng, &mut pairs);
            serde_urlencoded::to_string(&pairs)
                .ok()
                .map(String::into_bytes)
        }
        Format::Toml => {
            let text = std::str::from_utf8(input).ok()?;
            if rng.below(8) == 0 {
                let mut text = text.to_string();
                text.push_str(&toml_text(rng));
                return Some(text.into_bytes());
            }
            let mut table: toml::Table = toml::from_str(text).ok()?;
            mutate_toml(rng, &mut table, 0);
            toml::to_string(&table).ok().map(String::into_bytes)
        }
        Format::Lines => {
            // Replace, or add, one of the leading header lines.
            let mut lines: Vec<&[u8]> = input.splitn(3, |&b| b == b'\n').collect();
            let at = rng.below(2.min(lines.len()) + 1);
            let line = rng.pick(HEADER_LINES).as_bytes();
            if at < lines.len() && rng.below(2) == 0 {
                lines[at] = line;
            } else {
                lines.insert(at.min(lines.len()), line);
            }
            Some(lines.join(&b'\n'))
        }
    }
}

/// Byte-level tokens: what each format's syntax is made of.
fn token(rng: &mut Rng, format: Format) -> &'static [u8] {
    let syntax: &[&str] = match format {
        Format::Json => &[
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"",
            "null",
            "true",
            "1e999",
            "-0",
            "1.5e-400",
            "\"\\ud800\"",
            "\"\\u0000\"",
            "{\"type\":",
        ],
        Format::Form => &[
            "&",
            "=",
            "%",
            "%2",
            "%C3%A9",
            "+",
            "payload=",
            "%7B%22type%22%3A",
        ],
        Format::Toml => &[
            "[",
            "]",
            "[[",
            "]]",
            "=",
            "\"",
            "'",
            "\"\"\"",
            "'''",
            "\n",
            "#",
            ".",
            "inf",
            "nan",
            "0x7f",
            "1_000",
            "{",
            "}",
            "1979-05-27",
        ],
        Format::Lines => &["\n", "v0=", "sha256=", " ", "Bearer ", "Basic "],
    };
    match rng.below(3) {
        0 => rng.pick(STRINGS).as_bytes(),
        _ => rng.pick(syntax).as_bytes(),
    }
}

/// A new input from the pool: one to four stacked mutations of a seed.
fn mutate(rng: &mut Rng, format: Format, pool: &[Vec<u8>]) -> Vec<u8> {
    let mut data = rng.pick(pool).clone();
    for _ in 0..1 + rng.below(4) {
        let len = data.len();
        match rng.below(12) {
            0 if len > 0 => {
                let at = rng.below(len);
                data[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let at = rng.below(len);
                data[at] = *rng.pick(&[0, 0x7f, 0x80, 0xc3, 0xff, b'"', b'\\', b'\n', b'%']);
            }
            2 => {
                let at = rng.below(len + 1);
                let bytes: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.next() as u8).collect();
                data.splice(at..at, bytes);
            }
            3 if len > 0 => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(16)).min(len);
                data.drain(at..end);
            }
            4 if len > 0 => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(64)).min(len);
                let chunk = data[at..end].to_vec();
                let times = 1 + rng.below(64);
                let to = rng.below(len + 1);
                data.splice(to..to, chunk.repeat(times));
            }
            5 => {
                // Splice: this one's head, another's tail.
                let other = rng.pick(pool);
                let head = rng.below(len + 1);
                let tail = rng.below(other.len() + 1);
                data.truncate(head);
                data.extend_from_slice(&other[tail..]);
            }
            6 | 7 => {
                let at = rng.below(len + 1);
                let token = token(rng, format);
                data.splice(at..at, token.iter().copied());
            }
            _ => {
                if let Some(mutated) = mutate_structure(rng, format, &data) {
                    data = mutated;
                }
            }
        }
        data.truncate(MAX_INPUT);
    }
    data
}

// ---------------------------------------------------------------------------
// The harness itself can fail.

fn panics_on_boom(data: &[u8]) {
    if data.windows(4).any(|w| w == b"boom") {
        panic!("boom found");
    }
}

fn hangs_on_wait(data: &[u8]) {
    if data.starts_with(b"wait") {
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}

fn holds_too_much(data: &[u8]) {
    if data.starts_with(b"big") {
        let held = vec![0u8; ALLOCATION_CAP + (1 << 20)];
        assert_eq!(held.len(), ALLOCATION_CAP + (1 << 20));
    }
}

#[test]
fn the_runner_reports_a_panic_with_its_input() {
    let mut runner = Runner::new("panics", panics_on_boom, TIME_BOUND);
    assert!(runner.run(b"fine").is_ok());
    let failure = runner.run(b"a boom here").unwrap_err();
    assert_eq!(failure.input, b"a boom here");
    assert!(failure.what.contains("boom found"), "{}", failure.what);
    // The worker goes on after a panic.
    assert!(runner.run(b"fine again").is_ok());
}

/// Panics on JSON holding an array of more than 50 items.
fn panics_on_long_arrays(data: &[u8]) {
    fn longest(value: &Value) -> usize {
        match value {
            Value::Array(items) => items
                .iter()
                .map(longest)
                .max()
                .unwrap_or(0)
                .max(items.len()),
            Value::Object(map) => map.values().map(longest).max().unwrap_or(0),
            _ => 0,
        }
    }
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        assert!(
            longest(&value) <= 50,
            "an array of {} items",
            longest(&value)
        );
    }
}

#[test]
fn the_mutator_makes_what_no_seed_has_and_the_run_reports_it() {
    let target = Target {
        name: "long_arrays",
        format: Format::Json,
        run: panics_on_long_arrays,
    };
    let seeds = vec![br#"{"blocks":[{"type":"section"}]}"#.to_vec()];
    let failure = fuzz_with(&target, &[], &seeds, RUNS, 1, TIME_BOUND).unwrap_err();
    assert!(failure.what.contains("an array of"), "{}", failure.what);
    panics_on_long_arrays(&seeds[0]);
}

#[test]
fn the_runner_reports_a_hang() {
    let mut runner = Runner::new("hangs", hangs_on_wait, Duration::from_millis(200));
    assert!(runner.run(b"go").is_ok());
    let failure = runner.run(b"wait forever").unwrap_err();
    assert!(failure.what.contains("hang"), "{}", failure.what);
}

#[test]
fn the_runner_reports_an_input_holding_too_much_memory() {
    let mut runner = Runner::new("allocates", holds_too_much, TIME_BOUND);
    assert!(runner.run(b"small").is_ok());
    let failure = runner.run(b"big").unwrap_err();
    assert!(failure.what.contains("MiB"), "{}", failure.what);
}

#[test]
fn the_mutator_is_deterministic_and_makes_every_format_grow_and_shrink() {
    let seeds = vec![br#"{"type":"block_actions","actions":[{"a":1}]}"#.to_vec()];
    for format in [Format::Json, Format::Form, Format::Toml, Format::Lines] {
        let make = |seed| {
            let mut rng = Rng(seed);
            (0..500)
                .map(|_| mutate(&mut rng, format, &seeds))
                .collect::<Vec<_>>()
        };
        let first = make(7);
        assert_eq!(first, make(7), "{format:?}: the same seed, the same inputs");
        assert_ne!(first, make(8));
        assert!(first.iter().any(|i| i.len() > 2 * seeds[0].len()));
        assert!(first.iter().any(|i| i.len() < seeds[0].len()));
    }
}

#[test]
fn every_target_has_seeds_and_a_cargo_fuzz_target() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for target in TARGETS {
        let name = target.name;
        let seeds = files(&fuzz_dir().join("corpus").join(name));
        assert!(
            seeds.len() >= 2,
            "fuzz/corpus/{name}/ needs realistic seeds"
        );
        let source =
            std::fs::read_to_string(fuzz_dir().join("fuzz_targets").join(format!("{name}.rs")))
                .unwrap_or_else(|e| panic!("fuzz/fuzz_targets/{name}.rs: {e}"));
        assert!(
            source.contains(&format!("botyard::fuzzing::{name}(data)")),
            "fuzz/fuzz_targets/{name}.rs must call botyard::fuzzing::{name}"
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] for {name}"
        );
    }
}
