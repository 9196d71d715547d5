//! The aiohttp contender: `benches/aiohttp/client.py`, one long-lived `python3` process per
//! benchmark run (its `ClientSession` pool stays warm across turns like the Rust clients'),
//! one turn per request line on its stdin, one JSON answer line on its stdout (the protocol of
//! [`LineChild`], which the Rust contenders' processes speak too).
//!
//! If `python3 -c "import aiohttp"` fails, [`Aiohttp::start`] tries `python3 -m pip install
//! --user aiohttp` once (not in `--test` mode, nor with `WEFT_BENCH_NO_PIP=1`); if aiohttp is
//! still missing it prints why and the benchmark runs without it (nothing recorded for it).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::remote::LineChild;
use super::{HttpClient, Turn};

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
    child: LineChild,
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
        let mut cmd = Command::new("python3");
        cmd.arg(SCRIPT).arg(ca_pem);
        match LineChild::spawn(&format!("python3 {SCRIPT}"), &mut cmd) {
            Ok(child) => Some(Aiohttp { child }),
            Err(e) => {
                println!("aiohttp: skipped: {e}");
                None
            }
        }
    }
}

impl HttpClient for Aiohttp {
    fn name(&self) -> &'static str {
        "aiohttp"
    }

    fn turn(&self, url: &str, conc: usize, dur: Duration, len: usize) -> Result<Turn, String> {
        self.child.turn(url, conc, dur, len)
    }
}
