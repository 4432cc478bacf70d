//! Building blocks shared by pages.

pub mod forms;
pub mod icons;
pub mod layout;
pub mod media;
pub mod post;
pub mod toast;
