//! `TestApp`: the real server on 127.0.0.1:0 with a fresh database (SQLite or Postgres, see
//! `omniplug_testkit`) and a real Redis under a key prefix of its own, plus one helper
//! per endpoint and a worker the test can step by hand.
#![allow(dead_code)]

use std::net::SocketAddr;

use leptos::config::LeptosOptions;
use omniplug_core::{Config, Stores};
use omniplug_testkit::{TestDatabase, fresh_database, test_config};
use omniplug_worker::Worker;
use server::{AppState, build_router, serve};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub mod logs;

/// The password test accounts use.
pub const PASSWORD: &str = "correct horse battery";

/// A running server for one test. Dropping it stops the server.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// An HTTP client with cookies and no redirects followed.
    pub client: reqwest::Client,
    /// The same stores the server uses, for arranging and checking state.
    pub stores: Stores,
    db: Option<TestDatabase>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    /// Starts the server with the default test configuration.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the server after `adjust` has changed the configuration.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let db = fresh_database().await;
        let mut config = test_config(&db);
        adjust(&mut config);
        let stores = Stores::open(config).await.expect("stores open");
        Self::spawn_with_stores(db, stores).await
    }

    /// Starts the server on stores the test built itself (e.g. a database that is down).
    pub async fn spawn_with_stores(db: TestDatabase, mut stores: Stores) -> Self {
        logs::init();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        // OAuth redirects and the in-process Sandbox network need the real address; a test
        // may keep an https:// one to see what a server behind a TLS proxy sends.
        let mut config = (*stores.config).clone();
        if !config.public_url.starts_with("https://") {
            config.public_url = format!("http://{addr}");
        }
        stores = stores.with_config(config);
        let leptos_options = LeptosOptions::builder()
            .output_name("omniplug")
            .site_addr(addr)
            .build();
        let router = build_router(AppState {
            leptos_options,
            stores: stores.clone(),
        });
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, router, async move {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let app = Self {
            addr,
            client,
            stores,
            db: Some(db),
            shutdown: Some(tx),
            task: Some(task),
        };
        // Redis connects in the background; a test that expects it up should not race it.
        let _ = app
            .stores
            .redis
            .wait_until_connected(std::time::Duration::from_secs(5))
            .await;
        app
    }

    /// `http://127.0.0.1:<port><path>`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A worker on the same stores, ready to be stepped by the test.
    pub async fn worker(&self) -> Worker {
        Worker::start(self.stores.clone())
            .await
            .expect("worker starts")
    }

    /// `GET /health`
    pub async fn get_health(&self) -> reqwest::Response {
        self.client
            .get(self.url("/health"))
            .send()
            .await
            .expect("GET /health")
    }

    /// `GET /metrics`
    pub async fn get_metrics(&self) -> reqwest::Response {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("GET /metrics")
    }

    /// `GET <path>` of a page.
    pub async fn get_page(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET page")
    }

    /// The `get_system_status` server function, called as the browser calls it.
    pub async fn call_system_status(&self) -> reqwest::Response {
        self.client
            .post(self.url("/api/system_status"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body("")
            .send()
            .await
            .expect("POST /api/system_status")
    }

    /// POSTs a form to a server function (`/api/<endpoint>`), as the browser's fetch does.
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/{endpoint}")))
            .header("accept", "application/json")
            .header("origin", self.url(""))
            .form(form)
            .send()
            .await
            .expect("POST server function")
    }

    /// Signs up through the server function; the client keeps the session cookie.
    pub async fn sign_up(&self, email: &str, name: &str) -> serde_json::Value {
        let response = self
            .call(
                "sign_up",
                &[
                    ("email", email),
                    ("password", PASSWORD),
                    ("name", name),
                    ("timezone", "Europe/Paris"),
                ],
            )
            .await;
        assert_eq!(response.status(), 200, "sign up");
        response.json().await.expect("json")
    }

    /// `log_in` with this client (keeps the cookie on success).
    pub async fn log_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.call("log_in", &[("email", email), ("password", password)])
            .await
    }

    /// `log_out` with this client.
    pub async fn log_out(&self) -> reqwest::Response {
        self.call("log_out", &[]).await
    }

    /// `current_user` as JSON (`null` when logged out).
    pub async fn current_user(&self) -> serde_json::Value {
        let response = self.call("current_user", &[]).await;
        assert_eq!(response.status(), 200, "current_user");
        response.json().await.expect("json")
    }

    /// Another browser on the same server: its own cookie jar, logged out.
    pub fn browser(&self) -> Browser {
        Browser {
            base: self.url(""),
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    /// The test's private data folder.
    pub fn data_dir(&self) -> &std::path::Path {
        self.db.as_ref().expect("database").dir.path()
    }

    /// Stops this server and starts a new one on the same database, Redis prefix and data
    /// folder, as a deploy would (on a new port; people log in again in tests).
    pub async fn restart(mut self) -> Self {
        let db = self.db.take().expect("database");
        let stores = self.stores.clone();
        self.stop_serving().await;
        Self::spawn_with_stores(db, stores).await
    }

    async fn stop_serving(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server exits cleanly");
        }
    }

    /// Stops the server and waits for it to finish in-flight requests.
    pub async fn stop(mut self) {
        self.stop_serving().await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A browser with its own cookies, for tests with several people.
pub struct Browser {
    base: String,
    /// Its HTTP client.
    pub client: reqwest::Client,
}

impl Browser {
    /// POSTs a form to a server function as this browser.
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}/api/{endpoint}", self.base))
            .header("accept", "application/json")
            .header("origin", &self.base)
            .form(form)
            .send()
            .await
            .expect("POST server function")
    }

    /// Calls and expects 200, returning the JSON body.
    pub async fn ok(&self, endpoint: &str, form: &[(&str, &str)]) -> serde_json::Value {
        let response = self.call(endpoint, form).await;
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("json body");
        assert_eq!(status, 200, "{endpoint} {form:?}: {body}");
        body
    }

    /// Calls and returns (status, message) of the error.
    pub async fn err(&self, endpoint: &str, form: &[(&str, &str)]) -> (u16, String) {
        error_of(self.call(endpoint, form).await).await
    }

    /// Uploads `bytes` as the file `name` (declared as `declared`) to the workspace's library.
    pub async fn upload(
        &self,
        workspace_id: &str,
        name: &str,
        declared: &str,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(name.to_owned())
            .mime_str(declared)
            .expect("mime");
        self.client
            .post(format!(
                "{}/api/media/upload?workspace_id={workspace_id}",
                self.base
            ))
            .header("origin", &self.base)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .expect("POST upload")
    }

    /// Uploads and expects 201, returning the library item.
    pub async fn uploaded(
        &self,
        workspace_id: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> serde_json::Value {
        let response = self
            .upload(workspace_id, name, "application/octet-stream", bytes)
            .await;
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("json body");
        assert_eq!(status, 201, "upload {name}: {body}");
        body
    }

    /// `GET <path>`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET")
    }

    /// Signs up (timezone Europe/Paris) and returns the current user JSON.
    pub async fn sign_up(&self, email: &str, name: &str) -> serde_json::Value {
        self.ok(
            "sign_up",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("name", name),
                ("timezone", "Europe/Paris"),
            ],
        )
        .await
    }

    /// The current workspace's id.
    pub async fn workspace_id(&self) -> String {
        let me = self.ok("current_user", &[]).await;
        me["workspace"]["id"]
            .as_str()
            .expect("a workspace")
            .to_owned()
    }

    /// Invites `email` as `role` into `workspace_id`; returns the invitation token.
    pub async fn invite(&self, workspace_id: &str, email: &str, role: &str) -> String {
        let created = self
            .ok(
                "invite_member",
                &[
                    ("workspace_id", workspace_id),
                    ("email", email),
                    ("role", role),
                ],
            )
            .await;
        created["link"]
            .as_str()
            .and_then(|l| l.strip_prefix("/invite/"))
            .expect("link")
            .to_owned()
    }

    /// The membership id of `email` in `workspace_id`.
    pub async fn member_id(&self, workspace_id: &str, email: &str) -> String {
        let view = self
            .ok("list_members", &[("workspace_id", workspace_id)])
            .await;
        view["members"]
            .as_array()
            .expect("members")
            .iter()
            .find(|m| m["email"] == email)
            .and_then(|m| m["id"].as_str())
            .unwrap_or_else(|| panic!("{email} is not a member: {view}"))
            .to_owned()
    }
}

