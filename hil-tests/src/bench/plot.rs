//! The benchmark's picture: the recovery times per profile as an SVG strip
//! plot.

use std::io;
use std::path::Path;

use super::{stats, Report, RunSample, TARGET_FAST_RECOVERY_MEDIAN_MS};

/// The recovery times per profile as a strip plot (every run a dot;
/// a bar at the median), log-scale, with the verdict and the first GARP
/// next to the client's recovery.
pub fn plot(path: &Path, report: &Report) -> io::Result<()> {
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};

    let err = |e: &dyn std::fmt::Display| io::Error::other(format!("{}: {e}", path.display()));
    type Pick = fn(&RunSample) -> Option<f64>;
    let series: [(&str, Pick, RGBColor, f64); 3] = [
        (
            "verdict (failoverd)",
            |s| s.verdict_ms,
            RGBColor(31, 119, 180),
            -0.25,
        ),
        (
            "first gratuitous ARP",
            |s| s.first_garp_ms,
            RGBColor(44, 160, 44),
            0.0,
        ),
        (
            "client answered by the secondary",
            |s| s.recovery_ms,
            RGBColor(214, 39, 40),
            0.25,
        ),
    ];
    let n = report.profiles.len().max(1);
    let all: Vec<f64> = report
        .profiles
        .iter()
        .flat_map(|p| p.failover.samples.iter())
        .flat_map(|s| series.iter().filter_map(move |(_, f, _, _)| f(s)))
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let lo = all
        .iter()
        .copied()
        .fold(TARGET_FAST_RECOVERY_MEDIAN_MS, f64::min)
        / 2.0;
    let hi = all
        .iter()
        .copied()
        .fold(TARGET_FAST_RECOVERY_MEDIAN_MS, f64::max)
        * 8.0; // headroom for the legend above the slowest profile
    let names: Vec<String> = report
        .profiles
        .iter()
        .map(|p| format!("{} ({} ms beats)", p.name, p.interval_ms))
        .collect();
    let root = SVGBackend::new(path, (960, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Primary power loss: times after its last cable lost its carrier",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5f64..n as f64 - 0.5, (lo..hi).log_scale())
        .map_err(|e| err(&e))?;
    // The profiles are categories: no x scale, a name under each column.
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("ms (log scale)")
        .y_label_formatter(&|y| format!("{y}"))
        .draw()
        .map_err(|e| err(&e))?;
    let name_style = TextStyle::from(("sans-serif", 15))
        .pos(Pos::new(HPos::Center, VPos::Bottom))
        .color(&BLACK);
    chart
        .draw_series(
            names.iter().enumerate().map(|(i, name)| {
                Text::new(name.clone(), (i as f64, lo * 1.08), name_style.clone())
            }),
        )
        .map_err(|e| err(&e))?;
    for (title, pick, color, offset) in series {
        let mut dots = Vec::new();
        let mut medians = Vec::new();
        for (i, p) in report.profiles.iter().enumerate() {
            let values: Vec<f64> = p.failover.samples.iter().filter_map(pick).collect();
            let k = values.len().max(1) as f64;
            for (j, v) in values.iter().enumerate() {
                // Spread the runs sideways so equal values stay visible.
                let x = i as f64 + offset + (j as f64 / k - 0.5) * 0.14;
                dots.push((x, v.max(lo)));
            }
            if let Some(st) = stats(&values) {
                medians.push((i as f64 + offset, st.median.max(lo), st.median));
            }
        }
        chart
            .draw_series(
                dots.iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, color.mix(0.7).filled())),
            )
            .map_err(|e| err(&e))?
            .label(title)
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
        chart
            .draw_series(medians.iter().map(|&(x, y, _)| {
                PathElement::new(vec![(x - 0.1, y), (x + 0.1, y)], color.stroke_width(3))
            }))
            .map_err(|e| err(&e))?;
        // The client's median, in figures, right of its bar.
        if offset > 0.0 {
            let style = TextStyle::from(("sans-serif", 13))
                .pos(Pos::new(HPos::Left, VPos::Center))
                .color(&color);
            chart
                .draw_series(medians.iter().map(|&(x, y, m)| {
                    Text::new(format!("{m:.1} ms"), (x + 0.11, y), style.clone())
                }))
                .map_err(|e| err(&e))?;
        }
    }
    if let Some(i) = report.profiles.iter().position(|p| p.name == "fast") {
        let x = i as f64;
        let y = TARGET_FAST_RECOVERY_MEDIAN_MS;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x - 0.45, y), (x + 0.45, y)],
                BLACK.mix(0.6).stroke_width(1),
            )))
            .map_err(|e| err(&e))?
            .label("target: fast median recovery ≤ 20 ms (bars: medians)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.6)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
