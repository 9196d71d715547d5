//! Target `timer_wheel`: `weft_timer::wheel::Wheel` against a reference model (a sorted map).
//!
//! The input is a program: each byte pair is one operation (insert at a deadline relative to
//! the wheel's time — past, near, on every level, beyond `MAX_SPAN`, or `u64::MAX`; remove a
//! live, fired or removed id; poll at a later time; a jump close to `u64::MAX` while empty).
//!
//! Invariants: `poll` fires exactly the model's entries with deadline `<= now`, in deadline
//! order and insertion order for equal deadlines; `remove`, `contains`, `deadline`, `len` agree
//! with the model; `next_expiration` exists iff entries do and is never later than the earliest
//! deadline (or the wheel's time, for a past deadline); `elapsed` is the largest poll time.

use std::collections::BTreeMap;

use weft_timer::wheel::{TimerId, Wheel, MAX_SPAN};

/// The target body.
pub fn run(data: &[u8]) {
    let mut wheel: Wheel<u64> = Wheel::new();
    // (deadline, seq) -> seq: the model's firing order.
    let mut model: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    let mut ids: Vec<(TimerId, u64, u64)> = Vec::new(); // (id, deadline, seq), live or not
    let mut now = 0u64;
    let mut seq = 0u64;
    for op in data.chunks(2) {
        let (a, b) = (op[0], op.get(1).copied().unwrap_or(0));
        let arg = u64::from(b);
        match a % 8 {
            0..=2 => {
                let deadline = match a >> 3 & 7 {
                    0 => now.saturating_sub(arg),
                    1 => now.saturating_add(arg % 4),
                    2 => now.saturating_add(arg),
                    3 => now.saturating_add(arg << (6 * (a >> 6) as u64)),
                    4 => now.saturating_add(arg << 24),
                    5 => now.saturating_add(MAX_SPAN - 128 + arg),
                    6 => now.saturating_add(MAX_SPAN * (arg % 5 + 1) + arg),
                    _ => u64::MAX - arg % 3,
                };
                let id = wheel.insert(deadline, seq);
                model.insert((deadline, seq), seq);
                ids.push((id, deadline, seq));
                seq += 1;
            }
            3 if !ids.is_empty() => {
                let (id, deadline, s) = ids[usize::from(b) % ids.len()];
                let expect = model.remove(&(deadline, s));
                assert_eq!(
                    wheel.remove(id),
                    expect,
                    "remove of seq {s} (deadline {deadline})"
                );
                assert!(!wheel.contains(id));
            }
            4..=6 => {
                let step = match a % 8 {
                    4 => arg % 8,
                    5 => arg << (a >> 4),
                    _ => arg << 30,
                };
                // Keep far jumps bounded: each MAX_SPAN crossed re-positions parked entries.
                let far = model
                    .keys()
                    .next_back()
                    .map_or(0, |k| k.0.saturating_sub(now));
                let step = if far > MAX_SPAN * 64 {
                    step.min(MAX_SPAN * 16)
                } else {
                    step
                };
                now = now.saturating_add(step);
                poll(&mut wheel, &mut model, now);
            }
            7 if model.is_empty() && now < u64::MAX - (1 << 40) => {
                now = u64::MAX - (1 << 40) + arg * 1_000_003;
                poll(&mut wheel, &mut model, now);
            }
            _ => {}
        }
        check(&wheel, &model, &ids, now);
    }
    // Drain what can be reached without a huge number of re-positionings.
    if model
        .keys()
        .next_back()
        .is_some_and(|k| k.0 - now.min(k.0) <= MAX_SPAN * 64)
    {
        let last = model.keys().next_back().map_or(now, |k| k.0.max(now));
        poll(&mut wheel, &mut model, last);
        assert!(
            wheel.is_empty(),
            "entries left after polling past every deadline"
        );
    }
}

fn poll(wheel: &mut Wheel<u64>, model: &mut BTreeMap<(u64, u64), u64>, now: u64) {
    let fired = wheel.poll(now);
    let rest = model.split_off(&(now.saturating_add(1), 0));
    let expect: Vec<u64> = if now == u64::MAX {
        std::mem::take(model)
            .into_values()
            .chain(rest.into_values())
            .collect()
    } else {
        std::mem::replace(model, rest).into_values().collect()
    };
    if now == u64::MAX {
        model.clear();
    }
    assert_eq!(
        fired, expect,
        "poll({now}) fired the wrong entries or order"
    );
    assert_eq!(wheel.elapsed(), now, "elapsed after poll({now})");
}

fn check(
    wheel: &Wheel<u64>,
    model: &BTreeMap<(u64, u64), u64>,
    ids: &[(TimerId, u64, u64)],
    now: u64,
) {
    assert_eq!(wheel.len(), model.len(), "len");
    for &(id, deadline, s) in ids.iter().rev().take(8) {
        let live = model.contains_key(&(deadline, s));
        assert_eq!(wheel.contains(id), live, "contains seq {s}");
        assert_eq!(
            wheel.deadline(id),
            live.then_some(deadline),
            "deadline of seq {s}"
        );
    }
    match (wheel.next_expiration(), model.keys().next()) {
        (None, None) => {}
        (Some(t), Some(&(first, _))) => {
            assert!(
                t <= first.max(now),
                "next_expiration {t} after the earliest deadline {first}"
            );
        }
        (t, first) => panic!("next_expiration {t:?} but earliest deadline {first:?}"),
    }
}
