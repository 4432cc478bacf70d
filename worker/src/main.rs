//! `worker`: reads configuration, sets up logging, and runs an OmniPlug worker.
//!
//! `worker reseal-tokens` instead re-encrypts every stored secret with the newest key in
//! `OMNIPLUG_TOKEN_KEY` (after adding a key in front of the old one), then exits; once it has
//! run, the old key can be removed.

use std::process::ExitCode;

/// mimalloc rather than glibc malloc: with thousands of publishes due at one instant, both
/// cores allocate and free at once, and the 10,000-post burst to the Sandbox went from p99
/// 764–851 ms to 493–677 ms (`scripts/bench.sh sqlite burst`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match omniplug_core::Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("omniplug worker: configuration error: {err}");
            return ExitCode::FAILURE;
        }
    };
    omniplug_core::telemetry::init_tracing(config.log_format);
    omniplug_worker::tune_process();
    match std::env::args().nth(1).as_deref() {
        None => {}
        Some("reseal-tokens") => return reseal(config).await,
        Some(other) => {
            eprintln!(
                "omniplug worker: unknown command {other:?}; run without arguments, or with reseal-tokens"
            );
            return ExitCode::from(2);
        }
    }
    match omniplug_worker::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "worker failed");
            eprintln!("omniplug worker: {err}");
            ExitCode::FAILURE
        }
    }
}

// Prints its one line of output for the person who ran it.
#[allow(clippy::print_stdout)]
async fn reseal(config: omniplug_core::Config) -> ExitCode {
    let stores = match omniplug_core::Stores::open(config).await {
        Ok(stores) => stores,
        Err(err) => {
            eprintln!("omniplug worker: {err}");
            return ExitCode::FAILURE;
        }
    };
    match omniplug_core::connections::reseal_all(&stores.db, &stores.vault).await {
        Ok(count) => {
            println!(
                "Re-encrypted {count} stored secrets with key {}.",
                stores.vault.current_key_id()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("omniplug worker: resealing failed: {err}");
            ExitCode::FAILURE
        }
    }
}
