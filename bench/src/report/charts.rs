//! Charts as functions over a plotters SVG drawing area, each rendered into a string (so a test
//! can draw one and the HTML report can embed it). Two shapes cover every chart: lines over a
//! numeric axis, and grouped bars over categories.

use plotters::element::DashedPathElement;
use plotters::prelude::*;

use crate::cluster::target::TargetKind;

mod bars;
pub use bars::{bars, stacked_bars};

/// Colour of a target, the same in every chart (anything else: one more colour).
pub fn colour(target: &str) -> RGBColor {
    match TargetKind::parse(target) {
        Some(TargetKind::InProcess) => RGBColor(120, 120, 120),
        Some(TargetKind::Grpc) => RGBColor(31, 119, 180),
        Some(TargetKind::RestH1) => RGBColor(230, 120, 20),
        Some(TargetKind::RestH2) => RGBColor(44, 160, 44),
        Some(TargetKind::Tcp) => RGBColor(140, 86, 75),
        None => RGBColor(148, 103, 189),
    }
}

/// One line: its label (a target, optionally with a suffix) and its points.
pub struct Series {
    /// Legend label; its first word picks the colour.
    pub label: String,
    /// Points.
    pub points: Vec<(f64, f64)>,
    /// Drawn thinner and lighter (secondary series, e.g. p50 beside p99).
    pub secondary: bool,
    /// An interval around the line, shaded: `(x, low, high)` per point (empty: none).
    pub band: Vec<(f64, f64, f64)>,
}

pub(super) type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Lines over a numeric x axis; `log_y` for latencies; `diagonal` draws y = x.
pub fn lines(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
    diagonal: bool,
) -> String {
    let mut svg = String::new();
    if let Err(e) = draw_lines(
        &mut svg,
        title,
        x_label,
        y_label,
        series,
        log_y,
        diagonal,
        None,
        &[],
    ) {
        return empty(title, &e.to_string());
    }
    svg
}

/// Lines over time with the span `band` (a fault's window, in x units) shaded.
pub fn timeline(title: &str, y_label: &str, series: &[Series], band: (f64, f64)) -> String {
    let mut svg = String::new();
    let x = "seconds into the measured window";
    if let Err(e) = draw_lines(
        &mut svg,
        title,
        x,
        y_label,
        series,
        false,
        false,
        Some(band),
        &[],
    ) {
        return empty(title, &e.to_string());
    }
    svg
}

/// Lines over named, evenly spaced x positions (point `i` of a series at `x = i`, labelled
/// `names[i]`: percentiles, say) on a logarithmic y axis.
pub fn named_x(title: &str, y_label: &str, names: &[&str], series: &[Series]) -> String {
    let mut svg = String::new();
    if let Err(e) = draw_lines(
        &mut svg, title, "", y_label, series, true, false, None, names,
    ) {
        return empty(title, &e.to_string());
    }
    svg
}

fn bounds(series: &[Series]) -> Option<(f64, f64, f64, f64)> {
    let pts: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| {
            s.points
                .iter()
                .copied()
                .chain(s.band.iter().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]))
        })
        .filter(|p| p.1.is_finite())
        .collect();
    if pts.is_empty() {
        return None;
    }
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in pts {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    Some((x0, x1, y0, y1))
}

/// Line charts' size: the report's column is about 970 px wide, so they show at their own size.
pub(super) const LINES_SIZE: (u32, u32) = (940, 440);
/// The strip at the right of a line chart that holds its legend, clear of the data.
const LEGEND_WIDTH: u32 = 190;

/// How a legend entry is drawn.
enum Mark {
    Line(RGBColor),
    Dashed(RGBColor),
    Area(RGBAColor),
}

