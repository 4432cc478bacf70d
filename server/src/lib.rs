//! OmniPlug's HTTP server as a library: `main.rs` only reads configuration and calls [`run`];
//! tests call [`build_router`] and [`serve`] on a port-0 listener (see `server/tests/it/support`).
#![forbid(unsafe_code)]
#![recursion_limit = "256"]

pub mod guard;
pub mod media;
pub mod observability;
pub mod routes;
pub mod sandbox_state;
pub mod security;

use std::{future::Future, net::SocketAddr, sync::Mutex};

use axum::{Router, extract::FromRef};
use leptos::prelude::*;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use omniplug_core::{Config, Stores, stores::StartupError};
use tokio::net::TcpListener;

/// What every handler and server function can reach.
#[derive(Clone, Debug, FromRef)]
pub struct AppState {
    /// Leptos' own settings (site root, output name, address).
    pub leptos_options: LeptosOptions,
    /// Database, Redis, vault and configuration.
    pub stores: Stores,
}

/// Why the server stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Configuration, vault key, database or Redis set-up failed.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// Leptos settings (`LEPTOS_*` variables) are invalid.
    #[error("Leptos configuration: {0}")]
    Leptos(String),
    /// The address could not be bound, or serving failed.
    #[error("cannot serve on {addr}: {source}")]
    Io {
        /// The address we tried.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Leptos settings from `LEPTOS_*` variables (set by cargo-leptos, or by `scripts/run.sh`),
/// with defaults matching `[[workspace.metadata.leptos]]` so the binary also runs bare.
pub fn leptos_options() -> Result<LeptosOptions, ServerError> {
    let mut options = leptos::config::get_configuration(None)
        .map_err(|err| ServerError::Leptos(err.to_string()))?
        .leptos_options;
    if options.output_name.is_empty() {
        options.output_name = "omniplug".into();
    }
    Ok(options)
}

/// The whole application: Leptos pages and server functions, `/health`, `/metrics`, static
/// files, and the request span and metrics layers around all of them.
pub fn build_router(state: AppState) -> Router {
    // Install the recorder before the first request so no request goes uncounted.
    omniplug_core::telemetry::prometheus();
    let routes = route_list();
    // The Sandbox network, served in-process so a new user can try the whole loop without
    // credentials; hosted, so each workspace sees only its own simulated accounts.
    let public = &state.stores.config.public_url;
    let sandbox = state.stores.config.sandbox.then(|| {
        omniplug_platforms::sandbox::Sandbox::hosted(&omniplug_platforms::sandbox::Hosting {
            public_url: format!("{public}{}", omniplug_core::connections::SANDBOX_MOUNT),
            callback_prefix: format!("{public}/connections/callback/"),
        })
    });
    let hosted = sandbox.as_ref().map(|(_, handle)| handle.clone());
    if let Some(hosted) = &hosted {
        tokio::spawn(sandbox_state::keep(
            hosted.clone(),
            state.stores.redis.clone(),
        ));
    }
    let policy = std::sync::Arc::new(security::HeaderPolicy::for_public_url(public));
    let context = {
        let stores = state.stores.clone();
        move || {
            provide_context(stores.clone());
            if let Some(hosted) = &hosted {
                provide_context(hosted.clone());
            }
            // The page's scripts carry the nonce its Content-Security-Policy names.
            if let Some(nonce) = use_context::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<security::CspNonce>().cloned())
            {
                provide_context(leptos::nonce::Nonce::from_value(nonce.0));
            }
        }
    };
    let shell = {
        let options = state.leptos_options.clone();
        move || app::shell(options.clone())
    };
    let mut router = Router::new();
    if let Some((sandbox, _)) = sandbox {
        router = router.nest_service(omniplug_core::connections::SANDBOX_MOUNT, sandbox);
    }
    let router = router
        .merge(routes::router())
        .merge(media::router())
        .leptos_routes_with_context(&state, routes, context.clone(), shell)
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, app::shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::redirect_by_login,
        ))
        .layer(axum::middleware::from_fn(security::refuse_cross_site))
        .layer(axum::middleware::from_fn(security::limit_body))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            security::panic_response,
        ))
        .layer(axum::middleware::from_fn_with_state(
            policy,
            security::headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.stores.config.trusted_proxies.clone(),
            security::client_address,
        ));
    observability::instrument(router).with_state(state)
}

/// The app's page routes, generated once per process.
///
/// Generating walks the whole app with resource loading suppressed through a process-global
/// flag (leptos_server's `SuppressResourceLoad`); a page rendering on another thread at that
/// moment has its resources parked forever (leptos-rs/leptos#4773). One server per process
/// never hits this, but the tests start many, so the list is generated once and shared.
pub fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: Mutex<Option<Vec<AxumRouteListing>>> = Mutex::new(None);
    let mut routes = ROUTES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    routes
        .get_or_insert_with(|| generate_route_list(app::App))
        .clone()
}

/// Serves `router` on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Opens the stores, binds the configured address and serves until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> Result<(), ServerError> {
    let leptos_options = leptos_options()?;
    let addr = leptos_options.site_addr;
    let stores = Stores::open(config).await?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Io { addr, source })?;
    tracing::info!(%addr, "OmniPlug server listening on http://{addr}");
    let router = build_router(AppState {
        leptos_options,
        stores,
    });
    serve(listener, router, omniplug_core::shutdown::signal())
        .await
        .map_err(|source| ServerError::Io { addr, source })?;
    tracing::info!("server stopped");
    Ok(())
}
