//! The projected duration of a run, from the bench files' own schedule: each built bench
//! executable is run with `--plan` (and the mode flag and filters), prints one line per
//! workload it would run (`weft_benches::plan`: tab-separated `weft-bench-plan`, id,
//! contenders, rounds, turn ms, warm-up turns, projected seconds) and exits without measuring.
//! `cargo xtask bench` prints the sum per file and in all before it starts, and the page's run
//! line shows it next to the measured time.

use std::path::Path;
use std::process::Command;

/// Parses the `--plan` output of one bench file: (workloads, projected seconds). Lines that are
/// not schedule lines (a skipped file's message) are ignored.
pub fn parse(stdout: &str) -> (usize, f64) {
    stdout
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.trim_end().split('\t').collect();
            (f.len() == 7 && f[0] == "weft-bench-plan")
                .then(|| f[6].parse::<f64>().ok())
                .flatten()
        })
        .fold((0, 0.0), |(n, s), secs| (n + 1, s + secs))
}

/// The bench executables from `cargo bench --no-run --message-format=json` output:
/// (target name, path).
pub fn executables(json_lines: &str) -> Vec<(String, String)> {
    json_lines
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| {
            v.pointer("/target/kind")
                .and_then(|k| k.as_array())
                .is_some_and(|k| k.iter().any(|x| x == "bench"))
        })
        .filter_map(|v| {
            let name = v.pointer("/target/name")?.as_str()?.to_string();
            let exe = v.get("executable")?.as_str()?.to_string();
            Some((name, exe))
        })
        .collect()
}

/// Runs `exe --bench <mode> --plan <filters>` in `dir`; `None` if it could not run.
pub fn plan_of(
    exe: &Path,
    mode: Option<&str>,
    filters: &[String],
    dir: &Path,
) -> Option<(usize, f64)> {
    let mut c = Command::new(exe);
    c.arg("--bench");
    if let Some(m) = mode {
        c.arg(m);
    }
    let out = c
        .arg("--plan")
        .args(filters)
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| parse(&String::from_utf8_lossy(&out.stdout)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_lines_are_summed_and_other_lines_ignored() {
        let out = "spawn_cost: skipped\nweft-bench-plan\tsync/a\t3\t11\t150\t1.3\t5.535\n\
                   weft-bench-plan\tsync/b\t2\t11\t150\t1.3\t3.690\nnoise\tx\n";
        let (n, s) = parse(out);
        assert_eq!(n, 2);
        assert!((s - 9.225).abs() < 1e-9, "{s}");
        assert_eq!(parse(""), (0, 0.0));
    }

    #[test]
    fn bench_executables_come_from_cargo_json() {
        let json = concat!(
            r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"weft_benches"},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"kind":["bench"],"name":"sync"},"executable":"/t/sync-123"}"#,
            "\nnot json\n",
        );
        assert_eq!(
            executables(json),
            [("sync".to_string(), "/t/sync-123".to_string())]
        );
    }
}
