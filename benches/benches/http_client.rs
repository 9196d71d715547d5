//! HTTP/1.1 clients against the same local hyper server (issue 16's benchmarks, issue 19's HTTP
//! group): weft's own `weft::http::Client` (`weft`: on a 1-worker weft `Runtime`;
//! `weft/local`: on a `LocalRuntime`, one thread like tokio's current-thread), hyper-util's
//! pooled legacy `Client` (on tokio with hyper-rustls, and on weft through `weft_compat`'s
//! `WeftConnector`: plain only), reqwest, ureq (threads) and aiohttp (`benches/aiohttp/
//! client.py`, skipped with a message when Python's aiohttp is missing and cannot be
//! installed), at 1 and 64 concurrent requests over keep-alive, 0 B / 1 KiB / 64 KiB response
//! bodies, plain HTTP and TLS.
//!
//! The servers are hyper's HTTP/1.1 server on a 1-worker tokio runtime
//! (`weft_benches::hyper_server`, path `/bytes/<n>`); the TLS one (tokio-rustls) has a
//! certificate for `127.0.0.1` signed by a CA made at run time (rcgen), which every client
//! trusts (rustls with the `ring` provider everywhere; Python's `ssl` for aiohttp). Async Rust
//! clients run on one tokio current-thread runtime (their usual home) with `c` tasks sharing
//! one pooled client; ureq is blocking, so `c` threads share one `Agent`. A warm-up turn per
//! cell opens the pooled connections (and does the TLS handshakes), then rounds are
//! interleaved (every round runs each client once, in a rotating order).
//!
//! **Every contender runs in a process of its own** (this binary re-executed per Rust client,
//! `client.py` for aiohttp; the servers stay here; see [`remote`]): weft's reactor is
//! process-wide, so in one process another weft runtime's idle worker could sit in the poller
//! during a weft contender's turn and relay every wake-up (an extra thread hop; tokio runtimes
//! have a driver each, so only weft's contenders paid). Interleaved in one process
//! (`WEFT_HTTP_CLIENT_IN_PROCESS=1`, loaded machine) weft was 1.25× and 1.36× hyper-util's time
//! at c=64 1 KiB plain and 0 B TLS in one run (the 1.31× of the 05:18 run), 0.85–0.95× in the
//! next, depending on which idle worker held the poller; in separate processes, in the same
//! session, 0.84–0.90× in both runs.
//!
//! **The c=1 cells run with every thread on one CPU** (Linux; `WEFT_HTTP_CLIENT_PIN=0`: not):
//! the binary re-executes itself ([`weft_benches::pin`]) and the child pins itself before any
//! thread starts, so its server, every client's runtime threads and aiohttp's `python3` all
//! inherit CPU 0 alike; it prints its own table, then this process runs the c=64 cells
//! unpinned. Why: on the reference VM an idle vCPU halts at once and waking a thread there
//! costs ~40–80 µs (IPI + VM exit), so a one-request ping-pong measured whether client and
//! server thread happened to share a vCPU, not the clients. Unpinned, one `--quick` run had
//! weft at 41.5k req/s (p50 10 µs) and hyper-util at 21k, the next weft 11.4k and hyper-util 21k;
//! alone (one-turn mode, c=1 0 B TLS) both were ~11k req/s at p50 ~87 µs, and both ~85k at p50
//! 10 µs under `taskset -c 0`. On one CPU every wake-up is a plain context switch, and the
//! cell compares the clients' CPU cost per request. The one-turn mode pins c=1 the same way.
//!
//! Output: a table per run (median requests/s over rounds with min–max, the median of the
//! rounds' p50/p99 latency, and weft/peer ratios) and, per cell × client, three result lines
//! (`weft_benches::report`, group `http_client`): workload `"c=64 1KiB tls"` (req/s),
//! `"c=64 1KiB tls p50"` and `"… p99"` (µs, lower is better).
//!
//! `cargo bench -p weft-benches --bench http_client -- --quick`: all 12 cells, 11 rounds ×
//! 0.1 s turns per client (about 1.5 minutes on 2 cores); `-- --test`: 1 round × 50 ms (aiohttp only if
//! already importable). `WEFT_HTTP_CLIENT_ONLY=<addr>,<requests>,<conc>,<body>` runs weft's
//! client alone, for `strace -f -c` (see [`client_only`]); `WEFT_HTTP_CLIENT_TURN=<client>,
//! <conc>,<body>,<plain|tls>,<secs>` runs one turn of any client, for `strace -f -c` or
//! callgrind (see [`one_turn`]). `WEFT_HTTP_CLIENT_CELLS="c=64 64KiB tls;c=64 0B plain"` runs
//! only the named cells (workload names as in the table); `WEFT_HTTP_CLIENT_PEERS=hyper-util+
//! reqwest` only these peers besides weft and weft/local. In the one-turn mode,
//! `WEFT_HTTP_CLIENT_ALSO=<client>+<client>` creates and warms up other clients in the same
//! process first, `WEFT_HTTP_CLIENT_ROUNDS=<n>` alternates n turns with theirs, and the
//! per-thread context switches per request are printed (who woke for the client's I/O).

