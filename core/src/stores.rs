//! Everything a process holds open: configuration, database pool, Redis client, vault.

use std::sync::Arc;

use sea_orm::{DatabaseConnection, DbErr};

use crate::{
    config::Config,
    connections::Networks,
    db,
    media::{MediaError, MediaStore},
    queue::{QueueError, Redis},
    vault::{Vault, VaultError},
};

/// Why a process could not start; each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The token key is missing or malformed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// The Redis configuration was rejected.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The media folder or bucket could not be opened.
    #[error(transparent)]
    Media(#[from] MediaError),
}

/// The shared handles both binaries build at start-up. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct Stores {
    /// Read-only configuration.
    pub config: Arc<Config>,
    /// The database pool.
    pub db: DatabaseConnection,
    /// The Redis client (connects and reconnects in the background).
    pub redis: Redis,
    /// Seals and opens platform tokens.
    pub vault: Arc<Vault>,
    /// Uploaded images and videos.
    pub media: MediaStore,
    /// The network clients, built once per process: each keeps its connection pool.
    pub networks: Networks,
}

impl Stores {
    /// Loads the vault key (refusing to start in production without one), opens the
    /// database, runs migrations, and starts the Redis connection.
    pub async fn open(config: Config) -> Result<Self, StartupError> {
        let vault = Vault::from_config(&config)?;
        let db = db::connect(&config).await?;
        db::migrate(&db).await?;
        let redis = Redis::connect(&config)?;
        let media = MediaStore::open(&config.media)?;
        Ok(Self {
            networks: Networks::from_config(&config),
            config: Arc::new(config),
            db,
            redis,
            vault: Arc::new(vault),
            media,
        })
    }

    /// The same stores with a changed configuration (a test learning its port), and network
    /// clients built for it.
    #[must_use]
    pub fn with_config(mut self, config: Config) -> Self {
        self.networks = Networks::from_config(&config);
        self.config = Arc::new(config);
        self
    }
}
