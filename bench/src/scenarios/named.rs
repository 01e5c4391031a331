//! The scenarios by name: the constructors the profiles are made of, and those outside the
//! default profile that `--scenario NAME` or `--also NAME` adds.

use std::time::Duration;

use checkout_core::ServiceName;
use checkout_core::admission::Admission;

use super::profile::{Request, Scenario, Shape};

pub(super) fn checkout(rates: &[f64]) -> Scenario {
    Scenario {
        name: "checkout-open",
        request: Request::Checkout,
        products: 30,
        shape: Shape::Open(rates.to_vec()),
    }
}

pub(super) fn closed(clients: &[usize]) -> Scenario {
    Scenario {
        name: "checkout-closed",
        request: Request::Checkout,
        products: 30,
        shape: Shape::Closed(clients.to_vec()),
    }
}

pub(super) fn catalog(name: &'static str, products: usize, clients: usize) -> Scenario {
    Scenario {
        name,
        request: Request::Catalog,
        products,
        shape: Shape::Closed(vec![clients]),
    }
}

pub(super) fn kill(before: u64, down: u64, after: u64, rate: f64) -> Scenario {
    Scenario {
        name: "kill-payments",
        request: Request::Checkout,
        products: 30,
        shape: Shape::Kill {
            service: ServiceName::Payments,
            rate,
            before: Duration::from_millis(before),
            down: Duration::from_millis(down),
            after: Duration::from_millis(after),
        },
    }
}

pub(super) fn slow(clients: usize) -> Scenario {
    Scenario {
        name: "slow-inventory",
        request: Request::Checkout,
        products: 30,
        shape: Shape::Slow {
            service: ServiceName::Inventory,
            extra: Duration::from_millis(50),
            clients,
        },
    }
}

/// The overload burst at twice the knee, with the run's admission (`unshed`: on copies
/// that admit everything, for comparison).
pub(super) fn overload(burst: u64, calm: u64, unshed: bool) -> Scenario {
    Scenario {
        name: if unshed {
            "overload-unshed"
        } else {
            "overload"
        },
        request: Request::Checkout,
        products: 30,
        shape: Shape::Overload {
            high: 2.0,
            low: 0.5,
            before: Duration::from_secs(1),
            burst: Duration::from_millis(burst),
            calm: Duration::from_millis(calm),
            admission: unshed.then_some(Admission::Off),
        },
    }
}

/// The cross-check against wrk and h2load (in `full`; any profile runs it when it is named with
/// `--scenario crosscheck` or `--also crosscheck`).
pub fn crosscheck() -> Scenario {
    Scenario {
        name: "crosscheck",
        request: Request::Catalog,
        products: 30,
        shape: Shape::Crosscheck,
    }
}

/// CPU profiles of every networked stack (`--profile-cpu`, or `--also cpu-profile`): 16
/// closed-loop checkout clients for 2 s each under `perf`.
pub fn cpu_profile() -> Scenario {
    Scenario {
        name: "cpu-profile",
        request: Request::Checkout,
        products: 30,
        shape: Shape::CpuProfile {
            clients: 16,
            window: Duration::from_secs(2),
        },
    }
}

/// Vertical scaling: workers per process and cores allowed (in `full`; elsewhere with
/// `--scenario scaling` or `--also scaling`).
pub fn scaling() -> Scenario {
    Scenario {
        name: "scaling",
        request: Request::Checkout,
        products: 30,
        shape: Shape::Scaling { clients: 64 },
    }
}

/// Past one machine: every hop across a shaped link, for each link profile (in `full`;
/// elsewhere with `--scenario links` or `--also links`).
pub fn links() -> Scenario {
    Scenario {
        name: "links",
        request: Request::Checkout,
        products: 30,
        shape: Shape::Links {
            clients: 16,
            profiles: &super::links::LINKS,
            // A checkout across `wan` takes 200 ms or more.
            min_trial: Duration::from_secs(1),
        },
    }
}

/// Past one machine in the default profile: checkouts with every hop behind the `region` link
/// (2 ms one way) at 1 and 16 clients, trials of the profile's length (a checkout across it takes
/// about 20 ms). The `links` scenario runs it with the other links.
pub fn links_region() -> Scenario {
    Scenario {
        name: "links-region",
        request: Request::Checkout,
        products: 30,
        shape: Shape::Links {
            clients: 16,
            profiles: &super::links::REGION,
            min_trial: Duration::ZERO,
        },
    }
}

/// What TLS costs: checkouts on copies in the clear, over TLS and over mutual TLS, at 1 and 16
/// clients (in `full`; elsewhere with `--scenario tls` or `--also tls`).
pub fn tls() -> Scenario {
    Scenario {
        name: "tls",
        request: Request::Checkout,
        products: 30,
        shape: Shape::Tls { clients: 16 },
    }
}

/// The catalog of 1,000 products behind bandwidth-capped links, where the size of what each
/// wire carries decides throughput (in `full`; elsewhere with `--scenario links-catalog` or
/// `--also links-catalog`).
pub fn links_catalog() -> Scenario {
    Scenario {
        name: "links-catalog",
        request: Request::Catalog,
        products: 1000,
        // Four clients already fill a capped wire (the listing is bandwidth-bound), and keep
        // each request's time well under a trial's.
        shape: Shape::Links {
            clients: 4,
            profiles: &super::links::CATALOG_LINKS,
            min_trial: Duration::from_secs(2),
        },
    }
}

/// The ingestion sinks: every pattern at each number of `clients`, and the import of 300,000
/// events (seed 003's file); with no `clients` (`smoke`), one streaming pattern at 4 and a small
/// import. At least five trials where transports are compared: with three against three,
/// Mann–Whitney's smallest p is 0.1, so no difference could ever be called.
pub fn ingest(clients: &[usize], trials: usize, trial: Duration) -> Scenario {
    let smoke = clients.is_empty();
    let spec = super::ingest::IngestSpec {
        patterns: match smoke {
            true => vec!["stream"],
            false => super::ingest::PATTERNS.iter().map(|(p, _)| *p).collect(),
        },
        clients: if smoke { vec![4] } else { clients.to_vec() },
        trials,
        trial,
        import: Some(if smoke { 10_000 } else { 300_000 }),
    };
    Scenario {
        name: "ingest",
        request: Request::Ingest,
        products: 30,
        shape: Shape::Ingest(spec),
    }
}

/// A scenario outside the default profile, by name.
pub fn extra(name: &str) -> Option<Scenario> {
    match name {
        "ingest" => Some(ingest(&[1, 4, 20], 5, Duration::from_millis(200))),
        "crosscheck" => Some(crosscheck()),
        "cpu-profile" => Some(cpu_profile()),
        "scaling" => Some(scaling()),
        "links" => Some(links()),
        "links-region" => Some(links_region()),
        "links-catalog" => Some(links_catalog()),
        "tls" => Some(tls()),
        _ => None,
    }
}