use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use weft_benches::hyper_server::tls::Pki;
use weft_benches::hyper_server::{HttpServer, ServerRt};
use weft_benches::report::{record, Record};
use weft_benches::rounds::{quantile, rotation, Mode, Summary};

#[path = "http_client/aiohttp.rs"]
mod aiohttp;
#[path = "http_client/clients.rs"]
mod clients;
#[path = "http_client/remote.rs"]
mod remote;

/// The Rust contenders, in table order (weft and weft/local first: the ratio columns), and
/// whether each runs the plain cells only.
const RUST_CLIENTS: [(&str, bool); 6] = [
    ("weft", false),
    ("weft/local", false),
    ("hyper-util", false),
    ("hyper-util/weft", true),
    ("reqwest", false),
    ("ureq", false),
];

/// Builds Rust client `name` in this process, trusting `ca`; `None` for an unknown name.
fn make_client(name: &str, ca: &CertificateDer<'static>) -> Option<Box<dyn HttpClient>> {
    Some(match name {
        "weft" => Box::new(clients::Weft::new(false, Some(ca))),
        "weft/local" => Box::new(clients::Weft::new(true, Some(ca))),
        "hyper-util" => Box::new(clients::HyperUtil::new(ca)),
        "hyper-util/weft" => Box::new(clients::HyperUtilOnWeft::new()),
        "reqwest" => Box::new(clients::Reqwest::new(ca)),
        "ureq" => Box::new(clients::Ureq::new(ca)),
        _ => return None,
    })
}

/// `WEFT_HTTP_CLIENT_SERVE=<client>`: this process is one contender's ([`remote`]).
fn serve_one(name: &str) {
    let ca = std::env::var_os(remote::CA_ENV)
        .and_then(|p| std::fs::read(p).ok())
        .map(CertificateDer::from);
    let Some(ca) = ca else {
        eprintln!(
            "{}: {} names no readable CA file",
            remote::SERVE_ENV,
            remote::CA_ENV
        );
        std::process::exit(2);
    };
    // ureq picks the process-wide rustls provider: make it ring (the only one built).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Some(client) = make_client(name, &ca) else {
        eprintln!("{}: unknown client {name:?}", remote::SERVE_ENV);
        std::process::exit(2);
    };
    remote::serve(&*client);
    // Skip the runtimes' teardown: the parent is done with this client.
    std::process::exit(0);
}

const GROUP: &str = "http_client";
const CONCURRENCY: [usize; 2] = [1, 64];
const BODIES: [usize; 3] = [0, 1024, 64 * 1024];

/// Plain HTTP or TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Plain,
    Tls,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Scheme::Plain => "plain",
            Scheme::Tls => "tls",
        }
    }
}

/// `0` → `"0B"`, `1024` → `"1KiB"`.
fn body_name(len: usize) -> String {
    if len >= 1024 {
        format!("{}KiB", len / 1024)
    } else {
        format!("{len}B")
    }
}

