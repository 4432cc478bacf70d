//! Accounts from the browser's side: sign up, log in, log out, and who is logged in.
//!
//! The session token travels in an HttpOnly, SameSite=Lax cookie — over HTTPS a Secure
//! `__Host-` one; the server keeps only its hash (see `omniplug_core::sessions`). Logging in,
//! signing up and changing the password take turns under `omniplug_core::rate_limit`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The workspace the session is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceSummary {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The caller's role there: owner, admin, editor or viewer.
    pub role: String,
}

/// The logged-in person, as the interface shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    /// User id.
    pub id: String,
    /// Normalised e-mail.
    pub email: String,
    /// Display name.
    pub name: String,
    /// IANA time zone.
    pub timezone: String,
    /// The current workspace, if they have one.
    pub workspace: Option<WorkspaceSummary>,
    /// Every workspace they belong to, oldest membership first.
    pub workspaces: Vec<WorkspaceSummary>,
}

/// Creates an account with a personal workspace and logs it in.
#[server(endpoint = "sign_up")]
pub async fn sign_up(
    email: String,
    password: String,
    name: String,
    timezone: String,
) -> Result<CurrentUser, AppError> {
    use crate::error::ssr::identity_error;
    use omniplug_core::identity;
    use omniplug_core::{identity::ServiceError, rate_limit};
    let stores = ssr::stores()?;
    let limit = rate_limit::sign_ups_per_address(stores.config.sign_ups_per_hour);
    let address = ssr::client_address();
    ssr::take_turn(&stores, &limit, &address).await?;
    let created = match identity::sign_up(&stores.db, &email, &password, &name, &timezone).await {
        Ok(created) => created,
        Err(err) => {
            // A form to correct (a short password, a typo) does not use up the allowance; a
            // taken address does, as finding that out cost a password hash.
            if matches!(&err, ServiceError::Invalid(e) if *e != identity::IdentityError::EmailTaken)
            {
                rate_limit::give_back(&stores.redis, &limit, &address).await;
            }
            return Err(identity_error(err));
        }
    };
    // Where they signed up from is an address this account is known at (see `LoginLimiter`).
    let pair = format!("{}\n{address}", created.user.email);
    rate_limit::remember(&stores.redis, &rate_limit::KNOWN_ADDRESS, &pair).await;
    ssr::start_session(&stores, created.user.id, Some(created.workspace.id)).await?;
    ssr::current_user(&stores, &created.user, Some(created.workspace.id)).await
}

/// Logs in with e-mail and password. Ten wrong passwords for one account from one address, or a
/// hundred from one address in all, within 15 minutes wait out the window (see
/// `omniplug_core::rate_limit`); the owner logging in from elsewhere is not held up.
#[server(endpoint = "log_in")]
pub async fn log_in(email: String, password: String) -> Result<CurrentUser, AppError> {
    use crate::error::ssr::{fail, internal};
    use omniplug_core::identity::{self, ServiceError};
    let stores = ssr::stores()?;
    let limiter = ssr::LoginLimiter::new(&stores, &email);
    limiter.take().await?;
    let user = match identity::log_in(&stores.db, &email, &password).await {
        Ok(user) => user,
        Err(ServiceError::Invalid(err)) => {
            return Err(fail(AppError::WrongCredentials(err.to_string())));
        }
        Err(err) => return Err(internal(err)),
    };
    limiter.succeeded().await;
    // Open where they left off: the workspace they last switched to, if still theirs.
    let workspaces = ssr::workspaces_of(&stores, user.id).await?;
    let me = ssr::dto(&user, workspaces, user.last_workspace_id);
    let current = me.workspace.as_ref().and_then(|w| ssr::uuid(&w.id));
    ssr::start_session(&stores, user.id, current).await?;
    Ok(me)
}

/// Ends this browser's session.
#[server(endpoint = "log_out")]
pub async fn log_out() -> Result<(), AppError> {
    use crate::error::ssr::internal;
    let stores = ssr::stores()?;
    if let Some(token) = ssr::cookie_token(&stores) {
        omniplug_core::sessions::end(&stores.db, &token)
            .await
            .map_err(internal)?;
    }
    ssr::clear_cookie(&stores);
    Ok(())
}

