//! Case 4: cold release build time of each engine alone.
//!
//! For each engine a tiny binary crate depending only on that engine (same version requirement
//! and features as this benchmark, same versions through a copy of this benchmark's Cargo.lock,
//! same release profile as the main Yubin workspace) is written to `WORK/NAME` and built with
//! `cargo build --release --offline` into an emptied target directory of its own.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::{Ctx, Res};

pub struct Crate {
    pub name: &'static str,
    dependency: &'static str,
    main: &'static str,
}

pub const CRATES: [Crate; 2] = [
    Crate {
        name: "redb",
        dependency: r#"redb = "4.6""#,
        main: "fn main() {\n    let _ = redb::Builder::new();\n}\n",
    },
    Crate {
        name: "rusqlite",
        dependency: r#"rusqlite = { version = "=0.41.1", features = ["bundled"] }"#,
        main: "fn main() {\n    let _ = rusqlite::Connection::open_in_memory();\n}\n",
    },
];

#[derive(Clone, Debug, Default)]
pub struct BuildStats {
    pub secs: f64,
    /// CPU time (user + system) of cargo and everything it ran; less sensitive than `secs` to
    /// other load on the machine.
    pub cpu_secs: f64,
    /// Units cargo reported compiling (crates and build scripts), the tiny crate included.
    pub units: usize,
}

/// Writes the tiny crate for `c` under `work` and resolves it (not timed).
pub fn prepare(c: &Crate, work: &Path) -> Res<()> {
    let dir = work.join(c.name);
    std::fs::create_dir_all(dir.join("src")).ctx(format!("mkdir {}", dir.display()))?;
    let manifest = format!(
        "[package]\nname = \"build-{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
         publish = false\n\n[workspace]\n\n[dependencies]\n{dep}\n\n\
         [profile.release]\ndebug = \"line-tables-only\"\n",
        name = c.name,
        dep = c.dependency
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).ctx("write tiny Cargo.toml")?;
    std::fs::write(dir.join("src/main.rs"), c.main).ctx("write tiny main.rs")?;
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock");
    std::fs::copy(&lock, dir.join("Cargo.lock")).ctx(format!("copy {}", lock.display()))?;
    // Trims the copied lock file to this crate's graph, keeping the pinned versions.
    let out = cargo()
        .args(["tree", "--offline", "--prefix", "none"])
        .current_dir(&dir)
        .output()
        .ctx("run cargo tree")?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree for {} failed: {}",
            c.name,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}

/// One cold build of the tiny crate for `c`.
pub fn build(c: &Crate, work: &Path) -> Res<BuildStats> {
    let dir = work.join(c.name);
    let target = work.join(format!("{}-target", c.name));
    if target.exists() {
        std::fs::remove_dir_all(&target).ctx(format!("rm -r {}", target.display()))?;
    }
    let cpu0 = children_cpu_secs()?;
    let t0 = Instant::now();
    let out = cargo()
        .args(["build", "--release", "--offline"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(&dir)
        .output()
        .ctx("run cargo build")?;
    let secs = t0.elapsed().as_secs_f64();
    let cpu_secs = children_cpu_secs()? - cpu0;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("cargo build for {} failed: {stderr}", c.name).into());
    }
    let units = stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("Compiling "))
        .count();
    std::fs::remove_dir_all(&target).ctx(format!("rm -r {}", target.display()))?;
    Ok(BuildStats {
        secs,
        cpu_secs,
        units,
    })
}

/// The cargo that runs this benchmark (`cargo run` sets `CARGO`), else `cargo` from PATH.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // Nothing from the outer `cargo run` may leak into the measured build.
    for var in ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "RUSTFLAGS"] {
        cmd.env_remove(var);
    }
    cmd
}

/// User + system CPU seconds of this process's waited-for descendants (`cutime + cstime` in
/// /proc/self/stat, in USER_HZ = 100 ticks per second on Linux).
fn children_cpu_secs() -> Res<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ctx("read /proc/self/stat")?;
    let after_comm = stat
        .rsplit_once(')')
        .ok_or("unexpected /proc/self/stat format")?
        .1;
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // Fields are numbered from 1 in proc(5); `after_comm` starts at field 3 (state).
    let field = |n: usize| -> Res<u64> {
        fields
            .get(n - 3)
            .ok_or("short /proc/self/stat")?
            .parse::<u64>()
            .ctx("parse /proc/self/stat")
    };
    Ok((field(16)? + field(17)?) as f64 / 100.0)
}
