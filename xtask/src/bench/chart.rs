//! SVG charts drawn with plotters (SVG backend only): one per group, and the README headline.
//!
//! A group chart has one row per workload and one horizontal bar per contender: its speed
//! relative to the fastest weft-or-peer contender of that workload (1 = fastest; a
//! reference-only contender such as `std_sync` can exceed 1). Whiskers span the spread; pale
//! bars are noisy or bimodal results. Units differ between workloads, so bars are normalised.

use std::path::Path;

use plotters::prelude::*;

use super::results::{is_reference, Stats, WorkloadResult};

const WEFT: RGBColor = RGBColor(230, 85, 13);
const PALETTE: [RGBColor; 8] = [
    RGBColor(49, 130, 189),
    RGBColor(49, 163, 84),
    RGBColor(117, 107, 177),
    RGBColor(140, 140, 140),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(227, 119, 194),
    RGBColor(140, 86, 75),
];

/// The colour of `contender`: weft orange, tokio blue, smol green, then the palette in order
/// of `all` (the group's contenders).
fn color(contender: &str, all: &[String]) -> RGBColor {
    match contender {
        "weft" => WEFT,
        "tokio" => PALETTE[0],
        "smol" => PALETTE[1],
        _ => {
            let others: Vec<&String> = all
                .iter()
                .filter(|c| !matches!(c.as_str(), "weft" | "tokio" | "smol"))
                .collect();
            let i = others.iter().position(|c| *c == contender).unwrap_or(0);
            if contender.contains("weft") {
                RGBColor(253, 141, 60)
            } else {
                PALETTE[2 + i % (PALETTE.len() - 2)]
            }
        }
    }
}

/// Speed of `s` relative to `best_cost` (1 = as fast as the fastest), and its spread.
fn rel(w: &WorkloadResult, s: &Stats, best_cost: f64) -> (f64, f64, f64) {
    let c = |v: f64| {
        let st = Stats { median: v, ..*s };
        best_cost / w.cost(&st)
    };
    let (a, b) = (c(s.lo), c(s.hi));
    (c(s.median), a.min(b), a.max(b))
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Draws the chart of one group into `path`.
pub fn group_chart(path: &Path, title: &str, workloads: &[WorkloadResult]) -> Result<(), String> {
    let mut all: Vec<String> = Vec::new();
    for w in workloads {
        for (c, _) in &w.contenders {
            if !all.contains(c) {
                all.push(c.clone());
            }
        }
    }
    let m = workloads
        .iter()
        .map(|w| w.contenders.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let n = workloads.len().max(1);
    let row = (m as u32 * 11 + 14).max(30);
    let height = 110 + row * n as u32;
    let mut x_max: f64 = 1.45; // room on the right for the legend
    let mut bars = Vec::new(); // (row, slot, rel, lo, hi, clean, contender)
    for (i, w) in workloads.iter().enumerate() {
        let best = w
            .contenders
            .iter()
            .filter(|(c, _)| !is_reference(c))
            .map(|(_, s)| w.cost(s))
            .fold(f64::INFINITY, f64::min);
        if !best.is_finite() || best <= 0.0 {
            continue;
        }
        for (j, (c, s)) in w.contenders.iter().enumerate() {
            let (r, lo, hi) = rel(w, s, best);
            x_max = x_max.max(hi.min(3.0) * 1.35);
            bars.push((i, j, r, lo, hi, s.clean(), c.clone()));
        }
    }
    let root = SVGBackend::new(path, (960, height)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(250)
        .build_cartesian_2d(0f64..x_max, 0f64..n as f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .y_labels(0)
        .x_desc("speed relative to the fastest (1 = fastest; pale = noisy or bimodal)")
        .draw()
        .map_err(err)?;
    // Workload names at the left of each row (drawn on the root: the plot area clips).
    for (i, w) in workloads.iter().enumerate() {
        let y = n as f64 - i as f64 - 0.5;
        let (px, py) = chart.backend_coord(&(0.0, y));
        let style = ("sans-serif", 13).into_font().color(&BLACK).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Right,
                plotters::style::text_anchor::VPos::Center,
            ),
        );
        root.draw(&Text::new(w.name.clone(), (px - 8, py), style))
            .map_err(err)?;
    }
    let slot = 0.84 / m as f64;
    for c in &all {
        let col = color(c, &all);
        let mine: Vec<_> = bars.iter().filter(|b| &b.6 == c).collect();
        chart
            .draw_series(mine.iter().map(|&&(i, j, r, _, _, clean, _)| {
                let top = n as f64 - i as f64 - 0.08 - j as f64 * slot;
                let style = if clean {
                    col.filled()
                } else {
                    col.mix(0.35).filled()
                };
                Rectangle::new([(0.0, top - slot * 0.9), (r.min(x_max), top)], style)
            }))
            .map_err(err)?
            .label(c.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], col.filled()));
        chart
            .draw_series(mine.iter().map(|&&(i, j, _, lo, hi, _, _)| {
                let y = n as f64 - i as f64 - 0.08 - (j as f64 + 0.45) * slot;
                PathElement::new(vec![(lo.min(x_max), y), (hi.min(x_max), y)], BLACK)
            }))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// The README headline: per group, the geometric mean over its clean workloads of
/// best-peer cost / weft cost (weft's speed relative to the best peer; > 1 = weft faster).
pub fn headline_chart(path: &Path, rows: &[(String, f64, usize)]) -> Result<(), String> {
    let n = rows.len().max(1);
    let height = 90 + 34 * n as u32;
    let x_max = rows.iter().map(|r| r.1).fold(2.0f64, f64::max).min(20.0) * 1.1;
    let root = SVGBackend::new(path, (860, height)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "weft's speed relative to the best peer (geometric mean per group)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(200)
        .build_cartesian_2d(0f64..x_max, 0f64..n as f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .y_labels(0)
        .x_desc("> 1: weft faster than every peer; < 1: some peer is faster")
        .draw()
        .map_err(err)?;
    for (i, (name, v, k)) in rows.iter().enumerate() {
        let y = n as f64 - i as f64 - 0.5;
        let (px, py) = chart.backend_coord(&(0.0, y));
        let anchor = |h| {
            plotters::style::text_anchor::Pos::new(h, plotters::style::text_anchor::VPos::Center)
        };
        let style = ("sans-serif", 13).into_font().color(&BLACK);
        root.draw(&Text::new(
            format!("{name} ({k})"),
            (px - 8, py),
            style
                .clone()
                .pos(anchor(plotters::style::text_anchor::HPos::Right)),
        ))
        .map_err(err)?;
        let col = if *v >= 1.0 { WEFT } else { PALETTE[3] };
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(0.0, y - 0.32), (v.min(x_max), y + 0.32)],
                col.filled(),
            )))
            .map_err(err)?;
        let (ex, ey) = chart.backend_coord(&(v.min(x_max), y));
        root.draw(&Text::new(
            format!("{v:.2}x"),
            (ex + 6, ey),
            style.pos(anchor(plotters::style::text_anchor::HPos::Left)),
        ))
        .map_err(err)?;
    }
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(1.0, 0.0), (1.0, n as f64)],
            BLACK.stroke_width(2),
        )))
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
