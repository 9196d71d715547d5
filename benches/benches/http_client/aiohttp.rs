//! The aiohttp contender: `benches/aiohttp/client.py`, one long-lived `python3` process per
//! benchmark run (its `ClientSession` pool stays warm across turns like the Rust clients'),
//! one turn per request line on its stdin, one JSON answer line on its stdout.
//!
//! If `python3 -c "import aiohttp"` fails, [`Aiohttp::start`] tries `python3 -m pip install
//! --user aiohttp` once (not in `--test` mode, nor with `WEFT_BENCH_NO_PIP=1`); if aiohttp is
//! still missing it prints why and the benchmark runs without it (nothing recorded for it).

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use super::{HttpClient, Scheme, Turn};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/aiohttp/client.py");

/// How long `pip install` may take before it is given up.
const PIP_BOUND: Duration = Duration::from_secs(180);

/// Whether `python3 -c "import aiohttp"` succeeds (also what `--plan` counts aiohttp by).
pub fn importable() -> bool {
    Command::new("python3")
        .args(["-c", "import aiohttp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `python3 -m pip install --user aiohttp`, bounded by [`PIP_BOUND`].
fn pip_install() -> Result<(), String> {
    let mut child = Command::new("python3")
        .args(["-m", "pip", "install", "--user", "--quiet", "aiohttp"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run python3 -m pip: {e}"))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(s)) if s.success() => return Ok(()),
            Ok(Some(s)) => return Err(format!("pip exited with {s}")),
            Ok(None) if start.elapsed() > PIP_BOUND => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("pip did not finish within {PIP_BOUND:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => return Err(format!("waiting for pip: {e}")),
        }
    }
}

/// The running `client.py`.
pub struct Aiohttp {
    child: Child,
    io: RefCell<(ChildStdin, BufReader<ChildStdout>)>,
}

impl Aiohttp {
    /// Starts `client.py` trusting `ca_pem` for `https` URLs; `None` (with a printed reason) if
    /// aiohttp is not available. `install`: whether to try `pip install` when it is missing.
    pub fn start(ca_pem: &Path, install: bool) -> Option<Aiohttp> {
        if !importable() {
            if !install || std::env::var_os("WEFT_BENCH_NO_PIP").is_some_and(|v| v != "0") {
                println!(
                    "aiohttp: `python3 -c \"import aiohttp\"` failed; skipped (no install tried)"
                );
                return None;
            }
            println!("aiohttp: not importable; trying `python3 -m pip install --user aiohttp`");
            if let Err(e) = pip_install() {
                println!("aiohttp: skipped: {e}");
                return None;
            }
            if !importable() {
                println!("aiohttp: skipped: installed, but `import aiohttp` still fails");
                return None;
            }
        }
        let mut child = match Command::new("python3")
            .arg(SCRIPT)
            .arg(ca_pem)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                println!("aiohttp: skipped: cannot start python3 {SCRIPT}: {e}");
                return None;
            }
        };
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            println!("aiohttp: skipped: no pipes to python3");
            return None;
        };
        Some(Aiohttp {
            child,
            io: RefCell::new((stdin, BufReader::new(stdout))),
        })
    }
}

impl Drop for Aiohttp {
    fn drop(&mut self) {
        // client.py keeps nothing worth a clean exit (and may be stuck in a failed turn).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn field(v: &serde_json::Value, k: &str) -> Result<f64, String> {
    v.get(k)
        .and_then(serde_json::Value::as_f64)
        .ok_or_else(|| format!("client.py answered without {k:?}: {v}"))
}

impl HttpClient for Aiohttp {
    fn name(&self) -> &'static str {
        "aiohttp"
    }

    fn supports(&self, _: Scheme) -> bool {
        true
    }

    fn turn(&self, url: &str, conc: usize, dur: Duration, len: usize) -> Result<Turn, String> {
        let mut io = self.io.borrow_mut();
        let (stdin, stdout) = &mut *io;
        writeln!(stdin, "{url} {conc} {} {len}", dur.as_secs_f64())
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("client.py is gone: {e}"))?;
        let mut line = String::new();
        match stdout.read_line(&mut line) {
            Ok(0) => return Err("client.py exited".to_string()),
            Ok(_) => {}
            Err(e) => return Err(format!("reading client.py: {e}")),
        }
        let v: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| format!("client.py printed {line:?}: {e}"))?;
        if let Some(e) = v.get("error").and_then(serde_json::Value::as_str) {
            return Err(format!("client.py: {e}"));
        }
        Ok(Turn {
            requests: field(&v, "requests")? as u64,
            elapsed: Duration::from_secs_f64(field(&v, "elapsed")?),
            p50_us: field(&v, "p50_us")?,
            p99_us: field(&v, "p99_us")?,
        })
    }
}
