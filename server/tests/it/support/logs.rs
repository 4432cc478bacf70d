//! Every log line the servers in this test binary write, kept in memory (at debug level) so a
//! test can search them for secrets, and printed to stderr as usual (at the default level).

use std::{
    io::Write,
    sync::{Mutex, Once},
};

use tracing_subscriber::{EnvFilter, Layer, fmt, layer::SubscriberExt, util::SubscriberInitExt};

static CAPTURED: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the process's subscriber once.
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let stderr = EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,fred=warn"));
        let everything =
            EnvFilter::new("debug,sqlx=info,sea_orm=info,fred=info,h2=info,hyper=info,rustls=info");
        let _ = tracing_subscriber::registry()
            .with(
                fmt::layer()
                    .with_target(false)
                    .with_test_writer()
                    .with_filter(stderr),
            )
            .with(
                fmt::layer()
                    .with_ansi(false)
                    .with_writer(|| Capture)
                    .with_filter(everything),
            )
            .try_init();
    });
}

/// Everything captured so far.
pub fn captured() -> String {
    String::from_utf8_lossy(
        &CAPTURED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
    .into_owned()
}
