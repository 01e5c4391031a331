//! The report: a [`Document`] built once from the run's [`Results`], rendered to Markdown and to
//! self-contained HTML, with its charts written as SVG files and the raw histograms beside them.

pub mod analysis;
pub mod build_timing;
pub mod charts;
pub mod checks;
pub mod compare;
pub mod complexity;
pub mod conclusion;
pub mod cost;
pub mod coupling;
pub mod crosscheck;
pub mod diagrams;
pub mod document;
pub mod facts;
pub mod fault_figures;
pub mod figures;
pub mod findings;
#[cfg(test)]
pub(crate) mod fixture;
pub mod floor;
pub mod ingest;
pub mod links;
pub mod observability;
pub mod resilience;
pub mod scaling;
pub mod tls;
pub mod verdict;
pub mod wire;

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Serializer, V2Serializer};

use crate::results::Results;

/// Escapes text for HTML and SVG.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes `results.json`, `report.md`, `report.html`, `charts/*.svg` and `histograms/*.hdr`
/// (HdrHistogram V2, base64, one per run) into `out`.
pub fn write_all(
    out: &Path,
    results: &Results,
    histograms: &BTreeMap<String, Histogram<u64>>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(out.join("charts"))?;
    std::fs::create_dir_all(out.join("histograms"))?;
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(results)?,
    )?;
    let mut ser = V2Serializer::new();
    for (id, h) in histograms {
        let mut bytes = Vec::new();
        ser.serialize(h, &mut bytes)
            .map_err(|e| anyhow::anyhow!("serialising {id}: {e:?}"))?;
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        std::fs::write(out.join("histograms").join(format!("{id}.hdr")), text)?;
    }
    render(out, results)
}

/// Writes `report.md`, `report.html` and `charts/*.svg` from `results` into `out`.
pub fn render(out: &Path, results: &Results) -> anyhow::Result<()> {
    std::fs::create_dir_all(out.join("charts"))?;
    let figures = figures::all(results);
    for f in &figures {
        std::fs::write(out.join("charts").join(format!("{}.svg", f.name)), &f.svg)?;
    }
    let doc = analysis::document(results, &figures);
    std::fs::write(out.join("report.md"), document::markdown(&doc))?;
    std::fs::write(out.join("report.html"), document::html(&doc, &figures))?;
    Ok(())
}

/// Reads a histogram written by [`write_all`].
pub fn read_histogram(path: &Path) -> anyhow::Result<Histogram<u64>> {
    let text = std::fs::read_to_string(path)?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(text.trim())?;
    let mut de = hdrhistogram::serialization::Deserializer::new();
    de.deserialize(&mut bytes.as_slice())
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))
}
