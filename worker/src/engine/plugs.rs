//! Auto-plugs: claiming a due plug, replying under the published post, recording the reply,
//! and settling plugs whose lease ended.

use super::*;

impl Engine {
    pub(super) async fn fire_plug(
        &self,
        plug_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let Some(plug) = auto_plug::Entity::find_by_id(plug_id)
            .one(self.db())
            .await?
        else {
            return Ok(Outcome::Stale);
        };
        let target = post_target::Entity::find()
            .filter(post_target::Column::PostId.eq(plug.post_id))
            .filter(post_target::Column::Platform.eq(plug.platform))
            .filter(post_target::Column::State.eq(TargetState::Published))
            .order_by_asc(post_target::Column::PublishedAt)
            .one(self.db())
            .await?;
        let Some(target) = target else {
            if matches!(plug.status, PlugStatus::Pending | PlugStatus::Firing) {
                self.skip_plug(&plug, "The post did not go out on this network.", now)
                    .await?;
            }
            return Ok(Outcome::Stale);
        };
        let plug = match plug.status {
            PlugStatus::Fired | PlugStatus::Failed | PlugStatus::Skipped => {
                return Ok(Outcome::Stale);
            }
            PlugStatus::Pending => {
                if plug.trigger != PlugTrigger::TimeAfterPublish {
                    // Threshold plugs are moved to FIRING by the poller.
                    return Ok(Outcome::Stale);
                }
                let Some(published) = target.published_at else {
                    return Ok(Outcome::Stale);
                };
                let due = published + chrono::Duration::minutes(plug.trigger_value);
                if due > now {
                    self.index(Due::Plug(plug.id), due).await;
                    return Ok(Outcome::Stale);
                }
                match trigger_plug(self.db(), &plug, now).await? {
                    Some(plug) => plug,
                    None => return Ok(Outcome::Stale),
                }
            }
            PlugStatus::Firing => plug,
        };
        match plug.lease_until {
            Some(lease) if lease > now => {
                self.index(Due::Plug(plug.id), lease).await;
                Ok(Outcome::Stale)
            }
            // A reply call was made and its result never recorded.
            Some(_) => self.settle_plug(plug, target, now).await,
            None => self.reply(plug, target, now).await,
        }
    }

    /// `FIRING` (lease free or expired) → `FIRING` with our lease.
    pub(super) async fn claim_plug(
        &self,
        plug: &auto_plug::Model,
        now: DateTime<Utc>,
        count_attempt: bool,
    ) -> Result<Option<auto_plug::Model>, DbErr> {
        let lease = now + chrono(self.settings.lease);
        let attempts = plug.attempts + i32::from(count_attempt);
        let changed = changed_plug(plug, now)
            .col_expr(auto_plug::Column::LeaseUntil, Expr::value(Some(lease)))
            .col_expr(auto_plug::Column::Attempts, Expr::value(attempts))
            .filter(auto_plug::Column::Status.eq(PlugStatus::Firing))
            .exec(self.db())
            .await?;
        Ok((changed.rows_affected == 1).then(|| auto_plug::Model {
            lease_until: Some(lease),
            attempts,
            version: plug.version + 1,
            ..plug.clone()
        }))
    }

    pub(super) async fn reply(
        &self,
        plug: auto_plug::Model,
        target: post_target::Model,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let Some(plug) = self.claim_plug(&plug, now, true).await? else {
            return Ok(Outcome::Stale);
        };
        let Some(parent_id) = target.platform_post_id.clone() else {
            self.skip_plug(&plug, "The post has no id on the network.", now)
                .await?;
            return Ok(Outcome::Stale);
        };
        let parent = PostRef {
            id: parent_id,
            cid: target.platform_post_cid.clone(),
        };
        let text = plug.content.clone();
        let permit = self.call_slot(target.platform.into()).await;
        let started = Utc::now();
        let result = self
            .call_with_refresh(target.connection_id, Op::Reply(&parent, &text))
            .await
            .and_then(Answer::published);
        drop(permit);
        self.record_reply(plug, result, started).await
    }

    pub(super) async fn record_reply(
        &self,
        plug: auto_plug::Model,
        result: Result<Published, CallError>,
        started: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let now = Utc::now();
        let (outcome, error) = match result {
            Ok(published) => (self.plug_fired(&plug, &published, now).await?, None),
            Err(CallError::Internal(message)) => {
                tracing::warn!(%message, plug_id = %plug.id, "reply interrupted by our store");
                if let Some(lease) = plug.lease_until {
                    self.index(Due::Plug(plug.id), lease).await;
                }
                (Outcome::Retry, None)
            }
            Err(CallError::Connection(message)) => {
                self.plug_failed(&plug, &message, now).await?;
                (Outcome::Failed, None)
            }
            Err(CallError::Network(err)) => {
                let outcome = match &err.kind {
                    ErrorKind::RateLimited { retry_at } => {
                        let at = retry_at.unwrap_or(now + chrono::Duration::minutes(1));
                        self.plug_lease(&plug, None, plug.attempts - 1, at, now)
                            .await?
                    }
                    ErrorKind::Transient { outcome_unknown } => {
                        let at = now + chrono(self.settings.backoff(plug.attempts, jitter()));
                        if *outcome_unknown {
                            self.plug_lease(&plug, Some(at), plug.attempts, at, now)
                                .await?
                        } else if plug.attempts >= self.settings.max_attempts {
                            let reason = format!(
                                "{} kept failing ({} attempts): {}",
                                err.platform.display_name(),
                                plug.attempts,
                                err.message
                            );
                            self.plug_failed(&plug, &reason, now).await?;
                            Outcome::Failed
                        } else {
                            self.plug_lease(&plug, None, plug.attempts, at, now).await?
                        }
                    }
                    ErrorKind::Auth | ErrorKind::Permanent => {
                        let reason = format!(
                            "{} refused the plug: {}",
                            err.platform.display_name(),
                            err.message
                        );
                        self.plug_failed(&plug, &reason, now).await?;
                        Outcome::Failed
                    }
                };
                (outcome, Some(err))
            }
        };
        self.write_job(
            JobKind::Plug,
            outcome,
            plug.workspace_id,
            (Some(plug.post_id), None, Some(plug.id)),
            plug.attempts,
            error.as_ref(),
            started,
        )
        .await;
        Ok(outcome)
    }

