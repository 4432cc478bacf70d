//! Typed configuration read from the environment (and `.env` in development).
//!
//! Every variable is listed with a comment in `.env.example`. Defaults work on one machine:
//! SQLite under `data/`, the Redis that `make run` starts on port 6380.

use std::{fmt, path::PathBuf};

pub use omniplug_platforms::clients::AddressList;

/// A value that must never appear in logs: `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a sensitive value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The inner value; call it only where the value is used, never to log it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where the process runs. Production refuses unsafe defaults (such as a generated token key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// One machine, generated secrets allowed, human-readable logs.
    Development,
    /// Real users: every secret must be configured explicitly.
    Production,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines with colours, for a terminal.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The database engine, chosen by the scheme of `DATABASE_URL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// `sqlite://path?mode=rwc`
    Sqlite,
    /// `postgres://user:pass@host/db`
    Postgres,
}

/// A configuration value that could not be used, with the variable it came from.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: &'static str,
    /// What is wrong and what to set instead.
    pub message: String,
}

/// Everything the server and worker need to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// `OMNIPLUG_ENV`: `development` (default) or `production`.
    pub environment: Environment,
    /// `DATABASE_URL`: may carry a password, hence secret.
    pub database_url: Secret<String>,
    /// `REDIS_URL`: may carry a password, hence secret.
    pub redis_url: Secret<String>,
    /// `REDIS_PREFIX`: every Redis key starts with this and a colon, so several
    /// deployments (or tests) can share one Redis.
    pub redis_prefix: String,
    /// `OMNIPLUG_DATA_DIR`: where development keeps its SQLite file, Redis data, media and key.
    pub data_dir: PathBuf,
    /// `OMNIPLUG_TOKEN_KEY`: `<key id>:<base64 of 32 bytes>`; required in production.
    pub token_key: Option<Secret<String>>,
    /// `OMNIPLUG_LOG_FORMAT`: `pretty` or `json` (defaults by environment).
    pub log_format: LogFormat,
    /// `OMNIPLUG_PUBLIC_URL`: where people (and networks' OAuth redirects) reach this server;
    /// defaults to `http://` + `LEPTOS_SITE_ADDR`.
    pub public_url: String,
    /// The networks' app credentials and addresses.
    pub networks: NetworkSettings,
    /// Where uploaded media lives and how networks reach it.
    pub media: MediaSettings,
    /// `OMNIPLUG_SANDBOX`: `on` (default) serves the simulated Sandbox network under
    /// `/sandbox-network` so people can try OmniPlug without credentials; `off` does not.
    pub sandbox: bool,
    /// `OMNIPLUG_METRICS_TOKEN`: `/metrics` answers only requests bearing this token. Without
    /// it, `/metrics` is open in development and not served at all in production.
    pub metrics_token: Option<Secret<String>>,
    /// `OMNIPLUG_TRUSTED_PROXIES`: the reverse proxies in front of this server (addresses or
    /// networks). A request from one of them is counted against the address it names in
    /// `X-Forwarded-For`; every other request against its own peer address. Empty by default.
    pub trusted_proxies: AddressList,
    /// `OMNIPLUG_SIGN_UPS_PER_HOUR`: new accounts one client address may create in an hour
    /// (default [`DEFAULT_SIGN_UPS_PER_HOUR`]).
    pub sign_ups_per_hour: u32,
}

/// New accounts per client address per hour unless configured.
pub const DEFAULT_SIGN_UPS_PER_HOUR: u32 = 10;

/// Media storage: `OMNIPLUG_MEDIA_DIR` (default `<data dir>/media`), or an S3-compatible bucket
/// when `OMNIPLUG_MEDIA_S3_BUCKET` is set; `OMNIPLUG_MEDIA_PUBLIC_URL` is this server's address
/// as the networks see it (Instagram fetches images from `<it>/media/public/…`).
#[derive(Debug, Clone)]
pub struct MediaSettings {
    /// The local folder (used when no bucket is configured).
    pub dir: PathBuf,
    /// The bucket, when configured.
    pub s3: Option<S3Settings>,
    /// A public `https://` base the networks can fetch from; `None` keeps media private.
    pub public_url: Option<String>,
    /// `OMNIPLUG_MEDIA_UPLOADS_PER_HOUR`: uploads one person may start in an hour (default
    /// [`DEFAULT_UPLOADS_PER_HOUR`]); past it, uploads are refused with 429 and the wait.
    pub uploads_per_hour: u32,
    /// `OMNIPLUG_MEDIA_QUOTA_MB`: how much one workspace's files may take in all, in MB
    /// (default [`DEFAULT_MEDIA_QUOTA_MB`]); an upload past it is refused with a message.
    pub quota_bytes: u64,
}

