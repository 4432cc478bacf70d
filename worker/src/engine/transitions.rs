//! The compare-and-set updates of targets, plugs and posts the handlers share.

use super::*;

/// An update of `target` that applies only if it is still at the version read (its worker's
/// compare-and-set), bumping that version and `updated_at`.
pub(super) fn changed_target(
    target: &post_target::Model,
    now: DateTime<Utc>,
) -> sea_orm::UpdateMany<post_target::Entity> {
    post_target::Entity::update_many()
        .col_expr(
            post_target::Column::Version,
            Expr::value(target.version + 1),
        )
        .col_expr(post_target::Column::UpdatedAt, Expr::value(now))
        .filter(post_target::Column::Id.eq(target.id))
        .filter(post_target::Column::Version.eq(target.version))
}

/// [`changed_target`] for a plug.
pub(super) fn changed_plug(
    plug: &auto_plug::Model,
    now: DateTime<Utc>,
) -> sea_orm::UpdateMany<auto_plug::Entity> {
    auto_plug::Entity::update_many()
        .col_expr(auto_plug::Column::Version, Expr::value(plug.version + 1))
        .col_expr(auto_plug::Column::UpdatedAt, Expr::value(now))
        .filter(auto_plug::Column::Id.eq(plug.id))
        .filter(auto_plug::Column::Version.eq(plug.version))
}

/// Takes the post's row lock first, so two targets finishing at once see each other.
pub(super) async fn lock_post(
    txn: &impl ConnectionTrait,
    post_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    post::Entity::update_many()
        .col_expr(post::Column::UpdatedAt, Expr::value(now))
        .filter(post::Column::Id.eq(post_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Once no target of the post is still under way: PUBLISHED, PARTIALLY_PUBLISHED or FAILED,
/// with each failed network's reason; plugs on networks where nothing went out are skipped.
pub(super) async fn finish_post(
    txn: &impl ConnectionTrait,
    post_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let targets = post_target::Entity::find()
        .filter(post_target::Column::PostId.eq(post_id))
        .all(txn)
        .await?;
    if targets.iter().any(|t| {
        matches!(
            t.state,
            TargetState::Pending | TargetState::Queued | TargetState::Publishing
        )
    }) {
        return Ok(());
    }
    let published: Vec<_> = targets
        .iter()
        .filter(|t| t.state == TargetState::Published)
        .collect();
    let failed: Vec<_> = targets
        .iter()
        .filter(|t| t.state == TargetState::Failed)
        .collect();
    let status = match (published.is_empty(), failed.is_empty()) {
        (false, true) => PostStatus::Published,
        (true, _) => PostStatus::Failed,
        (false, false) => PostStatus::PartiallyPublished,
    };
    let reason = (!failed.is_empty()).then(|| {
        failed
            .iter()
            .map(|t| t.fail_reason.clone().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" · ")
    });
    let first = published.iter().filter_map(|t| t.published_at).min();
    post::Entity::update_many()
        .col_expr(post::Column::Status, Expr::value(status))
        .col_expr(post::Column::PublishedAt, Expr::value(first))
        .col_expr(post::Column::FailReason, Expr::value(reason))
        .col_expr(
            post::Column::Version,
            Expr::col(post::Column::Version).add(1),
        )
        .col_expr(post::Column::UpdatedAt, Expr::value(now))
        .filter(post::Column::Id.eq(post_id))
        .exec(txn)
        .await?;
    for target in failed {
        let any_out = published.iter().any(|p| p.platform == target.platform);
        if any_out {
            continue;
        }
        auto_plug::Entity::update_many()
            .col_expr(auto_plug::Column::Status, Expr::value(PlugStatus::Skipped))
            .col_expr(
                auto_plug::Column::FailReason,
                Expr::value(Some(format!(
                    "Skipped: the post did not go out on {}.",
                    Platform::from(target.platform).display_name()
                ))),
            )
            .col_expr(
                auto_plug::Column::Version,
                Expr::col(auto_plug::Column::Version).add(1),
            )
            .col_expr(auto_plug::Column::UpdatedAt, Expr::value(now))
            .filter(auto_plug::Column::PostId.eq(post_id))
            .filter(auto_plug::Column::Platform.eq(target.platform))
            .filter(auto_plug::Column::Status.eq(PlugStatus::Pending))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// `PENDING` → `FIRING` (no call yet): the trigger is met. `None` if someone else moved it.
pub(super) async fn trigger_plug(
    db: &DatabaseConnection,
    plug: &auto_plug::Model,
    now: DateTime<Utc>,
) -> Result<Option<auto_plug::Model>, DbErr> {
    let changed = changed_plug(plug, now)
        .col_expr(auto_plug::Column::Status, Expr::value(PlugStatus::Firing))
        .col_expr(
            auto_plug::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(auto_plug::Column::Status.eq(PlugStatus::Pending))
        .exec(db)
        .await?;
    Ok((changed.rows_affected == 1).then(|| auto_plug::Model {
        status: PlugStatus::Firing,
        lease_until: None,
        version: plug.version + 1,
        ..plug.clone()
    }))
}

pub(super) async fn end_plug(
    db: &DatabaseConnection,
    plug: &auto_plug::Model,
    status: PlugStatus,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    changed_plug(plug, now)
        .col_expr(auto_plug::Column::Status, Expr::value(status))
        .col_expr(
            auto_plug::Column::FailReason,
            Expr::value(Some(reason.to_owned())),
        )
        .col_expr(
            auto_plug::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .exec(db)
        .await?;
    tracing::info!(plug_id = %plug.id, ?status, %reason, "plug ended without firing");
    Ok(())
}

pub(super) async fn mark_invalid(db: &DatabaseConnection, connection_id: Uuid, message: &str) {
    let result = pc::Entity::update_many()
        .col_expr(pc::Column::IsValid, Expr::value(false))
        .col_expr(pc::Column::LastError, Expr::value(Some(message.to_owned())))
        .col_expr(pc::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(pc::Column::Id.eq(connection_id))
        .exec(db)
        .await;
    if let Err(err) = result {
        tracing::warn!(error = %err, %connection_id, "could not mark the connection invalid");
    }
}