/// What one client turn measured.
struct Turn {
    requests: u64,
    elapsed: Duration,
    p50_us: f64,
    p99_us: f64,
}

/// A client under test.
trait HttpClient {
    fn name(&self) -> &'static str;
    /// Whether it can run the cells of `scheme` (default: both).
    fn supports(&self, scheme: Scheme) -> bool {
        let _ = scheme;
        true
    }
    /// Runs `conc` concurrent request loops against `url` for `dur`; every body must be `len`
    /// bytes long. An error drops the client from the rest of the run.
    fn turn(&self, url: &str, conc: usize, dur: Duration, len: usize) -> Result<Turn, String>;
}

/// Collects per-task latencies into a [`Turn`].
fn merge(start: Instant, parts: Vec<Vec<u32>>) -> Turn {
    let elapsed = start.elapsed();
    let mut lat: Vec<u32> = parts.into_iter().flatten().collect();
    lat.sort_unstable();
    let q = |q| f64::from(quantile(&lat, q).unwrap_or(0));
    Turn {
        requests: lat.len() as u64,
        elapsed,
        p50_us: q(0.5),
        p99_us: q(0.99),
    }
}

fn micros(t0: Instant) -> u32 {
    u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX)
}

/// `WEFT_HTTP_CLIENT_ONLY=<addr>[,<requests>[,<conc>[,<body>]]]`: only weft's client, for
/// `strace -f -c` against a server in another process (`weft-bench-http serve tokio`). Each of
/// `conc` tasks opens its connection with one warm-up GET, then all send `requests` keep-alive
/// GETs in total; subtract a warm-up-only run (`requests` = 0) from a full one to get the
/// syscalls per keep-alive request. `WEFT_HTTP_CLIENT_LOCAL=1` uses the `LocalRuntime`.
fn client_only(spec: &str) {
    let mut it = spec.split(',');
    let addr = it.next().unwrap_or("127.0.0.1:8080");
    let mut num = |d: usize| it.next().and_then(|v| v.parse().ok()).unwrap_or(d);
    let (requests, conc, len) = (num(20_000), num(1), num(1024));
    let url: hyper::Uri = format!("http://{addr}/bytes/{len}")
        .parse()
        .expect("a URL from --addr");
    let local = std::env::var_os("WEFT_HTTP_CLIENT_LOCAL").is_some();
    let w = clients::Weft::new(local, None);
    let t0 = Instant::now();
    w.tasks(conc, |i, client| {
        let url = url.clone();
        let mine = requests / conc + usize::from(i < requests % conc);
        async move {
            let get = clients::weft_get;
            assert_eq!(get(&client, &url).await, len, "warm-up body");
            for _ in 0..mine {
                assert_eq!(get(&client, &url).await, len, "wrong body length");
            }
        }
    });
    let stats = w.client.pool_stats();
    eprintln!(
        "weft client: {requests} requests (+{conc} warm-up) in {:?}; connections created {}, \
         reused {}",
        t0.elapsed(),
        stats.connections_created,
        stats.connections_reused
    );
    // Skip the runtime's teardown: strace counts what requests cost.
    std::process::exit(0);
}

