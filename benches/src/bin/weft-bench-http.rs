//! The HTTP server benchmark as two processes, for `cargo xtask syscalls` (which runs the
//! server under `strace -f -c` and the load generator outside it):
//!
//! - `weft-bench-http serve <weft|tokio|smol>`: starts hyper's server on that runtime (see
//!   `weft_benches::hyper_server`), prints `listening <addr>`, and exits when stdin closes.
//! - `weft-bench-http load <addr> <conns> <seconds> <max-requests>`: applies the load and
//!   prints `requests <n> rps <r> p50_us <a> p99_us <b> errors <e>`.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use weft_benches::http_load::{run_load, LoadConfig};
use weft_benches::hyper_server::{HttpServer, ServerRt};

const USAGE: &str =
    "usage: weft-bench-http serve <weft|tokio|smol> | load <addr> <conns> <seconds> <max-requests>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["serve", rt] => {
            let Some(rt) = ServerRt::parse(rt) else {
                eprintln!("unknown runtime {rt:?}; {USAGE}");
                return ExitCode::FAILURE;
            };
            let server = match HttpServer::start(rt) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("cannot start the {} server: {e}", rt.name());
                    return ExitCode::FAILURE;
                }
            };
            println!("listening {}", server.addr());
            let _ = std::io::stdout().flush();
            // Serve until the parent closes our stdin.
            let _ = std::io::stdin().lock().read_to_end(&mut Vec::new());
            // Exit without tearing the runtime down: strace counts what serving costs.
            std::process::exit(0);
        }
        ["load", addr, conns, secs, max] => {
            let parsed = (
                addr.parse(),
                conns.parse(),
                secs.parse::<f64>(),
                max.parse(),
            );
            let (Ok(addr), Ok(conns), Ok(secs), Ok(max_requests)) = parsed else {
                eprintln!("bad arguments; {USAGE}");
                return ExitCode::FAILURE;
            };
            let cfg = LoadConfig {
                conns,
                duration: Duration::from_secs_f64(secs),
                max_requests,
            };
            match run_load(addr, cfg) {
                Ok(r) => {
                    println!(
                        "requests {} rps {:.0} p50_us {} p99_us {} errors {}",
                        r.requests,
                        r.rps(),
                        r.latency_us(0.5),
                        r.latency_us(0.99),
                        r.errors
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("load failed: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::FAILURE
        }
    }
}
