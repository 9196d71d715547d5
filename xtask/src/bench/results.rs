//! Reading `target/weft-bench/results.jsonl` (the format of `weft_benches::report`) and the
//! statistics the page shows: median, spread, noisy / bimodal marks, direction-aware ratios.
//!
//! A ratio comes from **paired rounds** when it can: the runner interleaves contenders, so
//! weft's and a peer's sample of the same round met the same machine state, and the ratio of
//! the two (one per round) cancels most of the noise that hits both. The ratio is the median of
//! those per-round ratios; it is marked noisy when their spread (p10–p90 from 10 rounds,
//! min–max below) exceeds ±15 % of it, bimodal when they form two clusters. Without pairs
//! (different sample counts, fewer than 3 rounds, a zero sample) it falls back to the ratio of
//! the medians, refused when either contender's own spread is noisy or bimodal.

use std::collections::BTreeMap;

/// One JSON line: one contender's samples for one workload of one group.
#[derive(Clone, Debug, PartialEq)]
pub struct Rec {
    pub group: String,
    pub workload: String,
    pub contender: String,
    pub unit: String,
    pub higher_is_better: bool,
    pub samples: Vec<f64>,
}

/// Parses the JSON lines; a malformed line is skipped and reported in the returned warnings
/// (never a crash: the page must regenerate from whatever is there).
pub fn parse(text: &str) -> (Vec<Rec>, Vec<String>) {
    let mut recs = Vec::new();
    let mut warnings = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line) {
            Ok(r) => recs.push(r),
            Err(e) => warnings.push(format!("results line {}: {e}", i + 1)),
        }
    }
    (recs, warnings)
}

fn parse_line(line: &str) -> Result<Rec, String> {
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let s = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(str::to_string)
            .ok_or(format!("missing string field `{k}`"))
    };
    let samples: Vec<f64> = v
        .get("samples")
        .and_then(|x| x.as_array())
        .ok_or("missing array field `samples`")?
        .iter()
        .filter_map(|x| x.as_f64())
        .filter(|x| x.is_finite())
        .collect();
    if samples.is_empty() {
        return Err("no finite sample".into());
    }
    Ok(Rec {
        group: s("group")?,
        workload: s("workload")?,
        contender: s("contender")?,
        unit: s("unit")?,
        higher_is_better: v
            .get("higher_is_better")
            .and_then(|x| x.as_bool())
            .ok_or("missing bool field `higher_is_better`")?,
        samples,
    })
}

/// Median and spread of one contender's samples, with the marks the page shows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub n: usize,
    pub median: f64,
    /// Low end of the spread: min for fewer than 10 samples, else p10 ([`trimmed_range`]).
    pub lo: f64,
    /// High end of the spread: max for fewer than 10 samples, else p90.
    pub hi: f64,
    /// Spread beyond ±15 % of the median.
    pub noisy: bool,
    /// Two clusters of samples with a gap between them (see [`is_bimodal`]).
    pub bimodal: bool,
}

/// Spread limit of a clean result: ±15 %, i.e. (hi - lo) / median ≤ 0.30.
pub const NOISE_LIMIT: f64 = 0.30;

impl Stats {
    /// Statistics of `samples` (at least one).
    pub fn of(samples: &[f64]) -> Stats {
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        let (lo, hi) = trimmed_range(&s);
        let noisy = median > 0.0 && (hi - lo) / median > NOISE_LIMIT;
        Stats {
            n,
            median,
            lo,
            hi,
            noisy,
            bimodal: is_bimodal(&s),
        }
    }

    /// Clean enough to enter a ratio.
    pub fn clean(&self) -> bool {
        !self.noisy && !self.bimodal
    }

    /// Half the spread relative to the median, in percent (the "±x %" shown).
    pub fn pm_percent(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.hi - self.lo) / 2.0 / self.median * 100.0
        }
    }
}

/// The spread's ends of sorted samples: min–max below 10 samples; from 10, p10–p90 taken
/// symmetrically, cutting `floor(n / 10)` samples at each end (10 or 11 samples: the second
/// smallest to the second largest; 21: the third). Nearest-rank p10 of 10 samples would be the
/// minimum while its p90 cuts the maximum, a lopsided spread.
pub fn trimmed_range(sorted: &[f64]) -> (f64, f64) {
    let n = sorted.len();
    let k = if n >= 10 { n / 10 } else { 0 };
    (sorted[k], sorted[n - 1 - k])
}