/// `WEFT_HTTP_CLIENT_TURN=<client>,<conc>,<body>,<plain|tls>,<secs>`: one client alone against
/// this process's server (its own thread): a warm-up turn of 0.2 s, then one turn of `secs`,
/// and the requests it made on stderr, so `strace -f -c` (or callgrind) counts divide into
/// per-request costs (the server thread is in the count too: compare clients, not absolutes).
fn one_turn(spec: &str) {
    let f: Vec<&str> = spec.split(',').collect();
    let [name, conc, len, scheme, secs] = f[..] else {
        eprintln!("WEFT_HTTP_CLIENT_TURN=<client>,<conc>,<body>,<plain|tls>,<secs>: got {spec:?}");
        std::process::exit(2);
    };
    let (Ok(conc), Ok(len), Ok(secs)) = (conc.parse(), len.parse(), secs.parse::<f64>()) else {
        eprintln!("WEFT_HTTP_CLIENT_TURN: <conc>, <body> and <secs> must be numbers: {spec:?}");
        std::process::exit(2);
    };
    if conc == 1 && pin_c1() {
        // As in the table (before any thread starts): every thread on one CPU.
        match weft_benches::pin::pin_to_one_cpu() {
            Ok(cpu) => {
                eprintln!("c=1: every thread pinned to CPU {cpu} (WEFT_HTTP_CLIENT_PIN=0: not)")
            }
            Err(e) => eprintln!("c=1: could not pin to one CPU ({e}); running unpinned"),
        }
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pki = Pki::new().expect("make the run-time certificates");
    let (server, url) = if scheme == "tls" {
        let s = HttpServer::start_tls(pki.server_config().expect("rustls server config"))
            .expect("start the hyper TLS server");
        let url = format!("https://{}/bytes/{len}", s.addr());
        (s, url)
    } else {
        let s = HttpServer::start(ServerRt::Tokio).expect("start the hyper server");
        let url = format!("http://{}/bytes/{len}", s.addr());
        (s, url)
    };
    let ca = pki.write_ca_pem(&std::env::temp_dir()).expect("write CA");
    let make = |name: &str| -> Box<dyn HttpClient> {
        if name == "aiohttp" {
            return Box::new(aiohttp::Aiohttp::start(&ca, false).expect("aiohttp"));
        }
        make_client(name, pki.ca_der()).unwrap_or_else(|| {
            eprintln!("WEFT_HTTP_CLIENT_TURN: unknown client {name:?}");
            std::process::exit(2);
        })
    };
    let c = make(name);
    // `WEFT_HTTP_CLIENT_ALSO=<client>+<client>`: these clients exist too and each runs a
    // warm-up turn first if it supports the scheme (then stays idle with its pooled
    // connections), as in the table.
    let also: Vec<Box<dyn HttpClient>> = std::env::var("WEFT_HTTP_CLIENT_ALSO")
        .map(|v| v.split('+').filter(|n| !n.is_empty()).map(make).collect())
        .unwrap_or_default();
    let scheme_of = if scheme == "tls" {
        Scheme::Tls
    } else {
        Scheme::Plain
    };
    for a in also.iter().filter(|a| a.supports(scheme_of)) {
        a.turn(&url, conc, Duration::from_millis(200), len)
            .expect("warm-up turn of an idle client");
    }
    c.turn(&url, conc, Duration::from_millis(200), len)
        .expect("warm-up turn");
    // `WEFT_HTTP_CLIENT_ROUNDS=<n>`: n turns of `secs`, each after one turn of every
    // `WEFT_HTTP_CLIENT_ALSO` client (as interleaved rounds do); the counts add up.
    let rounds: usize = std::env::var("WEFT_HTTP_CLIENT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut switches = std::collections::BTreeMap::<u32, (String, u64)>::new();
    let mut t = Turn {
        requests: 0,
        elapsed: Duration::ZERO,
        p50_us: 0.0,
        p99_us: 0.0,
    };
    for round in 0..rounds {
        if round > 0 {
            for a in also.iter().filter(|a| a.supports(scheme_of)) {
                a.turn(&url, conc, Duration::from_secs_f64(secs), len)
                    .expect("turn of an interleaved client");
            }
        }
        let before = thread_switches();
        let one = c
            .turn(&url, conc, Duration::from_secs_f64(secs), len)
            .expect("turn");
        for (tid, (name, n)) in thread_switches() {
            let was = before.get(&tid).map_or(0, |b| b.1);
            switches.entry(tid).or_insert((name, 0)).1 += n.saturating_sub(was);
        }
        t.requests += one.requests;
        t.elapsed += one.elapsed;
        // The last turn's latencies (a summary over turns is the table's job).
        (t.p50_us, t.p99_us) = (one.p50_us, one.p99_us);
    }
    // Context switches per request of every thread during the measured turns (the server's
    // too), by thread name: shows who woke up for this client's I/O.
    for (tid, (name, n)) in &switches {
        if *n > 0 {
            eprintln!(
                "  thread {tid} {name:?}: {:.3} context switches/request",
                *n as f64 / t.requests.max(1) as f64
            );
        }
    }
    eprintln!(
        "{name}: {} requests in {:?} ({:.0} req/s, p50 {} µs, p99 {} µs) against {}",
        t.requests,
        t.elapsed,
        t.requests as f64 / t.elapsed.as_secs_f64(),
        t.p50_us,
        t.p99_us,
        server.addr()
    );
    let _ = std::fs::remove_file(ca);
    std::process::exit(0);
}

/// Every thread of this process: id → (name, voluntary + involuntary context switches so far),
/// from `/proc/self/task` (empty elsewhere).
fn thread_switches() -> std::collections::BTreeMap<u32, (String, u64)> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        let field = |f: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(f))
                .map(|v| v.trim().to_string())
        };
        let n = ["voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"]
            .iter()
            .filter_map(|f| field(f)?.parse::<u64>().ok())
            .sum();
        out.insert(tid, (field("Name:").unwrap_or_default(), n));
    }
    out
}

