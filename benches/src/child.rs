//! Measurements that need a process of their own (memory: RSS must not be shared between
//! contenders, nor reuse another runtime's freed pages): the bench binary re-executes itself
//! with [`CHILD_ENV`] set, the child prints one number on stdout and exits.

use std::process::Command;

/// The environment variable that turns a bench binary into a measuring child:
/// `WEFT_BENCH_CHILD=<what>`, interpreted by the bench file.
pub const CHILD_ENV: &str = "WEFT_BENCH_CHILD";

/// `Some(what)` when this process is a measuring child.
pub fn child_role() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

/// Runs this executable again as a child with [`CHILD_ENV`]`=what` and parses the number it
/// prints. `Err` says what went wrong (spawn failure, non-zero exit with its stderr, no number).
pub fn run_child(what: &str) -> Result<f64, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let out = Command::new(exe)
        .env(CHILD_ENV, what)
        .output()
        .map_err(|e| format!("spawn child `{what}`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "child `{what}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or("").trim().to_string();
    last.parse()
        .map_err(|_| format!("child `{what}` printed {last:?}, not a number"))
}

fn status_kib(field: &str) -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Resident set size of this process in bytes (`VmRSS`, Linux; 0 elsewhere).
pub fn rss_bytes() -> usize {
    status_kib("VmRSS:").map_or(0, |k| k * 1024)
}

/// Peak resident set size of this process in bytes (`VmHWM`, Linux; 0 elsewhere).
pub fn peak_rss_bytes() -> usize {
    status_kib("VmHWM:").map_or(0, |k| k * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_is_reported_on_linux_and_peak_is_at_least_current() {
        if cfg!(target_os = "linux") {
            let now = rss_bytes();
            assert!(now > 0);
            assert!(peak_rss_bytes() >= now / 2, "VmHWM below VmRSS");
        }
    }
}