/// Bimodal: the sorted samples split at their widest gap into two clusters of at least two
/// samples each (and at least a fifth of them), the gap wider than 25 % of the median and
/// wider than twice the spread inside either cluster. Needs at least 4 samples.
pub fn is_bimodal(sorted: &[f64]) -> bool {
    let n = sorted.len();
    if n < 4 {
        return false;
    }
    let median = sorted[n / 2];
    if median <= 0.0 {
        return false;
    }
    let (mut best, mut at) = (0.0, 0);
    for i in 0..n - 1 {
        let gap = sorted[i + 1] - sorted[i];
        if gap > best {
            best = gap;
            at = i + 1; // the upper cluster starts here
        }
    }
    let min_cluster = 2.max(n.div_ceil(5));
    if at < min_cluster || n - at < min_cluster {
        return false;
    }
    let inner = (sorted[at - 1] - sorted[0]).max(sorted[n - 1] - sorted[at]);
    best / median > 0.25 && best > 2.0 * inner
}

/// One workload: its unit, direction and each contender's statistics, in first-seen order.
#[derive(Clone, Debug)]
pub struct WorkloadResult {
    pub name: String,
    pub unit: String,
    pub higher_is_better: bool,
    pub contenders: Vec<(String, Stats)>,
    /// Each contender's samples in round order, parallel to `contenders`.
    pub samples: Vec<Vec<f64>>,
}

/// weft against one peer: the ratio (or why there is none) and its uncertainty.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Comparison {
    /// The ratio, or noisy / bimodal.
    pub ratio: Ratio,
    /// ± half the spread of the ratio, in percent of it.
    pub pm_percent: f64,
    /// From paired rounds (else the ratio of the two medians).
    pub paired: bool,
}

/// Fewest rounds a paired ratio needs.
const MIN_PAIRS: usize = 3;

/// Contenders shown for reference only, never "the best peer": the synchronous floor
/// (`std*`) and crossbeam-channel (a blocking channel, not an async one).
pub fn is_reference(contender: &str) -> bool {
    contender.starts_with("std") || contender.starts_with("crossbeam")
}

/// weft's own contenders (`weft`, `weft_task`, `weft/local`, `hyper-util/weft`, ...).
pub fn is_weft(contender: &str) -> bool {
    contender.contains("weft")
}

/// A cost ratio of weft against one peer, or why there is none.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ratio {
    /// weft's cost / the peer's cost (time / time, or rate⁻¹ / rate⁻¹): below 1 = weft better.
    Value(f64),
    /// weft's or the peer's result is noisy: no ratio.
    Noisy,
    /// weft's or the peer's result is bimodal: no ratio.
    Bimodal,
}

impl WorkloadResult {
    /// The weft contender the ratios are about: `weft` if present, else the first weft one.
    pub fn weft(&self) -> Option<&(String, Stats)> {
        self.contenders
            .iter()
            .find(|(c, _)| c == "weft")
            .or_else(|| self.contenders.iter().find(|(c, _)| is_weft(c)))
    }

    /// Peers: contenders that are neither weft's nor reference-only.
    pub fn peers(&self) -> impl Iterator<Item = &(String, Stats)> {
        self.contenders
            .iter()
            .filter(|(c, _)| !is_weft(c) && !is_reference(c))
    }

    /// Cost of a median: itself when lower is better, its inverse for throughput.
    pub fn cost(&self, s: &Stats) -> f64 {
        if self.higher_is_better {
            if s.median == 0.0 {
                f64::INFINITY
            } else {
                1.0 / s.median
            }
        } else {
            s.median
        }
    }

    /// weft's cost over `peer`'s, by contender name: paired per round when possible (see the
    /// module docs), else [`Self::ratio`] of the medians. `None` if either name is unknown.
    pub fn compare(&self, weft: &str, peer: &str) -> Option<Comparison> {
        let idx = |n: &str| self.contenders.iter().position(|(c, _)| c == n);
        let (a, b) = (idx(weft)?, idx(peer)?);
        let (sa, sb) = (&self.samples[a], &self.samples[b]);
        let pairable =
            sa.len() == sb.len() && sa.len() >= MIN_PAIRS && sa.iter().chain(sb).all(|&x| x > 0.0);
        if pairable {
            let ratios: Vec<f64> = sa
                .iter()
                .zip(sb)
                .map(|(&x, &y)| if self.higher_is_better { y / x } else { x / y })
                .collect();
            let st = Stats::of(&ratios);
            let ratio = if st.bimodal {
                Ratio::Bimodal
            } else if st.noisy {
                Ratio::Noisy
            } else {
                Ratio::Value(st.median)
            };
            return Some(Comparison {
                ratio,
                pm_percent: st.pm_percent(),
                paired: true,
            });
        }
        let (wa, wb) = (&self.contenders[a].1, &self.contenders[b].1);
        Some(Comparison {
            ratio: self.ratio(wa, wb),
            pm_percent: wa.pm_percent() + wb.pm_percent(),
            paired: false,
        })
    }

