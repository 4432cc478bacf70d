//! OAuth 2.0 pieces shared by X, LinkedIn and Instagram: PKCE and the token answer.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{Duration, Utc};
use ring::{
    digest,
    rand::{SecureRandom, SystemRandom},
};
use serde::Deserialize;

use super::{Token, TokenSet};

/// A PKCE pair (RFC 7636): the verifier stays with us, the S256 challenge goes in the URL.
#[derive(Clone)]
pub struct Pkce {
    verifier: String,
    challenge: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl Pkce {
    /// A fresh pair from 32 random bytes.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        // The system generator only fails if the OS has no randomness at all.
        SystemRandom::new()
            .fill(&mut bytes)
            .unwrap_or_else(|_| panic!("the operating system gave no random bytes"));
        Self::from_verifier(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The pair for a stored verifier.
    pub fn from_verifier(verifier: impl Into<String>) -> Self {
        let verifier = verifier.into();
        let challenge = challenge_of(&verifier);
        Self {
            verifier,
            challenge,
        }
    }

    /// What the token exchange sends back.
    pub fn verifier(&self) -> &str {
        &self.verifier
    }

    /// What the authorize URL carries.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

/// `BASE64URL(SHA256(verifier))`, the S256 method.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

/// The standard token answer (RFC 6749 §5.1), as X, LinkedIn and Instagram send it.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenAnswer {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub scope: Option<String>,
    /// Instagram names the account in the code exchange.
    #[serde(default, deserialize_with = "string_or_number")]
    pub user_id: Option<String>,
}

impl TokenAnswer {
    pub fn into_tokens(self) -> TokenSet {
        TokenSet {
            access: Token::new(self.access_token),
            refresh: self.refresh_token.map(Token::new),
            expires_at: self.expires_in.map(|s| Utc::now() + Duration::seconds(s)),
            account_id: self.user_id,
            scope: self.scope,
        }
    }
}

/// Ids that arrive as a JSON number or string.
pub(crate) fn string_or_number<'de, D>(de: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let value = Option::<serde_json::Value>::deserialize(de)?;
    Ok(match value {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_the_rfc_7636_example() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let a = Pkce::generate();
        let b = Pkce::generate();
        assert_ne!(a.verifier(), b.verifier());
        assert_eq!(a.verifier().len(), 43);
        assert!(!format!("{a:?}").contains(a.verifier()));
    }
}
