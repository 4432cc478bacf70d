//! Who people are: e-mail and password rules, sign-up (with a personal workspace), and login.
//!
//! Passwords are hashed with argon2id. A wrong e-mail and a wrong password get the same answer,
//! so the login form cannot be used to discover who has an account.

use std::sync::Arc;

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, SqlErr, TransactionTrait, prelude::Uuid,
};

use crate::entities::{user, workspace};

/// Longest e-mail address accepted (RFC 5321 path limit).
pub const EMAIL_MAX: usize = 320;
/// Shortest password accepted.
pub const PASSWORD_MIN: usize = 10;
/// Longest password accepted (argon2 has no limit; this bounds the work per attempt).
pub const PASSWORD_MAX: usize = 256;
/// Longest display name.
pub const NAME_MAX: usize = 100;

/// Passwords of the minimum length or more that appear at the top of public breach lists.
/// Shorter common passwords are already refused by the length rule.
const COMMON_PASSWORDS: &[&str] = &[
    "1234567890",
    "12345678910",
    "123456789a",
    "0123456789",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "qwertyuiop",
    "qwerty1234",
    "qwerty12345",
    "qwertyuiop1",
    "asdfghjkl1",
    "zxcvbnm123",
    "password12",
    "password123",
    "password1234",
    "password!1",
    "passw0rd12",
    "iloveyou12",
    "iloveyou123",
    "1111111111",
    "0000000000",
    "9876543210",
    "abcdefghij",
    "abcd123456",
    "abc1234567",
    "aaaaaaaaaa",
    "letmein123",
    "welcome123",
    "welcome1234",
    "football12",
    "baseball12",
    "princess12",
    "sunshine12",
    "superman12",
    "starwars12",
    "monkey1234",
    "dragon1234",
    "michael123",
    "charlie123",
    "trustno1234",
    "administrator",
    "admin12345",
    "changeme123",
    "qazwsxedc1",
    "1234qwerasdf",
    "q1w2e3r4t5",
    "1q2w3e4r5t6y",
    "passwordpassword",
    "omniplug123",
    "omniplug1234",
];

/// Something the person typed that we cannot accept; each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The e-mail field is empty.
    #[error("Enter your e-mail address.")]
    EmailEmpty,
    /// Not a plausible address.
    #[error("Enter a valid e-mail address, like name@example.com.")]
    EmailInvalid,
    /// Longer than an address can be.
    #[error("That e-mail address is too long (at most 320 characters).")]
    EmailTooLong,
    /// Shorter than the minimum.
    #[error("Use at least 10 characters for your password.")]
    PasswordTooShort,
    /// Longer than the maximum.
    #[error("Use at most 256 characters for your password.")]
    PasswordTooLong,
    /// On a list of common passwords.
    #[error("That password is too common. Pick something only you would use.")]
    PasswordCommon,
    /// The name is empty.
    #[error("Enter your name.")]
    NameEmpty,
    /// The name is too long.
    #[error("Use at most 100 characters for your name.")]
    NameTooLong,
    /// Not an IANA time zone name.
    #[error("Pick a time zone from the list.")]
    TimezoneUnknown,
    /// An account already uses this e-mail.
    #[error("An account with this e-mail already exists. Log in instead.")]
    EmailTaken,
    /// The current password given to change it is wrong.
    #[error("Your current password is not right.")]
    CurrentPasswordWrong,
    /// The new password is the old one.
    #[error("Choose a new password that differs from the current one.")]
    PasswordUnchanged,
    /// Wrong e-mail or wrong password (deliberately the same message).
    #[error("That e-mail and password do not match an account.")]
    WrongCredentials,
}

/// A storage or hashing failure: not the person's fault, reported as a short 500.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Something the person can fix.
    #[error(transparent)]
    Invalid(#[from] IdentityError),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// Hashing failed (out of memory, parameters).
    #[error("password hashing: {0}")]
    Hashing(String),
}

/// A normalised e-mail address (trimmed, lowercased, one `@`, a dot in the domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses what the person typed.
    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(IdentityError::EmailEmpty);
        }
        if email.len() > EMAIL_MAX {
            return Err(IdentityError::EmailTooLong);
        }
        let (local, domain) = email.split_once('@').ok_or(IdentityError::EmailInvalid)?;
        let plausible = !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !plausible {
            return Err(IdentityError::EmailInvalid);
        }
        Ok(Self(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the rules. Its `Debug` never prints it.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    /// Checks a new password: length (counted in characters) and not a common one.
    pub fn new(raw: &str) -> Result<Self, IdentityError> {
        let chars = raw.chars().count();
        if chars < PASSWORD_MIN {
            return Err(IdentityError::PasswordTooShort);
        }
        if chars > PASSWORD_MAX {
            return Err(IdentityError::PasswordTooLong);
        }
        let lowered = raw.to_lowercase();
        if COMMON_PASSWORDS.contains(&lowered.as_str())
            || lowered.chars().all(|c| lowered.starts_with(c))
        {
            return Err(IdentityError::PasswordCommon);
        }
        Ok(Self(raw.to_owned()))
    }

    /// argon2id PHC string with a random salt, computed off the async runtime (see
    /// [`off_runtime`]).
    pub async fn hash(&self) -> Result<String, ServiceError> {
        let raw = self.0.clone();
        off_runtime(move || hash_now(&raw)).await?
    }
}

fn hash_now(raw: &str) -> Result<String, ServiceError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(raw.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|err| ServiceError::Hashing(err.to_string()))
}

