//! `server`: reads configuration, sets up logging, and runs the OmniPlug HTTP server.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match omniplug_core::Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("omniplug server: configuration error: {err}");
            return ExitCode::FAILURE;
        }
    };
    omniplug_core::telemetry::init_tracing(config.log_format);
    match server::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "server failed");
            eprintln!("omniplug server: {err}");
            ExitCode::FAILURE
        }
    }
}
