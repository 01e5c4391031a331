//! The event generator: seed 000's order records (customer, product, quantity, logistics
//! centre, sales channel, value) with Brazilian names, reproducible from a seed, with a share of
//! exact repeats of earlier events and a share of invalid ones, so an import has both to count.

use fake::Fake;
use fake::faker::name::raw::Name;
use fake::locales::PT_BR;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{CANAIS, Evento};
use crate::codes::CITIES;
use crate::datagen::PRODUCTS;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventsConfig {
    /// Seed of every draw.
    pub seed: u64,
    /// Share of events that repeat an earlier valid one exactly (same id).
    pub repeat_rate: f64,
    /// Share of events that are invalid (a field out of its rules).
    pub invalid_rate: f64,
    /// Emission time of the first event (µs since the epoch), each next one a millisecond
    /// later; 0 leaves every event's at 0, for the sending client to stamp.
    pub start_us: i64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            repeat_rate: 0.02,
            invalid_rate: 0.001,
            start_us: 0,
        }
    }
}

/// How many earlier events a repeat draws from.
const REMEMBERED: usize = 4_096;

/// An endless sequence of events; [`EventGen::expected`] says what a sink that received all of
/// them so far must hold.
pub struct EventGen {
    cfg: EventsConfig,
    rng: StdRng,
    n: u64,
    recent: Vec<Evento>,
    distinct_valid: u64,
    digest: u64,
}

impl EventGen {
    /// A generator; events are named `ev-<seed>-<n>`.
    pub fn new(cfg: EventsConfig) -> Self {
        Self {
            cfg,
            rng: StdRng::seed_from_u64(cfg.seed),
            n: 0,
            recent: Vec::with_capacity(REMEMBERED),
            distinct_valid: 0,
            digest: 0,
        }
    }

    /// Distinct valid events generated so far and the wrapping sum of their digests.
    pub fn expected(&self) -> (u64, u64) {
        (self.distinct_valid, self.digest)
    }

    fn fresh(&mut self) -> Evento {
        let rng = &mut self.rng;
        let (produto, _) = PRODUCTS[rng.random_range(0..PRODUCTS.len())];
        let quantidade = match rng.random_range(0..100) {
            0..50 => 1,
            50..75 => 2,
            75..95 => rng.random_range(3..=5),
            _ => rng.random_range(6..=10),
        };
        let unit = rng.random_range(500..200_000i64);
        let canal = match rng.random_range(0..100) {
            0..45 => CANAIS[0],
            45..75 => CANAIS[1],
            75..90 => CANAIS[2],
            90..97 => CANAIS[3],
            _ => CANAIS[4],
        };
        let emitido_em_us = if self.cfg.start_us == 0 {
            0
        } else {
            self.cfg.start_us + self.n as i64 * 1_000
        };
        Evento {
            id_evento: format!("ev-{}-{:08}", self.cfg.seed, self.n),
            cliente: Name(PT_BR).fake_with_rng(rng),
            produto: produto.to_owned(),
            quantidade,
            centro_logistico: CITIES[rng.random_range(0..CITIES.len())].0.to_owned(),
            canal_venda: canal.to_owned(),
            valor_centavos: unit * quantidade,
            emitido_em_us,
        }
    }
}

impl Iterator for EventGen {
    type Item = Evento;

    fn next(&mut self) -> Option<Evento> {
        let draw: f64 = self.rng.random();
        let e = if draw < self.cfg.repeat_rate && !self.recent.is_empty() {
            let i = self.rng.random_range(0..self.recent.len());
            self.recent[i].clone()
        } else if draw < self.cfg.repeat_rate + self.cfg.invalid_rate {
            let mut e = self.fresh();
            match self.rng.random_range(0..3) {
                0 => e.quantidade = 0,
                1 => e.canal_venda = "fax".into(),
                _ => e.cliente = String::new(),
            }
            e
        } else {
            let e = self.fresh();
            self.distinct_valid += 1;
            self.digest = self.digest.wrapping_add(e.digest());
            if self.recent.len() < REMEMBERED {
                self.recent.push(e.clone());
            } else {
                let i = (self.n as usize) % REMEMBERED;
                self.recent[i] = e.clone();
            }
            e
        };
        self.n += 1;
        Some(e)
    }
}

/// Writes `count` events as an import file (the CSV header, then a line each) to `path`;
/// returns what a sink that imported it must hold ([`EventGen::expected`]).
pub fn write_csv(
    path: &std::path::Path,
    count: u64,
    cfg: EventsConfig,
) -> std::io::Result<(u64, u64)> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(out, "{}", super::csv::HEADER)?;
    let mut g = EventGen::new(cfg);
    for e in g.by_ref().take(count as usize) {
        writeln!(out, "{}", super::csv::format_line(&e))?;
    }
    out.flush()?;
    Ok(g.expected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn repeats_and_invalid_events_come_at_their_rates_and_expected_counts_the_rest() {
        let cfg = EventsConfig {
            repeat_rate: 0.05,
            invalid_rate: 0.02,
            ..EventsConfig::default()
        };
        let mut g = EventGen::new(cfg);
        let events: Vec<Evento> = g.by_ref().take(20_000).collect();
        let mut seen = HashSet::new();
        let (mut repeats, mut invalid, mut digest) = (0, 0, 0u64);
        for e in &events {
            if e.invalid_reason().is_some() {
                invalid += 1;
            } else if !seen.insert(e.id_evento.clone()) {
                repeats += 1;
            } else {
                digest = digest.wrapping_add(e.digest());
            }
        }
        assert!((800..1_200).contains(&repeats), "{repeats} repeats");
        assert!((300..500).contains(&invalid), "{invalid} invalid");
        assert_eq!(g.expected(), (seen.len() as u64, digest));
        let again: Vec<Evento> = EventGen::new(cfg).take(100).collect();
        assert_eq!(again, events[..100], "the same seed gives the same events");
    }
}