/// argon2 is slow on purpose (tens of milliseconds of one core and 19 MiB per hash). Hashes
/// run on tokio's blocking threads, at most one per core at a time: a burst of sign-ups or
/// logins queues here while the runtime's workers go on answering every other request, and
/// the memory the hashes take stays bounded.
async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ServiceError> {
    static SLOTS: std::sync::LazyLock<Arc<tokio::sync::Semaphore>> =
        std::sync::LazyLock::new(|| {
            Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ))
        });
    let slot = SLOTS
        .clone()
        .acquire_owned()
        .await
        .map_err(|err| ServiceError::Hashing(err.to_string()))?;
    // The slot goes with the hash: a request abandoned mid-hash (the client went away) frees
    // it only when the hash is done, so abandoned requests cannot pile up hashes.
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        work()
    })
    .await
    .map_err(|err| ServiceError::Hashing(err.to_string()))
}

/// [`verify_password`] off the async runtime.
pub async fn check_password(candidate: &str, stored_hash: &str) -> Result<bool, ServiceError> {
    let (candidate, stored_hash) = (candidate.to_owned(), stored_hash.to_owned());
    off_runtime(move || verify_password(&candidate, &stored_hash)).await
}

/// Whether `candidate` matches a stored PHC hash. A malformed hash never matches.
pub fn verify_password(candidate: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(candidate.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A display name: trimmed, 1–100 characters.
pub fn parse_name(raw: &str) -> Result<String, IdentityError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(IdentityError::NameEmpty);
    }
    if name.chars().count() > NAME_MAX {
        return Err(IdentityError::NameTooLong);
    }
    Ok(name.to_owned())
}

/// An IANA zone name such as `Europe/Paris` (validated with chrono-tz's database, never the OS's).
pub fn parse_timezone(raw: &str) -> Result<String, IdentityError> {
    let name = raw.trim();
    name.parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_owned())
        .map_err(|_| IdentityError::TimezoneUnknown)
}

/// Every IANA zone name accepted by [`parse_timezone`], sorted.
pub fn time_zone_names() -> Vec<String> {
    let mut names: Vec<String> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name().to_owned())
        .collect();
    names.sort();
    names
}

/// What sign-up creates.
#[derive(Debug, Clone)]
pub struct SignedUp {
    /// The new account.
    pub user: user::Model,
    /// Their personal workspace, which they own.
    pub workspace: workspace::Model,
}

/// Creates an account, its personal workspace and the owner membership, all or nothing.
#[tracing::instrument(skip_all, err)]
pub async fn sign_up(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
    name: &str,
    timezone: &str,
) -> Result<SignedUp, ServiceError> {
    let email = Email::parse(email)?;
    let password = Password::new(password)?;
    let name = parse_name(name)?;
    let timezone = parse_timezone(timezone)?;
    let password_hash = password.hash().await?;
    let now = Utc::now();
    let txn = db.begin().await?;
    let user = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.as_str().to_owned()),
        password_hash: Set(password_hash),
        name: Set(name.clone()),
        timezone: Set(timezone),
        last_workspace_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|err| match err.sql_err() {
        // The unique index is the real guard against two sign-ups racing.
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            ServiceError::Invalid(IdentityError::EmailTaken)
        }
        _ => ServiceError::Database(err),
    })?;
    let workspace =
        crate::workspaces::insert_owned(&txn, user.id, personal_workspace_name(&name), now).await?;
    txn.commit().await?;
    Ok(SignedUp { user, workspace })
}

fn personal_workspace_name(name: &str) -> String {
    let first = name.split_whitespace().next().unwrap_or(name);
    let mut title: String = format!("{first}'s workspace");
    if title.chars().count() > 80 {
        title = title.chars().take(80).collect();
    }
    title
}