/// An axis value as a person writes it: `500`, not `500.0`; `2.5`; `0.25`.
pub(super) fn tick(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        let t = format!("{v:.3}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_lines(
    svg: &mut String,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
    diagonal: bool,
    band: Option<(f64, f64)>,
    x_names: &[&str],
) -> DrawResult {
    let (x0, x1, y0, y1) = bounds(series).ok_or("no data")?;
    // The x range: a margin each side of named positions; 5% each side of numbers.
    let (x_lo, x1) = if !x_names.is_empty() {
        (-0.25, x_names.len() as f64 - 0.75)
    } else if x1 > x0 {
        (x0 * 0.95, x1 * 1.05)
    } else {
        (x0 * 0.95, x0 + 1.0)
    };
    let x_tick = |v: &f64| {
        if x_names.is_empty() {
            return tick(*v);
        }
        let i = v.round();
        match x_names.get(i as usize) {
            Some(name) if (v - i).abs() < 0.05 && i >= 0.0 => (*name).to_string(),
            _ => String::new(),
        }
    };
    let x_ticks = if x_names.is_empty() {
        10
    } else {
        x_names.len()
    };
    let root = SVGBackend::with_string(svg, LINES_SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let (plot_area, legend_area) = root.split_horizontally(LINES_SIZE.0 - LEGEND_WIDTH);
    let mut builder = ChartBuilder::on(&plot_area);
    builder
        .margin(12)
        .x_label_area_size(46)
        .y_label_area_size(64);
    let mut legend: Vec<(String, Mark)> = Vec::new();
    macro_rules! plot {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(x_label)
                .y_desc(y_label)
                .x_labels(x_ticks)
                .x_label_formatter(&x_tick)
                .y_label_formatter(&|v| tick(*v))
                .label_style(("sans-serif", 16))
                .axis_desc_style(("sans-serif", 17))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()?;
            if let Some((a, b)) = band {
                let shade = RGBColor(220, 40, 40);
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(a, 0.0), (b, y1 * 1.1)],
                    shade.mix(0.12).filled(),
                )))?;
                legend.push(("fault window".into(), Mark::Area(shade.mix(0.3))));
            }
            if diagonal {
                chart.draw_series(LineSeries::new([(x0, x0), (x1, x1)], BLACK.mix(0.3)))?;
                legend.push((
                    "offered = achieved".into(),
                    Mark::Line(RGBColor(170, 170, 170)),
                ));
            }
            for s in series.iter().filter(|s| s.band.len() >= 2) {
                // The interval as a translucent band: up along the highs, back along the lows.
                let c = colour(s.label.split_whitespace().next().unwrap_or(""));
                let outline: Vec<(f64, f64)> = s
                    .band
                    .iter()
                    .map(|&(x, _, hi)| (x, hi))
                    .chain(s.band.iter().rev().map(|&(x, lo, _)| (x, lo)))
                    .collect();
                chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.15).filled())))?;
            }
            for s in series {
                let c = colour(s.label.split_whitespace().next().unwrap_or(""));
                if s.secondary {
                    // Secondary series (p50 beside p99, say) are told apart by line style and
                    // hollow markers as well as by width, so they survive a grey-scale print.
                    let style = c.mix(0.8).stroke_width(1);
                    chart.draw_series(DashedLineSeries::new(
                        s.points.iter().copied(),
                        5,
                        4,
                        style,
                    ))?;
                    chart.draw_series(
                        s.points
                            .iter()
                            .map(|&p| Circle::new(p, 3, c.stroke_width(1))),
                    )?;
                    legend.push((s.label.clone(), Mark::Dashed(c)));
                } else {
                    chart.draw_series(LineSeries::new(
                        s.points.iter().copied(),
                        c.stroke_width(2),
                    ))?;
                    chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
                    legend.push((s.label.clone(), Mark::Line(c)));
                }
            }
        }};
    }
    if log_y {
        let lo = (y0 * 0.8).max(1e-3);
        plot!(builder.build_cartesian_2d(x_lo..x1, (lo..y1 * 1.25).log_scale())?);
    } else {
        plot!(builder.build_cartesian_2d(x_lo..x1, 0.0..y1 * 1.1)?);
    }
    draw_legend(&legend_area, &legend)?;
    root.present()?;
    Ok(())
}

