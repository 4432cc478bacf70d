//! The networks OmniPlug publishes to.
//!
//! This crate is split so the browser build can use it: the names and text rules here have
//! no I/O dependencies; the API clients (added behind the default `clients` feature) bring
//! reqwest. `app`'s hydrate build depends on this crate with default features off.
#![forbid(unsafe_code)]

#[cfg(feature = "clients")]
pub mod clients;
pub mod media;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod text;

use serde::{Deserialize, Serialize};

/// A network a workspace can connect accounts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// X (formerly Twitter), API v2.
    X,
    /// LinkedIn, REST Posts API.
    #[serde(rename = "linkedin")]
    LinkedIn,
    /// Instagram, Graph API content publishing.
    Instagram,
    /// Bluesky, AT Protocol XRPC.
    Bluesky,
    /// OmniPlug's built-in simulated network, for trying the whole loop without credentials.
    Sandbox,
}

impl Platform {
    /// Every platform, in the order the interface lists them.
    pub const ALL: [Platform; 5] = [
        Platform::X,
        Platform::LinkedIn,
        Platform::Instagram,
        Platform::Bluesky,
        Platform::Sandbox,
    ];

    /// The name people see.
    pub fn display_name(self) -> &'static str {
        match self {
            Platform::X => "X",
            Platform::LinkedIn => "LinkedIn",
            Platform::Instagram => "Instagram",
            Platform::Bluesky => "Bluesky",
            Platform::Sandbox => "Sandbox",
        }
    }

    /// The stable identifier used in URLs, the API and the database.
    pub fn slug(self) -> &'static str {
        match self {
            Platform::X => "x",
            Platform::LinkedIn => "linkedin",
            Platform::Instagram => "instagram",
            Platform::Bluesky => "bluesky",
            Platform::Sandbox => "sandbox",
        }
    }

    /// Parses a slug as produced by [`Platform::slug`].
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.slug() == slug)
    }

    /// Whether this is the simulated network (the interface labels it as such).
    pub fn is_simulated(self) -> bool {
        self == Platform::Sandbox
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip_and_match_serde() {
        for p in Platform::ALL {
            assert_eq!(Platform::from_slug(p.slug()), Some(p));
            let json = serde_json::to_string(&p).expect("serializes");
            assert_eq!(json, format!("\"{}\"", p.slug()));
        }
        assert_eq!(Platform::from_slug("myspace"), None);
    }
}
