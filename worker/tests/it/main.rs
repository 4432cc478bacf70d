//! The worker against a real Redis, a fresh database (SQLite or PostgreSQL) and the Sandbox
//! networks. One test binary (see the workspace README on disk use).

mod basics;
mod engine;
mod processes;
mod rig;
