//! Soak and fault test of the client: a local server that answers, resets, closes, drips slowly,
//! stalls or sends broken framing at random. Every request must succeed with exactly the body
//! that was sent or fail with a typed network/protocol/timeout error; descriptors
//! and RSS (`/proc/self/statm`) must stay flat; the pool's counts must add up whenever the client
//! is quiescent. Descriptors are checked exactly after every round: the client's sockets to the
//! server (`common::fds::census`) equal the pool's `open` count, and every other descriptor of
//! the process except the test server's own stays at its baseline. Alone in its binary:
//! descriptors and RSS are per process.
//!
//! `soak_http_client_short` (a few hundred requests) runs in CI; the `#[ignore]`d
//! `soak_http_client_against_faulty_server` runs for `WEFT_SOAK_SECONDS` (default 300) under
//! `cargo xtask soak`.

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use common::fds::census;
use common::{fd_count, join_all, resp, run, wait_until, Server, Step};
use weft_http::{Client, ErrorKind};

type Fut<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Requests per round (run concurrently); the pool limits below make them queue.
const ROUND: u64 = 40;
const PER_HOST: usize = 6;

/// A deterministic scramble of the request number: which fault request `i` gets.
fn mix(i: u64) -> u64 {
    let mut x = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The body a successful response to request `i` must carry.
fn body_of(i: u64) -> Vec<u8> {
    let n = (mix(i) >> 20) as usize % 5000;
    let tag = format!("<{i}>");
    tag.bytes().cycle().take(n.max(tag.len())).collect()
}

fn chunked(body: &[u8]) -> Vec<u8> {
    let mut v = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for c in body.chunks(777) {
        v.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        v.extend_from_slice(c);
        v.extend_from_slice(b"\r\n");
    }
    v.extend_from_slice(b"0\r\n\r\n");
    v
}

fn script(i: u64) -> Step {
    let body = body_of(i);
    match mix(i) % 20 {
        0..=7 => Step::Reply(resp("200 OK", "", &body)),
        8 | 9 => Step::Reply(chunked(&body)),
        10 => Step::ReplyClose(resp("200 OK", "Connection: close\r\n", &body)),
        11 => {
            // The head promises the whole body; half of it arrives, then a reset.
            let mut v =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
            v.extend_from_slice(&body[..body.len() / 2]);
            Step::ReplyReset(v, None)
        }
        12 => Step::ReplyReset(Vec::new(), None),
        13 => Step::Close,
        14 => {
            // Slow but within the read timeout between pieces.
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
            let pieces = body
                .chunks(body.len() / 3 + 1)
                .map(<[u8]>::to_vec)
                .collect();
            Step::Drip(head.into_bytes(), pieces, Duration::from_millis(2))
        }
        15 => {
            // Slower than the read timeout: the client must give up with a timeout.
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                body.len() + 1
            );
            Step::Drip(head.into_bytes(), vec![body], Duration::from_millis(400))
        }
        16 => Step::Stall,
        17 => Step::Reply(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd".to_vec(),
        ),
        18 => Step::Reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec()),
        _ => Step::Reply(resp("200 OK", "Connection: keep-alive\r\n", &body)),
    }
}

/// Resident set size in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[derive(Default, Debug)]
struct Tally {
    ok: u64,
    errors: BTreeMap<&'static str, u64>,
}

/// One request; panics on a wrong body or an error kind the faults cannot explain.
async fn one(c: &Client, srv: &Server, i: u64) -> Result<(), &'static str> {
    let r = async {
        let r = c.get(srv.url(&format!("/{i}"))).send().await?;
        r.bytes().await
    }
    .await;
    match r {
        Ok(b) => {
            let want = body_of(i);
            assert!(
                b[..] == want[..],
                "request {i} (fault {}): wrong body: {} bytes, expected {}",
                mix(i) % 20,
                b.len(),
                want.len()
            );
            Ok(())
        }
        Err(e) => {
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::Io
                        | ErrorKind::IncompleteMessage
                        | ErrorKind::Timeout(_)
                        | ErrorKind::Protocol(_)
                        | ErrorKind::Connect
                        | ErrorKind::PoolAcquireTimeout
                ),
                "request {i}: unexpected error kind: {e:?}"
            );
            assert!(!e.to_string().is_empty());
            Err(e.kind_name())
        }
    }
}

