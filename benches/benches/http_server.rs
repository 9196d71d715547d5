//! hyper's HTTP/1.1 server (hello world, keep-alive) on weft, tokio and smol, one server thread
//! each, under the same load: issue 13's workload (see `weft_benches::hyper_server`).
//!
//! The load generator (`weft_benches::http_load`) runs on the benchmark thread: 64 keep-alive
//! connections, one request in flight per connection, for a fixed time per turn. Rounds are
//! interleaved (each round runs every server once, in a rotating order); the table gives the
//! median requests/s over rounds with its min–max, and the median over rounds of each round's
//! p50/p99 latency. If `wrk` is installed and `WEFT_BENCH_WRK=1`, the same rounds also run
//! `wrk -t1 -c64 --latency` against each server (printed only). Results go to
//! `weft_benches::report`: group `io`, workload `hyper_server c=64` (req/s) and
//! `hyper_server c=64 p50` / `… p99` (µs, lower is better).
//!
//! `cargo bench -p weft-benches --bench http_server -- --quick` (11 rounds × 0.5 s, under 20 s),
//! `-- --test` (one 0.2 s round, a smoke test), no flag: 21 rounds × 2 s.

use std::process::Command;

use weft_benches::http_load::{run_load, LoadConfig};
use weft_benches::hyper_server::{HttpServer, ServerRt};
use weft_benches::report::{record, Record};
use weft_benches::rounds::{rotation, Mode, Summary};

/// Connections of the load generator (as `wrk -c64` in issue 13).
const CONNS: usize = 64;

fn main() {
    if !weft_benches::rounds::selected("http_server") {
        return;
    }
    let mode = Mode::from_env();
    if weft_benches::plan::requested() {
        weft_benches::plan::Entry {
            id: format!("io/hyper_server c={CONNS}"),
            contenders: ServerRt::ALL.len(),
            rounds: mode.rounds(),
            turn: mode.turn(),
            warm_up_turns: 0.25,
        }
        .print();
        return;
    }
    let servers: Vec<HttpServer> = ServerRt::ALL
        .iter()
        .map(|&rt| HttpServer::start(rt).unwrap_or_else(|e| panic!("start {rt:?} server: {e}")))
        .collect();
    let cfg = LoadConfig {
        conns: CONNS,
        duration: mode.turn(),
        max_requests: u64::MAX,
    };
    // Warm-up: connections, allocator, caches.
    for s in &servers {
        let warm = LoadConfig {
            duration: mode.turn() / 4,
            ..cfg
        };
        run_load(s.addr(), warm).expect("warm-up load");
    }

    let n = servers.len();
    let mut rps = vec![Vec::new(); n];
    let mut p50 = vec![Vec::new(); n];
    let mut p99 = vec![Vec::new(); n];
    let mut errors = vec![0u64; n];
    for round in 0..mode.rounds() {
        for i in rotation(n, round) {
            let r = run_load(servers[i].addr(), cfg).expect("load");
            rps[i].push(r.rps());
            p50[i].push(f64::from(r.latency_us(0.50)));
            p99[i].push(f64::from(r.latency_us(0.99)));
            errors[i] += r.errors;
        }
    }

    println!(
        "\n## http_server: hyper HTTP/1.1 hello world, 1 server thread, {CONNS} keep-alive \
         connections ({} rounds × {:?}, interleaved)\n",
        mode.rounds(),
        mode.turn()
    );
    println!("| runtime | requests/s median (min–max) | p50 µs | p99 µs | errors |");
    println!("|---|---|---|---|---|");
    let sums: Vec<Summary> = rps.iter().map(|v| Summary::of(v)).collect();
    for (i, s) in servers.iter().enumerate() {
        println!(
            "| {} | {} | {:.0} | {:.0} | {} |",
            s.runtime().name(),
            sums[i],
            Summary::of(&p50[i]).median,
            Summary::of(&p99[i]).median,
            errors[i]
        );
        let workload = format!("hyper_server c={CONNS}");
        for (workload, unit, higher_is_better, samples) in [
            (workload.clone(), "req/s", true, &rps[i]),
            (format!("{workload} p50"), "us", false, &p50[i]),
            (format!("{workload} p99"), "us", false, &p99[i]),
        ] {
            record(&Record {
                group: "io",
                workload: &workload,
                contender: s.runtime().name(),
                unit,
                higher_is_better,
                samples,
            });
        }
    }
    // weft/peer by the paired per-round rule the page uses (weft_bench_stats::compare).
    for (i, s) in servers.iter().enumerate().skip(1) {
        println!(
            "weft/{}: requests/s {}, p99 {} (cost ratios: below 1 = weft better)",
            s.runtime().name(),
            weft_bench_stats::compare(&rps[0], &rps[i], true).describe(1.0),
            weft_bench_stats::compare(&p99[0], &p99[i], false).describe(1.0),
        );
    }

    if std::env::var_os("WEFT_BENCH_WRK").is_some_and(|v| v != "0") {
        wrk_rounds(&servers, mode);
    }
}

/// The same interleaved rounds with `wrk -t1 -c64`, if it is installed.
fn wrk_rounds(servers: &[HttpServer], mode: Mode) {
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("\nwrk: not installed, skipped (the built-in load generator above needs none)");
        return;
    }
    let secs = mode.turn().as_secs().max(1).to_string();
    let mut rps = vec![Vec::new(); servers.len()];
    for round in 0..mode.rounds() {
        for i in rotation(servers.len(), round) {
            let url = format!("http://{}/", servers[i].addr());
            let out = Command::new("wrk")
                .args(["-t1", "-c64", "-d", &secs, "--latency", &url])
                .output();
            let Ok(out) = out else { continue };
            let text = String::from_utf8_lossy(&out.stdout);
            if let Some(v) = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
                .and_then(|v| v.trim().parse::<f64>().ok())
            {
                rps[i].push(v);
            }
        }
    }
    println!("\n| runtime (wrk -t1 -c64) | requests/s median (min–max) |\n|---|---|");
    for (i, s) in servers.iter().enumerate() {
        if !rps[i].is_empty() {
            println!("| {} | {} |", s.runtime().name(), Summary::of(&rps[i]));
        }
    }
}
