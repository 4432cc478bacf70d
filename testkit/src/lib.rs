//! OmniPlug's test kit (a dev-dependency only, so production builds and test builds share
//! every other crate's artefacts): a fresh database per test, on SQLite or PostgreSQL, and
//! an isolated view of a real Redis.
//!
//! `OMNIPLUG_TEST_DATABASE` picks the engine: unset or `sqlite` gives a temporary SQLite file;
//! a `postgres://…` URL (the admin database of a test server) gives a brand-new database on
//! that server per call. `OMNIPLUG_TEST_REDIS_URL` names the Redis (default: the one
//! `scripts/test.sh` starts on 127.0.0.1:16379); each test gets its own key prefix.

pub mod bluesky;
pub mod s3;
pub mod samples;

use std::path::PathBuf;

use sea_orm::{ConnectionTrait, Database};

use omniplug_core::{
    config::{Config, Environment, LogFormat, MediaSettings, NetworkSettings, Secret},
    vault::Vault,
};

/// Default Redis for tests (started by `scripts/test.sh`).
pub const DEFAULT_TEST_REDIS_URL: &str = "redis://127.0.0.1:16379";

/// A database that exists only for one test; the temporary folder also serves as data dir.
#[derive(Debug)]
pub struct TestDatabase {
    /// Connection URL of the fresh database.
    pub url: String,
    /// A private folder for this test (SQLite file, media, keys).
    pub dir: tempfile::TempDir,
}

/// Which engine the test run targets.
pub fn test_engine() -> String {
    match std::env::var("OMNIPLUG_TEST_DATABASE") {
        Ok(url) if url.starts_with("postgres") => "postgres".into(),
        _ => "sqlite".into(),
    }
}

/// Creates a fresh, empty database (no migrations applied yet).
///
/// # Panics
/// When the test Postgres cannot be reached: the message says how to start it.
#[allow(clippy::expect_used)]
pub async fn fresh_database() -> TestDatabase {
    let dir = tempfile::tempdir().expect("temporary folder for the test");
    let url = match std::env::var("OMNIPLUG_TEST_DATABASE") {
        Ok(admin_url) if admin_url.starts_with("postgres") => {
            let admin = Database::connect(&admin_url).await.unwrap_or_else(|err| {
                panic!("cannot reach the test PostgreSQL at OMNIPLUG_TEST_DATABASE ({err}); run tests through `make test`")
            });
            let name = format!("omniplug_test_{}", uuid::Uuid::new_v4().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create a test database");
            admin.close().await.ok();
            let (base, _) = admin_url
                .rsplit_once('/')
                .expect("postgres URL has a database path");
            format!("{base}/{name}")
        }
        _ => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("omniplug.db").display()
        ),
    };
    TestDatabase { url, dir }
}

/// The Redis URL tests use.
pub fn test_redis_url() -> String {
    std::env::var("OMNIPLUG_TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_TEST_REDIS_URL.into())
}

/// A development configuration pointing at `db`, the test Redis with a unique key prefix,
/// and a fresh token key.
pub fn test_config(db: &TestDatabase) -> Config {
    Config {
        environment: Environment::Development,
        database_url: Secret::new(db.url.clone()),
        redis_url: Secret::new(test_redis_url()),
        redis_prefix: format!("test-{}", uuid::Uuid::new_v4().simple()),
        data_dir: PathBuf::from(db.dir.path()),
        token_key: Some(Vault::generate_encoded()),
        log_format: LogFormat::Pretty,
        // Tests that serve HTTP set their own address here once they have bound a port.
        public_url: "http://127.0.0.1:3000".into(),
        networks: NetworkSettings {
            bluesky_pds: "http://127.0.0.1:2583".into(),
            ..NetworkSettings::default()
        },
        media: MediaSettings {
            dir: db.dir.path().join("media"),
            ..MediaSettings::default()
        },
        sandbox: true,
        metrics_token: None,
        trusted_proxies: omniplug_core::config::AddressList::default(),
        sign_ups_per_hour: omniplug_core::config::DEFAULT_SIGN_UPS_PER_HOUR,
    }
}
