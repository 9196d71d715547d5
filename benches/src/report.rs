//! Machine-readable results: the one format every benchmark group writes and `cargo xtask bench`
//! reads to regenerate `docs/benchmarks.md` and its charts (issue 19).
//!
//! Each call to [`record`] appends one JSON line to the file named by `WEFT_BENCH_RESULTS`
//! (`cargo xtask bench` sets it to `target/weft-bench/results.jsonl`, the page's source; a bench
//! run by hand defaults to `target/weft-bench/manual.jsonl`, so profiling or rerunning one file
//! never mixes its samples into the next `cargo xtask bench report`):
//!
//! ```json
//! {"group":"http_client","workload":"c=1 0B plain","contender":"weft","unit":"req/s",
//!  "higher_is_better":true,"samples":[51234.0,50123.0,52001.0]}
//! ```
//!
//! One sample per interleaved round; the report derives median, spread and ratios from them.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

/// One contender's samples for one workload of one group.
#[derive(Clone, Debug)]
pub struct Record<'a> {
    /// The group (one per bench file / chart), e.g. `"scheduler"`, `"http_client"`.
    pub group: &'a str,
    /// The workload inside the group, e.g. `"spawn_many_local"` or `"c=64 1KiB tls"`.
    pub workload: &'a str,
    /// Who ran it: `"weft"`, `"tokio"`, `"smol"`, `"hyper-util"`, `"aiohttp"`, ...
    pub contender: &'a str,
    /// Unit of each sample, e.g. `"ns/iter"`, `"req/s"`, `"bytes/task"`, `"MiB/s"`.
    pub unit: &'a str,
    /// Whether a larger sample is better (throughput) or worse (time, bytes).
    pub higher_is_better: bool,
    /// One value per round (at least one).
    pub samples: &'a [f64],
}

/// Where results go: `$WEFT_BENCH_RESULTS`, else `<workspace>/target/weft-bench/manual.jsonl`
/// (a run by hand; see the module docs).
pub fn results_path() -> PathBuf {
    match std::env::var_os("WEFT_BENCH_RESULTS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/weft-bench/manual.jsonl"),
    }
}

/// Appends `r` as one JSON line to [`results_path`]. A failure to write is reported on stderr,
/// never a panic: the printed table is still the benchmark's output.
pub fn record(r: &Record<'_>) {
    let line = serde_json::json!({
        "group": r.group,
        "workload": r.workload,
        "contender": r.contender,
        "unit": r.unit,
        "higher_is_better": r.higher_is_better,
        "samples": r.samples,
    });
    let path = results_path();
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut f = OpenOptions::new().create(true).append(true).open(&path)?;
        writeln!(f, "{line}")
    };
    if let Err(e) = write() {
        eprintln!("weft-benches: could not append to {}: {e}", path.display());
    }
}
