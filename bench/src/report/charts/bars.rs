//! Grouped bars over categories (one bar per series, optionally split into two parts), as wide
//! as the line charts, their legend in the headroom above the bars.

use plotters::prelude::*;

use super::{DrawResult, LINES_SIZE, colour, empty, tick};

/// Grouped bars: for each category, one bar per series.
pub fn bars(
    title: &str,
    y_label: &str,
    categories: &[String],
    series: &[(String, Vec<f64>)],
) -> String {
    let whole: Vec<(String, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(label, v)| (label.clone(), v.iter().map(|&x| (x, 0.0)).collect()))
        .collect();
    let mut svg = String::new();
    if let Err(e) = draw_bars(&mut svg, title, y_label, None, categories, &whole) {
        return empty(title, &e.to_string());
    }
    svg
}

/// Grouped stacked bars: for each category, one bar per series, each bar split into a solid
/// lower part and a lighter upper part (e.g. the core's CPU and everything else), named `parts`.
pub fn stacked_bars(
    title: &str,
    y_label: &str,
    parts: (&str, &str),
    categories: &[String],
    series: &[(String, Vec<(f64, f64)>)],
) -> String {
    let mut svg = String::new();
    if let Err(e) = draw_bars(&mut svg, title, y_label, Some(parts), categories, series) {
        return empty(title, &e.to_string());
    }
    svg
}

fn draw_bars(
    svg: &mut String,
    title: &str,
    y_label: &str,
    parts: Option<(&str, &str)>,
    categories: &[String],
    series: &[(String, Vec<(f64, f64)>)],
) -> DrawResult {
    let top = series
        .iter()
        .flat_map(|(_, v)| v.iter().map(|(a, b)| a + b))
        .fold(0.0f64, f64::max);
    if categories.is_empty() || series.is_empty() || top <= 0.0 {
        return Err("no data".into());
    }
    // Room above the bars for the legend (about 18 px an entry, two a series when the bars are
    // split, in a plot about 330 px high), and room along the axis for every category's label.
    let entries = series.len() * if parts.is_some() { 2 } else { 1 };
    let headroom = 1.0 / (1.0 - ((entries * 18 + 20) as f64 / 330.0).min(0.6));
    let n = series.len() as f64;
    let width = LINES_SIZE.0.max(80 * categories.len() as u32);
    let root = SVGBackend::with_string(svg, (width, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..categories.len() as f64, 0.0..top * headroom)?;
    let cats = categories.to_vec();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(categories.len() * 2 + 1)
        .x_label_formatter(&move |x| {
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 0.26 {
                cats.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc(y_label)
        .y_label_formatter(&|v| tick(*v))
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 17))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    for (k, (label, values)) in series.iter().enumerate() {
        let c = colour(label);
        let width = 0.8 / n;
        let x0 = |i: usize| i as f64 + 0.1 + width * k as f64;
        let (lower_name, upper_name) = match parts {
            Some((lo, up)) => (format!("{label}: {lo}"), Some(format!("{label}: {up}"))),
            None => (label.clone(), None),
        };
        chart
            .draw_series(values.iter().enumerate().map(|(i, &(lower, _))| {
                Rectangle::new([(x0(i), 0.0), (x0(i) + width * 0.92, lower)], c.filled())
            }))?
            .label(lower_name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        // A series with nothing above its lower parts (in-process: no process of its own per
        // service) gets no second legend entry.
        if let Some(name) = upper_name.filter(|_| values.iter().any(|&(_, upper)| upper > 0.0)) {
            let light = c.mix(0.35);
            chart
                .draw_series(values.iter().enumerate().map(|(i, &(lower, upper))| {
                    Rectangle::new(
                        [(x0(i), lower), (x0(i) + width * 0.92, lower + upper)],
                        light.filled(),
                    )
                }))?
                .label(name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], light.filled())
                });
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.2))
        .label_font(("sans-serif", 16))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}
