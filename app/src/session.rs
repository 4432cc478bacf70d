//! The logged-in person, loaded once per page and shared with every component through context.

use leptos::prelude::*;

use crate::{
    auth::{CurrentUser, get_current_user},
    error::AppError,
};

/// The current user, `None` when logged out.
#[derive(Clone, Copy, Debug)]
pub struct Me(pub Resource<Result<Option<CurrentUser>, AppError>>);

impl Me {
    /// Starts loading and provides it to the components below.
    pub fn provide() -> Self {
        let me = Me(Resource::new(|| (), |_| get_current_user()));
        provide_context(me);
        me
    }

    /// The one provided by the app root.
    pub fn get() -> Self {
        expect_context::<Me>()
    }

    /// The current workspace's id, once loaded (`NotFound` when the person has none,
    /// `Unauthenticated` when logged out).
    pub async fn workspace_id(self) -> Result<String, AppError> {
        let user = self.0.await?.ok_or(AppError::Unauthenticated)?;
        user.workspace.map(|w| w.id).ok_or(AppError::NotFound)
    }

    /// Loads again (after a rename or profile change).
    pub fn refetch(self) {
        self.0.refetch();
    }
}

/// Whether `role` may do what needs at least `min` (owner > admin > editor > viewer).
pub fn role_at_least(role: &str, min: &str) -> bool {
    fn rank(role: &str) -> u8 {
        match role {
            "owner" => 4,
            "admin" => 3,
            "editor" => 2,
            "viewer" => 1,
            _ => 0,
        }
    }
    rank(role) >= rank(min)
}