/// One cell's samples per client (`None`: the client does not run this cell or failed).
struct Samples {
    rps: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
}

/// One cell of the matrix.
struct Cell {
    scheme: Scheme,
    url: String,
    conc: usize,
    len: usize,
}

/// Runs one cell: warm-up, then interleaved rounds. Clients that fail are removed from `live`.
fn run_cell(
    clients: &[Box<dyn HttpClient>],
    live: &mut [bool],
    cell: &Cell,
    mode: Mode,
    turn: Duration,
) -> Vec<Option<Samples>> {
    let Cell {
        scheme,
        ref url,
        conc,
        len,
    } = *cell;
    let n = clients.len();
    let runs = |i: usize, live: &[bool]| live[i] && clients[i].supports(scheme);
    let mut out: Vec<Option<Samples>> = (0..n)
        .map(|_| {
            Some(Samples {
                rps: vec![],
                p50: vec![],
                p99: vec![],
            })
        })
        .collect();
    let fail = |i: usize, e: String, live: &mut [bool], out: &mut [Option<Samples>]| {
        println!("{}: dropped from the run: {e}", clients[i].name());
        live[i] = false;
        out[i] = None;
    };
    for (i, c) in clients.iter().enumerate() {
        if runs(i, live) {
            // Warm-up: opens the pooled connections.
            if let Err(e) = c.turn(url, conc, turn / 4, len) {
                fail(i, e, live, &mut out);
            }
        }
    }
    for round in 0..mode.rounds() {
        for i in rotation(n, round) {
            if !runs(i, live) {
                continue;
            }
            match clients[i].turn(url, conc, turn, len) {
                Ok(t) => {
                    if let Some(s) = &mut out[i] {
                        s.rps
                            .push(t.requests as f64 / t.elapsed.as_secs_f64().max(1e-9));
                        s.p50.push(t.p50_us);
                        s.p99.push(t.p99_us);
                    }
                }
                Err(e) => fail(i, e, live, &mut out),
            }
        }
    }
    for (i, o) in out.iter_mut().enumerate() {
        if !runs(i, live) || o.as_ref().is_some_and(|s| s.rps.is_empty()) {
            *o = None;
        }
    }
    out
}

