//! The S3-compatible server `make test` starts (moto, on loopback), for tests of the bucket
//! media backend.

use omniplug_core::config::{S3Settings, Secret};

/// The server's address from `OMNIPLUG_TEST_S3_URL`. Without it: `None` (the caller skips,
/// saying so), unless `OMNIPLUG_REQUIRE_S3=1` — set by `make test` — demands it.
///
/// # Panics
/// When the server is required but not configured.
pub fn s3_url() -> Option<String> {
    match std::env::var("OMNIPLUG_TEST_S3_URL") {
        Ok(url) => Some(url.trim_end_matches('/').to_owned()),
        Err(_) if std::env::var("OMNIPLUG_REQUIRE_S3").is_ok_and(|v| v == "1") => {
            panic!("OMNIPLUG_REQUIRE_S3=1 but OMNIPLUG_TEST_S3_URL is not set")
        }
        Err(_) => {
            eprintln!(
                "skipped: no S3-compatible server (OMNIPLUG_TEST_S3_URL unset); `make test` starts one"
            );
            None
        }
    }
}

/// Creates an empty bucket of its own and returns the settings that use it.
///
/// # Panics
/// When the server refuses.
#[allow(clippy::expect_used)]
pub async fn fresh_bucket(url: &str) -> S3Settings {
    let bucket = format!(
        "omniplug-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let created = reqwest::Client::new()
        .put(format!("{url}/{bucket}"))
        .send()
        .await
        .expect("the S3 server answers");
    assert!(
        created.status().is_success(),
        "creating a bucket: {}",
        created.status()
    );
    S3Settings {
        bucket,
        endpoint: Some(url.to_owned()),
        region: "us-east-1".into(),
        access_key_id: Some("omniplug-test".into()),
        secret_access_key: Some(Secret::new("omniplug-test-secret".into())),
    }
}
