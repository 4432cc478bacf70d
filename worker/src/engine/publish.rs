//! Publishing a target: claiming it (alone or in batches, ahead of its instant), waiting for
//! the instant, reading its media once, and making the call.

use super::*;

impl Engine {
    pub(super) async fn publish(
        &self,
        target_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let slot = self.slot().await;
        let Some(target) = post_target::Entity::find_by_id(target_id)
            .one(self.db())
            .await?
        else {
            return Ok(Outcome::Stale);
        };
        let Some(post) = post::Entity::find_by_id(target.post_id)
            .one(self.db())
            .await?
        else {
            return Ok(Outcome::Stale);
        };
        match target.state {
            TargetState::Published | TargetState::Failed => Ok(Outcome::Stale),
            TargetState::Publishing => match target.lease_until {
                Some(lease) if lease > now => {
                    // Its worker is on it; come back when the lease ends in case it dies.
                    self.index_lease_end(target.id, lease).await;
                    Ok(Outcome::Stale)
                }
                _ => self.settle_target(post, target, now, slot).await,
            },
            TargetState::Pending | TargetState::Queued => {
                self.publish_pending(post, target, now, slot).await
            }
        }
    }

    pub(super) async fn publish_pending(
        &self,
        post: post::Model,
        target: post_target::Model,
        now: DateTime<Utc>,
        slot: Option<OwnedSemaphorePermit>,
    ) -> Result<Outcome, WorkerError> {
        let Some(due) = target.next_attempt_at else {
            return Ok(Outcome::Stale);
        };
        if !matches!(post.status, PostStatus::Scheduled | PostStatus::Publishing) {
            return Ok(Outcome::Stale);
        }
        if due > now + chrono(self.settings.claim_ahead()) {
            // Rescheduled later since this entry was made.
            self.index(Due::Publish(target.id), due).await;
            return Ok(Outcome::Stale);
        }
        if target.attempts == 0 {
            let grace = workspace::Entity::find_by_id(post.workspace_id)
                .one(self.db())
                .await?
                .map_or(DEFAULT_GRACE_MINUTES, |w| w.missed_grace_minutes);
            if missed(due, now, grace) {
                return self.miss(post, target, due, now).await;
            }
        }
        let lease = due.max(now) + chrono(self.settings.lease);
        let Some(claimed) = self.claim_target(&target, lease, now, true).await? else {
            return Ok(Outcome::Stale);
        };
        drop(slot);
        self.publish_on_time(post, claimed).await
    }

