//! `worker`: reads configuration, sets up logging, and runs an OmniPlug worker.

use std::process::ExitCode;

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
    match omniplug_worker::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "worker failed");
            eprintln!("omniplug worker: {err}");
            ExitCode::FAILURE
        }
    }
}
