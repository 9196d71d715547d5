//! Measurements that run with every thread on one CPU: the bench binary re-executes itself with
//! [`PIN_ENV`] set, and the child calls [`pin_if_child`] first thing in `main`, before any thread
//! starts, so every thread it starts later (runtimes, in-process servers) and every process it
//! spawns (aiohttp's `python3`) inherits the one-CPU affinity: all contenders alike.
//!
//! Why: on the reference VM an idle vCPU halts at once (cpuidle `haltpoll` with
//! `guest_halt_poll_ns=0`), and waking a thread on a halted vCPU costs an IPI and a VM exit,
//! ~40–80 µs. A one-request ping-pong between a client and a server thread is then decided by
//! whether the two threads happen to share a vCPU (p50 ~10 µs) or not (p50 ~85 µs), not by the
//! clients. On one CPU every wake-up is a plain context switch.

use std::process::Command;

/// The environment variable that makes a bench binary a pinned child (`WEFT_BENCH_PINNED=1`).
pub const PIN_ENV: &str = "WEFT_BENCH_PINNED";

/// Whether this process was started by [`rerun_pinned`].
pub fn is_pinned_child() -> bool {
    std::env::var_os(PIN_ENV).is_some_and(|v| v == "1")
}

/// In a child of [`rerun_pinned`]: pins this process to one CPU (see [`pin_to_one_cpu`]) and
/// returns it; `None` in any other process. Call it before any thread is started.
///
/// # Panics
/// If this is a pinned child and the pinning fails: its numbers would silently mean something
/// else.
pub fn pin_if_child() -> Option<usize> {
    if !is_pinned_child() {
        return None;
    }
    match pin_to_one_cpu() {
        Ok(cpu) => Some(cpu),
        Err(e) => panic!("{PIN_ENV}=1 but pinning failed: {e}"),
    }
}

/// Restricts the calling thread, and so every thread and process it starts afterwards, to the
/// lowest-numbered CPU it may run on now (CPU 0 unless the process was already restricted).
/// Threads that exist already keep their affinity: call it before any is started.
///
/// # Errors
/// If the affinity cannot be read or set, or on systems without `sched_setaffinity`.
pub fn pin_to_one_cpu() -> Result<usize, String> {
    #[cfg(target_os = "linux")]
    {
        use rustix::thread::{sched_getaffinity, sched_setaffinity, CpuSet};
        let now = sched_getaffinity(None).map_err(|e| format!("sched_getaffinity: {e}"))?;
        let cpu = (0..CpuSet::MAX_CPU)
            .find(|&c| now.is_set(c))
            .ok_or("sched_getaffinity returned an empty CPU set")?;
        let mut one = CpuSet::new();
        one.set(cpu);
        sched_setaffinity(None, &one).map_err(|e| format!("sched_setaffinity({cpu}): {e}"))?;
        Ok(cpu)
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err("pinning to one CPU is implemented for Linux only".to_string())
    }
}

/// Runs this executable again, with its arguments, [`PIN_ENV`]`=1` and `env`, stdout and stderr
/// inherited, and waits for it. `Err` says why the child could not run or that it failed.
pub fn rerun_pinned(env: &[(&str, &str)]) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let status = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(PIN_ENV, "1")
        .envs(env.iter().copied())
        .status()
        .map_err(|e| format!("spawn the pinned child: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the pinned child failed ({status})"))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn pinning_leaves_one_allowed_cpu_and_later_threads_inherit_it() {
        // A fresh thread, so the test harness' own threads keep their affinity.
        let (cpu, inherited) = std::thread::spawn(|| {
            let cpu = pin_to_one_cpu().expect("pin");
            let child = std::thread::spawn(|| rustix::thread::sched_getaffinity(None))
                .join()
                .expect("child thread")
                .expect("sched_getaffinity");
            (cpu, child)
        })
        .join()
        .expect("pinning thread");
        assert_eq!(
            inherited.count(),
            1,
            "more than one CPU allowed after pinning"
        );
        assert!(
            inherited.is_set(cpu),
            "a later thread is not on the pinned CPU"
        );
    }
}
