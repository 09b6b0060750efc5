//! Evidence for choosing Yubin's embedded KV engine: redb 4.6 against SQLite (rusqlite, bundled).
//!
//! See README.md for the cases. `kv-engines-bench all` runs everything and prints Markdown
//! tables (medians of `--reps` runs) on stdout; progress goes to stderr.

mod buildtime;
mod crash;
mod group;
mod store;

use std::fmt::{Display, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use store::{Engine, Store};

pub type BoxErr = Box<dyn std::error::Error + Send + Sync>;
pub type Res<T> = Result<T, BoxErr>;

/// Attaches a message to an error.
pub trait Ctx<T> {
    fn ctx(self, what: impl Display) -> Res<T>;
}

impl<T, E: Display> Ctx<T> for Result<T, E> {
    fn ctx(self, what: impl Display) -> Res<T> {
        self.map_err(|e| format!("{what}: {e}").into())
    }
}

/// xorshift64*: deterministic, dependency-free, good enough for picking keys.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Latency histogram: 8 linear sub-buckets per power of two of nanoseconds (≤12.5% error).
#[derive(Clone)]
pub struct Hist {
    buckets: Vec<u64>,
    max_ns: u64,
}

impl Default for Hist {
    fn default() -> Hist {
        Hist {
            buckets: vec![0; 496],
            max_ns: 0,
        }
    }
}

impl Hist {
    fn index(ns: u64) -> usize {
        if ns < 8 {
            return ns as usize;
        }
        let e = 63 - ns.leading_zeros() as u64;
        let sub = (ns >> (e - 3)) & 7;
        ((e - 2) * 8 + sub) as usize
    }

    fn upper_ns(i: usize) -> u64 {
        if i < 8 {
            return i as u64 + 1;
        }
        let (e, sub) = (i as u64 / 8 + 2, i as u64 % 8);
        (9 + sub) << (e - 3)
    }

    pub fn record(&mut self, d: Duration) {
        let ns = d.as_nanos().min(u64::MAX as u128) as u64;
        self.buckets[Hist::index(ns)] += 1;
        self.max_ns = self.max_ns.max(ns);
    }

    pub fn merge(&mut self, other: &Hist) {
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// Upper bound of the bucket holding quantile `q`, in microseconds.
    pub fn quantile_us(&self, q: f64) -> f64 {
        let total = self.count();
        if total == 0 {
            return 0.0;
        }
        let want = ((total as f64 * q).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= want {
                return Hist::upper_ns(i).min(self.max_ns) as f64 / 1e3;
            }
        }
        self.max_ns as f64 / 1e3
    }

    pub fn max_ms(&self) -> f64 {
        self.max_ns as f64 / 1e6
    }
}

pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Thousands separators for whole numbers.
fn int(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let s = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 { format!("-{out}") } else { out }
}

const PRODUCERS: [usize; 4] = [1, 8, 32, 128];

struct Config {
    reps: usize,
    shape: group::Shape,
    readers_alone: Duration,
    crash_rows: u64,
    dir: PathBuf,
    budget: Duration,
    started: Instant,
    builds: bool,
    engines: Vec<Engine>,
}

impl Config {
    fn left(&self) -> Duration {
        self.budget.saturating_sub(self.started.elapsed())
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: kv-engines-bench <all|group|crash|build-times> [--reps N] [--quick] [--dir PATH] \
         [--budget SECS]\n       \
         [--engines redb,redb+quick_repair,sqlite]\n\
         \n  all          cases 1-4\
         \n  group        case 1 (group commit) and case 2 (readers concurrent with the writer)\
         \n  crash        case 3 (reopen after SIGKILL mid-write)\
         \n  build-times  case 4 (cold release build of each engine alone)\
         \n  --quick      tiny sizes, for a smoke test (build-times skipped by `all`)"
    );
    std::process::exit(2)
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first().cloned() else {
        usage()
    };
    if cmd == "crash-child" {
        let [_, engine, dir, rows] = args.as_slice() else {
            usage()
        };
        return crash::child(
            Engine::parse(engine)?,
            Path::new(dir),
            rows.parse().ctx("rows")?,
        );
    }

    let mut reps = 3;
    let mut quick = false;
    let mut dir = PathBuf::from("/var/tmp/kvbench-data");
    let mut budget = 590u64;
    let mut engines = Engine::ALL.to_vec();
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--reps" => reps = it.next().unwrap_or_else(|| usage()).parse().ctx("--reps")?,
            "--quick" => quick = true,
            "--engines" => {
                let list = it.next().unwrap_or_else(|| usage());
                engines = list.split(',').map(Engine::parse).collect::<Res<_>>()?;
            }
            "--dir" => dir = it.next().unwrap_or_else(|| usage()).into(),
            "--budget" => {
                budget = it
                    .next()
                    .unwrap_or_else(|| usage())
                    .parse()
                    .ctx("--budget")?
            }
            _ => usage(),
        }
    }
    let cfg = Config {
        reps,
        shape: if quick {
            group::Shape {
                mailboxes: 100,
                per_mailbox: 20,
                max_deliveries: 1_000,
                max_time: Duration::from_secs(1),
            }
        } else {
            group::Shape {
                mailboxes: 1_000,
                per_mailbox: 100,
                max_deliveries: 20_000,
                max_time: Duration::from_secs(10),
            }
        },
        readers_alone: Duration::from_millis(if quick { 500 } else { 3_000 }),
        crash_rows: if quick { 50_000 } else { 1_000_000 },
        dir,
        budget: Duration::from_secs(budget),
        started: Instant::now(),
        builds: !quick,
        engines,
    };

    // Hard bound on the whole run, whatever happens.
    let budget = cfg.budget + Duration::from_secs(5);
    std::thread::spawn(move || {
        std::thread::sleep(budget);
        eprintln!("error: time budget of {} s exceeded", budget.as_secs());
        std::process::exit(3);
    });

    if cfg.dir.exists() {
        std::fs::remove_dir_all(&cfg.dir).ctx(format!("rm -r {}", cfg.dir.display()))?;
    }
    let mut report = String::new();
    let _ = writeln!(
        report,
        "# kv-engines results\n\nredb 4.6 vs SQLite (rusqlite 0.41.1, bundled). {} run(s) per \
         case; every figure is the median of the runs, taken column by column. Command: \
         `cargo run --release -- {}`. Load average at start: {}.\n",
        cfg.reps,
        args.join(" "),
        loadavg()
    );
    match cmd.as_str() {
        "all" => {
            group_cases(&cfg, &mut report)?;
            crash_case(&cfg, &mut report)?;
            if cfg.builds {
                build_case(&cfg, &mut report)?;
            }
        }
        "group" => group_cases(&cfg, &mut report)?,
        "crash" => crash_case(&cfg, &mut report)?,
        "build-times" => build_case(&cfg, &mut report)?,
        _ => usage(),
    }
    if cfg.dir.exists() {
        std::fs::remove_dir_all(&cfg.dir).ctx(format!("rm -r {}", cfg.dir.display()))?;
    }
    let _ = writeln!(
        report,
        "Total benchmark time: {:.0} s. Load average at end: {}.",
        cfg.started.elapsed().as_secs_f64(),
        loadavg()
    );
    print!("{report}");
    Ok(())
}