/// Prints one cell's rows and records its results.
fn report_cell(clients: &[Box<dyn HttpClient>], workload: &str, cell: &[Option<Samples>]) {
    let med = |v: &[f64]| Summary::of(v).median;
    // clients[0] and [1] are weft (Runtime, LocalRuntime): each peer's row also shows
    // weft/peer for requests/s and p99, for both.
    // weft/peer cost ratios by the paired per-round rule the page uses (below 1 = weft better).
    let ratio = |w: usize, s: &Samples| match &cell[w] {
        Some(ws) => format!(
            "{} / {}",
            weft_bench_stats::compare(&ws.rps, &s.rps, true).describe(1.0),
            weft_bench_stats::compare(&ws.p99, &s.p99, false).describe(1.0)
        ),
        None => "—".to_string(),
    };
    for (i, c) in clients.iter().enumerate() {
        let Some(s) = &cell[i] else { continue };
        let r = Summary::of(&s.rps);
        let ratios = if i < 2 {
            "— | —".to_string()
        } else {
            format!("{} | {}", ratio(0, s), ratio(1, s))
        };
        println!(
            "| {workload} | {} | {r} | {:.0} | {:.0} | {ratios} |",
            c.name(),
            med(&s.p50),
            med(&s.p99),
        );
        let rec = |workload: &str, unit, higher_is_better, samples: &[f64]| {
            record(&Record {
                group: GROUP,
                workload,
                contender: c.name(),
                unit,
                higher_is_better,
                samples,
            });
        };
        rec(workload, "req/s", true, &s.rps);
        rec(&format!("{workload} p50"), "us", false, &s.p50);
        rec(&format!("{workload} p99"), "us", false, &s.p99);
    }
}

/// Whether the c=1 cells run with every thread on one CPU (the default on Linux;
/// `WEFT_HTTP_CLIENT_PIN=0` runs them unpinned, in the same process as the c=64 cells).
fn pin_c1() -> bool {
    cfg!(target_os = "linux") && std::env::var_os("WEFT_HTTP_CLIENT_PIN").is_none_or(|v| v != "0")
}