/// See [`MediaSettings::quota_bytes`]: 5 GB, a few dozen videos and thousands of images.
pub const DEFAULT_MEDIA_QUOTA_MB: u32 = 5_000;

/// See [`MediaSettings::uploads_per_hour`]: room for a heavy afternoon of composing (a post
/// takes at most four images), not for a script filling the bucket.
pub const DEFAULT_UPLOADS_PER_HOUR: u32 = 300;

impl Default for MediaSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("data/media"),
            s3: None,
            public_url: None,
            uploads_per_hour: DEFAULT_UPLOADS_PER_HOUR,
            quota_bytes: u64::from(DEFAULT_MEDIA_QUOTA_MB) * 1024 * 1024,
        }
    }
}

/// An S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, …), `OMNIPLUG_MEDIA_S3_*`.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// `…_BUCKET`.
    pub bucket: String,
    /// `…_ENDPOINT`: the service's address for non-AWS services (R2, MinIO); path-style
    /// requests are used then.
    pub endpoint: Option<String>,
    /// `…_REGION` (default `us-east-1`; R2 uses `auto`).
    pub region: String,
    /// `…_ACCESS_KEY_ID`.
    pub access_key_id: Option<String>,
    /// `…_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<Secret<String>>,
}

/// A registered OAuth app on one network.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    /// The app's client id.
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: Option<Secret<String>>,
}

/// Per-network settings, read from `OMNIPLUG_<NETWORK>_CLIENT_ID`, `…_CLIENT_SECRET` and
/// `…_BASE_URL` (X, LINKEDIN, INSTAGRAM), and `OMNIPLUG_BLUESKY_PDS`.
#[derive(Debug, Clone, Default)]
pub struct NetworkSettings {
    /// X's app, when configured.
    pub x: Option<OAuthApp>,
    /// LinkedIn's app, when configured.
    pub linkedin: Option<OAuthApp>,
    /// Instagram's app, when configured.
    pub instagram: Option<OAuthApp>,
    /// One address for all of a network's hosts instead of the real ones (a test server or
    /// the Sandbox speaking that network's API). Keys are platform slugs.
    pub base_urls: std::collections::BTreeMap<String, String>,
    /// The default Bluesky server (`https://bsky.social`).
    pub bluesky_pds: String,
    /// Private networks a person-chosen server (a self-hosted Bluesky PDS) may be on, from
    /// `OMNIPLUG_OUTBOUND_ALLOW`; by default only public addresses are called.
    pub outbound: omniplug_platforms::clients::Outbound,
}

/// A whole number above zero from `var`, or `default` when unset.
fn positive(var: &'static str, raw: Option<String>, default: u32) -> Result<u32, ConfigError> {
    match raw {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(ConfigError {
                var,
                message: format!("{raw:?} is not a positive whole number"),
            }),
    }
}

/// The variables that configure a network's OAuth app.
pub fn app_vars(slug: &str) -> (String, String) {
    let upper = slug.to_uppercase();
    (
        format!("OMNIPLUG_{upper}_CLIENT_ID"),
        format!("OMNIPLUG_{upper}_CLIENT_SECRET"),
    )
}

/// Default Redis of `make run` (a private instance on a non-standard port, data under `data/`).
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6380";

