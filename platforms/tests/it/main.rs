//! The platform clients against the in-process Sandbox (every operation, every error class),
//! the X client against X's OpenAPI document, and the Bluesky client against a real AT
//! Protocol server when `make test` has started one.

mod bluesky_real;
mod clients;
mod errors;
mod support;
mod x_openapi;
