//! Building blocks shared by pages.

pub mod icons;
pub mod layout;
