//! The core's integration tests against a real database, in one test binary.

mod identity;
mod posts;
mod schema;
