use super::*;

#[test]
fn median_min_max_and_the_spread_cut_one_outlier_per_side_from_ten_samples() {
    let s = Stats::of(&[3.0, 1.0, 2.0]);
    assert_eq!(
        (s.median, s.min, s.max, s.lo, s.hi),
        (2.0, 1.0, 3.0, 1.0, 3.0)
    );
    assert_eq!(Stats::of(&[1.0, 3.0]).median, 2.0);
    assert!(!Stats::of(&[100.0, 110.0]).is_noisy());
    assert!(Stats::of(&[100.0, 140.0]).is_noisy());
    for n in [10, 11] {
        let mut v = vec![100.0; n];
        v[0] = 10.0;
        v[n - 1] = 1000.0;
        let s = Stats::of(&v);
        assert_eq!((s.lo, s.hi), (100.0, 100.0), "{n} samples");
        assert_eq!((s.min, s.max), (10.0, 1000.0));
        assert!(s.clean());
    }
    let outlier = Stats::of(&[100.0, 101.0, 99.0, 100.0, 400.0]);
    assert!(!outlier.bimodal, "a single sample is not a cluster");
    assert!(outlier.noisy);
    assert!(Stats::of(&[100.0, 101.0, 102.0, 300.0, 301.0, 302.0]).bimodal);
    assert_eq!(
        Stats::of(&[2.0, 1.0, 3.0]).to_string(),
        "2.00 (1.00–3.00) noisy"
    );
    assert_eq!(Stats::of(&[2.0, 1.9, 2.1]).to_string(), "2.00 (1.90–2.10)");
}

#[test]
fn paired_rounds_cancel_noise_that_hits_both_contenders() {
    // Each round the machine is slower or faster for both alike: each contender's own spread
    // is ±50 %, but weft is always 0.8x the peer.
    let load = [1.0, 2.0, 1.5, 1.0, 2.0, 1.2, 1.8, 1.0, 2.0, 1.4, 1.6];
    let peer: Vec<f64> = load.iter().map(|l| 100.0 * l).collect();
    let weft: Vec<f64> = load.iter().map(|l| 80.0 * l).collect();
    assert!(Stats::of(&weft).noisy && Stats::of(&peer).noisy);
    let c = compare(&weft, &peer, false);
    assert!(c.paired && c.clean());
    match c.ratio {
        Ratio::Value(v) => assert!((v - 0.8).abs() < 1e-9, "{v}"),
        other => panic!("expected a ratio, got {other:?}"),
    }
    assert!(c.pm_percent < 1e-9);
    // Rates: the ratio is the peer's rate over weft's (below 1 = weft better).
    let c = compare(&peer, &weft, true);
    assert!(matches!(c.ratio, Ratio::Value(v) if (v - 0.8).abs() < 1e-9));
}

#[test]
fn unpaired_samples_fall_back_to_the_medians_and_refuse_noisy_ones() {
    let c = compare(&[100.0, 101.0, 99.0], &[200.0, 201.0], false);
    assert!(!c.paired);
    assert_eq!(c.ratio, Ratio::Value(100.0 / 200.5));
    let c = compare(&[100.0, 101.0, 99.0], &[100.0, 140.0], false);
    assert_eq!(c.ratio, Ratio::Noisy);
    assert_eq!(c.decide(1.0), Decision::Unclear, "no rounds, no interval");
    let c = compare(&[1.0], &[2.0], false);
    assert_eq!(c.ratio, Ratio::Value(0.5), "one sample each: medians");
}

/// issue 19's example: blocking fs_read_1000x4k, weft ~257 µs vs smol ~3.37 ms, the
/// per-round ratios scattered by ±73 %.
#[test]
fn a_noisy_ratio_whose_whole_interval_is_below_the_target_holds() {
    let weft = [
        257.0, 240.0, 300.0, 250.0, 900.0, 260.0, 255.0, 270.0, 245.0, 700.0, 262.0,
    ];
    let smol = [
        3370.0, 1800.0, 5000.0, 3300.0, 6400.0, 2500.0, 3400.0, 4100.0, 3000.0, 5200.0, 9000.0,
    ];
    let c = compare(&weft, &smol, false);
    assert_eq!(c.ratio, Ratio::Noisy, "{c:?}");
    assert_eq!(c.decide(1.0), Decision::Holds);
    let text = c.describe(1.0);
    assert!(text.starts_with("0.08 (noisy ±"), "{text}");
    assert!(
        text.contains("weft ahead in 11/11 rounds, p90 0.1"),
        "{text}"
    );
    assert!(!c.clean(), "a noisy ratio never enters an average");
    assert!(c.value().is_some_and(|v| v < 0.1), "{:?}", c.value());
}