fn check_pool(c: &Client, round: u64) {
    let s = c.pool_stats();
    assert_eq!(
        s.in_use, 0,
        "round {round}: connections still in use: {s:?}"
    );
    assert_eq!(s.waiting, 0, "round {round}: waiters left: {s:?}");
    assert_eq!(
        s.open,
        s.idle + s.in_use,
        "round {round}: open != idle + in use: {s:?}"
    );
    assert!(
        s.open <= PER_HOST,
        "round {round}: over the per-host limit: {s:?}"
    );
    assert!(
        s.connections_created >= s.open as u64,
        "round {round}: {s:?}"
    );
}

/// Runs rounds until `budget` has passed and at least `min_rounds` (>= 5) ran. Descriptors are
/// checked after every round and after the client is dropped.
fn soak(budget: Duration, min_rounds: u64) -> (Tally, u64) {
    // The reactor and the blocking pool open descriptors lazily: warm them up first.
    let warm = Server::ok("warm");
    run(10, async {
        let c = Client::new();
        common::get_bytes(&c, warm.url("/")).await;
    });
    run(
        10,
        wait_until("the warm-up connection closed", || warm.open() == 0),
    );
    drop(warm);
    let srv = Server::start(|s| script(s.path[1..].parse().unwrap_or(0)));
    let port = srv.addr().port();
    let fds_before = fd_count();
    let client = Client::builder()
        .pool_max_per_host(PER_HOST)
        .read_timeout(Duration::from_millis(150))
        .connect_timeout(Duration::from_secs(5))
        .pool_acquire_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut tally = Tally::default();
    let watchdog = budget.as_secs() + 120;
    let (fd_base, rss_base, rounds) = run(watchdog, async {
        let start = Instant::now();
        let mut next = 0u64;
        let mut base = (0, 0);
        let mut round = 0;
        while round < min_rounds || start.elapsed() < budget {
            let futs: Vec<Fut<'_, Result<(), &'static str>>> = (next..next + ROUND)
                .map(|i| Box::pin(one(&client, &srv, i)) as Fut<'_, _>)
                .collect();
            for r in join_all(futs).await {
                match r {
                    Ok(()) => tally.ok += 1,
                    Err(kind) => *tally.errors.entry(kind).or_default() += 1,
                }
            }
            next += ROUND;
            check_pool(&client, round);
            // Server-side threads of failed requests finish shortly after the client closes.
            wait_until("server connections settle to the pooled ones", || {
                srv.open() <= client.pool_stats().open
            })
            .await;
            // Exact, every round: each pooled connection is one client socket and no socket
            // outlives its connection. (The test server holds two descriptors per connection
            // of its own, so a bound on the process's total count cannot be exact: finding S1
            // in docs/reliability.md was that bound, not a leak.)
            let fds = census(port);
            let pooled = client.pool_stats().open;
            assert_eq!(
                fds.client, pooled,
                "round {round}: {} client sockets but {pooled} pooled connections: {:?}",
                fds.client, fds.kinds
            );
            if round == 3 {
                // The baseline once the reactor, pools and allocator arenas are warm.
                base = (fds.other, rss());
            } else if round > 3 {
                let mem = rss();
                assert_eq!(
                    fds.other, base.0,
                    "round {round}: descriptors other than connections changed from {} to {}: {:?}",
                    base.0, fds.other, fds.kinds
                );
                assert!(
                    mem <= base.1 + 64 * 1024 * 1024,
                    "round {round}: RSS grew from {} to {mem} bytes",
                    base.1
                );
            }
            round += 1;
        }
        (base.0, base.1, round)
    });
    let requests = rounds * ROUND;
    assert_eq!(tally.ok + tally.errors.values().sum::<u64>(), requests);
    assert!(tally.ok > requests / 3, "too few successes: {tally:?}");
    drop(client);
    run(
        30,
        wait_until("every connection closed", || srv.open() == 0),
    );
    run(
        30,
        wait_until("descriptors back to the baseline after the client", || {
            fd_count() <= fds_before
        }),
    );
    println!(
        "http soak: {requests} requests in {rounds} rounds: {tally:?}; descriptors other than \
         connections {fd_base} at round 3, {} after; RSS {rss_base} -> {} bytes",
        census(port).other,
        rss()
    );
    (tally, requests)
}

/// A bounded variant for CI: 8 rounds of 40 requests.
#[test]
fn soak_http_client_short() {
    let (tally, requests) = soak(Duration::ZERO, 8);
    assert_eq!(requests, 8 * ROUND);
    assert!(
        !tally.errors.is_empty(),
        "the faults produced no error at all"
    );
}

/// The long soak: `WEFT_SOAK_SECONDS` (default 300), run by `cargo xtask soak`.
#[test]
#[ignore = "long soak; run by `cargo xtask soak`"]
fn soak_http_client_against_faulty_server() {
    let secs = std::env::var("WEFT_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    soak(Duration::from_secs(secs), 5);
}
