//! The due index: every piece of future work (publish a target, fire a time plug, poll a
//! connection's engagement) as a member of a Redis sorted set scored by its due time in
//! milliseconds: publishes in one, plugs and polls in another, because publishes are handed
//! out ahead of their time and the others only at it. Streams have no delay, so a mover
//! ([`move_due`]) atomically takes what is due and appends it to the stream its kind belongs
//! to, where the workers' consumer group reads it.
//!
//! The database is the truth and the index only a hint: a member names a row, never a version,
//! and the handler reads the row and acts only if the row says the work is due. So a stale
//! member (the post was edited, rescheduled or deleted) is harmless, duplicates are harmless,
//! and a lost index is rebuilt from the database ([`rebuild`]) at start-up and whenever the
//! `due:built` marker is gone (a flushed or replaced Redis).

use chrono::{DateTime, TimeZone, Utc};
use fred::{
    interfaces::{KeysInterface, SortedSetsInterface},
    types::{scripts::Script, sorted_sets::Ordering},
};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect, prelude::Uuid,
};

use crate::{
    entities::{PlugStatus, PlugTrigger, PostStatus, TargetState, auto_plug, post, post_target},
    queue::{PLUG_STREAM, POLL_STREAM, PUBLISH_STREAM, QueueError, Redis},
};

/// The sorted set of due publishes (handed out ahead of time: their handler claims them and
/// waits for the instant).
pub const DUE_KEY: &str = "due";
/// The sorted set of due plugs and polls, handed out at their time: their handlers act at
/// once, so one handed out early would only put itself back until it is due.
pub const ON_TIME_KEY: &str = "due:on-time";
/// Present while the index holds everything the database says is pending.
pub const BUILT_KEY: &str = "due:built";

/// One piece of future work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Due {
    /// Publish (or settle) a post target.
    Publish(Uuid),
    /// Fire (or settle) an auto-plug.
    Plug(Uuid),
    /// Read the engagement of a connection's published targets.
    Poll(Uuid),
}

impl Due {
    /// The sorted-set member (and stream field value): `pub:<id>`, `plg:<id>`, `pol:<id>`.
    pub fn member(&self) -> String {
        match self {
            Self::Publish(id) => format!("pub:{id}"),
            Self::Plug(id) => format!("plg:{id}"),
            Self::Poll(id) => format!("pol:{id}"),
        }
    }

    /// The sorted set this kind of work waits in.
    fn key(&self) -> &'static str {
        match self {
            Self::Publish(_) => DUE_KEY,
            Self::Plug(_) | Self::Poll(_) => ON_TIME_KEY,
        }
    }

    /// Reads a member back; `None` for anything else.
    pub fn parse(member: &str) -> Option<Self> {
        let (kind, id) = member.split_once(':')?;
        let id = Uuid::parse_str(id).ok()?;
        match kind {
            "pub" => Some(Self::Publish(id)),
            "plg" => Some(Self::Plug(id)),
            "pol" => Some(Self::Poll(id)),
            _ => None,
        }
    }
}

fn score(at: DateTime<Utc>) -> f64 {
    // Milliseconds since 1970 stay far below 2^53, so the f64 is exact.
    #[allow(clippy::cast_precision_loss)]
    let ms = at.timestamp_millis() as f64;
    ms
}

/// Milliseconds since 1970 back to an instant.
pub fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Puts `due` in the index at `at` (moving it if it is there already).
pub async fn add(redis: &Redis, due: Due, at: DateTime<Utc>) -> Result<(), QueueError> {
    put(redis, due.key(), due, at, None).await
}

/// Puts `due` in the index at `at` to be handed out at that time, not ahead of it, whatever
/// its kind: the end of a lease on a publish (the target is someone's until then, and a
/// handler reaching it early would only put it back, again and again until the lease ends).
pub async fn add_at_its_time(redis: &Redis, due: Due, at: DateTime<Utc>) -> Result<(), QueueError> {
    put(redis, ON_TIME_KEY, due, at, None).await
}

