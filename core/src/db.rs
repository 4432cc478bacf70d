//! The database connection: SQLite or PostgreSQL, chosen by `DATABASE_URL`.

use std::{path::Path, time::Duration};

use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

use crate::config::{Config, DatabaseKind};

/// Opens a pool on the configured database. For SQLite, creates the file's folder first and
/// switches the file to WAL so the server and worker can write side by side.
#[tracing::instrument(skip_all, fields(kind = ?config.database_kind()), err)]
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbErr> {
    let url = config.database_url.expose();
    let kind = config.database_kind();
    if kind == DatabaseKind::Sqlite
        && let Some(dir) = sqlite_file(url).and_then(Path::parent)
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|err| DbErr::Custom(format!("cannot create {}: {err}", dir.display())))?;
    }
    let mut options = ConnectOptions::new(url.clone());
    options
        .max_connections(match kind {
            // One writer at a time anyway; a small pool avoids lock contention.
            DatabaseKind::Sqlite => 8,
            DatabaseKind::Postgres => 20,
        })
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    let db = Database::connect(options).await?;
    if kind == DatabaseKind::Sqlite {
        // Persistent in the file; lets readers proceed while the other process writes.
        db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
    }
    Ok(db)
}

/// Brings the schema up to date. Both binaries call it at start-up; running it twice is harmless.
#[tracing::instrument(skip_all, err)]
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// The path of an SQLite database file named by a URL, if it names a file.
fn sqlite_file(url: &str) -> Option<&Path> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| Path::new(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(sqlite_file("sqlite://data/omniplug.db?mode=rwc"), Some(Path::new("data/omniplug.db")));
        assert_eq!(sqlite_file("sqlite:/tmp/x.db"), Some(Path::new("/tmp/x.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://x"), None);
    }
}