/// Ends every session of the logged-in user, this one included.
#[server(endpoint = "log_out_everywhere")]
pub async fn log_out_everywhere() -> Result<u64, AppError> {
    use crate::error::ssr::internal;
    let stores = ssr::stores()?;
    let (user, _) = ssr::require_session(&stores).await?;
    let ended = omniplug_core::sessions::end_all(&stores.db, user.id, None)
        .await
        .map_err(internal)?;
    ssr::clear_cookie(&stores);
    Ok(ended)
}

/// Who is logged in, or `None`.
#[server(endpoint = "current_user")]
pub async fn get_current_user() -> Result<Option<CurrentUser>, AppError> {
    let stores = ssr::stores()?;
    match ssr::session(&stores).await? {
        Some((user, session)) => ssr::current_user(&stores, &user, session.current_workspace_id)
            .await
            .map(Some),
        None => Ok(None),
    }
}

/// Changes the logged-in user's name and time zone.
#[server(endpoint = "update_profile")]
pub async fn update_profile(name: String, timezone: String) -> Result<CurrentUser, AppError> {
    use crate::error::ssr::identity_error;
    let stores = ssr::stores()?;
    let (user, session) = ssr::require_session(&stores).await?;
    let user = omniplug_core::identity::update_profile(&stores.db, user.id, &name, &timezone)
        .await
        .map_err(identity_error)?;
    ssr::current_user(&stores, &user, session.current_workspace_id).await
}

/// Changes the password (the current one is asked for) and ends every other session.
/// Returns how many other sessions were ended.
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<u64, AppError> {
    use crate::error::ssr::{identity_error, internal};
    let stores = ssr::stores()?;
    let (user, session) = ssr::require_session(&stores).await?;
    use omniplug_core::{
        identity::{IdentityError, ServiceError},
        rate_limit,
    };
    let limit = rate_limit::PASSWORD_CHANGES_PER_ACCOUNT;
    let subject = user.id.to_string();
    ssr::take_turn(&stores, &limit, &subject).await?;
    if let Err(err) = omniplug_core::identity::change_password(
        &stores.db,
        user.id,
        &current_password,
        &new_password,
    )
    .await
    {
        // Only a wrong current password (a guess) keeps using up the allowance.
        if matches!(&err, ServiceError::Invalid(e) if *e != IdentityError::CurrentPasswordWrong) {
            rate_limit::give_back(&stores.redis, &limit, &subject).await;
        }
        return Err(identity_error(err));
    }
    omniplug_core::sessions::end_all(&stores.db, user.id, Some(session.id))
        .await
        .map_err(internal)
}

/// Every IANA time zone name the server accepts, for the profile form.
#[server(endpoint = "time_zones")]
pub async fn list_time_zones() -> Result<Vec<String>, AppError> {
    Ok(omniplug_core::identity::time_zone_names())
}

/// Server-only plumbing for the functions above.
#[cfg(feature = "ssr")]
pub mod ssr {
    use chrono::Utc;
    use http::{HeaderValue, header};
    use leptos::prelude::use_context;
    use omniplug_core::{
        Environment, Stores,
        entities::{session, user},
        rate_limit::{self, ClientAddress, Limit, Verdict},
        sessions, workspaces,
    };
    use sea_orm::prelude::Uuid;

    use super::{CurrentUser, WorkspaceSummary};
    use crate::error::{
        AppError,
        ssr::{fail, internal},
    };

    /// Name of the session cookie on a developer's plain-HTTP server...
    pub const COOKIE: &str = "omniplug_session";
    /// ...and wherever OmniPlug is served over HTTPS: browsers take a `__Host-` cookie only
    /// over HTTPS, from this exact host, for the whole site, so no sibling subdomain can plant
    /// or shadow a session.
    pub const HOST_COOKIE: &str = "__Host-omniplug_session";

