//! Recording what a publish call came back with, and settling targets whose lease ended
//! without an answer (asking the network before ever posting again).

use super::*;

impl Engine {
    pub(super) async fn record_publish(
        &self,
        post: post::Model,
        target: post_target::Model,
        result: Result<Published, CallError>,
        started: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        self.calls_started().await;
        let _slot = self.slot().await;
        let now = Utc::now();
        let ids = (Some(post.id), Some(target.id), None);
        let (outcome, error) = match result {
            Ok(published) => {
                let outcome = self
                    .target_published(&post, &target, &published, now)
                    .await?;
                (outcome, None)
            }
            Err(CallError::Internal(message)) => {
                tracing::warn!(%message, target_id = %target.id, "publish interrupted by our store");
                // Leave it PUBLISHING: the lease's end settles it.
                if let Some(lease) = target.lease_until {
                    self.index_lease_end(target.id, lease).await;
                }
                (Outcome::Retry, None)
            }
            Err(CallError::Connection(message)) => {
                self.target_failed(&target, &message, now).await?;
                (Outcome::Failed, None)
            }
            Err(CallError::Network(err)) => {
                let outcome = self.target_error(&target, &err, now).await?;
                (outcome, Some(err))
            }
        };
        self.write_job(
            JobKind::Publish,
            outcome,
            post.workspace_id,
            ids,
            target.attempts,
            error.as_ref(),
            started,
        )
        .await;
        Ok(outcome)
    }

    pub(super) async fn target_published(
        &self,
        post: &post::Model,
        target: &post_target::Model,
        published: &Published,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let first_poll = now + chrono(self.settings.first_poll);
        let txn = self.db().begin().await?;
        lock_post(&txn, post.id, now).await?;
        let done = changed_target(target, now)
            .col_expr(
                post_target::Column::State,
                Expr::value(TargetState::Published),
            )
            .col_expr(
                post_target::Column::PlatformPostId,
                Expr::value(Some(published.post.id.clone())),
            )
            .col_expr(
                post_target::Column::PlatformPostCid,
                Expr::value(published.post.cid.clone()),
            )
            .col_expr(
                post_target::Column::PlatformPostUrl,
                Expr::value(published.url.clone()),
            )
            .col_expr(post_target::Column::PublishedAt, Expr::value(Some(now)))
            .col_expr(
                post_target::Column::NextPollAt,
                Expr::value(Some(first_poll)),
            )
            .col_expr(
                post_target::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                post_target::Column::FailReason,
                Expr::value(Option::<String>::None),
            )
            .filter(post_target::Column::State.eq(TargetState::Publishing))
            .exec(&txn)
            .await?;
        if done.rows_affected != 1 {
            txn.rollback().await?;
            // Only possible if our lease ran out mid-call and another worker settled it.
            tracing::error!(target_id = %target.id, "published, but the target was taken over");
            return Ok(Outcome::Stale);
        }
        finish_post(&txn, post.id, now).await?;
        txn.commit().await?;
        tracing::info!(target_id = %target.id, post_id = %post.id, platform_post_id = %published.post.id, "published");
        self.index_poll(target.connection_id, first_poll).await;
        let time_plugs = auto_plug::Entity::find()
            .filter(auto_plug::Column::PostId.eq(post.id))
            .filter(auto_plug::Column::Platform.eq(target.platform))
            .filter(auto_plug::Column::Status.eq(PlugStatus::Pending))
            .filter(auto_plug::Column::Trigger.eq(PlugTrigger::TimeAfterPublish))
            .all(self.db())
            .await?;
        for plug in time_plugs {
            self.index(
                Due::Plug(plug.id),
                now + chrono::Duration::minutes(plug.trigger_value),
            )
            .await;
        }
        Ok(Outcome::Done)
    }

