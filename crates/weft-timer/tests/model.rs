//! Model test: the timing wheel against a `BTreeMap<(deadline, seq), label>` reference.

use std::collections::BTreeMap;

use proptest::prelude::*;
use weft_timer::wheel::{TimerId, Wheel};

#[derive(Clone, Debug)]
enum Op {
    /// Insert at `now + delta` (delta may be negative: a deadline in the past).
    Insert(i64),
    /// Insert far away (exercises the coarse levels and the parking beyond `MAX_SPAN`).
    InsertFar(u64),
    /// Cancel the live timer at this index (modulo the number of live timers).
    Cancel(usize),
    /// Advance time by this much and poll.
    Advance(u64),
    /// Cancel an id that already fired or was cancelled (must be a no-op).
    CancelStale(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (-50i64..5_000).prop_map(Op::Insert),
        1 => (0u64..(1u64 << 38)).prop_map(Op::InsertFar),
        3 => any::<usize>().prop_map(Op::Cancel),
        4 => prop_oneof![0u64..70, 0u64..5_000, 0u64..300_000].prop_map(Op::Advance),
        1 => (0u64..(1u64 << 38)).prop_map(Op::Advance),
        1 => any::<usize>().prop_map(Op::CancelStale),
    ]
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut wheel: Wheel<u64> = Wheel::new();
    let mut reference: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    // label -> (id, reference key)
    let mut live: Vec<(u64, TimerId, (u64, u64))> = Vec::new();
    let mut dead: Vec<TimerId> = Vec::new();
    let mut now = 0u64;
    let mut seq = 0u64;
    for op in ops {
        match *op {
            Op::Insert(_) | Op::InsertFar(_) => {
                let deadline = match *op {
                    Op::Insert(d) => now.saturating_add_signed(d),
                    Op::InsertFar(d) => now + d,
                    _ => unreachable!(),
                };
                let label = seq;
                seq += 1;
                let id = wheel.insert(deadline, label);
                reference.insert((deadline, label), label);
                live.push((label, id, (deadline, label)));
            }
            Op::Cancel(i) => {
                if !live.is_empty() {
                    let (label, id, key) = live.swap_remove(i % live.len());
                    prop_assert_eq!(wheel.remove(id), Some(label));
                    prop_assert_eq!(reference.remove(&key), Some(label));
                    dead.push(id);
                }
            }
            Op::CancelStale(i) => {
                if !dead.is_empty() {
                    let id = dead[i % dead.len()];
                    prop_assert_eq!(wheel.remove(id), None);
                }
            }
            Op::Advance(d) => {
                now += d;
                let fired = wheel.poll(now);
                let mut expected = Vec::new();
                while let Some(entry) = reference.first_entry() {
                    if entry.key().0 > now {
                        break;
                    }
                    expected.push(entry.remove());
                }
                prop_assert_eq!(&fired, &expected, "at now={}", now);
                live.retain(|(label, id, _)| {
                    if expected.contains(label) {
                        dead.push(*id);
                        false
                    } else {
                        true
                    }
                });
            }
        }
        prop_assert_eq!(wheel.len(), reference.len());
        // next_expiration never lies past the earliest deadline, and exists iff non-empty.
        match (wheel.next_expiration(), reference.keys().next()) {
            (None, None) => {}
            (Some(t), Some(&(d, _))) => prop_assert!(t <= d.max(now), "{} > {}", t, d),
            (a, b) => prop_assert!(false, "next_expiration {:?} vs reference {:?}", a, b),
        }
    }
    // Drain everything: all remaining entries fire, in order.
    let fired = wheel.poll(u64::MAX);
    let expected: Vec<u64> = reference.into_values().collect();
    prop_assert_eq!(fired, expected);
    prop_assert!(wheel.is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn wheel_matches_btreemap(ops in proptest::collection::vec(op(), 1..200)) {
        run(&ops)?;
    }
}

#[test]
fn dense_same_deadline_ties_keep_insertion_order() {
    let mut wheel = Wheel::new();
    // Same deadline inserted at different wheel times lands on different levels first.
    for (i, d) in [(0u64, 100_000u64), (1, 100_000), (2, 99_999)] {
        wheel.insert(d, i);
    }
    wheel.poll(90_000);
    wheel.insert(100_000, 3);
    wheel.poll(99_990);
    wheel.insert(100_000, 4);
    assert_eq!(wheel.poll(100_000), vec![2, 0, 1, 3, 4]);
}
