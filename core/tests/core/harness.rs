//! Whole in-process apps on temp directories, built from the core's testkit.

use checkout_core::admission::Admission;
use checkout_core::testkit::{Probe, init_env, request};
use checkout_core::wiring::InProcess;
use checkout_core::*;
use tempfile::TempDir;

pub use checkout_core::testkit::{PRODUCTS, SeedProduct, approving, key_where};

/// An in-process app on its own temp directory.
pub struct App {
    _dir: TempDir,
    pub env: ServiceEnv,
    pub app: InProcess,
    pub probe: Probe,
}

impl App {
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.env.data_dir.clone()
    }

    pub async fn checkout(
        &self,
        key: &str,
        customer: i64,
        items: &[(i64, i64)],
    ) -> ServiceResult<OrderView> {
        self.app
            .orders
            .place_order(CallCtx::unbounded(), request(key, customer, items))
            .await
    }

    pub fn audit(&self) -> checkout_core::audit::AuditReport {
        self.probe.audit()
    }

    pub fn count(&self, service: ServiceName, sql: &str) -> i64 {
        self.probe.int(service, sql)
    }

    pub fn total_rows(&self) -> i64 {
        self.probe.total_rows()
    }

    pub fn stock(&self, product: i64) -> i64 {
        self.probe.stock(product)
    }
}

/// A temp directory with an environment initialised from `products`.
pub fn env_with(products: &[SeedProduct], sim: Simulation) -> (TempDir, ServiceEnv) {
    let dir = TempDir::new().unwrap();
    let env = init_env(dir.path(), products, sim);
    (dir, env)
}

pub fn app_with(products: &[SeedProduct], sim: Simulation) -> App {
    app_admitting(products, sim, Admission::default())
}

/// [`app_with`], every service admitting as `admission` says.
pub fn app_admitting(products: &[SeedProduct], sim: Simulation, admission: Admission) -> App {
    let (dir, mut env) = env_with(products, sim);
    env.admission = admission;
    let app = InProcess::open(&env).unwrap();
    let probe = Probe(env.data_dir.clone());
    App {
        _dir: dir,
        env,
        app,
        probe,
    }
}

/// Default products, every payment approved.
pub fn app() -> App {
    app_with(PRODUCTS, approving())
}
