//! Profiles: what a run measures and for how long. `smoke` fits in a minute for CI, `default` in
//! five on a 2-core machine, `full` is a study.

use std::time::Duration;

use checkout_core::ServiceName;
use checkout_core::admission::Admission;

use super::knee::KneeSpec;

/// One scenario's load shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Open loop at each offered rate (requests/s), from light to past saturation.
    Open(Vec<f64>),
    /// Closed loop with each number of clients in flight.
    Closed(Vec<usize>),
    /// Steady open loop at `rate`; the service is killed (SIGKILL) after `before`, restarted on
    /// its port and database after `down`, and the load goes on for `after`.
    Kill {
        /// Service to kill.
        service: ServiceName,
        /// Offered checkouts/s.
        rate: f64,
        /// Load before the kill.
        before: Duration,
        /// Time down.
        down: Duration,
        /// Load after the restart.
        after: Duration,
    },
    /// Closed loop of `clients` against a stack whose `service` takes `extra` longer per call.
    Slow {
        /// Service made slow.
        service: ServiceName,
        /// Extra time per call.
        extra: Duration,
        /// Clients in flight.
        clients: usize,
    },
    /// Open loop at `low` × the target's knee for `before`, `high` × the knee for `burst`, then
    /// `low` × the knee again for `calm`.
    Overload {
        /// Factor of the knee during the burst.
        high: f64,
        /// Factor of the knee before and after it.
        low: f64,
        /// Measured calm before the burst (the p99 recovery is judged against).
        before: Duration,
        /// Length of the burst.
        burst: Duration,
        /// Length of the calm after it.
        calm: Duration,
        /// `None`: the services admit as the run says. `Some`: a separate copy of each target
        /// whose services admit this way (`off`: the comparison without load shedding).
        admission: Option<Admission>,
    },
    /// Every networked target's catalog listing (and REST/1.1's checkout) driven by wrk or h2load
    /// and by our engine, at 1 and 16 clients.
    Crosscheck,
    /// Every networked target's services sampled by `perf` under `clients` closed-loop
    /// checkouts for `window`, drawn as flame graphs.
    CpuProfile {
        /// Clients in flight.
        clients: usize,
        /// Load (and sampling) per target.
        window: Duration,
    },
    /// Closed loop of `clients` on fresh copies of every networked target as the run sets it up,
    /// with one worker per service process, and with one core per service process.
    Scaling {
        /// Clients in flight.
        clients: usize,
    },
    /// Closed loop at 1 and `clients` on fresh copies of every networked target in the clear, over
    /// TLS and over mutual TLS (`tls::VARIANTS`).
    Tls {
        /// Clients in flight at the throughput step.
        clients: usize,
    },
    /// Closed loop at 1 and `clients` on fresh copies of every networked target behind each
    /// link profile (`links::LINKS`).
    Links {
        /// Clients in flight at the throughput step.
        clients: usize,
        /// The link profiles, each with the scenario name its runs are recorded under.
        profiles: &'static [(&'static str, &'static str)],
        /// The shortest trial: long against a request's time behind the slowest link, so each
        /// trial holds enough requests and few are cut off at its end.
        min_trial: Duration,
    },
    /// The ingestion sink of every transport: the seed's call patterns at each number of
    /// clients, and a file import.
    Ingest(super::ingest::IngestSpec),
}

impl Shape {
    /// Steps the shape runs per target.
    pub fn steps(&self) -> usize {
        match self {
            Shape::Open(r) => r.len(),
            Shape::Closed(c) => c.len(),
            Shape::Kill { .. } | Shape::Slow { .. } | Shape::Overload { .. } => 1,
            Shape::Crosscheck | Shape::CpuProfile { .. } => 0,
            Shape::Scaling { .. } => {
                let c = &super::scaling::SCALING;
                c.len() + c.iter().filter(|c| c.light).count()
            }
            Shape::Links { profiles, .. } => 2 * profiles.len(),
            Shape::Tls { .. } => 2 * super::tls::VARIANTS.len(),
            Shape::Ingest(spec) => {
                spec.patterns.len() * spec.clients.len() + usize::from(spec.import.is_some())
            }
        }
    }
}

