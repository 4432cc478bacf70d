//! One module per page.

pub mod account;
pub mod analytics;
pub mod compose;
pub mod connections;
pub mod dashboard;
pub mod invite;
pub mod landing;
pub mod library;
pub mod not_found;
pub mod posts;
pub mod schedule;
pub mod settings;
