//! Stable-toolchain driving of the fuzz target bodies: replay of the committed corpus and
//! regressions, and a bounded random-input loop (seeded xorshift mutations of the corpus) used
//! by `cargo xtask fuzz` when cargo-fuzz or a nightly toolchain is missing.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A small xorshift64* generator: deterministic, dependency-free, good enough to mutate inputs.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (0 is remapped; xorshift needs a non-zero state).
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The inputs of `target`: every file of `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/`
/// under `fuzz_dir`, sorted by path.
pub fn inputs(fuzz_dir: &Path, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir.join(sub).join(target)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_file() {
                let data =
                    std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
                out.push((p, data));
            }
        }
    }
    out.sort();
    out
}

/// The inputs under `fuzz/findings/<target>/`: failures found and reported but not fixed yet.
/// They are kept out of [`replay`] (which CI runs) until the owning crate is fixed; then they
/// move to `regressions/`.
pub fn findings(fuzz_dir: &Path, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(fuzz_dir.join("findings").join(target)) {
        for e in entries.flatten() {
            if let Ok(data) = std::fs::read(e.path()) {
                out.push((e.path(), data));
            }
        }
    }
    out.sort();
    out
}

/// Runs `body` over every committed input of `target`; returns how many ran. Panics (naming the
/// file) when one fails, and when there are none (a corpus that vanished is a bug, not a pass).
pub fn replay(fuzz_dir: &Path, target: &str, body: fn(&[u8])) -> usize {
    let all = inputs(fuzz_dir, target);
    assert!(
        !all.is_empty(),
        "no corpus for fuzz target {target} under {}",
        fuzz_dir.display()
    );
    for (path, data) in &all {
        if catch_unwind(AssertUnwindSafe(|| body(data))).is_err() {
            panic!("fuzz target {target} failed on {}", path.display());
        }
    }
    all.len()
}

/// Runs `body` on `n` mutations of `target`'s committed inputs from a fixed seed: a quick,
/// deterministic smoke test for CI.
pub fn smoke(fuzz_dir: &Path, target: &str, body: fn(&[u8]), n: usize) {
    let seeds: Vec<Vec<u8>> = inputs(fuzz_dir, target)
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    let mut rng = XorShift::new(0x5eed);
    for k in 0..n {
        let input = mutate(&mut rng, &seeds);
        if catch_unwind(AssertUnwindSafe(|| body(&input))).is_err() {
            panic!("fuzz target {target} failed on smoke input {k}: {input:?}");
        }
    }
}

/// One random input: a mutated corpus entry (bit flips, byte inserts/deletes, splices of two
/// entries, duplicated ranges) or, now and then, plain random bytes.
pub fn mutate(rng: &mut XorShift, seeds: &[Vec<u8>]) -> Vec<u8> {
    if seeds.is_empty() || rng.below(8) == 0 {
        let n = rng.below(256);
        return (0..n).map(|_| rng.next_u64() as u8).collect();
    }
    let mut v = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(8) {
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(v.len() + 1);
                let b = [
                    b'\r', b'\n', b':', b' ', b'0', b'f', b';', b'/', b'.', 0, 0xff,
                ][rng.below(11)];
                v.insert(i, b);
            }
            2 if !v.is_empty() => {
                let i = rng.below(v.len());
                let n = rng.below(v.len() - i).min(16) + 1;
                v.drain(i..(i + n).min(v.len()));
            }
            3 => {
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(v.len() + 1);
                let from = rng.below(other.len() + 1);
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            4 if !v.is_empty() => {
                let i = rng.below(v.len());
                let n = (rng.below(v.len() - i) + 1).min(64);
                let piece = v[i..i + n].to_vec();
                let at = rng.below(v.len() + 1);
                v.splice(at..at, piece);
            }
            _ if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next_u64() as u8;
            }
            _ => {}
        }
    }
    v
}

/// Runs `body` on random inputs derived from `target`'s corpus for `budget` (at least one
/// input). On a failure the input is written to `crash_dir/<target>-<n>` and the panic names
/// that file (copy it to `fuzz/regressions/<target>/` to make it a regression test). Returns
/// the number of inputs run.
pub fn random_loop(
    fuzz_dir: &Path,
    target: &str,
    body: fn(&[u8]),
    budget: Duration,
    seed: u64,
    crash_dir: &Path,
) -> u64 {
    let seeds: Vec<Vec<u8>> = inputs(fuzz_dir, target)
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    let mut rng = XorShift::new(seed);
    let start = Instant::now();
    let mut runs = 0u64;
    loop {
        let input = mutate(&mut rng, &seeds);
        if catch_unwind(AssertUnwindSafe(|| body(&input))).is_err() {
            let _ = std::fs::create_dir_all(crash_dir);
            let path = crash_dir.join(format!("{target}-{seed}-{runs}"));
            let _ = std::fs::write(&path, &input);
            panic!(
                "fuzz target {target} failed after {runs} random inputs (seed {seed}); input \
                 saved to {}",
                path.display()
            );
        }
        runs += 1;
        if start.elapsed() >= budget {
            return runs;
        }
    }
}

/// [`random_loop`] configured from the environment, as `cargo xtask fuzz` runs it:
/// `WEFT_FUZZ_SECONDS` (default 10) and `WEFT_FUZZ_SEED` (default: from the clock); failing
/// inputs go to `target/fuzz-crashes/` next to `fuzz_dir`. Prints the count of inputs run.
pub fn random_from_env(fuzz_dir: &Path, target: &str, body: fn(&[u8])) {
    let env = |k: &str| std::env::var(k).ok().and_then(|s| s.parse::<u64>().ok());
    let secs = env("WEFT_FUZZ_SECONDS").unwrap_or(10);
    let seed = env("WEFT_FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let crash_dir = fuzz_dir.join("../target/fuzz-crashes");
    let runs = random_loop(
        fuzz_dir,
        target,
        body,
        Duration::from_secs(secs),
        seed,
        &crash_dir,
    );
    println!("fuzz fallback: {target}: {runs} random inputs in {secs} s (seed {seed}), no failure");
}