impl Config {
    /// Reads the process environment, after loading `.env` if there is one.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal; a malformed one is worth knowing about but not fatal.
        if let Err(err) = dotenvy::dotenv()
            && !err.not_found()
        {
            eprintln!("warning: could not read .env: {err}");
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any lookup function (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let environment = match get("OMNIPLUG_ENV").as_deref() {
            None | Some("development" | "dev") => Environment::Development,
            Some("production" | "prod") => Environment::Production,
            Some(other) => {
                return Err(ConfigError {
                    var: "OMNIPLUG_ENV",
                    message: format!(
                        "unknown environment {other:?}; use development or production"
                    ),
                });
            }
        };
        let data_dir = PathBuf::from(get("OMNIPLUG_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = get("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}/omniplug.db?mode=rwc", data_dir.display()));
        database_kind(&database_url)?;
        let redis_url = get("REDIS_URL").unwrap_or_else(|| DEFAULT_REDIS_URL.into());
        if !(redis_url.starts_with("redis://") || redis_url.starts_with("rediss://")) {
            return Err(ConfigError {
                var: "REDIS_URL",
                message: "must start with redis:// or rediss://".into(),
            });
        }
        let redis_prefix = get("REDIS_PREFIX").unwrap_or_else(|| "omniplug".into());
        let log_format = match get("OMNIPLUG_LOG_FORMAT").as_deref() {
            None => match environment {
                Environment::Development => LogFormat::Pretty,
                Environment::Production => LogFormat::Json,
            },
            Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError {
                    var: "OMNIPLUG_LOG_FORMAT",
                    message: format!("unknown log format {other:?}; use pretty or json"),
                });
            }
        };

        let site_addr = get("LEPTOS_SITE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into());
        let public_url = get("OMNIPLUG_PUBLIC_URL")
            .unwrap_or_else(|| format!("http://{site_addr}"))
            .trim_end_matches('/')
            .to_owned();
        let app = |slug: &str| {
            let (id_var, secret_var) = app_vars(slug);
            get(&id_var).map(|client_id| OAuthApp {
                client_id,
                client_secret: get(&secret_var).map(Secret::new),
            })
        };
        let mut base_urls = std::collections::BTreeMap::new();
        for slug in ["x", "linkedin", "instagram", "sandbox"] {
            if let Some(url) = get(&format!("OMNIPLUG_{}_BASE_URL", slug.to_uppercase())) {
                base_urls.insert(slug.to_owned(), url.trim_end_matches('/').to_owned());
            }
        }
        let networks = NetworkSettings {
            x: app("x"),
            linkedin: app("linkedin"),
            instagram: app("instagram"),
            base_urls,
            bluesky_pds: get("OMNIPLUG_BLUESKY_PDS")
                .unwrap_or_else(|| "https://bsky.social".into()),
            outbound: omniplug_platforms::clients::Outbound::parse(
                &get("OMNIPLUG_OUTBOUND_ALLOW").unwrap_or_default(),
            )
            .map_err(|message| ConfigError {
                var: "OMNIPLUG_OUTBOUND_ALLOW",
                message,
            })?,
        };

        let media = MediaSettings {
            dir: get("OMNIPLUG_MEDIA_DIR").map_or_else(|| data_dir.join("media"), PathBuf::from),
            s3: get("OMNIPLUG_MEDIA_S3_BUCKET").map(|bucket| S3Settings {
                bucket,
                endpoint: get("OMNIPLUG_MEDIA_S3_ENDPOINT"),
                region: get("OMNIPLUG_MEDIA_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                access_key_id: get("OMNIPLUG_MEDIA_S3_ACCESS_KEY_ID"),
                secret_access_key: get("OMNIPLUG_MEDIA_S3_SECRET_ACCESS_KEY").map(Secret::new),
            }),
            public_url: get("OMNIPLUG_MEDIA_PUBLIC_URL")
                .map(|u| u.trim_end_matches('/').to_owned()),
            uploads_per_hour: positive(
                "OMNIPLUG_MEDIA_UPLOADS_PER_HOUR",
                get("OMNIPLUG_MEDIA_UPLOADS_PER_HOUR"),
                DEFAULT_UPLOADS_PER_HOUR,
            )?,
            quota_bytes: u64::from(positive(
                "OMNIPLUG_MEDIA_QUOTA_MB",
                get("OMNIPLUG_MEDIA_QUOTA_MB"),
                DEFAULT_MEDIA_QUOTA_MB,
            )?) * 1024
                * 1024,
        };

        Ok(Self {
            environment,
            database_url: Secret::new(database_url),
            redis_url: Secret::new(redis_url),
            redis_prefix,
            data_dir,
            token_key: get("OMNIPLUG_TOKEN_KEY").map(Secret::new),
            log_format,
            public_url,
            networks,
            media,
            sandbox: match get("OMNIPLUG_SANDBOX").as_deref() {
                None | Some("on") => true,
                Some("off") => false,
                Some(other) => {
                    return Err(ConfigError {
                        var: "OMNIPLUG_SANDBOX",
                        message: format!("{other:?} is neither on nor off"),
                    });
                }
            },
            metrics_token: get("OMNIPLUG_METRICS_TOKEN").map(Secret::new),
            trusted_proxies: AddressList::parse(
                &get("OMNIPLUG_TRUSTED_PROXIES").unwrap_or_default(),
            )
            .map_err(|message| ConfigError {
                var: "OMNIPLUG_TRUSTED_PROXIES",
                message,
            })?,
            sign_ups_per_hour: positive(
                "OMNIPLUG_SIGN_UPS_PER_HOUR",
                get("OMNIPLUG_SIGN_UPS_PER_HOUR"),
                DEFAULT_SIGN_UPS_PER_HOUR,
            )?,
        })
    }

    /// Which database engine `DATABASE_URL` names.
    pub fn database_kind(&self) -> DatabaseKind {
        // Validated in `from_lookup`; a hand-built Config with a bad URL falls back to SQLite's error later.
        database_kind(self.database_url.expose()).unwrap_or(DatabaseKind::Sqlite)
    }
}

/// Picks the engine from the URL scheme.
pub fn database_kind(url: &str) -> Result<DatabaseKind, ConfigError> {
    if url.starts_with("sqlite:") {
        Ok(DatabaseKind::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(DatabaseKind::Postgres)
    } else {
        Err(ConfigError {
            var: "DATABASE_URL",
            message: "must start with sqlite:// (one machine) or postgres:// (production)".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_work_on_one_machine() {
        let c = config(&[]).expect("defaults are valid");
        assert_eq!(c.environment, Environment::Development);
        assert_eq!(c.database_kind(), DatabaseKind::Sqlite);
        assert_eq!(
            c.database_url.expose(),
            "sqlite://data/omniplug.db?mode=rwc"
        );
        assert_eq!(c.redis_url.expose(), DEFAULT_REDIS_URL);
        assert_eq!(c.log_format, LogFormat::Pretty);
        assert!(c.token_key.is_none());
    }

    #[test]
    fn database_url_scheme_picks_the_engine() {
        let c = config(&[("DATABASE_URL", "postgres://u:p@127.0.0.1/omniplug")]).expect("valid");
        assert_eq!(c.database_kind(), DatabaseKind::Postgres);
        let err = config(&[("DATABASE_URL", "mysql://x")]).expect_err("mysql is not supported");
        assert_eq!(err.var, "DATABASE_URL");
    }

    #[test]
    fn secrets_never_print() {
        let c = config(&[
            ("DATABASE_URL", "postgres://user:hunter2@db/omniplug"),
            ("OMNIPLUG_TOKEN_KEY", "k1:c2VjcmV0"),
        ])
        .expect("valid");
        let printed = format!("{c:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("c2VjcmV0"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }

    #[test]
    fn production_logs_json_by_default_and_bad_values_are_named() {
        let c = config(&[("OMNIPLUG_ENV", "production")]).expect("valid");
        assert_eq!(c.log_format, LogFormat::Json);
        let err = config(&[("OMNIPLUG_LOG_FORMAT", "xml")]).expect_err("unknown format");
        assert_eq!(err.var, "OMNIPLUG_LOG_FORMAT");
        let err = config(&[("REDIS_URL", "localhost:6379")]).expect_err("not a redis url");
        assert_eq!(err.var, "REDIS_URL");
    }

    #[test]
    fn the_upload_allowance_is_a_positive_number() {
        let default = config(&[]).expect("defaults");
        assert_eq!(default.media.uploads_per_hour, DEFAULT_UPLOADS_PER_HOUR);
        let set = config(&[("OMNIPLUG_MEDIA_UPLOADS_PER_HOUR", "40")]).expect("valid");
        assert_eq!(set.media.uploads_per_hour, 40);
        for bad in ["0", "-3", "lots"] {
            let err = config(&[("OMNIPLUG_MEDIA_UPLOADS_PER_HOUR", bad)]).expect_err(bad);
            assert_eq!(err.var, "OMNIPLUG_MEDIA_UPLOADS_PER_HOUR");
        }
    }
}
