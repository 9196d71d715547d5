//! Every contender in a process of its own: the bench re-executes itself once per Rust client
//! ([`Remote`], `WEFT_HTTP_CLIENT_SERVE=<client>`, the child runs [`serve`]) and runs
//! aiohttp's `client.py`, all speaking one line protocol ([`LineChild`]): a turn is one line
//! `<url> <conc> <secs> <len>` on the child's stdin, answered by one JSON line on its stdout
//! (`requests`, `elapsed` in seconds, `p50_us`, `p99_us`, or `error`). The servers stay in
//! the parent, so every client reaches them the same way.
//!
//! Why not threads of one process: weft's reactor is process-wide, so the idle worker thread of
//! one weft runtime (say `hyper-util/weft`'s, after its turn) can be the thread blocked in the
//! poller during another weft contender's turn, and then every I/O wake-up of that turn goes
//! through it and a second thread hop (measured with the one-turn mode's per-thread counts:
//! during a `weft` turn after `hyper-util/weft` and `weft/local` turns, `hyper-util/weft`'s
//! worker made 0.36 of the 0.48 client-side context switches per request). tokio's runtimes
//! each have their own driver, so only the weft-based contenders paid for sharing a process.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use super::{HttpClient, Scheme, Turn};

/// The environment variable that makes the bench binary serve one client's turns.
pub const SERVE_ENV: &str = "WEFT_HTTP_CLIENT_SERVE";
/// The file with the run-time CA's DER certificate, for the served client's TLS cells.
pub const CA_ENV: &str = "WEFT_HTTP_CLIENT_CA_DER";

/// A child process that runs turns over the line protocol.
pub struct LineChild {
    what: String,
    child: Child,
    io: RefCell<(ChildStdin, BufReader<ChildStdout>)>,
}

impl LineChild {
    /// Starts `cmd` with piped stdin and stdout (stderr inherited); `what` names it in errors.
    pub fn spawn(what: &str, cmd: &mut Command) -> Result<LineChild, String> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {what}: {e}"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("no pipes to {what}"));
        };
        Ok(LineChild {
            what: what.to_string(),
            child,
            io: RefCell::new((stdin, BufReader::new(stdout))),
        })
    }

    /// One turn: sends the request line, parses the answer.
    pub fn turn(&self, url: &str, conc: usize, dur: Duration, len: usize) -> Result<Turn, String> {
        let what = &self.what;
        let mut io = self.io.borrow_mut();
        let (stdin, stdout) = &mut *io;
        writeln!(stdin, "{url} {conc} {} {len}", dur.as_secs_f64())
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("{what} is gone: {e}"))?;
        let mut line = String::new();
        match stdout.read_line(&mut line) {
            Ok(0) => return Err(format!("{what} exited")),
            Ok(_) => {}
            Err(e) => return Err(format!("reading {what}: {e}")),
        }
        let v: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| format!("{what} printed {line:?}: {e}"))?;
        if let Some(e) = v.get("error").and_then(serde_json::Value::as_str) {
            return Err(format!("{what}: {e}"));
        }
        let field = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_f64)
                .ok_or_else(|| format!("{what} answered without {k:?}: {v}"))
        };
        Ok(Turn {
            requests: field("requests")? as u64,
            elapsed: Duration::from_secs_f64(field("elapsed")?),
            p50_us: field("p50_us")?,
            p99_us: field("p99_us")?,
        })
    }
}

impl Drop for LineChild {
    fn drop(&mut self) {
        // The child keeps nothing worth a clean exit (and may be stuck in a failed turn).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Rust contender running in its own process (this executable with [`SERVE_ENV`]).
pub struct Remote {
    name: &'static str,
    plain_only: bool,
    child: LineChild,
}

impl Remote {
    /// Starts the child serving client `name`, trusting the CA in the DER file `ca_der`.
    /// `plain_only`: the client has no TLS (its cells are skipped).
    pub fn start(
        name: &'static str,
        plain_only: bool,
        ca_der: &std::path::Path,
    ) -> Result<Remote, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let mut cmd = Command::new(exe);
        cmd.env(SERVE_ENV, name).env(CA_ENV, ca_der);
        let child = LineChild::spawn(&format!("the {name} client process"), &mut cmd)?;
        Ok(Remote {
            name,
            plain_only,
            child,
        })
    }
}

impl HttpClient for Remote {
    fn name(&self) -> &'static str {
        self.name
    }
    fn supports(&self, scheme: Scheme) -> bool {
        !self.plain_only || scheme == Scheme::Plain
    }
    fn turn(&self, url: &str, conc: usize, dur: Duration, len: usize) -> Result<Turn, String> {
        self.child.turn(url, conc, dur, len)
    }
}

/// The child's side: runs `client`'s turns as the lines on stdin ask, answers on stdout,
/// until stdin closes. A failed turn answers `error` (and a panic in a turn ends the process,
/// which the parent reports as the client having exited).
pub fn serve(client: &dyn HttpClient) {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return };
        let f: Vec<&str> = line.split_whitespace().collect();
        let answer = match f[..] {
            [url, conc, secs, len] => match (conc.parse(), secs.parse::<f64>(), len.parse()) {
                (Ok(conc), Ok(secs), Ok(len)) => {
                    match client.turn(url, conc, Duration::from_secs_f64(secs), len) {
                        Ok(t) => serde_json::json!({
                            "requests": t.requests,
                            "elapsed": t.elapsed.as_secs_f64(),
                            "p50_us": t.p50_us,
                            "p99_us": t.p99_us,
                        }),
                        Err(e) => serde_json::json!({ "error": e }),
                    }
                }
                _ => serde_json::json!({ "error": format!("bad turn line {line:?}") }),
            },
            _ => serde_json::json!({ "error": format!("bad turn line {line:?}") }),
        };
        if writeln!(out, "{answer}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
    }
}