/// Puts `due` in the index at `at` unless it is already due earlier (engagement polls: one
/// member per connection, due at its most urgent target).
pub async fn add_no_later(redis: &Redis, due: Due, at: DateTime<Utc>) -> Result<(), QueueError> {
    put(redis, due.key(), due, at, Some(Ordering::LessThan)).await
}

/// `ZADD` of `due` at `at` into the set `key`, only when `ordering` allows (`LT`: earlier).
async fn put(
    redis: &Redis,
    key: &str,
    due: Due,
    at: DateTime<Utc>,
    ordering: Option<Ordering>,
) -> Result<(), QueueError> {
    let _: i64 = redis
        .client()
        .zadd(
            redis.key(key),
            None,
            ordering,
            false,
            false,
            (score(at), due.member()),
        )
        .await?;
    Ok(())
}

/// Takes `due` out of the index.
pub async fn remove(redis: &Redis, due: Due) -> Result<(), QueueError> {
    let _: i64 = redis
        .client()
        .zrem(redis.key(due.key()), due.member())
        .await?;
    Ok(())
}

/// When `due` is in the index, if it is.
pub async fn due_at(redis: &Redis, due: Due) -> Result<Option<DateTime<Utc>>, QueueError> {
    let at: Option<f64> = redis
        .client()
        .zscore(redis.key(due.key()), due.member())
        .await?;
    #[allow(clippy::cast_possible_truncation)]
    Ok(at.map(|ms| from_millis(ms as i64)))
}

/// How many entries the index holds.
pub async fn len(redis: &Redis) -> Result<u64, QueueError> {
    let publishes: u64 = redis.client().zcard(redis.key(DUE_KEY)).await?;
    let on_time: u64 = redis.client().zcard(redis.key(ON_TIME_KEY)).await?;
    Ok(publishes + on_time)
}

/// Indexes the pending targets of a post that was just saved (a scheduled post); drafts have
/// nothing due. Called after the database commit; if Redis is down the worker's sweep finds
/// the targets within [`SWEEP_AHEAD`].
pub async fn index_targets(
    redis: &Redis,
    targets: &[post_target::Model],
) -> Result<(), QueueError> {
    for target in targets {
        if target.state == TargetState::Pending
            && let Some(at) = target.next_attempt_at
        {
            add(redis, Due::Publish(target.id), at).await?;
        }
    }
    Ok(())
}

/// How far ahead the periodic sweep re-indexes work (a safety net for index writes lost while
/// Redis was unreachable).
pub const SWEEP_AHEAD: chrono::Duration = chrono::Duration::minutes(10);

/// What [`move_due`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    /// The index marker is missing: Redis lost its data; rebuild before moving anything.
    IndexMissing,
    /// `count` entries went to the streams; a move at `next` (ms, on the clock of `now`) is
    /// the first that could find more.
    Moved {
        /// Entries moved.
        count: u64,
        /// When the earliest entry left becomes movable.
        next: Option<i64>,
    },
}

// Atomic, so a worker dying halfway cannot lose an entry (taken out of the set but never
// appended) or move it twice. Streams are chosen by the member's prefix.
// KEYS: publishes, plugs and polls, the marker, the publish / plug / poll streams.
// ARGV: the publish horizon (ms), now (ms), the most to move.
const MOVE_LUA: &str = r"
if redis.call('EXISTS', KEYS[3]) == 0 then return {-1, false} end
local limit = tonumber(ARGV[3])
local moved = 0
local function take(set, upto)
  if moved >= limit then return end
  local items = redis.call('ZRANGEBYSCORE', set, '-inf', upto, 'WITHSCORES', 'LIMIT', 0, limit - moved)
  for i = 1, #items, 2 do
    local member = items[i]
    local kind = string.sub(member, 1, 4)
    local stream = KEYS[4]
    if kind == 'plg:' then stream = KEYS[5] elseif kind == 'pol:' then stream = KEYS[6] end
    redis.call('XADD', stream, '*', 'm', member, 'due', items[i + 1])
    redis.call('ZREM', set, member)
  end
  moved = moved + #items / 2