/// Checks an e-mail and password. Unknown e-mail and wrong password fail the same way, and
/// both cost one argon2 verification so timing does not tell them apart either.
#[tracing::instrument(skip_all, err(level = tracing::Level::INFO))]
pub async fn log_in(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
) -> Result<user::Model, ServiceError> {
    let Ok(email) = Email::parse(email) else {
        return Err(IdentityError::WrongCredentials.into());
    };
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?;
    // An unknown e-mail costs the same work as a real check, against a dummy hash.
    let stored = found
        .as_ref()
        .map_or(DUMMY_HASH, |user| &user.password_hash);
    let matches = check_password(password, stored).await?;
    match found {
        Some(user) if matches => Ok(user),
        _ => Err(IdentityError::WrongCredentials.into()),
    }
}

/// Changes the name and time zone.
#[tracing::instrument(skip_all, fields(%user_id), err(level = tracing::Level::INFO))]
pub async fn update_profile(
    db: &DatabaseConnection,
    user_id: Uuid,
    name: &str,
    timezone: &str,
) -> Result<user::Model, ServiceError> {
    let name = parse_name(name)?;
    let timezone = parse_timezone(timezone)?;
    let found = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(DbErr::RecordNotFound("user".into()))?;
    let mut active = sea_orm::IntoActiveModel::into_active_model(found);
    active.name = Set(name);
    active.timezone = Set(timezone);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

/// Changes the password after checking the current one. The caller ends the other sessions.
#[tracing::instrument(skip_all, fields(%user_id), err(level = tracing::Level::INFO))]
pub async fn change_password(
    db: &DatabaseConnection,
    user_id: Uuid,
    current: &str,
    new: &str,
) -> Result<(), ServiceError> {
    let found = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(DbErr::RecordNotFound("user".into()))?;
    if !check_password(current, &found.password_hash).await? {
        return Err(IdentityError::CurrentPasswordWrong.into());
    }
    let password = Password::new(new)?;
    if current == new {
        return Err(IdentityError::PasswordUnchanged.into());
    }
    let mut active = sea_orm::IntoActiveModel::into_active_model(found);
    active.password_hash = Set(password.hash().await?);
    active.updated_at = Set(Utc::now());
    active.update(db).await?;
    Ok(())
}

/// An argon2id hash of a random string, verified against when the e-mail is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0nV5B0ZzXa2m0bQm7xvU1y0eY3L3s2jv3hJbqS4vD0w";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").expect("valid").as_str(),
            "ada@example.com"
        );
        assert_eq!(Email::parse("   "), Err(IdentityError::EmailEmpty));
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "a da@example.com",
            "ada@.com",
            "ada@example..com",
        ] {
            assert_eq!(Email::parse(bad), Err(IdentityError::EmailInvalid), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(320));
        assert_eq!(Email::parse(&long), Err(IdentityError::EmailTooLong));
    }

    #[test]
    fn passwords_need_ten_characters_and_must_not_be_common() {
        assert_eq!(
            Password::new("short").err(),
            Some(IdentityError::PasswordTooShort)
        );
        assert_eq!(
            Password::new("ééééééééé").err(),
            Some(IdentityError::PasswordTooShort),
            "9 characters, 18 bytes"
        );
        assert_eq!(
            Password::new("Password123").err(),
            Some(IdentityError::PasswordCommon)
        );
        assert_eq!(
            Password::new("zzzzzzzzzzzz").err(),
            Some(IdentityError::PasswordCommon),
            "one repeated character"
        );
        assert_eq!(
            Password::new(&"x1".repeat(129)).err(),
            Some(IdentityError::PasswordTooLong)
        );
        assert!(Password::new("correct horse battery").is_ok());
        assert!(
            !format!("{:?}", Password::new("correct horse battery").expect("ok")).contains("horse")
        );
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify_only_the_right_password() {
        let hash = Password::new("correct horse battery")
            .expect("ok")
            .hash()
            .await
            .expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("anything", "not a hash"));
        assert!(
            check_password("correct horse battery", &hash)
                .await
                .expect("ran")
        );
        assert!(
            PasswordHash::new(DUMMY_HASH).is_ok(),
            "the dummy hash must parse so it costs real work"
        );
    }

    #[test]
    fn names_and_time_zones() {
        assert_eq!(parse_name("  Ada Lovelace "), Ok("Ada Lovelace".to_owned()));
        assert_eq!(parse_name(" "), Err(IdentityError::NameEmpty));
        assert_eq!(
            parse_name(&"a".repeat(101)),
            Err(IdentityError::NameTooLong)
        );
        assert_eq!(
            parse_timezone("Europe/Paris"),
            Ok("Europe/Paris".to_owned())
        );
        assert_eq!(
            parse_timezone("Mars/Olympus"),
            Err(IdentityError::TimezoneUnknown)
        );
        assert_eq!(personal_workspace_name("Ada Lovelace"), "Ada's workspace");
    }
}