    /// weft's cost over `peer`'s medians, direction-aware; no ratio when either is noisy or
    /// bimodal (the unpaired fallback of [`Self::compare`]).
    pub fn ratio(&self, weft: &Stats, peer: &Stats) -> Ratio {
        if weft.bimodal || peer.bimodal {
            Ratio::Bimodal
        } else if weft.noisy || peer.noisy {
            Ratio::Noisy
        } else {
            Ratio::Value(self.cost(weft) / self.cost(peer))
        }
    }

    /// The peer with the lowest cost (by median, noisy or not).
    pub fn best_peer(&self) -> Option<&(String, Stats)> {
        self.peers()
            .min_by(|a, b| self.cost(&a.1).total_cmp(&self.cost(&b.1)))
    }
}

/// Groups in first-seen order, each with its workloads in first-seen order. A repeated
/// (group, workload, contender) keeps its last record (a rerun of one file appends).
pub fn group(recs: &[Rec]) -> Vec<(String, Vec<WorkloadResult>)> {
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<WorkloadResult>> = BTreeMap::new();
    for r in recs {
        if !groups.contains_key(&r.group) {
            order.push(r.group.clone());
        }
        let ws = groups.entry(r.group.clone()).or_default();
        let w = match ws.iter_mut().position(|w| w.name == r.workload) {
            Some(i) => &mut ws[i],
            None => {
                ws.push(WorkloadResult {
                    name: r.workload.clone(),
                    unit: r.unit.clone(),
                    higher_is_better: r.higher_is_better,
                    contenders: Vec::new(),
                    samples: Vec::new(),
                });
                ws.last_mut().expect("just pushed")
            }
        };
        w.unit = r.unit.clone();
        w.higher_is_better = r.higher_is_better;
        let st = Stats::of(&r.samples);
        match w.contenders.iter().position(|(c, _)| *c == r.contender) {
            Some(i) => {
                w.contenders[i].1 = st;
                w.samples[i] = r.samples.clone();
            }
            None => {
                w.contenders.push((r.contender.clone(), st));
                w.samples.push(r.samples.clone());
            }
        }
    }
    order
        .into_iter()
        .map(|g| {
            let ws = groups.remove(&g).unwrap_or_default();
            (g, ws)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(w: &str, c: &str, hib: bool, samples: &[f64]) -> Rec {
        Rec {
            group: "g".into(),
            workload: w.into(),
            contender: c.into(),
            unit: if hib { "req/s" } else { "ns/iter" }.into(),
            higher_is_better: hib,
            samples: samples.to_vec(),
        }
    }

    #[test]
    fn ratio_is_weft_cost_over_peer_cost_in_both_directions() {
        let time = group(&[
            rec("t", "weft", false, &[100.0, 101.0, 99.0]),
            rec("t", "tokio", false, &[200.0, 201.0, 199.0]),
        ]);
        let w = &time[0].1[0];
        let (weft, tokio) = (w.contenders[0].1, w.contenders[1].1);
        assert_eq!(
            w.ratio(&weft, &tokio),
            Ratio::Value(0.5),
            "half the time = 0.5"
        );

        let rate = group(&[
            rec("r", "weft", true, &[200.0, 201.0, 199.0]),
            rec("r", "tokio", true, &[100.0, 101.0, 99.0]),
        ]);
        let w = &rate[0].1[0];
        let (weft, tokio) = (w.contenders[0].1, w.contenders[1].1);
        assert_eq!(
            w.ratio(&weft, &tokio),
            Ratio::Value(0.5),
            "twice the rate = 0.5"
        );
        assert_eq!(w.best_peer().map(|p| p.0.as_str()), Some("tokio"));
    }

    #[test]
    fn noisy_and_bimodal_results_get_no_ratio() {
        let clean = Stats::of(&[100.0, 105.0, 95.0]);
        assert!(clean.clean());
        let noisy = Stats::of(&[100.0, 140.0, 95.0]);
        assert!(noisy.noisy && !noisy.bimodal);
        let bimodal = Stats::of(&[100.0, 101.0, 102.0, 300.0, 301.0, 302.0]);
        assert!(bimodal.bimodal);
        let w = WorkloadResult {
            name: "x".into(),
            unit: "ns/iter".into(),
            higher_is_better: false,
            contenders: vec![],
            samples: vec![],
        };
        assert_eq!(w.ratio(&clean, &noisy), Ratio::Noisy);
        assert_eq!(w.ratio(&bimodal, &clean), Ratio::Bimodal);
        assert_eq!(w.ratio(&noisy, &bimodal), Ratio::Bimodal);
    }

    #[test]
    fn one_outlier_is_noisy_not_bimodal_and_ten_samples_use_p10_p90() {
        let mut ten = vec![100.0; 10];
        ten[0] = 10.0; // one low outlier is cut as well as one high one
        ten[9] = 1000.0;
        assert_eq!(
            trimmed_range(&{
                let mut t = ten.clone();
                t.sort_by(f64::total_cmp);
                t
            }),
            (100.0, 100.0)
        );
        let outlier = Stats::of(&[100.0, 101.0, 99.0, 100.0, 400.0]);
        assert!(!outlier.bimodal, "a single sample is not a cluster");
        assert!(outlier.noisy);
        let mut many = vec![100.0; 10];
        many[9] = 1000.0; // p90 of 10 samples by nearest rank is the 9th: the outlier is cut
        let s = Stats::of(&many);
        assert_eq!((s.lo, s.hi), (100.0, 100.0));
        assert!(s.clean());
    }

    #[test]
    fn malformed_lines_are_skipped_with_a_warning_and_reruns_keep_the_last_record() {
        let text = concat!(
            r#"{"group":"g","workload":"w","contender":"weft","unit":"ns/iter","higher_is_better":false,"samples":[1.0]}"#,
            "\nnot json\n",
            r#"{"group":"g","workload":"w","contender":"weft","unit":"ns/iter","higher_is_better":false,"samples":[2.0]}"#,
            "\n",
            r#"{"group":"g","workload":"w","contender":"x","unit":"ns/iter","higher_is_better":false,"samples":[]}"#,
        );
        let (recs, warnings) = parse(text);
        assert_eq!(recs.len(), 2);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        let g = group(&recs);
        assert_eq!(g[0].1[0].contenders.len(), 1);
        assert_eq!(g[0].1[0].contenders[0].1.median, 2.0);
    }

    #[test]
    fn weft_flavours_and_references_are_not_peers() {
        let g = group(&[
            rec("w", "weft", false, &[1.0]),
            rec("w", "weft_task", false, &[1.0]),
            rec("w", "hyper-util/weft", false, &[1.0]),
            rec("w", "std_sync", false, &[0.5]),
            rec("w", "crossbeam", false, &[0.5]),
            rec("w", "tokio", false, &[2.0]),
        ]);
        let w = &g[0].1[0];
        let peers: Vec<_> = w.peers().map(|p| p.0.as_str()).collect();
        assert_eq!(peers, ["tokio"]);
        assert_eq!(w.weft().map(|p| p.0.as_str()), Some("weft"));
    }

    #[test]
    fn paired_rounds_give_a_clean_ratio_when_noise_hits_both_contenders() {
        // Each round the machine is slower or faster, for both alike: each contender's own
        // spread is ±50 %, but weft is always 0.8x the peer.
        let load = [1.0, 2.0, 1.5, 1.0, 2.0, 1.2, 1.8, 1.0, 2.0, 1.4, 1.6];
        let peer: Vec<f64> = load.iter().map(|l| 100.0 * l).collect();
        let weft: Vec<f64> = load.iter().map(|l| 80.0 * l).collect();
        let g = group(&[
            rec("t", "weft", false, &weft),
            rec("t", "tokio", false, &peer),
        ]);
        let w = &g[0].1[0];
        assert!(w.contenders[0].1.noisy && w.contenders[1].1.noisy);
        let c = w.compare("weft", "tokio").unwrap();
        assert!(c.paired);
        match c.ratio {
            Ratio::Value(v) => assert!((v - 0.8).abs() < 1e-9, "{v}"),
            other => panic!("expected a ratio, got {other:?}"),
        }
        assert!(c.pm_percent < 1e-9);
        // Throughput: the ratio is the peer's rate over weft's.
        let g = group(&[
            rec("r", "weft", true, &peer),
            rec("r", "tokio", true, &weft),
        ]);
        let c = g[0].1[0].compare("weft", "tokio").unwrap();
        assert_eq!(c.ratio, Ratio::Value(0.8));
    }

    #[test]
    fn paired_ratios_that_scatter_are_noisy_and_unpaired_samples_fall_back() {
        let weft = [100.0, 100.0, 100.0, 100.0, 100.0];
        let peer = [100.0, 60.0, 140.0, 100.0, 70.0];
        let g = group(&[
            rec("t", "weft", false, &weft),
            rec("t", "tokio", false, &peer),
        ]);
        let c = g[0].1[0].compare("weft", "tokio").unwrap();
        assert!(c.paired);
        assert_eq!(c.ratio, Ratio::Noisy);
        // Different sample counts cannot be paired: ratio of medians, both clean.
        let g = group(&[
            rec("u", "weft", false, &[100.0, 101.0, 99.0]),
            rec("u", "tokio", false, &[200.0, 201.0]),
        ]);
        let c = g[0].1[0].compare("weft", "tokio").unwrap();
        assert!(!c.paired);
        assert_eq!(c.ratio, Ratio::Value(100.0 / 200.5));
        assert_eq!(g[0].1[0].compare("weft", "nobody"), None);
    }
}