    pub(super) async fn target_error(
        &self,
        target: &post_target::Model,
        err: &PlatformError,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let network = err.platform.display_name();
        match &err.kind {
            ErrorKind::RateLimited { retry_at } => {
                let at = retry_at.unwrap_or(now + chrono::Duration::minutes(1));
                tracing::info!(target_id = %target.id, %at, "rate-limited; waiting for the reset");
                // Waiting for a reset is not a failed attempt.
                self.target_back(target, at, target.attempts - 1, None, now)
                    .await
            }
            ErrorKind::Transient { outcome_unknown } => {
                let at = now + chrono(self.settings.backoff(target.attempts, jitter()));
                if *outcome_unknown {
                    // It may have landed: keep it PUBLISHING; whoever comes at `at` settles it.
                    self.extend_lease(target, at, &err.message, now).await
                } else if target.attempts >= self.settings.max_attempts {
                    let reason = format!(
                        "{network} kept failing ({} attempts): {}",
                        target.attempts, err.message
                    );
                    self.target_failed(target, &reason, now).await?;
                    Ok(Outcome::Failed)
                } else {
                    self.target_back(target, at, target.attempts, Some(&err.message), now)
                        .await
                }
            }
            ErrorKind::Auth => {
                let reason = format!(
                    "{network} refused OmniPlug's access ({}). Reconnect the account, then retry.",
                    err.message
                );
                self.target_failed(target, &reason, now).await?;
                Ok(Outcome::Failed)
            }
            ErrorKind::Permanent => {
                let reason = format!("{network} refused the post: {}", err.message);
                self.target_failed(target, &reason, now).await?;
                Ok(Outcome::Failed)
            }
        }
    }

    /// `PUBLISHING` → `PENDING`, due again at `at`.
    pub(super) async fn target_back(
        &self,
        target: &post_target::Model,
        at: DateTime<Utc>,
        attempts: i32,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let changed = changed_target(target, now)
            .col_expr(
                post_target::Column::State,
                Expr::value(TargetState::Pending),
            )
            .col_expr(post_target::Column::NextAttemptAt, Expr::value(Some(at)))
            .col_expr(post_target::Column::Attempts, Expr::value(attempts.max(0)))
            .col_expr(
                post_target::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                post_target::Column::FailReason,
                Expr::value(reason.map(str::to_owned)),
            )
            .filter(post_target::Column::State.eq(TargetState::Publishing))
            .exec(self.db())
            .await?;
        if changed.rows_affected == 1 {
            self.index(Due::Publish(target.id), at).await;
            Ok(Outcome::Retry)
        } else {
            Ok(Outcome::Stale)
        }
    }

    pub(super) async fn extend_lease(
        &self,
        target: &post_target::Model,
        until: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let changed = changed_target(target, now)
            .col_expr(post_target::Column::LeaseUntil, Expr::value(Some(until)))
            .col_expr(
                post_target::Column::FailReason,
                Expr::value(Some(reason.to_owned())),
            )
            .filter(post_target::Column::State.eq(TargetState::Publishing))
            .exec(self.db())
            .await?;
        if changed.rows_affected == 1 {
            self.index_lease_end(target.id, until).await;
            Ok(Outcome::Retry)
        } else {
            Ok(Outcome::Stale)
        }
    }