end
take(KEYS[1], ARGV[1])
take(KEYS[2], ARGV[2])
-- A publish becomes movable when the horizon reaches it, a plug or poll when now does.
local soonest = false
local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #head == 2 then soonest = tonumber(head[2]) - math.max(tonumber(ARGV[1]) - tonumber(ARGV[2]), 0) end
head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #head == 2 and (not soonest or tonumber(head[2]) < soonest) then soonest = tonumber(head[2]) end
if soonest then soonest = string.format('%d', soonest) end
return {moved, soonest}
";

/// Moves up to `limit` entries into their streams: publishes due by `publish_until` (claimed
/// early, they wait for their instant in the handler), plugs and polls due by `now`.
pub async fn move_due(
    redis: &Redis,
    publish_until: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Moved, QueueError> {
    static SCRIPT: std::sync::LazyLock<Script> =
        std::sync::LazyLock::new(|| Script::from_lua(MOVE_LUA));
    let script = &*SCRIPT;
    let keys = vec![
        redis.key(DUE_KEY),
        redis.key(ON_TIME_KEY),
        redis.key(BUILT_KEY),
        redis.key(PUBLISH_STREAM),
        redis.key(PLUG_STREAM),
        redis.key(POLL_STREAM),
    ];
    let (count, next): (i64, Option<String>) = script
        .evalsha_with_reload(
            redis.client(),
            keys,
            vec![
                publish_until.timestamp_millis().to_string(),
                now.timestamp_millis().to_string(),
                limit.to_string(),
            ],
        )
        .await?;
    if count < 0 {
        return Ok(Moved::IndexMissing);
    }
    Ok(Moved::Moved {
        count: count.unsigned_abs(),
        next: next.and_then(|s| s.parse::<i64>().ok()),
    })
}

/// Why the index could not be rebuilt.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// Reading the database failed.
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// Writing Redis failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl From<fred::error::Error> for RebuildError {
    fn from(err: fred::error::Error) -> Self {
        Self::Queue(QueueError::Command(err))
    }
}

