//! The token vault: platform access and refresh tokens are sealed with AES-256-GCM (`ring`)
//! before they touch the database.
//!
//! A sealed value reads `<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`, with a fresh random nonce
//! per value. The associated data names the table, field and row, so a ciphertext copied into
//! another row or column fails to open.
//!
//! Several keys can be configured (`OMNIPLUG_TOKEN_KEY=k2:…,k1:…`, newest first): the newest
//! seals, any of them opens, and `reseal` (see `connections::reseal_all`) moves every stored
//! value to the newest key so an old one can then be dropped.

use std::path::Path;

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use ring::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand::{SecureRandom, SystemRandom},
};

use crate::config::{Config, Environment, Secret};

/// Name of the development key file inside the data directory.
pub const DEV_KEY_FILE: &str = "token.key";

/// Why the vault could not be set up or could not open a value.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// No key in production: the message says what to set.
    #[error(
        "OMNIPLUG_TOKEN_KEY is not set. Production needs an explicit token encryption key: \
         generate 32 random bytes (`openssl rand -base64 32`) and set OMNIPLUG_TOKEN_KEY=k1:<that base64>"
    )]
    MissingKey,
    /// The configured key is not `<id>:<base64 of 32 bytes>`.
    #[error("OMNIPLUG_TOKEN_KEY must look like k1:<base64 of 32 bytes>: {0}")]
    MalformedKey(&'static str),
    /// Reading or writing the development key file failed.
    #[error("token key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The value names a key this vault does not hold.
    #[error("sealed with unknown key id {0:?}")]
    UnknownKey(String),
    /// Tampered, truncated, moved to another row, or not a sealed value at all.
    #[error("sealed value could not be opened")]
    Corrupt,
}

/// Names what a sealed value belongs to; it is authenticated but not stored.
#[derive(Debug, Clone, Copy)]
pub struct SealedField<'a> {
    /// Table name, e.g. `platform_connections`.
    pub table: &'a str,
    /// Column name, e.g. `access_token`.
    pub field: &'a str,
    /// Row id as text.
    pub row_id: &'a str,
}

impl SealedField<'_> {
    fn aad(&self) -> String {
        format!("{}.{}:{}", self.table, self.field, self.row_id)
    }
}

/// Seals and opens secrets with the configured keys.
pub struct Vault {
    /// Newest first; the first one seals.
    keys: Vec<(String, LessSafeKey)>,
    rng: SystemRandom,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field(
                "key_ids",
                &self.keys.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            )
            .field("keys", &"[redacted]")
            .finish()
    }
}

impl Vault {
    /// Loads the key from configuration; in development, generates one into
    /// `<data_dir>/token.key` the first time and reuses it afterwards.
    pub fn from_config(config: &Config) -> Result<Self, VaultError> {
        if let Some(key) = &config.token_key {
            return Self::from_encoded(key);
        }
        match config.environment {
            Environment::Production => Err(VaultError::MissingKey),
            Environment::Development => {
                Self::from_encoded(&load_or_create_dev_key(&config.data_dir)?)
            }
        }
    }

    /// Parses `<key id>:<base64 of 32 bytes>`, or several of them separated by commas, newest
    /// first.
    pub fn from_encoded(encoded: &Secret<String>) -> Result<Self, VaultError> {
        let mut keys = Vec::new();
        for one in encoded
            .expose()
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
        {
            let key = parse_key(one)?;
            if keys
                .iter()
                .any(|(id, _): &(String, LessSafeKey)| *id == key.0)
            {
                return Err(VaultError::MalformedKey("two keys share one key id"));
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(VaultError::MalformedKey("no key given"));
        }
        Ok(Self {
            keys,
            rng: SystemRandom::new(),
        })
    }

    /// The id of the key new values are sealed with.
    pub fn current_key_id(&self) -> &str {
        &self.keys[0].0
    }

    /// Whether `sealed` was sealed with the newest key (else `reseal` should rewrite it).
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed
            .split_once(':')
            .is_some_and(|(id, _)| id == self.current_key_id())
    }

    /// A fresh random key in the configured format (for the development key file and tests).
    pub fn generate_encoded() -> Secret<String> {
        let mut bytes = [0u8; 32];
        // SystemRandom only fails when the OS has no randomness, and then nothing is safe anyway.
        #[allow(clippy::expect_used)]
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("operating system random source");
        Secret::new(format!("k1:{}", B64.encode(bytes)))
    }

