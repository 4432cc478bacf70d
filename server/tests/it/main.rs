//! The server's integration tests, through the real HTTP server, in one test binary: every
//! binary links the whole app, so one of them builds and links once instead of once per file.

mod support;

mod auth;
mod connections;
mod health;
mod hostile;
mod isolation;
mod limits;
mod media;
mod pages;
mod posts;
mod roles;
mod workspaces;