/// What a scenario sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// A checkout through the whole chain.
    Checkout,
    /// A full catalog listing (Catalog → Inventory).
    Catalog,
    /// Events to the ingestion sink (not the checkout's services).
    Ingest,
}

/// A scenario of a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Name in the report and results (`checkout-open`, ...).
    pub name: &'static str,
    /// What is sent.
    pub request: Request,
    /// Products in the catalog this scenario runs against (the seed's 30, or 1,000).
    pub products: usize,
    /// Load shape.
    pub shape: Shape,
}

/// A whole profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Its name.
    pub name: &'static str,
    /// Warm-up discarded at the start of every fault step.
    pub warmup: Duration,
    /// Measured time of the slow-service step.
    pub step: Duration,
    /// Interleaved trials of every sweep step.
    pub trials: usize,
    /// Interleaved trials of the lightest open-loop checkout step instead (at least `trials`):
    /// the light-load verdict rests on it, and its two best stacks can sit near the verdict's
    /// threshold.
    pub light_trials: usize,
    /// Warm-up discarded at the start of every trial.
    pub trial_warmup: Duration,
    /// Measured time of every trial.
    pub trial: Duration,
    /// Fewest requests an open-loop trial is meant to hold: at a light rate its window is
    /// stretched to hold them, so each trial's median rests on enough requests (0: no minimum).
    pub trial_requests: u64,
    /// How each target's knee is searched (none: only the sweep's rates).
    pub knee: Option<KneeSpec>,
    /// Scenarios in order.
    pub scenarios: Vec<Scenario>,
    /// p99 objective defining the knee.
    pub slo_p99: Duration,
}

impl Profile {
    /// A trial's measured window: at an open loop's `rate`, long enough for the profile's
    /// fewest requests; in a closed loop (`None`), the profile's trial.
    pub fn trial_window(&self, rate: Option<f64>) -> Duration {
        match rate {
            Some(r) if self.trial_requests > 0 && r > 0.0 => self
                .trial
                .max(Duration::from_secs_f64(self.trial_requests as f64 / r)),
            _ => self.trial,
        }
    }

    /// Trials of an open-loop step of `request` at `rate` in a sweep over `rates`: the lightest
    /// checkout rate carries the light-load verdict and runs `light_trials` (at least `trials`).
    pub fn trials_at(&self, request: Request, rates: &[f64], rate: f64) -> usize {
        match request {
            Request::Checkout if rates.iter().all(|&r| rate <= r) => {
                self.light_trials.max(self.trials)
            }
            _ => self.trials,
        }
    }