fn main() {
    // First, before any thread starts: in the child that runs the c=1 cells, pin this process
    // (and so every server, runtime and aiohttp thread it starts) to one CPU.
    let pinned = weft_benches::pin::pin_if_child();
    if let Ok(name) = std::env::var(remote::SERVE_ENV) {
        return serve_one(&name);
    }
    if let Ok(spec) = std::env::var("WEFT_HTTP_CLIENT_ONLY") {
        return client_only(&spec);
    }
    if let Ok(spec) = std::env::var("WEFT_HTTP_CLIENT_TURN") {
        return one_turn(&spec);
    }
    if !weft_benches::rounds::selected("http_client") {
        return;
    }
    let mode = Mode::from_env();
    let turn = match mode {
        Mode::Test => Duration::from_millis(50),
        Mode::Quick => Duration::from_millis(100),
        Mode::Full => Duration::from_millis(400),
    };
    if weft_benches::plan::requested() {
        // Six Rust clients, and aiohttp only if it is importable now (else it is skipped; a
        // `pip install` attempt in quick/full mode is not counted).
        let cells = 2 * CONCURRENCY.len() * BODIES.len();
        let clients = 6 + usize::from(aiohttp::importable());
        weft_benches::plan::Entry {
            id: format!("http_client/{cells} cells"),
            contenders: clients * cells,
            rounds: mode.rounds(),
            turn,
            warm_up_turns: 0.25,
        }
        .print();
        return;
    }
    // `WEFT_HTTP_CLIENT_CELLS="c=64 64KiB tls;c=64 0B plain"`: only these cells.
    let cells: Option<Vec<String>> = std::env::var("WEFT_HTTP_CLIENT_CELLS")
        .ok()
        .map(|v| v.split(';').map(|c| c.trim().to_string()).collect());
    let wanted = |workload: &str| {
        cells
            .as_ref()
            .is_none_or(|c| c.iter().any(|w| w == workload))
    };
    let workloads = |conc: usize| {
        [Scheme::Plain, Scheme::Tls]
            .into_iter()
            .flat_map(move |scheme| {
                BODIES.map(move |len| format!("c={conc} {} {}", body_name(len), scheme.name()))
            })
    };
    // The c=1 cells run in a child process pinned to one CPU (see the file's doc: on an idle
    // VM they would otherwise measure vCPU wake-ups, not the clients); the c=64 cells here.
    let concs: Vec<usize> = match pinned {
        Some(_) => vec![1],
        None if pin_c1() => {
            if workloads(1).any(|w| wanted(&w)) {
                if let Err(e) = weft_benches::pin::rerun_pinned(&[]) {
                    println!("http_client: the c=1 cells did not run: {e}");
                }
            }
            vec![64]
        }
        None => CONCURRENCY.to_vec(),
    };
    if !concs.iter().any(|&c| workloads(c).any(|w| wanted(&w))) {
        return;
    }
    // ureq picks the process-wide rustls provider: make it ring (the only one built).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pki = Pki::new().expect("make the run-time certificates");
    let plain = HttpServer::start(ServerRt::Tokio).expect("start the hyper server");
    let tls = HttpServer::start_tls(pki.server_config().expect("rustls server config"))
        .expect("start the hyper TLS server");
    let tmp = std::env::temp_dir();
    let ca_path = pki.write_ca_pem(&tmp).expect("write the CA for aiohttp");
    let ca_der_path = tmp.join(format!("weft-bench-ca-{}.der", std::process::id()));
    std::fs::write(&ca_der_path, pki.ca_der()).expect("write the CA for the client processes");

    // Every contender in its own process (see `remote`); `WEFT_HTTP_CLIENT_IN_PROCESS=1`: the
    // Rust ones in this process instead, as before (weft's contenders then share a reactor).
    let in_process = std::env::var_os("WEFT_HTTP_CLIENT_IN_PROCESS").is_some_and(|v| v != "0");
    let mut clients: Vec<Box<dyn HttpClient>> = Vec::new();
    for (name, plain_only) in RUST_CLIENTS {
        if in_process {
            clients.extend(make_client(name, pki.ca_der()));
            continue;
        }
        match remote::Remote::start(name, plain_only, &ca_der_path) {
            Ok(r) => clients.push(Box::new(r)),
            Err(e) => panic!("{name}: {e}"),
        }
    }
    if let Some(a) = aiohttp::Aiohttp::start(&ca_path, mode != Mode::Test) {
        clients.push(Box::new(a));
    }
    // `WEFT_HTTP_CLIENT_PEERS=hyper-util+reqwest`: only these peers (weft and weft/local, the
    // first two, always run): to see whether one peer's presence changes another's numbers.
    if let Ok(peers) = std::env::var("WEFT_HTTP_CLIENT_PEERS") {
        let keep: Vec<&str> = peers.split('+').collect();
        let mut i = 0;
        clients.retain(|c| {
            i += 1;
            i <= 2 || keep.contains(&c.name())
        });
    }
    let started = Instant::now();
    let cpus = match pinned {
        Some(cpu) => format!("c=1 cells, every thread pinned to CPU {cpu}"),
        None if pin_c1() => "c=64 cells, unpinned".to_string(),
        None => "unpinned".to_string(),
    };
    println!(
        "\n## http_client: GET against hyper's server on 1 tokio thread ({} rounds × {:?}, \
         interleaved; {cpus})\n",
        mode.rounds(),
        turn
    );
    println!(
        "| cell | client | requests/s median (min–max) | p50 µs | p99 µs | \
         weft/peer cost, req/s / p99 (< 1 = weft better) | weft/local/peer, same |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut live = vec![true; clients.len()];
    for (scheme, server) in [(Scheme::Plain, &plain), (Scheme::Tls, &tls)] {
        let base = match scheme {
            Scheme::Plain => format!("http://{}", server.addr()),
            Scheme::Tls => format!("https://{}", server.addr()),
        };
        for &conc in &concs {
            for len in BODIES {
                let cell = Cell {
                    scheme,
                    url: format!("{base}/bytes/{len}"),
                    conc,
                    len,
                };
                let workload = format!("c={conc} {} {}", body_name(len), scheme.name());
                if !wanted(&workload) {
                    continue;
                }
                let samples = run_cell(&clients, &mut live, &cell, mode, turn);
                report_cell(&clients, &workload, &samples);
            }
        }
    }
    drop(clients); // ends the client processes (and client.py)
    let _ = std::fs::remove_file(&ca_path);
    let _ = std::fs::remove_file(&ca_der_path);
    println!(
        "\n(ratios: weft/peer requests/s above 1 = weft faster; p99 below 1 = weft better; \
         took {:.0?})",
        started.elapsed()
    );
}