#[test]
fn a_noisy_ratio_misses_only_when_its_p10_is_beyond_the_target_by_the_margin() {
    // Below 10 rounds the interval is min–max.
    let peer = [100.0; 5];
    let c = compare(&[120.0, 200.0, 140.0, 160.0, 180.0], &peer, false);
    assert_eq!(c.ratio, Ratio::Noisy);
    assert_eq!(c.decide(1.0), Decision::Misses, "min 1.20 > 1.15");
    assert!(
        c.describe(1.0)
            .contains("weft behind in 5/5 rounds, best 1.20"),
        "{}",
        c.describe(1.0)
    );
    let c = compare(&[110.0, 200.0, 140.0, 160.0, 180.0], &peer, false);
    assert_eq!(
        c.decide(1.0),
        Decision::Unclear,
        "min 1.10: within the margin"
    );
    assert!(
        c.describe(1.0).contains("best–worst 1.10–2.00)"),
        "{}",
        c.describe(1.0)
    );
    // Both sides of 1: no verdict.
    let c = compare(&[60.0, 140.0, 100.0, 90.0, 120.0], &peer, false);
    assert_eq!(c.decide(1.0), Decision::Unclear);
    // From 10 rounds one outlier per side is cut: p90 decides, not the maximum.
    let mut weft = vec![50.0, 60.0, 40.0, 55.0, 45.0, 70.0, 52.0, 48.0, 58.0, 62.0];
    weft[3] = 130.0; // one round where weft lost
    let c = compare(&weft, &[100.0; 10], false);
    assert_eq!(c.ratio, Ratio::Noisy);
    assert_eq!(c.decide(1.0), Decision::Holds, "{c:?}");
    assert!(
        c.describe(1.0)
            .contains("weft ahead in 9/10 rounds, p90 0.70"),
        "{}",
        c.describe(1.0)
    );
}

#[test]
fn a_named_target_moves_both_the_hold_and_the_miss_line() {
    // weft at 1.1-1.25x std: misses "≤ 1.0" cleanly, holds "≤ 1.3x std".
    let std = [100.0; 5];
    let c = compare(&[110.0, 125.0, 115.0, 120.0, 112.0], &std, false);
    assert_eq!(c.ratio, Ratio::Value(1.15));
    assert_eq!(c.decide(1.0), Decision::Misses);
    assert_eq!(c.decide(1.3), Decision::Holds);
    // Noisy, 1.1-1.29x: holds 1.3.
    let c = compare(&[100.0, 129.0, 90.0, 120.0, 125.0], &std, false);
    assert_eq!(c.ratio, Ratio::Noisy);
    assert_eq!(c.decide(1.3), Decision::Holds);
    assert!(
        c.describe(1.3)
            .contains("within 1.3× in 5/5 rounds, worst 1.29"),
        "{}",
        c.describe(1.3)
    );
    // Noisy, 1.5-2.5x: misses 1.3 (1.5 > 1.3 × 1.15).
    let c = compare(&[150.0, 250.0, 200.0, 180.0, 160.0], &std, false);
    assert_eq!(c.decide(1.3), Decision::Misses);
    assert!(
        c.describe(1.3)
            .contains("beyond 1.3× in 5/5 rounds, best 1.50"),
        "{}",
        c.describe(1.3)
    );
}

#[test]
fn a_bimodal_ratio_is_marked_and_decided_by_the_same_interval() {
    let weft = [10.0, 11.0, 10.5, 30.0, 31.0, 30.5];
    let c = compare(&weft, &[100.0; 6], false);
    assert_eq!(c.ratio, Ratio::Bimodal);
    assert_eq!(c.decide(1.0), Decision::Holds);
    let text = c.describe(1.0);
    assert!(
        text.contains(" (bimodal, weft ahead in 6/6 rounds, worst 0.31)"),
        "{text}"
    );
}

#[test]
fn quantiles_use_nearest_rank_and_si_has_three_digits() {
    let v: Vec<u32> = (1..=100).collect();
    assert_eq!(quantile(&v, 0.99), Some(99));
    assert_eq!(quantile(&v, 0.5), Some(50));
    assert_eq!(quantile(&v, 1.0), Some(100));
    assert_eq!(quantile::<u32>(&[], 0.5), None);
    assert_eq!(si(123_456.0), "123k");
    assert_eq!(si(1_500.0), "1.50k");
}