    /// Claims, in one transaction, every target among `ids` that is plainly ready to go out
    /// (pending, its post scheduled, due within [`Settings::claim_ahead`], not missed): what a
    /// burst of thousands needs, instead of a transaction each. Returns the claimed ones with
    /// their posts, for [`Self::publish_on_time`]; every other id (stale, leased, settling,
    /// missed, or changed meanwhile) is left for [`Self::handle`] to decide one by one.
    pub async fn claim_publishes(
        &self,
        ids: &[Uuid],
        now: DateTime<Utc>,
    ) -> Result<Vec<(post::Model, post_target::Model)>, WorkerError> {
        use std::collections::HashSet;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let _lane = self.claim_lane.acquire().await.ok();
        let targets = post_target::Entity::find()
            .filter(post_target::Column::Id.is_in(ids.iter().copied()))
            .filter(post_target::Column::State.is_in([TargetState::Pending, TargetState::Queued]))
            .all(self.db())
            .await?;
        let post_ids: HashSet<Uuid> = targets.iter().map(|t| t.post_id).collect();
        let posts: HashMap<Uuid, post::Model> = post::Entity::find()
            .filter(post::Column::Id.is_in(post_ids))
            .filter(post::Column::Status.is_in([PostStatus::Scheduled, PostStatus::Publishing]))
            .all(self.db())
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let workspace_ids: HashSet<Uuid> = posts.values().map(|p| p.workspace_id).collect();
        let graces: HashMap<Uuid, i32> = workspace::Entity::find()
            .filter(workspace::Column::Id.is_in(workspace_ids))
            .all(self.db())
            .await?
            .into_iter()
            .map(|w| (w.id, w.missed_grace_minutes))
            .collect();
        let horizon = now + chrono(self.settings.claim_ahead());
        let ready: Vec<post_target::Model> = targets
            .into_iter()
            .filter(|t| {
                let (Some(post), Some(due)) = (posts.get(&t.post_id), t.next_attempt_at) else {
                    return false;
                };
                let grace = graces
                    .get(&post.workspace_id)
                    .copied()
                    .unwrap_or(DEFAULT_GRACE_MINUTES);
                due <= horizon && (t.attempts > 0 || !missed(due, now, grace))
            })
            .collect();
        let Some(latest) = ready.iter().filter_map(|t| t.next_attempt_at).max() else {
            return Ok(Vec::new());
        };
        let lease = latest.max(now) + chrono(self.settings.lease);

        let txn = self.db().begin().await?;
        // Posts first, each at the version read: a post edited since then is left alone (and
        // its targets go the single way).
        let moved: HashMap<Uuid, post::Model> = post::Entity::update_many()
            .col_expr(post::Column::Status, Expr::value(PostStatus::Publishing))
            .col_expr(
                post::Column::Version,
                Expr::col(post::Column::Version).add(1),
            )
            .col_expr(post::Column::UpdatedAt, Expr::value(now))
            .filter(at_versions(
                post::Column::Id,
                post::Column::Version,
                ready
                    .iter()
                    .map(|t| t.post_id)
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .filter_map(|id| posts.get(&id))
                    .map(|p| (p.id, p.version)),
            ))
            .filter(post::Column::Status.is_in([PostStatus::Scheduled, PostStatus::Publishing]))
            .exec_with_returning(&txn)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let claimed = post_target::Entity::update_many()
            .col_expr(
                post_target::Column::State,
                Expr::value(TargetState::Publishing),
            )
            .col_expr(post_target::Column::LeaseUntil, Expr::value(Some(lease)))
            .col_expr(
                post_target::Column::Attempts,
                Expr::col(post_target::Column::Attempts).add(1),
            )
            .col_expr(
                post_target::Column::Version,
                Expr::col(post_target::Column::Version).add(1),
            )
            .col_expr(post_target::Column::UpdatedAt, Expr::value(now))
            .filter(at_versions(
                post_target::Column::Id,
                post_target::Column::Version,
                ready
                    .iter()
                    .filter(|t| moved.contains_key(&t.post_id))
                    .map(|t| (t.id, t.version)),
            ))
            .filter(post_target::Column::State.is_in([TargetState::Pending, TargetState::Queued]))
            .exec_with_returning(&txn)
            .await?;
        // A post moved to PUBLISHING none of whose targets could be claimed (one changed
        // meanwhile) goes back to what it was.
        let with_claims: HashSet<Uuid> = claimed.iter().map(|t| t.post_id).collect();
        for post in moved.values().filter(|p| !with_claims.contains(&p.id)) {
            if let Some(before) = posts.get(&post.id) {
                post::Entity::update_many()
                    .col_expr(post::Column::Status, Expr::value(before.status))
                    .filter(post::Column::Id.eq(post.id))
                    .filter(post::Column::Version.eq(post.version))
                    .exec(&txn)
                    .await?;
            }
        }
        txn.commit().await?;
        Ok(claimed
            .into_iter()
            .filter_map(|t| Some((moved.get(&t.post_id)?.clone(), t)))
            .collect())
    }

    /// A claimed target: opens the credentials now, waits for the exact instant (holding no
    /// database turn), publishes and records the result. A credentials failure here is met
    /// again by the call itself.
    pub(super) async fn publish_on_time(
        &self,
        post: post::Model,
        target: post_target::Model,
    ) -> Result<Outcome, WorkerError> {
        let due = target.next_attempt_at.unwrap_or_else(Utc::now);
        if !self.has_credentials(target.connection_id) {
            let _slot = self.slot().await;
            if self.credentials(target.connection_id, false).await.is_err() {
                tracing::debug!(connection_id = %target.connection_id, "credentials not ready yet");
            }
        }
        sleep_until_wall(due).await;
        self.publish_claimed(post, target).await
    }

    /// [`Self::publish_on_time`] for a target of [`Self::claim_publishes`].
    pub async fn publish_ready(
        &self,
        post: post::Model,
        target: post_target::Model,
    ) -> Result<Outcome, WorkerError> {
        let outcome = self.publish_on_time(post, target).await?;
        count_job("publish", outcome);
        Ok(outcome)
    }