    /// Encrypts `plaintext` for one field of one row.
    pub fn seal(&self, plaintext: &str, field: SealedField<'_>) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        #[allow(clippy::expect_used)]
        self.rng
            .fill(&mut nonce)
            .expect("operating system random source");
        let mut buf = plaintext.as_bytes().to_vec();
        #[allow(clippy::expect_used)]
        self.keys[0]
            .1
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(field.aad().as_bytes()),
                &mut buf,
            )
            // Only fails for inputs beyond ~64 GB, which no token is.
            .expect("token fits AES-GCM limits");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        format!("{}:{}", self.keys[0].0, B64.encode(out))
    }

    /// Decrypts a value sealed for the same field of the same row.
    pub fn open(&self, sealed: &str, field: SealedField<'_>) -> Result<Secret<String>, VaultError> {
        let (key_id, b64) = sealed.split_once(':').ok_or(VaultError::Corrupt)?;
        let (_, key) = self
            .keys
            .iter()
            .find(|(id, _)| id == key_id)
            .ok_or_else(|| VaultError::UnknownKey(key_id.to_owned()))?;
        let bytes = B64.decode(b64).map_err(|_| VaultError::Corrupt)?;
        if bytes.len() < NONCE_LEN {
            return Err(VaultError::Corrupt);
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| VaultError::Corrupt)?;
        let mut buf = rest.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(field.aad().as_bytes()), &mut buf)
            .map_err(|_| VaultError::Corrupt)?;
        String::from_utf8(plain.to_vec())
            .map(Secret::new)
            .map_err(|_| VaultError::Corrupt)
    }
}

/// One `<key id>:<base64 of 32 bytes>`.
fn parse_key(one: &str) -> Result<(String, LessSafeKey), VaultError> {
    let (key_id, b64) = one
        .split_once(':')
        .ok_or(VaultError::MalformedKey("missing the key id and colon"))?;
    if key_id.is_empty() || !key_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(VaultError::MalformedKey(
            "the key id must be letters and digits",
        ));
    }
    let bytes = B64
        .decode(b64)
        .map_err(|_| VaultError::MalformedKey("not valid base64"))?;
    if bytes.len() != 32 {
        return Err(VaultError::MalformedKey("the key must be exactly 32 bytes"));
    }
    let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
        .map_err(|_| VaultError::MalformedKey("rejected by AES-256-GCM"))?;
    Ok((key_id.to_owned(), LessSafeKey::new(unbound)))
}

fn load_or_create_dev_key(data_dir: &Path) -> Result<Secret<String>, VaultError> {
    let path = data_dir.join(DEV_KEY_FILE);
    let io_err = |source| VaultError::KeyFile {
        path: path.display().to_string(),
        source,
    };
    let read = || std::fs::read_to_string(&path).map(|k| Secret::new(k.trim().to_owned()));
    match read() {
        Ok(existing) => Ok(existing),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir).map_err(io_err)?;
            let key = Vault::generate_encoded();
            if publish_private(data_dir, &path, key.expose()).map_err(io_err)? {
                tracing::info!(path = %path.display(), "generated a development token encryption key");
            }
            // Whoever won the race (this process or another started beside it, like the server
            // and the worker of `make run`), the file now holds the one key all of them use.
            read().map_err(io_err)
        }
        Err(err) => Err(io_err(err)),
    }
}

