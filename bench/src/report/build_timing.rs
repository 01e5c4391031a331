//! What a stack costs to build, read from cargo's own record: `cargo build --timings` writes
//! `target/cargo-timings/cargo-timing.html`, whose `UNIT_DATA` holds every compilation unit with
//! its duration and whose summary says how many units were fresh (already built). A build with no
//! fresh unit was clean; its units' durations say where the build time goes.

use std::collections::BTreeMap;
use std::path::Path;

/// One `cargo build --timings` record.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// Units that were already built (0: a clean build).
    pub fresh: usize,
    /// Seconds of compilation per package (its units summed: lib, build script, bin).
    pub seconds: BTreeMap<String, f64>,
}

impl Timing {
    /// Seconds of every unit together (more than the wall time when units ran in parallel).
    pub fn total(&self) -> f64 {
        self.seconds.values().sum()
    }
}

/// Reads cargo's latest timing record under `target_dir`, if there is one.
pub fn read(target_dir: &Path) -> Option<Timing> {
    parse(&std::fs::read_to_string(target_dir.join("cargo-timings/cargo-timing.html")).ok()?)
}

/// Parses a `cargo-timing.html`.
pub fn parse(html: &str) -> Option<Timing> {
    let start = html.find("const UNIT_DATA = ")? + "const UNIT_DATA = ".len();
    let mut de = serde_json::Deserializer::from_str(&html[start..]);
    let units: Vec<serde_json::Value> = serde::Deserialize::deserialize(&mut de).ok()?;
    let mut seconds = BTreeMap::new();
    for u in &units {
        let (Some(name), Some(d)) = (u["name"].as_str(), u["duration"].as_f64()) else {
            continue;
        };
        *seconds.entry(name.to_owned()).or_insert(0.0) += d;
    }
    let fresh = html
        .split("Fresh units:</td><td>")
        .nth(1)?
        .split('<')
        .next()?
        .trim()
        .parse()
        .ok()?;
    Some(Timing { fresh, seconds })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_summed_per_package_and_a_build_without_fresh_units_is_clean() {
        let html = r#"<td>Fresh units:</td><td>0</td>
<script>
const UNIT_DATA = [
  {"i": 1, "name": "tonic", "version": "0.14.0", "mode": "todo", "target": "", "duration": 12.5},
  {"i": 2, "name": "tonic", "version": "0.14.0", "mode": "run-custom-build", "target": " build script", "duration": 0.5},
  {"i": 3, "name": "serde", "version": "1.0.0", "mode": "todo", "target": "", "duration": 4.0}
];
const CONCURRENCY_DATA = [];
</script>"#;
        let t = parse(html).unwrap();
        assert_eq!(t.fresh, 0);
        assert_eq!(t.seconds["tonic"], 13.0);
        assert_eq!(t.total(), 17.0);
        assert!(parse("<html>no timing here</html>").is_none());
    }
}
