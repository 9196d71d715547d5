//! Reading `target/weft-bench/results.jsonl` (the format of `weft_benches::report`) and the
//! statistics the page shows: median, spread, noisy / bimodal marks, direction-aware ratios.
//!
//! The statistics themselves (median, spread, noisy / bimodal marks, paired per-round ratios
//! and the verdict rule) live in the dependency-free `weft-bench-stats` crate, which the bench
//! binaries use for their own printed tables too: one implementation, one rule.

use std::collections::BTreeMap;

pub use weft_bench_stats::{compare, Comparison, Decision, Stats};

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

/// Contenders shown for reference only, never "the best peer": the synchronous floor
/// (`std*`) and crossbeam-channel (a blocking channel, not an async one).
pub fn is_reference(contender: &str) -> bool {
    contender.starts_with("std") || contender.starts_with("crossbeam")
}

/// weft's own contenders (`weft`, `weft_task`, `weft/local`, `hyper-util/weft`, ...).
pub fn is_weft(contender: &str) -> bool {
    contender.contains("weft")
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

    /// weft's cost over `peer`'s, by contender name ([`compare`]: paired per round when
    /// possible, else the ratio of the medians). `None` if either name is unknown.
    pub fn compare(&self, weft: &str, peer: &str) -> Option<Comparison> {
        let idx = |n: &str| self.contenders.iter().position(|(c, _)| c == n);
        let (a, b) = (idx(weft)?, idx(peer)?);
        Some(compare(
            &self.samples[a],
            &self.samples[b],
            self.higher_is_better,
        ))
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
    use weft_bench_stats::Ratio;

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
            rec("t", "tokio", false, &[200.0, 202.0, 198.0]),
        ]);
        let c = time[0].1[0].compare("weft", "tokio").unwrap();
        assert_eq!(c.ratio, Ratio::Value(0.5), "half the time = 0.5");

        let rate = group(&[
            rec("r", "weft", true, &[200.0, 202.0, 198.0]),
            rec("r", "tokio", true, &[100.0, 101.0, 99.0]),
        ]);
        let w = &rate[0].1[0];
        let c = w.compare("weft", "tokio").unwrap();
        assert_eq!(c.ratio, Ratio::Value(0.5), "twice the rate = 0.5");
        assert_eq!(w.best_peer().map(|p| p.0.as_str()), Some("tokio"));
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
