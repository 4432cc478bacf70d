//! A workspace with a Sandbox account connected, and helpers to schedule posts and look at
//! what reached the (simulated) network.

use std::time::Duration;

use chrono::{DateTime, Utc};
use omniplug_core::{
    Config, Stores, connections,
    entities::{PlugTrigger, auto_plug, post, post_target},
    identity,
    post_rules::PlugDraft,
    posts::{self, PostInput, SavedPost},
    schedule,
    tenancy::{self, WorkspaceAccess},
};
use omniplug_platforms::{
    Platform,
    sandbox::{Sandbox, SimPost},
};
use omniplug_testkit::{TestDatabase, fresh_database, test_config};
use omniplug_worker::{Settings, Worker};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, prelude::Uuid, sea_query::Expr};

/// Settings for tests: short leases and back-offs, no prefetch (steps pass their own clock).
pub fn fast() -> Settings {
    Settings {
        lease: Duration::from_secs(3),
        prefetch: Duration::ZERO,
        retry_base: Duration::from_millis(200),
        first_poll: Duration::from_secs(60),
        ..Settings::default()
    }
}

pub struct Rig {
    pub _db: TestDatabase,
    pub stores: Stores,
    pub sandbox: Sandbox,
    pub access: WorkspaceAccess,
    pub connection: Uuid,
    pub config: Config,
}

impl Rig {
    pub async fn new() -> Self {
        let sandbox = Sandbox::start().await.expect("sandbox");
        let db = fresh_database().await;
        let mut config = test_config(&db);
        config
            .networks
            .base_urls
            .insert("sandbox".into(), format!("{}/sandbox", sandbox.url()));
        let stores = Stores::open(config.clone()).await.expect("stores");
        stores
            .redis
            .wait_until_connected(Duration::from_secs(5))
            .await
            .expect("redis up");
        let signed = identity::sign_up(
            &stores.db,
            "ada@example.com",
            "correct horse battery",
            "Ada",
            "UTC",
        )
        .await
        .expect("sign up");
        let access = tenancy::authorize(
            &stores.db,
            signed.user.id,
            signed.workspace.id,
            tenancy::Action::ManageConnections,
        )
        .await
        .expect("owner");
        let networks = connections::Networks::from_config(&stores.config);
        let view = connections::connect_sandbox(&stores.db, &stores.vault, &networks, &access)
            .await
            .expect("connect the sandbox");
        let connection = view.id;
        Self {
            _db: db,
            stores,
            sandbox,
            access,
            connection,
            config,
        }
    }

    pub async fn worker(&self, settings: Settings) -> Worker {
        Worker::start_with(self.stores.clone(), settings)
            .await
            .expect("worker")
    }

    /// Schedules `text` (with an optional plug) for `at`, as the server does: save, then index.
    pub async fn schedule(
        &self,
        text: &str,
        at: DateTime<Utc>,
        plug: Option<(PlugTrigger, i64)>,
    ) -> SavedPost {
        let input = PostInput {
            text: text.into(),
            connection_ids: vec![self.connection],
            plugs: plug
                .map(|(trigger, value)| PlugDraft {
                    platform: Platform::Sandbox,
                    text: format!("Liked \"{text}\"? Try OmniPlug."),
                    trigger,
                    value,
                })
                .into_iter()
                .collect(),
            // Saved as a draft, then moved to `at` directly: the service refuses times less than
            // 30 s ahead, which tests need.
            schedule: None,
            time_zone: "UTC".into(),
            ..PostInput::default()
        };
        let saved = posts::create(&self.stores.db, &self.access, &input, Utc::now())
            .await
            .expect("save");
        self.schedule_existing(saved.post.id, at).await;
        self.reload(saved.post.id).await
    }

    /// Moves a saved post to `at` and indexes it (as saving a schedule does, minus the
    /// 30-seconds-ahead rule).
    pub async fn schedule_existing(&self, id: Uuid, at: DateTime<Utc>) -> Uuid {
        post::Entity::update_many()
            .col_expr(
                post::Column::Status,
                Expr::value(omniplug_core::entities::PostStatus::Scheduled),
            )
            .col_expr(post::Column::ScheduledAt, Expr::value(Some(at)))
            .filter(post::Column::Id.eq(id))
            .exec(&self.stores.db)
            .await
            .expect("schedule");
        post_target::Entity::update_many()
            .col_expr(post_target::Column::NextAttemptAt, Expr::value(Some(at)))
            .filter(post_target::Column::PostId.eq(id))
            .exec(&self.stores.db)
            .await
            .expect("schedule targets");
        let saved = self.reload(id).await;
        schedule::index_targets(&self.stores.redis, &saved.targets)
            .await
            .expect("index");
        id
    }

    pub async fn reload(&self, id: Uuid) -> SavedPost {
        posts::get(&self.stores.db, &self.access, id)
            .await
            .expect("reload")
    }

    /// Top-level posts on the Sandbox network with this text.
    pub fn on_network(&self, text: &str) -> Vec<SimPost> {
        self.sandbox
            .posts(Platform::Sandbox)
            .into_iter()
            .filter(|p| p.text == text && p.reply_to.is_none())
            .collect()
    }

    /// Replies on the Sandbox network.
    pub fn replies(&self) -> Vec<SimPost> {
        self.sandbox
            .posts(Platform::Sandbox)
            .into_iter()
            .filter(|p| p.reply_to.is_some())
            .collect()
    }

    pub async fn plug(&self, post_id: Uuid) -> auto_plug::Model {
        auto_plug::Entity::find()
            .filter(auto_plug::Column::PostId.eq(post_id))
            .one(&self.stores.db)
            .await
            .expect("db")
            .expect("plug")
    }
}