/// The legend, one entry a row from the top of its strip (as many as fit).
fn draw_legend(
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    entries: &[(String, Mark)],
) -> DrawResult {
    let rows = (area.dim_in_pixel().1 as i32 - 24) / 19;
    for (i, (label, mark)) in entries.iter().take(rows.max(0) as usize).enumerate() {
        let y = 24 + 19 * i as i32;
        match mark {
            Mark::Line(c) => {
                area.draw(&PathElement::new(vec![(6, y), (30, y)], c.stroke_width(3)))?;
            }
            Mark::Dashed(c) => area.draw(&DashedPathElement::new(
                vec![(6, y), (30, y)],
                4,
                3,
                c.mix(0.8).stroke_width(1),
            ))?,
            Mark::Area(c) => area.draw(&Rectangle::new([(10, y - 6), (26, y + 6)], c.filled()))?,
        }
        area.draw(&Text::new(
            label.clone(),
            (36, y - 7),
            ("sans-serif", 16).into_font().color(&BLACK),
        ))?;
    }
    Ok(())
}

/// A placeholder saying why a chart has nothing to show.
pub(super) fn empty(title: &str, why: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"80\"><text x=\"10\" y=\"30\" font-family=\"sans-serif\" font-size=\"18\">{}</text><text x=\"10\" y=\"60\" font-family=\"sans-serif\" font-size=\"14\">no data: {}</text></svg>",
        crate::report::escape(title),
        crate::report::escape(why)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_chart_renders_its_title_and_every_series() {
        let s = |label: &str, k: f64| Series {
            label: label.into(),
            points: vec![(100.0, k), (200.0, 2.0 * k)],
            secondary: false,
            band: Vec::new(),
        };
        let svg = lines(
            "p99 vs load",
            "offered",
            "ms",
            &[s("grpc", 1.0), s("rest-h1", 1.5)],
            true,
            false,
        );
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("p99 vs load") && svg.contains("grpc") && svg.contains("rest-h1"));
        let bar = bars(
            "cpu",
            "µs",
            &["orders".into()],
            &[("grpc".into(), vec![3.0])],
        );
        assert!(bar.contains("<rect") && bar.contains("orders"));
        let stacked = stacked_bars(
            "cpu split",
            "µs",
            ("core", "rest"),
            &["orders".into(), "payments".into()],
            &[("grpc".into(), vec![(50.0, 100.0), (20.0, 80.0)])],
        );
        assert!(stacked.contains("grpc: core") && stacked.contains("grpc: rest"));
        assert!(stacked.matches("<rect").count() >= 4);
        assert!(lines("nothing", "x", "y", &[], false, false).contains("no data"));
        // The legend stands in its own strip, right of the plotted data.
        let x: f64 = svg
            .split("<text x=\"")
            .skip(1)
            .find(|t| t.split("</text>").next().unwrap_or("").contains("rest-h1"))
            .and_then(|t| t.split('"').next()?.parse().ok())
            .expect("a legend entry for rest-h1");
        assert!(
            x >= f64::from(LINES_SIZE.0 - LEGEND_WIDTH),
            "legend at x = {x}"
        );
    }

    #[test]
    fn named_positions_are_labelled_by_name() {
        let s = Series {
            label: "grpc".into(),
            points: vec![(0.0, 1.0), (1.0, 2.0), (2.0, 5.0), (3.0, 9.0), (4.0, 12.0)],
            secondary: false,
            band: Vec::new(),
        };
        let svg = named_x(
            "spectrum",
            "ms",
            &["p50", "p90", "p99", "p99.9", "max"],
            &[s],
        );
        for name in ["p50", "p90", "p99", "p99.9", "max"] {
            assert!(
                svg.split("<text").any(|t| t
                    .split("</text>")
                    .next()
                    .unwrap_or("")
                    .trim()
                    .ends_with(name)),
                "{name} not on the axis"
            );
        }
    }

    #[test]
    fn axis_values_read_as_people_write_them() {
        assert_eq!(tick(500.0), "500");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(1e-4), "0");
    }
}
