//! The six services by name, in the chain's order, with their database files and port offsets.

use serde::{Deserialize, Serialize};

/// One of the six services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceName {
    /// Pedidos.
    Orders,
    /// Pagamentos.
    Payments,
    /// Estoque.
    Inventory,
    /// Notas fiscais.
    Fiscal,
    /// Envios.
    Logistics,
    /// Catálogo.
    Catalog,
}

impl ServiceName {
    /// All six, in port order: base+0 … base+5.
    pub const ALL: [ServiceName; 6] = [
        Self::Orders,
        Self::Payments,
        Self::Inventory,
        Self::Fiscal,
        Self::Logistics,
        Self::Catalog,
    ];

    /// The checkout chain, Orders first (every service but Catalog, in call order).
    pub const CHAIN: [ServiceName; 5] = [
        Self::Orders,
        Self::Payments,
        Self::Inventory,
        Self::Fiscal,
        Self::Logistics,
    ];

    /// Position in [`ServiceName::ALL`] (the port offset).
    pub fn index(self) -> usize {
        self as usize
    }

    /// English name used on the command line and in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Orders => "orders",
            Self::Payments => "payments",
            Self::Inventory => "inventory",
            Self::Fiscal => "fiscal",
            Self::Logistics => "logistics",
            Self::Catalog => "catalog",
        }
    }

    /// Parses [`ServiceName::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.as_str() == s)
    }

    /// The service's SQLite file name in a data directory.
    pub fn db_file(self) -> &'static str {
        match self {
            Self::Orders => "pedidos.db",
            Self::Payments => "pagamentos.db",
            Self::Inventory => "estoque.db",
            Self::Fiscal => "notas_fiscais.db",
            Self::Logistics => "envios.db",
            Self::Catalog => "catalogo.db",
        }
    }

    /// The service whose database file is `file` (`pedidos.db` → Orders).
    pub fn of_db_file(file: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.db_file() == file)
    }

    /// The service this one calls next in the checkout chain (Catalog calls Inventory for stock).
    pub fn next_hop(self) -> Option<Self> {
        match self {
            Self::Orders => Some(Self::Payments),
            Self::Payments => Some(Self::Inventory),
            Self::Inventory => Some(Self::Fiscal),
            Self::Fiscal => Some(Self::Logistics),
            Self::Logistics => None,
            Self::Catalog => Some(Self::Inventory),
        }
    }
}

impl std::fmt::Display for ServiceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