    /// The session cookie's name for this server (see [`HOST_COOKIE`]).
    pub fn cookie_name(config: &omniplug_core::Config) -> &'static str {
        if config.environment == Environment::Production
            || config.public_url.starts_with("https://")
        {
            HOST_COOKIE
        } else {
            COOKIE
        }
    }

    /// The process's stores, provided as context by the server.
    pub fn stores() -> Result<Stores, AppError> {
        use_context::<Stores>()
            .ok_or_else(|| internal("Stores missing from server function context"))
    }

    fn request() -> Option<http::request::Parts> {
        use_context::<http::request::Parts>()
    }

    /// The session token from the request's cookie header.
    pub fn cookie_token(stores: &Stores) -> Option<String> {
        token_from_headers(&stores.config, &request()?.headers)
    }

    /// The session token in `Cookie` headers, if any.
    pub fn token_from_headers(
        config: &omniplug_core::Config,
        headers: &http::HeaderMap,
    ) -> Option<String> {
        let cookie = cookie_name(config);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|line| line.split(';'))
            .find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name == cookie && !value.is_empty()).then(|| value.to_owned())
            })
    }

    fn secure(stores: &Stores) -> bool {
        if cookie_name(&stores.config) == HOST_COOKIE {
            return true;
        }
        let forwarded_https = request().is_some_and(|p| {
            p.headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                == Some("https")
        });
        forwarded_https || stores.config.environment == Environment::Production
    }

    fn set_cookie(value: String) {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>()
            && let Ok(value) = HeaderValue::from_str(&value)
        {
            response.append_header(header::SET_COOKIE, value);
        }
    }

    /// Tells the browser to forget the session cookie.
    pub fn clear_cookie(stores: &Stores) {
        let cookie = cookie_name(&stores.config);
        let secure = if secure(stores) { "; Secure" } else { "" };
        set_cookie(format!(
            "{cookie}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
        ));
    }

    /// Starts a session and sets its cookie.
    pub async fn start_session(
        stores: &Stores,
        user_id: Uuid,
        workspace_id: Option<Uuid>,
    ) -> Result<(), AppError> {
        let user_agent = request().and_then(|p| {
            p.headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        let (token, _) = sessions::create(
            &stores.db,
            user_id,
            workspace_id,
            user_agent.as_deref(),
            Utc::now(),
        )
        .await
        .map_err(internal)?;
        // The browser keeps it as long as the server could accept it; idle sessions end
        // earlier on the server's side.
        let max_age = sessions::SESSION_MAX_AGE.num_seconds();
        let secure = if secure(stores) { "; Secure" } else { "" };
        let cookie = cookie_name(&stores.config);
        set_cookie(format!(
            "{cookie}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
            token.expose()
        ));
        Ok(())
    }

    /// The session behind the request's cookie, if valid.
    pub async fn session(
        stores: &Stores,
    ) -> Result<Option<(user::Model, session::Model)>, AppError> {
        let Some(parts) = request() else {
            return Ok(None);
        };
        session_from_headers(stores, &parts.headers)
            .await
            .map_err(internal)
    }

    /// The session behind the cookie in `headers`, if valid: the one way pages, server
    /// functions and the server's own routes (uploads, OAuth callbacks) find who is asking.
    pub async fn session_from_headers(
        stores: &Stores,
        headers: &http::HeaderMap,
    ) -> Result<Option<(user::Model, session::Model)>, sea_orm::DbErr> {
        let Some(token) = token_from_headers(&stores.config, headers) else {
            return Ok(None);
        };
        sessions::authenticate(&stores.db, &token, Utc::now()).await
    }

    /// The session, or a 401.
    pub async fn require_session(
        stores: &Stores,
    ) -> Result<(user::Model, session::Model), AppError> {
        session(stores)
            .await?
            .ok_or_else(|| fail(AppError::Unauthenticated))
    }

    /// Parses an id we produced ourselves.
    pub fn uuid(raw: &str) -> Option<Uuid> {
        Uuid::parse_str(raw).ok()
    }

    /// The user's workspaces (through their memberships), oldest membership first.
    pub async fn workspaces_of(
        stores: &Stores,
        user_id: Uuid,
    ) -> Result<Vec<WorkspaceSummary>, AppError> {
        Ok(workspaces::list_for(&stores.db, user_id)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|(w, role)| WorkspaceSummary {
                id: w.id.to_string(),
                name: w.name,
                role: workspaces::role_name(role).into(),
            })
            .collect())
    }

    /// The DTO: the current workspace is `preferred` when the user still belongs to it,
    /// else their oldest one (e.g. after being removed from the one they were in).
    pub fn dto(
        user: &user::Model,
        workspaces: Vec<WorkspaceSummary>,
        preferred: Option<Uuid>,
    ) -> CurrentUser {
        let preferred = preferred.map(|id| id.to_string());
        let workspace = workspaces
            .iter()
            .find(|w| Some(&w.id) == preferred.as_ref())
            .or_else(|| workspaces.first())
            .cloned();
        CurrentUser {
            id: user.id.to_string(),
            email: user.email.clone(),
            name: user.name.clone(),
            timezone: user.timezone.clone(),
            workspace,
            workspaces,
        }
    }

    /// Builds the DTO, reading workspaces through the user's memberships (never by id alone).
    pub async fn current_user(
        stores: &Stores,
        user: &user::Model,
        preferred: Option<Uuid>,
    ) -> Result<CurrentUser, AppError> {
        let workspaces = workspaces_of(stores, user.id).await?;
        Ok(dto(user, workspaces, preferred))
    }

    /// What the request's address is counted as (see `rate_limit::address_subject`): the
    /// address the server noted (the peer, or what a trusted proxy says); "unknown" outside a
    /// request.
    pub fn client_address() -> String {
        request()
            .and_then(|p| {
                p.extensions
                    .get::<ClientAddress>()
                    .map(|a| rate_limit::address_subject(a.0))
            })
            .unwrap_or_else(|| "unknown".to_owned())
    }

    /// Takes a turn under `limit` for `subject`, or refuses with a 429 saying how long to wait.
    pub async fn take_turn(stores: &Stores, limit: &Limit, subject: &str) -> Result<(), AppError> {
        match rate_limit::take(&stores.redis, limit, subject).await {
            Verdict::Allowed => Ok(()),
            Verdict::Limited { retry_after } => {
                tracing::info!(limit = limit.name, retry_after, "refused: over the limit");
                Err(fail(AppError::RateLimited(retry_after)))
            }
        }
    }

    /// The turns a login attempt takes: one for the address, one for this account from this
    /// address, and one for the account. A wrong guess keeps them; the right password hands
    /// them back, so only misses count. An attacker's misses never touch the owner's count from
    /// their own address, and the account's own limit (guessers with many addresses) does not
    /// hold an address the owner logged in from before.
    #[derive(Debug)]
    pub struct LoginLimiter<'a> {
        stores: &'a Stores,
        address: String,
        account: String,
        pair: String,
    }

    impl<'a> LoginLimiter<'a> {
        /// A limiter for this attempt.
        pub fn new(stores: &'a Stores, email: &str) -> Self {
            let address = client_address();
            let account = email.trim().to_lowercase();
            let pair = format!("{account}\n{address}");
            Self {
                stores,
                address,
                account,
                pair,
            }
        }

        /// Takes the attempt's turns before the password is checked, or refuses with 429.
        pub async fn take(&self) -> Result<(), AppError> {
            take_turn(self.stores, &rate_limit::LOGIN_PER_ADDRESS, &self.address).await?;
            take_turn(
                self.stores,
                &rate_limit::LOGIN_PER_ACCOUNT_AND_ADDRESS,
                &self.pair,
            )
            .await?;
            let redis = &self.stores.redis;
            if let Verdict::Limited { retry_after } =
                rate_limit::take(redis, &rate_limit::LOGIN_PER_ACCOUNT, &self.account).await
                && !rate_limit::is_remembered(redis, &rate_limit::KNOWN_ADDRESS, &self.pair).await
            {
                tracing::info!(
                    retry_after,
                    "refused: too many wrong passwords for this account"
                );
                // No password was checked: the address and the pair get their turns back.
                rate_limit::give_back(redis, &rate_limit::LOGIN_PER_ADDRESS, &self.address).await;
                rate_limit::give_back(
                    redis,
                    &rate_limit::LOGIN_PER_ACCOUNT_AND_ADDRESS,
                    &self.pair,
                )
                .await;
                return Err(fail(AppError::RateLimited(retry_after)));
            }
            Ok(())
        }

        /// The password was right: this account's misses from here are forgiven, and the
        /// address gets its turn back.
        pub async fn succeeded(&self) {
            let redis = &self.stores.redis;
            rate_limit::forgive(
                redis,
                &rate_limit::LOGIN_PER_ACCOUNT_AND_ADDRESS,
                &self.pair,
            )
            .await;
            rate_limit::give_back(redis, &rate_limit::LOGIN_PER_ADDRESS, &self.address).await;
            rate_limit::give_back(redis, &rate_limit::LOGIN_PER_ACCOUNT, &self.account).await;
            rate_limit::remember(redis, &rate_limit::KNOWN_ADDRESS, &self.pair).await;
        }
    }
}