    pub(super) async fn target_failed(
        &self,
        target: &post_target::Model,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), WorkerError> {
        let txn = self.db().begin().await?;
        lock_post(&txn, target.post_id, now).await?;
        let changed = changed_target(target, now)
            .col_expr(post_target::Column::State, Expr::value(TargetState::Failed))
            .col_expr(
                post_target::Column::FailReason,
                Expr::value(Some(reason.to_owned())),
            )
            .col_expr(
                post_target::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .exec(&txn)
            .await?;
        if changed.rows_affected == 1 {
            finish_post(&txn, target.post_id, now).await?;
            txn.commit().await?;
            tracing::warn!(target_id = %target.id, %reason, "target failed");
        } else {
            txn.rollback().await?;
        }
        Ok(())
    }

    /// Overdue beyond the grace period: not published late. The whole post is MISSED while
    /// nothing of it went out; a straggler of a post already under way fails alone.
    pub(super) async fn miss(
        &self,
        post: post::Model,
        target: post_target::Model,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let late = (now - due).num_minutes();
        let reason = format!(
            "Missed: nothing could publish it at its time ({late} minutes overdue). Publish it now or pick a new time."
        );
        if post.status == PostStatus::Scheduled {
            post::Entity::update_many()
                .col_expr(post::Column::Status, Expr::value(PostStatus::Missed))
                .col_expr(post::Column::FailReason, Expr::value(Some(reason)))
                .col_expr(post::Column::Version, Expr::value(post.version + 1))
                .col_expr(post::Column::UpdatedAt, Expr::value(now))
                .filter(post::Column::Id.eq(post.id))
                .filter(post::Column::Version.eq(post.version))
                .filter(post::Column::Status.eq(PostStatus::Scheduled))
                .exec(self.db())
                .await?;
            tracing::info!(post_id = %post.id, late_minutes = late, "post missed");
        } else {
            self.target_failed(&target, &reason, now).await?;
        }
        Ok(Outcome::Failed)
    }

    /// A target found `PUBLISHING` after its lease: did the call land?
    pub(super) async fn settle_target(
        &self,
        post: post::Model,
        target: post_target::Model,
        now: DateTime<Utc>,
        slot: Option<OwnedSemaphorePermit>,
    ) -> Result<Outcome, WorkerError> {
        let lease = now + chrono(self.settings.lease);
        let Some(claimed) = self.claim_target(&target, lease, now, false).await? else {
            return Ok(Outcome::Stale);
        };
        // The claim counted an attempt; settling is not one.
        let claimed = post_target::Model {
            attempts: target.attempts,
            ..claimed
        };
        let text = claimed
            .content_override
            .clone()
            .unwrap_or_else(|| post.content.clone());
        let wanted = fingerprint(&text);
        let since = claimed.created_at - chrono::Duration::minutes(5);
        let taken: Vec<String> = post_target::Entity::find()
            .filter(post_target::Column::ConnectionId.eq(claimed.connection_id))
            .filter(post_target::Column::Id.ne(claimed.id))
            .filter(post_target::Column::PlatformPostId.is_not_null())
            .filter(post_target::Column::PublishedAt.gte(since))
            .all(self.db())
            .await?
            .into_iter()
            .filter_map(|t| t.platform_post_id)
            .collect();
        let started = Utc::now();
        let found = self
            .call_with_refresh(claimed.connection_id, Op::Recent)
            .await
            .and_then(Answer::recent);
        match found {
            Ok(recent) => {
                let hit = recent.into_iter().find(|p| {
                    fingerprint(&p.text) == wanted
                        && p.created_at.is_none_or(|at| at >= since)
                        && !taken.contains(&p.post.id)
                });
                if let Some(hit) = hit {
                    tracing::info!(target_id = %claimed.id, platform_post_id = %hit.post.id, "unknown outcome settled: it landed; adopted");
                    let published = Published {
                        url: None,
                        post: hit.post,
                    };
                    let outcome = self
                        .target_published(&post, &claimed, &published, Utc::now())
                        .await?;
                    self.write_job(
                        JobKind::Publish,
                        outcome,
                        post.workspace_id,
                        (Some(post.id), Some(claimed.id), None),
                        claimed.attempts,
                        None,
                        started,
                    )
                    .await;
                    Ok(outcome)
                } else if claimed.attempts >= self.settings.max_attempts {
                    let reason = format!(
                        "{} kept failing ({} attempts): {}",
                        claimed.platform_name(),
                        claimed.attempts,
                        claimed
                            .fail_reason
                            .as_deref()
                            .unwrap_or("the post was never confirmed")
                    );
                    self.target_failed(&claimed, &reason, Utc::now()).await?;
                    Ok(Outcome::Failed)
                } else {
                    tracing::info!(target_id = %claimed.id, "unknown outcome settled: it did not land; publishing again");
                    let again = post_target::Model {
                        attempts: claimed.attempts + 1,
                        ..claimed
                    };
                    // Count this attempt in the row too.
                    post_target::Entity::update_many()
                        .col_expr(post_target::Column::Attempts, Expr::value(again.attempts))
                        .filter(post_target::Column::Id.eq(again.id))
                        .filter(post_target::Column::Version.eq(again.version))
                        .exec(self.db())
                        .await?;
                    drop(slot);
                    self.publish_claimed(post, again).await
                }
            }
            Err(CallError::Network(err)) => {
                let at = match err.kind {
                    ErrorKind::RateLimited { retry_at } => {
                        retry_at.unwrap_or(now + chrono::Duration::minutes(1))
                    }
                    _ => now + chrono(self.settings.backoff(claimed.attempts.max(1), jitter())),
                };
                tracing::info!(target_id = %claimed.id, error = %err.message, "could not settle yet");
                if err.kind == ErrorKind::Auth {
                    let reason = format!(
                        "{} refused OmniPlug's access ({}). Reconnect the account, then retry.",
                        err.platform.display_name(),
                        err.message
                    );
                    self.target_failed(&claimed, &reason, Utc::now()).await?;
                    return Ok(Outcome::Failed);
                }
                self.extend_lease(&claimed, at, &err.message, Utc::now())
                    .await
            }
            Err(CallError::Connection(message)) => {
                self.target_failed(&claimed, &message, Utc::now()).await?;
                Ok(Outcome::Failed)
            }
            Err(CallError::Internal(message)) => {
                let at = now + chrono(self.settings.retry_base);
                self.extend_lease(&claimed, at, &message, Utc::now()).await
            }
        }
    }

    // ----- plugs ------------------------------------------------------------------------
}
