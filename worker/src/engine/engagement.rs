//! Reading a connection's engagement: the counts of its recent published targets, which
//! trigger threshold plugs.

use super::*;

impl Engine {
    pub(super) async fn poll(
        &self,
        connection_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        // Targets due now, plus those due within the minimum gap (one read serves them all).
        let horizon = now + chrono(self.settings.min_poll);
        let slot = self.slot().await;
        let watched = post_target::Entity::find()
            .filter(post_target::Column::ConnectionId.eq(connection_id))
            .filter(post_target::Column::State.eq(TargetState::Published))
            .filter(post_target::Column::NextPollAt.is_not_null())
            .all(self.db())
            .await?;
        let (due, later): (Vec<_>, Vec<_>) = watched
            .into_iter()
            .partition(|t| t.next_poll_at.is_some_and(|at| at <= horizon));
        let next_later = later.iter().filter_map(|t| t.next_poll_at).min();
        if due.is_empty() {
            if let Some(at) = next_later {
                self.index_poll(connection_id, at).await;
            }
            return Ok(Outcome::Stale);
        }
        if let Some(wait) =
            polling::take_read(&self.stores.redis, connection_id, now, &self.settings).await?
        {
            self.index_poll(connection_id, now + chrono(wait)).await;
            return Ok(Outcome::Retry);
        }
        let workspace_id = due[0].workspace_id;
        let refs: Vec<PostRef> = due
            .iter()
            .filter_map(|t| t.platform_post_id.clone())
            .map(PostRef::id)
            .collect();
        drop(slot);
        let started = Utc::now();
        let result = self
            .call_with_refresh(connection_id, Op::Engagement(&refs))
            .await
            .and_then(Answer::counts);
        let _slot = self.slot().await;
        let counts = match result {
            Ok(counts) => counts,
            Err(err) => {
                let (at, error) = match err {
                    CallError::Network(err) => {
                        let at = match err.kind {
                            ErrorKind::RateLimited { retry_at } => {
                                retry_at.unwrap_or(now + chrono::Duration::minutes(5))
                            }
                            _ => now + chrono::Duration::minutes(5),
                        };
                        (at, Some(err))
                    }
                    // Disconnected or unusable: stop watching until it is fixed.
                    CallError::Connection(message) => {
                        tracing::info!(%connection_id, %message, "engagement not read");
                        return Ok(Outcome::Failed);
                    }
                    CallError::Internal(_) => (now + chrono::Duration::minutes(1), None),
                };
                self.index_poll(connection_id, at).await;
                self.write_job(
                    JobKind::Poll,
                    Outcome::Retry,
                    workspace_id,
                    (None, None, None),
                    1,
                    error.as_ref(),
                    started,
                )
                .await;
                return Ok(Outcome::Retry);
            }
        };
        let mut next_min = next_later;
        let mut fire = Vec::new();
        for target in &due {
            let seen = target
                .platform_post_id
                .as_ref()
                .and_then(|id| counts.iter().find(|e| &e.id == id))
                .map(|e| e.counts);
            let next = self.observe(target, seen, now, &mut fire).await?;
            if let Some(at) = next {
                next_min = Some(next_min.map_or(at, |m: DateTime<Utc>| m.min(at)));
            }
        }
        for plug_id in fire {
            self.index(Due::Plug(plug_id), now).await;
        }
        if let Some(at) = next_min {
            self.index_poll(connection_id, at).await;
        }
        self.write_job(
            JobKind::Poll,
            Outcome::Done,
            workspace_id,
            (None, None, None),
            1,
            None,
            started,
        )
        .await;
        Ok(Outcome::Done)
    }

    /// Stores one target's counts and snapshot, triggers its plugs that are met, and returns
    /// its next read.
    pub(super) async fn observe(
        &self,
        target: &post_target::Model,
        seen: Option<Counts>,
        now: DateTime<Utc>,
        fire: &mut Vec<Uuid>,
    ) -> Result<Option<DateTime<Utc>>, WorkerError> {
        let previous = Counts {
            likes: target.like_count.unsigned_abs(),
            comments: target.comment_count.unsigned_abs(),
            reposts: target.repost_count.unsigned_abs(),
        };
        let counts = seen.unwrap_or(previous);
        let plugs = auto_plug::Entity::find()
            .filter(auto_plug::Column::PostId.eq(target.post_id))
            .filter(auto_plug::Column::Platform.eq(target.platform))
            .filter(auto_plug::Column::Status.eq(PlugStatus::Pending))
            .all(self.db())
            .await?;
        let mut pending = Vec::new();
        for plug in plugs {
            let Some(value) = polling::metric(plug.trigger, &counts) else {
                continue;
            };
            let threshold = plug.trigger_value.unsigned_abs();
            if value >= threshold {
                if trigger_plug(self.db(), &plug, now).await?.is_some() {
                    tracing::info!(plug_id = %plug.id, value, threshold, "plug threshold met");
                    fire.push(plug.id);
                }
            } else {
                pending.push((plug.trigger, threshold));
            }
        }
        let next = polling::next_poll(
            &Observation {
                published_at: target.published_at.unwrap_or(now),
                now,
                counts,
                // Before the first read, the previous reading is nothing at publishing.
                previous: target
                    .last_polled_at
                    .or(target.published_at)
                    .map(|at| (previous, at)),
                pending,
            },
            &self.settings,
        );
        let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        post_target::Entity::update_many()
            .col_expr(
                post_target::Column::LikeCount,
                Expr::value(as_i64(counts.likes)),
            )
            .col_expr(
                post_target::Column::CommentCount,
                Expr::value(as_i64(counts.comments)),
            )
            .col_expr(
                post_target::Column::RepostCount,
                Expr::value(as_i64(counts.reposts)),
            )
            .col_expr(post_target::Column::LastPolledAt, Expr::value(Some(now)))
            .col_expr(post_target::Column::NextPollAt, Expr::value(next))
            .filter(post_target::Column::Id.eq(target.id))
            .filter(post_target::Column::State.eq(TargetState::Published))
            .exec(self.db())
            .await?;
        engagement_snapshot::ActiveModel {
            id: Set(Uuid::now_v7()),
            target_id: Set(target.id),
            observed_at: Set(now),
            like_count: Set(as_i64(counts.likes)),
            comment_count: Set(as_i64(counts.comments)),
            repost_count: Set(as_i64(counts.reposts)),
            impression_count: Set(target.impression_count),
        }
        .insert(self.db())
        .await?;
        Ok(next)
    }
}