    /// Looks a profile up by name.
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "smoke" => Some(Self::smoke()),
            "default" => Some(Self::default_profile()),
            "full" => Some(Self::full()),
            _ => None,
        }
    }

    /// Under a minute, for CI.
    fn smoke() -> Self {
        use super::named::*;
        Self {
            name: "smoke",
            warmup: Duration::from_millis(300),
            step: Duration::from_millis(1200),
            trials: 3,
            light_trials: 3,
            trial_warmup: Duration::from_millis(80),
            trial: Duration::from_millis(250),
            trial_requests: 0,
            knee: None,
            scenarios: vec![
                checkout(&[100.0, 400.0]),
                closed(&[1, 16]),
                catalog("catalog-30", 30, 8),
                kill(800, 1000, 1600, 150.0),
                ingest(&[], 3, Duration::from_millis(100)),
            ],
            slo_p99: Duration::from_millis(50),
        }
    }

    /// Five minutes on a 2-core machine: trials are spent on the steps the verdicts read and on
    /// the knee, the curve between them is drawn from fewer points.
    fn default_profile() -> Self {
        use super::named::*;
        Self {
            name: "default",
            warmup: Duration::from_millis(500),
            step: Duration::from_millis(1500),
            // Six trials: the narrowest order-statistic interval of the median that covers 95%
            // (five reach 93.75% at most), and Mann–Whitney can separate two at p = 0.002.
            trials: 6,
            // Ten at the light-load step: REST/1.1 and REST/2 sat 1.18–1.24× apart there in four
            // runs, and six trials' interval crossed the 10% threshold in two of them (one
            // disturbed trial widens it that far); ten narrow it and cost about 12 s.
            light_trials: 10,
            trial_warmup: Duration::from_millis(60),
            trial: Duration::from_millis(250),
            // At 200/s a 0.25 s trial would hold 50 checkouts: the light-load verdict's medians
            // rest on 100 each instead.
            trial_requests: 100,
            knee: Some(KneeSpec {
                max_probes: 4,
                width: 1.10,
            }),
            scenarios: vec![
                checkout(&[200.0, 1000.0, 2000.0, 4000.0]),
                closed(&[1, 16, 64]),
                catalog("catalog-30", 30, 16),
                kill(1000, 1000, 1500, 300.0),
                slow(16),
                overload(1500, 1500, false),
                overload(1500, 1000, true),
                catalog("catalog-1000", 1000, 16),
                ingest(&[1, 20], 5, Duration::from_millis(120)),
                links_region(),
            ],
            slo_p99: Duration::from_millis(50),
        }
    }

    /// A study.
    fn full() -> Self {
        use super::named::*;
        Self {
            name: "full",
            warmup: Duration::from_secs(3),
            step: Duration::from_secs(15),
            trials: 10,
            light_trials: 10,
            trial_warmup: Duration::from_millis(300),
            trial: Duration::from_secs(2),
            trial_requests: 0,
            knee: Some(KneeSpec {
                max_probes: 8,
                width: 1.05,
            }),
            scenarios: vec![
                checkout(&[
                    250.0, 500.0, 1000.0, 1500.0, 2000.0, 2500.0, 3000.0, 4000.0, 5000.0, 6000.0,
                    8000.0,
                ]),
                closed(&[1, 2, 4, 8, 16, 32, 64, 128]),
                catalog("catalog-30", 30, 16),
                kill(5000, 5000, 10_000, 500.0),
                slow(16),
                overload(10_000, 10_000, false),
                overload(10_000, 5_000, true),
                catalog("catalog-1000", 1000, 16),
                scaling(),
                links(),
                links_catalog(),
                tls(),
                crosscheck(),
                ingest(&[1, 4, 20], 6, Duration::from_secs(1)),
            ],
            slo_p99: Duration::from_millis(50),
        }
    }

    /// Makes the kill scenario kill `service` (its name becomes `kill-SERVICE`); refuses a
    /// service outside the checkout chain.
    pub fn kill_service(&mut self, service: ServiceName) -> Result<(), String> {
        let name = match service {
            ServiceName::Orders => "kill-orders",
            ServiceName::Payments => "kill-payments",
            ServiceName::Inventory => "kill-inventory",
            ServiceName::Fiscal => "kill-fiscal",
            ServiceName::Logistics => "kill-logistics",
            ServiceName::Catalog => {
                return Err("catalog is not on the checkout chain; kill orders, payments, inventory, fiscal or logistics".into());
            }
        };
        for s in &mut self.scenarios {
            if let Shape::Kill {
                service: victim, ..
            } = &mut s.shape
            {
                *victim = service;
                s.name = name;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_lightest_checkout_rate_runs_the_light_load_trials() {
        let p = Profile::named("default").unwrap();
        assert!(p.light_trials > p.trials);
        let rates = [1000.0, 200.0, 4000.0];
        assert_eq!(
            p.trials_at(Request::Checkout, &rates, 200.0),
            p.light_trials
        );
        assert_eq!(p.trials_at(Request::Checkout, &rates, 1000.0), p.trials);
        // Not a checkout: the profile's count.
        assert_eq!(p.trials_at(Request::Catalog, &rates, 200.0), p.trials);
        let smoke = Profile::named("smoke").unwrap();
        assert_eq!(
            smoke.trials_at(Request::Checkout, &rates, 200.0),
            smoke.light_trials.max(smoke.trials)
        );
    }

    #[test]
    fn smoke_fits_in_a_minute_and_default_in_five() {
        // The measured time: steps × targets × (warm-up + step); five targets (the in-process
        // one included) where it takes part, four where it does not (faults, links) or there are
        // four sinks (ingest). Starting the targets, the import and the pauses after saturated
        // trials come on top, about 16 s: the default profile took 282 and 284 s in two runs
        // against this model's 267 s (271 s against 255 s with six trials at the lightest rate),
        // so the model keeps under 280 s for a run to keep under 300.
        let budget = |p: &Profile| {
            p.scenarios
                .iter()
                .map(|s| {
                    let each = match &s.shape {
                        Shape::Kill {
                            before,
                            down,
                            after,
                            ..
                        } => (*before + *down + *after).as_secs_f64(),
                        Shape::Overload {
                            before,
                            burst,
                            calm,
                            ..
                        } => (*before + *burst + *calm).as_secs_f64(),
                        Shape::Slow { .. } => p.step.as_secs_f64(),
                        Shape::Crosscheck | Shape::Scaling { .. } | Shape::Tls { .. } => 0.0,
                        Shape::CpuProfile { window, .. } => window.as_secs_f64(),
                        // Trials of every copy, each at least the scenario's minimum long.
                        Shape::Links { min_trial, .. } => {
                            p.trials as f64
                                * (p.trial_warmup + p.trial.max(*min_trial)).as_secs_f64()
                                + p.trials as f64 * 0.05
                                - p.warmup.as_secs_f64()
                        }
                        // Trials of every target, no warm-up; the import is left out (seconds).
                        Shape::Ingest(spec) => {
                            spec.trials as f64 * spec.trial.as_secs_f64() - p.warmup.as_secs_f64()
                        }
                        // Trials, each with its warm-up and a pause after it (open loops: the
                        // mean over their rates, the lightest checkout rate with its own count).
                        Shape::Open(rates) => {
                            rates
                                .iter()
                                .map(|&r| {
                                    p.trials_at(s.request, rates, r) as f64
                                        * ((p.trial_warmup + p.trial_window(Some(r)))
                                            .as_secs_f64()
                                            + 0.05)
                                })
                                .sum::<f64>()
                                / rates.len() as f64
                                - p.warmup.as_secs_f64()
                        }
                        Shape::Closed(_) => {
                            p.trials as f64
                                * (p.trial_warmup + p.trial).as_secs_f64()
                                + p.trials as f64 * 0.05
                                - p.warmup.as_secs_f64()
                        }
                    };
                    let targets = match s.shape {
                        Shape::Kill { .. } | Shape::Links { .. } | Shape::Ingest(_) => 4,
                        _ => 5,
                    };
                    (s.shape.steps() * targets) as f64 * (p.warmup.as_secs_f64() + each)
                })
                .sum::<f64>()
                // The knee search: every probe of every target.
                + p.knee.map_or(0.0, |k| {
                    (k.max_probes * 5) as f64
                        * p.trials as f64
                        * ((p.trial_warmup + p.trial).as_secs_f64() + 0.05)
                })
        };
        assert!(budget(&Profile::named("smoke").unwrap()) < 50.0);
        let b = budget(&Profile::named("default").unwrap());
        assert!(b < 280.0, "default budget {b:.0} s");
        assert!(Profile::named("nope").is_none());
    }
}
