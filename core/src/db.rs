//! The database connection: SQLite or PostgreSQL, chosen by `DATABASE_URL`.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, Statement,
    TransactionTrait,
};

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
        .sqlx_logging(false)
        // WAL with synchronous=NORMAL: commits no longer wait for an fsync each (the WAL is
        // synced at checkpoints), which is what lets the worker commit hundreds of state
        // changes a second; the database stays consistent, and only the last moments before a
        // power cut (not a process crash) can be lost. Applied to every pooled connection.
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(BUSY_TIMEOUT)
        });
    if kind != DatabaseKind::Sqlite {
        return Database::connect(options).await;
    }
    // Turning a new file to WAL needs the file to itself, and SQLite answers "database is
    // locked" at once rather than through the busy timeout when another connection is opening
    // it too (the server and worker starting together on a fresh file): try again until the
    // busy timeout has passed. Once the file is in WAL, opening it never takes that lock.
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match Database::connect(options.clone()).await {
            Err(err) if is_locked(&err) && std::time::Instant::now() < deadline => {
                tracing::debug!(error = %err, "SQLite file busy while opening; trying again");
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            result => return result,
        }
    }
}

/// How long an SQLite statement waits for another connection's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// SQLite's `SQLITE_BUSY` ("database is locked"), as sqlx reports it at connect.
fn is_locked(err: &DbErr) -> bool {
    err.to_string().contains("database is locked")
}

/// Brings the schema up to date. Both binaries call it at start-up, so several processes may
/// run it at once against one database: each takes a cross-process lock first (an advisory
/// transaction lock on PostgreSQL, an exclusive lock on `<file>.migrate.lock` beside an SQLite
/// file), and whoever comes second finds nothing left to do.
#[tracing::instrument(skip_all, err)]
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let txn = db.begin().await?;
            // Arbitrary constant shared by every OmniPlug process; released at commit.
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(7270135532871)")
                .await?;
            Migrator::up(&txn, None).await?;
            txn.commit().await
        }
        _ => {
            let _lock = match sqlite_main_file(db).await? {
                Some(file) => Some(lock_beside(file).await?),
                None => None,
            };
            Migrator::up(db, None).await
        }
    }
}

/// The file behind an SQLite connection (`None` for in-memory databases).
async fn sqlite_main_file(db: &DatabaseConnection) -> Result<Option<PathBuf>, DbErr> {
    let row = db
        .query_one(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT file FROM pragma_database_list WHERE name = 'main'",
        ))
        .await?;
    let file: Option<String> = match row {
        Some(row) => row.try_get("", "file")?,
        None => None,
    };
    Ok(file.filter(|f| !f.is_empty()).map(PathBuf::from))
}

/// Blocks (off the async runtime) until this process holds `<file>.migrate.lock` exclusively.
/// The lock is released when the returned file is dropped, or when the process dies.
async fn lock_beside(file: PathBuf) -> Result<std::fs::File, DbErr> {
    let mut lock_path = file.into_os_string();
    lock_path.push(".migrate.lock");
    tokio::task::spawn_blocking(move || {
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        lock.lock()?;
        Ok::<_, std::io::Error>(lock)
    })
    .await
    .map_err(|err| DbErr::Custom(format!("migration lock task: {err}")))?
    .map_err(|err| DbErr::Custom(format!("migration lock: {err}")))
}

/// The path of an SQLite database file named by a URL, if it names a file.
fn sqlite_file(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| Path::new(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite://data/omniplug.db?mode=rwc"),
            Some(Path::new("data/omniplug.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:/tmp/x.db"),
            Some(Path::new("/tmp/x.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://x"), None);
    }
}