/// Re-indexes everything pending in the database (all of it, or with `ahead` only what is due
/// before `now + ahead`), then sets the `due:built` marker. Returns how many entries it wrote.
///
/// Pending targets of scheduled or publishing posts at their next attempt; targets being
/// published at their lease's end (to be settled if their worker died); pending time plugs of
/// published targets at their time; plugs being fired at their lease's end (or now); and
/// every connection with published targets under watch at its earliest next poll.
pub async fn rebuild(
    db: &DatabaseConnection,
    redis: &Redis,
    now: DateTime<Utc>,
    ahead: Option<chrono::Duration>,
) -> Result<usize, RebuildError> {
    let horizon = ahead.map(|a| now + a);
    let within = |at: DateTime<Utc>| horizon.is_none_or(|h| at <= h);
    // Publishes to hand out ahead of their time, and everything handed out at its time:
    // plugs, polls and the ends of leases (see `add_at_its_time`).
    let mut ahead_of_time: Vec<(Due, DateTime<Utc>)> = Vec::new();
    let mut on_time: Vec<(Due, DateTime<Utc>)> = Vec::new();

    // Targets that are due (within the horizon), then only those whose post is still live.
    let mut waiting = post_target::Entity::find().filter(post_target::Column::State.is_in([
        TargetState::Pending,
        TargetState::Queued,
        TargetState::Publishing,
    ]));
    if let Some(horizon) = horizon {
        waiting = waiting.filter(
            sea_orm::Condition::any()
                .add(post_target::Column::NextAttemptAt.lte(horizon))
                .add(post_target::Column::LeaseUntil.lte(horizon)),
        );
    }
    let waiting = waiting.all(db).await?;
    let mut post_ids: Vec<Uuid> = waiting.iter().map(|t| t.post_id).collect();
    post_ids.sort();
    post_ids.dedup();
    let mut live = std::collections::HashSet::new();
    for chunk in post_ids.chunks(500) {
        let ids: Vec<Uuid> = post::Entity::find()
            .select_only()
            .column(post::Column::Id)
            .filter(post::Column::Id.is_in(chunk.to_vec()))
            .filter(post::Column::Status.is_in([PostStatus::Scheduled, PostStatus::Publishing]))
            .into_tuple()
            .all(db)
            .await?;
        live.extend(ids);
    }
    for target in waiting.into_iter().filter(|t| live.contains(&t.post_id)) {
        let (at, list) = match target.state {
            TargetState::Publishing => (target.lease_until.unwrap_or(now), &mut on_time),
            _ => (target.next_attempt_at.unwrap_or(now), &mut ahead_of_time),
        };
        if within(at) {
            list.push((Due::Publish(target.id), at));
        }
    }

    let mut watched = post_target::Entity::find()
        .filter(post_target::Column::State.eq(TargetState::Published))
        .filter(post_target::Column::NextPollAt.is_not_null());
    if let Some(horizon) = horizon {
        watched = watched.filter(post_target::Column::NextPollAt.lte(horizon));
    }
    let watched = watched.all(db).await?;
    let mut polls: std::collections::HashMap<Uuid, DateTime<Utc>> = Default::default();
    for target in &watched {
        if let Some(at) = target.next_poll_at {
            let slot = polls.entry(target.connection_id).or_insert(at);
            *slot = (*slot).min(at);
        }
    }
    on_time.extend(
        polls
            .into_iter()
            .filter(|(_, at)| within(*at))
            .map(|(id, at)| (Due::Poll(id), at)),
    );

    let plugs = auto_plug::Entity::find()
        .filter(auto_plug::Column::Status.is_in([PlugStatus::Pending, PlugStatus::Firing]))
        .all(db)
        .await?;
    for plug in plugs {
        let at = match plug.status {
            PlugStatus::Firing => plug.lease_until.unwrap_or(now),
            _ if plug.trigger == PlugTrigger::TimeAfterPublish => {
                let published = post_target::Entity::find()
                    .filter(post_target::Column::PostId.eq(plug.post_id))
                    .filter(post_target::Column::Platform.eq(plug.platform))
                    .filter(post_target::Column::State.eq(TargetState::Published))
                    .one(db)
                    .await?
                    .and_then(|t| t.published_at);
                match published {
                    Some(at) => at + chrono::Duration::minutes(plug.trigger_value),
                    None => continue,
                }
            }
            // Threshold plugs are checked by the polls.
            _ => continue,
        };
        if within(at) {
            on_time.push((Due::Plug(plug.id), at));
        }
    }

    for (key, entries) in [(DUE_KEY, &ahead_of_time), (ON_TIME_KEY, &on_time)] {
        for chunk in entries.chunks(1000) {
            let values: Vec<(f64, String)> = chunk
                .iter()
                .map(|(due, at)| (score(*at), due.member()))
                .collect();
            let _: i64 = redis
                .client()
                .zadd(redis.key(key), None, None, false, false, values)
                .await?;
        }
    }
    let _: () = redis
        .client()
        .set(redis.key(BUILT_KEY), now.timestamp(), None, None, false)
        .await?;
    Ok(ahead_of_time.len() + on_time.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_round_trip_and_junk_is_refused() {
        let id = Uuid::now_v7();
        for due in [Due::Publish(id), Due::Plug(id), Due::Poll(id)] {
            assert_eq!(Due::parse(&due.member()), Some(due));
        }
        assert_eq!(Due::parse("pub:not-a-uuid"), None);
        assert_eq!(Due::parse(&format!("xyz:{id}")), None);
        assert_eq!(Due::parse("nothing"), None);
    }
}
