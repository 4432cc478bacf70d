//! OmniPlug's domain core: typed configuration, the database (entities and connection),
//! the Redis queue connection, the token vault and telemetry.
//!
//! Both binaries (`server` and `worker`) build an [`Stores`] from a [`Config`] and hand it
//! to their library code; nothing here knows about HTTP.
#![forbid(unsafe_code)]

pub mod config;
pub mod connections;
pub mod db;
pub mod entities;
pub mod health;
pub mod identity;
pub mod media;
pub mod post_rules;
pub mod post_views;
pub mod posts;
pub mod queue;
pub mod rate_limit;
pub mod schedule;
pub mod sessions;
pub mod shutdown;
pub mod stores;
pub mod telemetry;
pub mod tenancy;
pub mod vault;
pub mod workspaces;

pub use config::{Config, Environment, LogFormat, Secret};
pub use stores::Stores;