/// The 1, 5 and 15 minute load averages, to show how busy the shared machine was.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

struct FsyncStats {
    per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Baseline for reading the commit figures: 4 KiB overwrite + fdatasync in a loop, for `dur`
/// or 5,000 syncs.
fn fsync_probe(dir: &Path, dur: Duration) -> Res<FsyncStats> {
    use std::io::{Seek, SeekFrom, Write};
    let path = dir.join("fsync-probe");
    let mut f = std::fs::File::create(&path).ctx(format!("create {}", path.display()))?;
    let page = [0xa5u8; 4096];
    let mut lat = Vec::new();
    let t0 = Instant::now();
    while t0.elapsed() < dur && lat.len() < 5_000 {
        let t = Instant::now();
        f.seek(SeekFrom::Start((lat.len() % 256) as u64 * 4096))
            .ctx("fsync probe seek")?;
        f.write_all(&page).ctx("fsync probe write")?;
        f.sync_data().ctx("fsync probe fdatasync")?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let secs = t0.elapsed().as_secs_f64();
    drop(f);
    std::fs::remove_file(&path).ctx(format!("rm {}", path.display()))?;
    lat.sort_by(f64::total_cmp);
    let at = |q: f64| lat[((lat.len() as f64 * q).ceil() as usize).clamp(1, lat.len()) - 1];
    Ok(FsyncStats {
        per_s: lat.len() as f64 / secs,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
    })
}

fn fresh_dir(cfg: &Config, name: &str) -> Res<PathBuf> {
    let d = cfg.dir.join(name);
    if d.exists() {
        std::fs::remove_dir_all(&d).ctx(format!("rm -r {}", d.display()))?;
    }
    std::fs::create_dir_all(&d).ctx(format!("mkdir {}", d.display()))?;
    Ok(d)
}

type GroupRuns = Vec<(Engine, usize, group::WriteStats)>;
/// One case-2 run: readers alone, then the writer's and the readers' figures together.
struct ReaderRun {
    engine: Engine,
    alone: group::ReadStats,
    writer: group::WriteStats,
    with: group::ReadStats,
}

/// Cases 1 and 2. Per repetition and engine: a fresh store, pre-loaded, then P = 1, 8, 32,
/// 128 without readers, then readers alone, then readers with P = 32. Engines are interleaved
/// within each repetition so that background load hits them alike.
fn group_cases(cfg: &Config, report: &mut String) -> Res<()> {
    let shape = cfg.shape;
    let mut runs: GroupRuns = Vec::new();
    let mut reader_runs: Vec<ReaderRun> = Vec::new();
    let mut syncs: Vec<FsyncStats> = Vec::new();
    for rep in 0..cfg.reps {
        let probe_dir = fresh_dir(cfg, "fsync-probe")?;
        let f = fsync_probe(&probe_dir, Duration::from_millis(1_500))?;
        eprintln!(
            "[{:>5.1}s] rep {rep} fsync probe: {} syncs/s, p50 {:.2} ms, p99 {:.2} ms",
            cfg.started.elapsed().as_secs_f64(),
            int(f.per_s),
            f.p50_ms,
            f.p99_ms
        );
        syncs.push(f);
        for &engine in &cfg.engines {
            let dir = fresh_dir(cfg, &format!("group-{}-{rep}", engine.name()))?;
            let store = Store::create(engine, &dir)?;
            let t = Instant::now();
            group::preload(&store, shape)?;
            eprintln!(
                "[{:>5.1}s] rep {rep} {}: preloaded {} messages in {:.1} s",
                cfg.started.elapsed().as_secs_f64(),
                engine.name(),
                shape.mailboxes as u64 * shape.per_mailbox as u64,
                t.elapsed().as_secs_f64()
            );
            let seed = 0x5eed ^ ((rep as u64) << 8);
            for p in PRODUCERS {
                let (w, _) = group::run(&store, shape, p, false, seed ^ p as u64)?;
                eprintln!(
                    "[{:>5.1}s] rep {rep} {} P={p}: {} deliveries/s, {} commits/s, batch {:.1}, \
                     p99 {:.2} ms",
                    cfg.started.elapsed().as_secs_f64(),
                    engine.name(),
                    int(w.deliveries_per_s()),
                    int(w.commits_per_s()),
                    w.mean_batch(),
                    w.p99_ms
                );
                runs.push((engine, p, w));
            }
            let alone = group::readers_alone(&store, shape, cfg.readers_alone, seed)?;
            let (w, with) = group::run(&store, shape, 32, true, seed ^ 0x77)?;
            let with = with.ok_or("readers gave no figures")?;
            eprintln!(
                "[{:>5.1}s] rep {rep} {} readers: gets/s {} alone, {} with writer; scans/s {} \
                 alone, {} with writer; writer {} deliveries/s",
                cfg.started.elapsed().as_secs_f64(),
                engine.name(),
                int(alone.gets_per_s),
                int(with.gets_per_s),
                int(alone.scans_per_s),
                int(with.scans_per_s),
                int(w.deliveries_per_s())
            );
            if alone.misses + with.misses > 0 {
                return Err(format!("{}: reads missed existing keys", engine.name()).into());
            }
            reader_runs.push(ReaderRun {
                engine,
                alone,
                writer: w,
                with,
            });
            drop(store);
            std::fs::remove_dir_all(&dir).ctx(format!("rm -r {}", dir.display()))?;
        }
    }

    let _ = writeln!(
        report,
        "## 1. Group commit of deliveries\n\n{} mailboxes pre-loaded with {} messages each. A \
         delivery = counter read-modify-write + {}-byte message row + modseq row. Each run \
         stops at {} deliveries or {} s. One writer thread, at most {} deliveries per \
         transaction, one durable commit per transaction.\n",
        int(shape.mailboxes as f64),
        shape.per_mailbox,
        store::MSG_VALUE_LEN,
        int(shape.max_deliveries as f64),
        shape.max_time.as_secs(),
        group::MAX_BATCH
    );
    let _ = writeln!(
        report,
        "Disk baseline (4 KiB overwrite + fdatasync in a loop, 1.5 s before each repetition): \
         {} syncs/s, p50 {:.2} ms, p99 {:.2} ms.\n",
        int(median(syncs.iter().map(|s| s.per_s).collect())),
        median(syncs.iter().map(|s| s.p50_ms).collect()),
        median(syncs.iter().map(|s| s.p99_ms).collect()),
    );
    let _ = writeln!(
        report,
        "| engine | P | deliveries/s | commits/s | mean batch | p50 latency ms | p99 latency ms |\n\
         |---|---:|---:|---:|---:|---:|---:|"
    );
    for &engine in &cfg.engines {
        for p in PRODUCERS {
            let sel: Vec<&group::WriteStats> = runs
                .iter()
                .filter(|r| r.0 == engine && r.1 == p)
                .map(|r| &r.2)
                .collect();
            let m =
                |f: &dyn Fn(&group::WriteStats) -> f64| median(sel.iter().map(|s| f(s)).collect());
            let _ = writeln!(
                report,
                "| {} | {p} | {} | {} | {:.1} | {:.2} | {:.2} |",
                engine.name(),
                int(m(&|s| s.deliveries_per_s())),
                int(m(&|s| s.commits_per_s())),
                m(&|s| s.mean_batch()),
                m(&|s| s.p50_ms),
                m(&|s| s.p99_ms),
            );
        }
    }
    let _ = writeln!(report, "\nRuns (deliveries/s):\n");
    for &engine in &cfg.engines {
        for p in PRODUCERS {
            let v: Vec<String> = runs
                .iter()
                .filter(|r| r.0 == engine && r.1 == p)
                .map(|r| int(r.2.deliveries_per_s()))
                .collect();
            let _ = writeln!(report, "- {} P={p}: {}", engine.name(), v.join(", "));
        }
    }

    let _ = writeln!(
        report,
        "\n## 2. Readers concurrent with the writer\n\n{} reader threads, one read transaction \
         per operation: {} doing random point gets of existing message rows, {} doing {}-row \
         range scans from a random message row. \"alone\": no writer, {:.1} s. \"with writer\": \
         during a case-1 run at P = 32.\n",
        group::READERS,
        group::READERS / 2,
        group::READERS - group::READERS / 2,
        group::SCAN_ROWS,
        cfg.readers_alone.as_secs_f64()
    );
    let _ = writeln!(
        report,
        "| engine | gets/s alone | gets/s with writer | scans/s alone | scans/s with writer | \
         get p99 µs alone / with | scan p99 µs alone / with | slowest read with writer ms | \
         writer deliveries/s with readers (without) | writer p99 ms with readers |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for &engine in &cfg.engines {
        let sel: Vec<&ReaderRun> = reader_runs.iter().filter(|r| r.engine == engine).collect();
        let m = |f: &dyn Fn(&ReaderRun) -> f64| median(sel.iter().map(|s| f(s)).collect());
        let without = median(
            runs.iter()
                .filter(|r| r.0 == engine && r.1 == 32)
                .map(|r| r.2.deliveries_per_s())
                .collect(),
        );
        let _ = writeln!(
            report,
            "| {} | {} | {} | {} | {} | {} / {} | {} / {} | {:.1} | {} ({}) | {:.2} |",
            engine.name(),
            int(m(&|r| r.alone.gets_per_s)),
            int(m(&|r| r.with.gets_per_s)),
            int(m(&|r| r.alone.scans_per_s)),
            int(m(&|r| r.with.scans_per_s)),
            int(m(&|r| r.alone.get_p99_us)),
            int(m(&|r| r.with.get_p99_us)),
            int(m(&|r| r.alone.scan_p99_us)),
            int(m(&|r| r.with.scan_p99_us)),
            m(&|r| r.with.max_ms),
            int(m(&|r| r.writer.deliveries_per_s())),
            int(without),
            m(&|r| r.writer.p99_ms),
        );
    }
    let _ = writeln!(report);
    Ok(())
}

/// Case 3, engines interleaved within each repetition.
fn crash_case(cfg: &Config, report: &mut String) -> Res<()> {
    let mut runs: Vec<(Engine, crash::CrashStats)> = Vec::new();
    for rep in 0..cfg.reps {
        for &engine in &cfg.engines {
            let dir = fresh_dir(cfg, &format!("crash-{}-{rep}", engine.name()))?;
            let s = crash::run(engine, &dir, cfg.crash_rows, 0xc0ffee ^ rep as u64)?;
            eprintln!(
                "[{:>5.1}s] rep {rep} {} crash: {} acked, {} present, ok={}, full repair={}, \
                 reopen {:.1} ms, verify {:.0} ms, {} rows/s, {:.0} MB",
                cfg.started.elapsed().as_secs_f64(),
                engine.name(),
                int(s.acked as f64),
                int(s.present as f64),
                s.all_acked_present,
                s.full_repair,
                s.reopen_ms,
                s.verify_ms,
                int(s.write_rows_per_s),
                s.files_mb
            );
            runs.push((engine, s));
            std::fs::remove_dir_all(&dir).ctx(format!("rm -r {}", dir.display()))?;
        }
    }
    let _ = writeln!(
        report,
        "## 3. Reopen after SIGKILL mid-write\n\nA child process writes {}-byte rows in \
         transactions of {} rows (one durable commit each) and is killed with SIGKILL 0–50 ms \
         after {} rows were acknowledged, while still writing. Reopen = open + first point \
         read (includes redb's repair and SQLite's WAL recovery). Verify = ordered walk of \
         the table checking every acknowledged row.\n",
        store::MSG_VALUE_LEN,
        int(crash::BATCH_ROWS as f64),
        int(cfg.crash_rows as f64)
    );
    let _ = writeln!(
        report,
        "| engine | rows acked at kill | rows present | all acked rows present | full repair on \
         open | reopen ms (median) | reopen ms (runs) | verify walk ms | child write rows/s | \
         files MB |\n|---|---:|---:|---|---|---:|---|---:|---:|---:|"
    );
    for &engine in &cfg.engines {
        let sel: Vec<&crash::CrashStats> = runs
            .iter()
            .filter(|r| r.0 == engine)
            .map(|r| &r.1)
            .collect();
        let m = |f: &dyn Fn(&crash::CrashStats) -> f64| median(sel.iter().map(|s| f(s)).collect());
        let ok = sel.iter().filter(|s| s.all_acked_present).count();
        let repaired = sel.iter().filter(|s| s.full_repair).count();
        let each: Vec<String> = sel.iter().map(|s| format!("{:.1}", s.reopen_ms)).collect();
        let _ = writeln!(
            report,
            "| {} | {} | {} | {ok}/{n} | {repaired}/{n} | {:.1} | {} | {} | {} | {:.0} |",
            engine.name(),
            int(m(&|s| s.acked as f64)),
            int(m(&|s| s.present as f64)),
            m(&|s| s.reopen_ms),
            each.join(", "),
            int(m(&|s| s.verify_ms)),
            int(m(&|s| s.write_rows_per_s)),
            m(&|s| s.files_mb),
            n = sel.len(),
        );
    }
    let _ = writeln!(report);
    if runs.iter().any(|r| !r.1.all_acked_present) {
        return Err("an engine lost acknowledged rows (see the table above)".into());
    }
    Ok(())
}

/// Case 4. Skips a build that would not fit in the time left.
fn build_case(cfg: &Config, report: &mut String) -> Res<()> {
    let work = cfg.dir.join("build-times");
    let mut rows = Vec::new();
    for c in &buildtime::CRATES {
        buildtime::prepare(c, &work)?;
    }
    let mut runs: Vec<Vec<buildtime::BuildStats>> = vec![Vec::new(); buildtime::CRATES.len()];
    let mut skipped = 0;
    for rep in 0..cfg.reps {
        for (i, c) in buildtime::CRATES.iter().enumerate() {
            let estimate = runs[i]
                .iter()
                .map(|s| s.secs)
                .fold(90.0, f64::max)
                .mul_add(1.3, 5.0);
            if cfg.left().as_secs_f64() < estimate {
                skipped += 1;
                eprintln!("rep {rep} {}: skipped, not enough time left", c.name);
                continue;
            }
            let s = buildtime::build(c, &work)?;
            eprintln!(
                "[{:>5.1}s] rep {rep} cold build of {}: {:.1} s wall, {:.1} s CPU, {} units",
                cfg.started.elapsed().as_secs_f64(),
                c.name,
                s.secs,
                s.cpu_secs,
                s.units
            );
            runs[i].push(s);
        }
    }
    std::fs::remove_dir_all(&work).ctx(format!("rm -r {}", work.display()))?;
    let _ = writeln!(
        report,
        "## 4. Cold release build of each engine alone\n\nA tiny binary depending only on the \
         engine (same versions as this benchmark, main workspace's release profile), \
         `cargo build --release --offline` into an empty target directory, sources already \
         downloaded. Wall time on 2 cores (`-j2`), and the CPU time (user + system) of the \
         build, which other load on the machine disturbs less.\n\n| crate | units compiled | \
         cold build wall s (median) | wall s (runs) | CPU s (median) | CPU s (runs) |\n\
         |---|---:|---:|---|---:|---|"
    );
    for (i, c) in buildtime::CRATES.iter().enumerate() {
        let each = |f: fn(&buildtime::BuildStats) -> f64| -> String {
            let v: Vec<String> = runs[i].iter().map(|s| format!("{:.1}", f(s))).collect();
            v.join(", ")
        };
        rows.push(format!(
            "| {} | {} | {:.1} | {} | {:.1} | {} |",
            c.name,
            runs[i].first().map_or(0, |s| s.units),
            median(runs[i].iter().map(|s| s.secs).collect()),
            each(|s| s.secs),
            median(runs[i].iter().map(|s| s.cpu_secs).collect()),
            each(|s| s.cpu_secs),
        ));
    }
    let _ = writeln!(report, "{}", rows.join("\n"));
    if skipped > 0 {
        let _ = writeln!(
            report,
            "\n{skipped} build(s) skipped to stay within the time budget."
        );
    }
    let _ = writeln!(report);
    Ok(())
}
