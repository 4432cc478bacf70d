//! OmniPlug's schema as ordered sea-orm migrations. Every migration runs on SQLite and
//! PostgreSQL (both are exercised up and down by `core/tests/it/schema.rs`), so only
//! portable schema helpers are used, no raw SQL.
#![forbid(unsafe_code)]

pub use sea_orm_migration::prelude::*;

mod idens;
mod m20261122_000001_identity;
mod m20261122_000002_connections;
mod m20261122_000003_publishing;
mod m20261122_000004_last_workspace;
mod m20261122_000005_connect_flows;
mod m20261122_000006_engine;
mod m20261122_000007_media;
mod m20261203_000008_poll_index;

/// Runs OmniPlug's migrations in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_identity::Migration),
            Box::new(m20261122_000002_connections::Migration),
            Box::new(m20261122_000003_publishing::Migration),
            Box::new(m20261122_000004_last_workspace::Migration),
            Box::new(m20261122_000005_connect_flows::Migration),
            Box::new(m20261122_000006_engine::Migration),
            Box::new(m20261122_000007_media::Migration),
            Box::new(m20261203_000008_poll_index::Migration),
        ]
    }
}