    pub(super) async fn plug_fired(
        &self,
        plug: &auto_plug::Model,
        published: &Published,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let changed = changed_plug(plug, now)
            .col_expr(auto_plug::Column::Status, Expr::value(PlugStatus::Fired))
            .col_expr(auto_plug::Column::FiredAt, Expr::value(Some(now)))
            .col_expr(
                auto_plug::Column::PlugPostId,
                Expr::value(Some(published.post.id.clone())),
            )
            .col_expr(
                auto_plug::Column::PlugPostUrl,
                Expr::value(published.url.clone()),
            )
            .col_expr(
                auto_plug::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                auto_plug::Column::FailReason,
                Expr::value(Option::<String>::None),
            )
            .filter(auto_plug::Column::Status.eq(PlugStatus::Firing))
            .exec(self.db())
            .await?;
        if changed.rows_affected != 1 {
            tracing::error!(plug_id = %plug.id, "replied, but the plug was taken over");
            return Ok(Outcome::Stale);
        }
        tracing::info!(plug_id = %plug.id, reply_id = %published.post.id, "plug fired");
        Ok(Outcome::Done)
    }

    /// Keeps the plug FIRING and due again at `at`; `lease` set means the last call's outcome
    /// is unknown (settle first), `None` means call again.
    pub(super) async fn plug_lease(
        &self,
        plug: &auto_plug::Model,
        lease: Option<DateTime<Utc>>,
        attempts: i32,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let changed = changed_plug(plug, now)
            .col_expr(auto_plug::Column::LeaseUntil, Expr::value(lease))
            .col_expr(auto_plug::Column::Attempts, Expr::value(attempts.max(0)))
            .filter(auto_plug::Column::Status.eq(PlugStatus::Firing))
            .exec(self.db())
            .await?;
        if changed.rows_affected == 1 {
            self.index(Due::Plug(plug.id), at).await;
            Ok(Outcome::Retry)
        } else {
            Ok(Outcome::Stale)
        }
    }

    pub(super) async fn plug_failed(
        &self,
        plug: &auto_plug::Model,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        end_plug(self.db(), plug, PlugStatus::Failed, reason, now).await
    }

    pub(super) async fn skip_plug(
        &self,
        plug: &auto_plug::Model,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        end_plug(self.db(), plug, PlugStatus::Skipped, reason, now).await
    }

    pub(super) async fn settle_plug(
        &self,
        plug: auto_plug::Model,
        target: post_target::Model,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let Some(plug) = self.claim_plug(&plug, now, false).await? else {
            return Ok(Outcome::Stale);
        };
        let wanted = fingerprint(&plug.content);
        let since = target.published_at.unwrap_or(plug.created_at);
        let found = self
            .call_with_refresh(target.connection_id, Op::Recent)
            .await
            .and_then(Answer::recent);
        match found {
            Ok(recent) => {
                let hit = recent.into_iter().find(|p| {
                    fingerprint(&p.text) == wanted && p.created_at.is_none_or(|at| at >= since)
                });
                if let Some(hit) = hit {
                    tracing::info!(plug_id = %plug.id, reply_id = %hit.post.id, "unknown plug outcome settled: it landed; adopted");
                    let published = Published {
                        url: None,
                        post: hit.post,
                    };
                    self.plug_fired(&plug, &published, Utc::now()).await
                } else if plug.attempts >= self.settings.max_attempts {
                    self.plug_failed(
                        &plug,
                        "The network did not confirm the reply after several attempts.",
                        Utc::now(),
                    )
                    .await?;
                    Ok(Outcome::Failed)
                } else {
                    tracing::info!(plug_id = %plug.id, "unknown plug outcome settled: it did not land; replying again");
                    // Release our settling lease so `reply` can claim it for the call.
                    let free = auto_plug::Model {
                        lease_until: None,
                        ..plug
                    };
                    self.reply(free, target, Utc::now()).await
                }
            }
            Err(CallError::Network(err)) => {
                let at = match err.kind {
                    ErrorKind::RateLimited { retry_at } => {
                        retry_at.unwrap_or(now + chrono::Duration::minutes(1))
                    }
                    _ => now + chrono(self.settings.backoff(plug.attempts.max(1), jitter())),
                };
                self.plug_lease(&plug, Some(at), plug.attempts, at, Utc::now())
                    .await
            }
            Err(CallError::Connection(message)) => {
                self.plug_failed(&plug, &message, Utc::now()).await?;
                Ok(Outcome::Failed)
            }
            Err(CallError::Internal(_)) => {
                let at = now + chrono(self.settings.retry_base);
                self.plug_lease(&plug, Some(at), plug.attempts, at, Utc::now())
                    .await
            }
        }
    }

    // ----- engagement ---------------------------------------------------------------------
}