/// Lets people connect servers on loopback, as an operator with a self-hosted PDS beside
/// OmniPlug would (the local Bluesky network of `make test` runs there).
pub fn allow_local_servers(config: &mut Config) {
    config.networks.outbound =
        omniplug_platforms::clients::Outbound::parse("127.0.0.0/8").expect("allow-list");
}

/// (status, message) of an error response.
pub async fn error_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.expect("json error body");
    (
        status,
        body["message"].as_str().unwrap_or_default().to_owned(),
    )
}

/// `(item[a], item[b])` for each item of the JSON array `items`, as strings ("" when missing).
pub fn string_pairs(items: &serde_json::Value, a: &str, b: &str) -> Vec<(String, String)> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {items}"))
        .iter()
        .map(|item| {
            let text = |key: &str| item[key].as_str().unwrap_or_default().to_owned();
            (text(a), text(b))
        })
        .collect()
}

/// The access token a connection's account uses now, as the worker would get it (the hosted
/// Sandbox lets only the account itself read its posts and blobs back).
pub async fn access_token(app: &TestApp, connection_id: uuid::Uuid) -> String {
    let networks = omniplug_core::connections::Networks::from_config(&app.stores.config);
    let (_, credentials) = omniplug_core::connections::credentials(
        &app.stores.db,
        &app.stores.vault,
        &networks,
        connection_id,
    )
    .await
    .expect("credentials");
    credentials.tokens.access.expose().to_owned()
}

/// `GET url` from no browser, with `token` as the bearer when there is one.
pub async fn get_as(url: String, token: Option<&str>) -> reqwest::Response {
    let request = reqwest::Client::new().get(url);
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
    .send()
    .await
    .expect("GET")
}