/// Puts `contents` at `path`, readable only by its owner, unless a file is there already;
/// `false` when another process got there first. The file appears whole or not at all: it
/// is written under a private name and then linked into place (a link never replaces a file),
/// so a process starting at the same moment never reads a half-written key.
fn publish_private(dir: &Path, path: &Path, contents: &str) -> std::io::Result<bool> {
    use std::io::Write;
    let staging = dir.join(format!(
        ".{DEV_KEY_FILE}.{}.{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&staging).and_then(|mut file| {
        file.write_all(contents.as_bytes())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&staging, path));
    let _ = std::fs::remove_file(&staging);
    match linked {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELD: SealedField<'static> = SealedField {
        table: "platform_connections",
        field: "access_token",
        row_id: "42",
    };

    fn vault() -> Vault {
        Vault::from_encoded(&Vault::generate_encoded()).expect("generated key is valid")
    }

    #[test]
    fn sealed_tokens_open_only_for_their_row_and_field() {
        let v = vault();
        let sealed = v.seal("ya29.secret-token", FIELD);
        assert!(sealed.starts_with("k1:"));
        assert!(!sealed.contains("secret-token"));
        assert_eq!(
            v.open(&sealed, FIELD).expect("opens").expose(),
            "ya29.secret-token"
        );

        let other_row = SealedField {
            row_id: "43",
            ..FIELD
        };
        assert!(matches!(
            v.open(&sealed, other_row),
            Err(VaultError::Corrupt)
        ));
        let other_field = SealedField {
            field: "refresh_token",
            ..FIELD
        };
        assert!(matches!(
            v.open(&sealed, other_field),
            Err(VaultError::Corrupt)
        ));
    }

    #[test]
    fn same_plaintext_seals_differently_and_tampering_is_detected() {
        let v = vault();
        let a = v.seal("token", FIELD);
        assert_ne!(a, v.seal("token", FIELD), "a random nonce per seal");
        let mut bytes = B64
            .decode(a.split_once(':').expect("has id").1)
            .expect("b64");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("k1:{}", B64.encode(bytes));
        assert!(matches!(v.open(&tampered, FIELD), Err(VaultError::Corrupt)));
        assert!(matches!(
            v.open("k9:AAAA", FIELD),
            Err(VaultError::UnknownKey(_))
        ));
        assert!(
            matches!(vault().open(&a, FIELD), Err(VaultError::Corrupt)),
            "another key"
        );
    }

    #[test]
    fn the_newest_key_seals_and_every_configured_key_opens() {
        let old = Vault::generate_encoded();
        let new_key = Vault::generate_encoded().expose().replacen("k1:", "k2:", 1);
        let before = Vault::from_encoded(&old).expect("old key");
        let sealed_old = before.seal("refresh-me", FIELD);
        let both = Vault::from_encoded(&Secret::new(format!("{new_key}, {}", old.expose())))
            .expect("two keys");
        assert_eq!(both.current_key_id(), "k2");
        assert!(!both.is_current(&sealed_old));
        assert_eq!(
            both.open(&sealed_old, FIELD)
                .expect("old values still open")
                .expose(),
            "refresh-me"
        );
        let sealed_new = both.seal("refresh-me", FIELD);
        assert!(sealed_new.starts_with("k2:") && both.is_current(&sealed_new));
        // Once the old key is dropped, values it sealed are refused by name.
        let only_new = Vault::from_encoded(&Secret::new(new_key.clone())).expect("new key");
        assert!(
            matches!(only_new.open(&sealed_old, FIELD), Err(VaultError::UnknownKey(id)) if id == "k1")
        );
        assert!(matches!(
            Vault::from_encoded(&Secret::new(format!("{new_key},{new_key}"))),
            Err(VaultError::MalformedKey("two keys share one key id"))
        ));
    }

    #[test]
    fn malformed_keys_are_rejected_with_a_reason() {
        for bad in ["", "nocolon", "k1:not base64!", "k1:AAAA", ":AAAA"] {
            let err = Vault::from_encoded(&Secret::new(bad.to_owned())).expect_err(bad);
            assert!(matches!(err, VaultError::MalformedKey(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn development_generates_a_key_once_and_production_requires_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::from_lookup(|_| None).expect("defaults");
        config.data_dir = dir.path().to_path_buf();
        let first = Vault::from_config(&config).expect("dev key generated");
        let sealed = first.seal("t", FIELD);
        let second = Vault::from_config(&config).expect("dev key reused");
        assert_eq!(second.open(&sealed, FIELD).expect("same key").expose(), "t");

        config.environment = Environment::Production;
        let err = Vault::from_config(&config).expect_err("no key in production");
        assert!(err.to_string().contains("OMNIPLUG_TOKEN_KEY"), "{err}");
    }

    /// The server and the worker start side by side on a fresh data folder: both must end up
    /// with the same key, or tokens the server seals cannot be opened by the worker.
    #[test]
    fn processes_starting_together_share_one_development_key() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut config = Config::from_lookup(|_| None).expect("defaults");
            config.data_dir = dir.path().to_path_buf();
            let start = std::sync::Barrier::new(8);
            let vaults: Vec<Vault> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..8)
                    .map(|_| {
                        scope.spawn(|| {
                            start.wait();
                            Vault::from_config(&config).expect("dev key")
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("thread"))
                    .collect()
            });
            let sealed = vaults[0].seal("t", FIELD);
            for vault in &vaults {
                assert_eq!(vault.open(&sealed, FIELD).expect("one key").expose(), "t");
            }
            let names: Vec<_> = std::fs::read_dir(dir.path())
                .expect("dir")
                .map(|e| e.expect("entry").file_name())
                .collect();
            assert_eq!(names, [DEV_KEY_FILE], "no staging files left behind");
        }
    }
}