    /// `PENDING`/`QUEUED` (or, when settling, an expired `PUBLISHING`) → `PUBLISHING` with a
    /// lease; also moves the post to `PUBLISHING`. `None` if someone else changed either.
    pub(super) async fn claim_target(
        &self,
        target: &post_target::Model,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
        from_pending: bool,
    ) -> Result<Option<post_target::Model>, DbErr> {
        let txn = self.db().begin().await?;
        let moved = post::Entity::update_many()
            .col_expr(post::Column::Status, Expr::value(PostStatus::Publishing))
            .col_expr(
                post::Column::Version,
                Expr::col(post::Column::Version).add(1),
            )
            .col_expr(post::Column::UpdatedAt, Expr::value(now))
            .filter(post::Column::Id.eq(target.post_id))
            .filter(post::Column::Status.is_in([PostStatus::Scheduled, PostStatus::Publishing]))
            .exec(&txn)
            .await?;
        let states = if from_pending {
            vec![TargetState::Pending, TargetState::Queued]
        } else {
            vec![TargetState::Publishing]
        };
        let claimed = changed_target(target, now)
            .col_expr(
                post_target::Column::State,
                Expr::value(TargetState::Publishing),
            )
            .col_expr(
                post_target::Column::LeaseUntil,
                Expr::value(Some(lease_until)),
            )
            .col_expr(
                post_target::Column::Attempts,
                Expr::value(target.attempts + 1),
            )
            .filter(post_target::Column::State.is_in(states))
            .exec(&txn)
            .await?;
        if moved.rows_affected != 1 || claimed.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(None);
        }
        txn.commit().await?;
        Ok(Some(post_target::Model {
            state: TargetState::Publishing,
            lease_until: Some(lease_until),
            attempts: target.attempts + 1,
            version: target.version + 1,
            ..target.clone()
        }))
    }

    pub(super) async fn publish_claimed(
        &self,
        post: post::Model,
        target: post_target::Model,
    ) -> Result<Outcome, WorkerError> {
        let text = target
            .content_override
            .clone()
            .unwrap_or_else(|| post.content.clone());
        let media = match self.media_of(&post).await {
            Ok(media) => media,
            Err(err) => {
                return self
                    .record_publish(post, target, Err(err), Utc::now())
                    .await;
            }
        };
        let new_post = NewPost { text, media };
        let permit = {
            let _queued = QueuedCall::new(&self.queued_calls);
            self.call_slot(target.platform.into()).await
        };
        // The call starts now, once it has a slot: lateness counts the wait for one.
        let started = Utc::now();
        if target.attempts == 1
            && let Some(due) = target.next_attempt_at
        {
            let late = (started - due).num_microseconds().unwrap_or(0) as f64 / 1e6;
            metrics::histogram!("omniplug_publish_lateness_seconds").record(late.max(0.0));
        }
        let result = self
            .call_with_refresh(target.connection_id, Op::Publish(&new_post))
            .await
            .and_then(Answer::published);
        drop(permit);
        self.record_publish(post, target, result, started).await
    }

    /// The files attached to `post`, read from the media store, each with its public address
    /// when one is configured (Instagram fetches by address).
    pub(super) async fn media_of(&self, post: &post::Model) -> Result<Vec<Media>, CallError> {
        let attached = media::attached(post);
        if attached.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = attached.iter().map(|a| a.id).collect();
        let assets = media::assets_in_order(self.db(), post.workspace_id, &ids)
            .await
            .map_err(|err| match err {
                media::MediaError::NotFound => CallError::Connection(
                    "An attached file was deleted from the media library.".into(),
                ),
                other => CallError::Internal(other.to_string()),
            })?;
        let store = &self.stores.media;
        let mut media = Vec::with_capacity(assets.len());
        for (asset, attached) in assets.iter().zip(attached) {
            // One copy per file however many targets are publishing it at once.
            let bytes = store.read_shared(asset).await.map_err(|err| match err {
                media::MediaError::NotFound => CallError::Connection(format!(
                    "The file {} is missing from media storage.",
                    asset.file_name
                )),
                other => CallError::Internal(other.to_string()),
            })?;
            media.push(Media {
                bytes,
                mime: asset.mime_type.clone(),
                alt: attached.alt,
                public_url: store.public_url(asset),
            });
        }
        Ok(media)
    }
}
