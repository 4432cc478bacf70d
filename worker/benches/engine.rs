//! The engine's benchmark (not part of the test suite): `make bench`, or
//! `cargo bench -p omniplug-worker --bench engine` with Redis on 127.0.0.1:16379 and, for
//! PostgreSQL, `OMNIPLUG_TEST_DATABASE=postgres://…` (as `scripts/test.sh` sets up).
//!
//! One worker (in this process, with the Sandbox network beside it) and 1,000 Sandbox
//! connections. Scenarios, named by the first argument (`make bench` runs each in a process of
//! its own, so one's leftover work does not land in the next one's numbers):
//! - `spread`: 10,000 posts spread evenly over one minute, and
//! - `burst`: 10,000 posts all due at one instant: publish lateness (network call start minus
//!   scheduled time, from the job rows) p50/p99/max, publishes per second, and the process's
//!   CPU time per call while they start;
//! - `engine-burst`: the burst with the network answering publishes at once, in process: the
//!   engine's own share, comparable with the seed design's do-nothing-job measurement;
//! - `plugs`: 1,000 tracked posts with a likes plug each, audiences growing on the Sandbox's
//!   curves over six simulated hours (the worker is stepped with the simulated clock): plug
//!   latency after the threshold is crossed p50/p95, and platform reads per tracked post-hour.
#![allow(clippy::print_stdout, clippy::expect_used, clippy::unwrap_used)]
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use omniplug_core::{
    Stores, connections,
    entities::{
        JobKind, PlatformKind, PlugStatus, PlugTrigger, PostStatus, TargetState, auto_plug, job,
        post, post_target,
    },
    identity,
    tenancy::{self, WorkspaceAccess},
};
use omniplug_platforms::{
    Platform,
    clients::{
        Account, AuthorizeRequest, Credentials, Engagement, Network, NewPost, PostRef, Published,
        RecentPost, Result, TokenSet,
    },
    sandbox::{Curve, Sandbox},
};
use omniplug_testkit::{fresh_database, test_config, test_engine};
use omniplug_worker::{Settings, Worker};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, prelude::Uuid,
};

/// The worker binary's allocator (`src/main.rs`), so the numbers are the worker's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONNECTIONS: usize = 1_000;
const POSTS: usize = 10_000;
const TRACKED: usize = 1_000;

/// The Sandbox client, except that publishing answers at once without a request: a network
/// with no cost and no latency, for timing the engine alone.
#[derive(Debug)]
struct AtOnce(std::sync::Arc<dyn Network>, std::sync::atomic::AtomicU64);

#[async_trait::async_trait]
impl Network for AtOnce {
    fn platform(&self) -> Platform {
        self.0.platform()
    }
    fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Option<String> {
        self.0.authorize_url(request)
    }
    async fn exchange_code(&self, code: &str, verifier: &str, redirect: &str) -> Result<TokenSet> {
        self.0.exchange_code(code, verifier, redirect).await
    }
    async fn refresh(&self, credentials: &Credentials) -> Result<TokenSet> {
        self.0.refresh(credentials).await
    }
    async fn verify(&self, tokens: &TokenSet) -> Result<Account> {
        self.0.verify(tokens).await
    }
    async fn publish(&self, credentials: &Credentials, _post: &NewPost) -> Result<Published> {
        let n = self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!(
            "at://{}/app.bsky.feed.post/instant{n}",
            credentials.account_id
        );
        Ok(Published {
            post: PostRef {
                id,
                cid: Some(format!("cid{n}")),
            },
            url: None,
        })
    }
    async fn reply(&self, c: &Credentials, parent: &PostRef, reply: &NewPost) -> Result<Published> {
        self.0.reply(c, parent, reply).await
    }
    async fn engagement(&self, c: &Credentials, posts: &[PostRef]) -> Result<Vec<Engagement>> {
        self.0.engagement(c, posts).await
    }
    async fn recent_posts(&self, c: &Credentials, limit: usize) -> Result<Vec<RecentPost>> {
        self.0.recent_posts(c, limit).await
    }
}

struct Bench {
    stores: Stores,
    sandbox: Sandbox,
    access: WorkspaceAccess,
    connections: Vec<Uuid>,
}

async fn setup() -> (omniplug_testkit::TestDatabase, Bench) {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let db = fresh_database().await;
    let mut config = test_config(&db);
    config
        .networks
        .base_urls
        .insert("sandbox".into(), format!("{}/sandbox", sandbox.url()));
    let stores = Stores::open(config).await.expect("stores");
    stores
        .redis
        .wait_until_connected(Duration::from_secs(5))
        .await
        .expect("redis");
    let signed = identity::sign_up(
        &stores.db,
        "bench@example.com",
        "correct horse battery",
        "Bench",
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
    let mut ids = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let view = connections::connect_sandbox(&stores.db, &stores.vault, &networks, &access)
            .await
            .expect("connect");
        ids.push(view.id);
    }
    (
        db,
        Bench {
            stores,
            sandbox,
            access,
            connections: ids,
        },
    )
}

impl Bench {
    /// Inserts scheduled posts (one target each, round-robin over the connections) in bulk.
    async fn insert(&self, times: &[DateTime<Utc>], label: &str, plug: Option<i64>) -> Vec<Uuid> {
        let now = Utc::now();
        let mut ids = Vec::with_capacity(times.len());
        for (chunk_no, chunk) in times.chunks(500).enumerate() {
            let mut posts = Vec::new();
            let mut targets = Vec::new();
            let mut plugs = Vec::new();
            for (i, at) in chunk.iter().enumerate() {
                let n = chunk_no * 500 + i;
                let id = Uuid::now_v7();
                ids.push(id);
                posts.push(post::ActiveModel {
                    id: Set(id),
                    workspace_id: Set(self.access.workspace_id()),
                    author_id: Set(Some(self.access.user_id())),
                    content: Set(format!("{label} post {n}")),
                    media: Set(serde_json::json!([])),
                    status: Set(PostStatus::Scheduled),
                    scheduled_at: Set(Some(*at)),
                    published_at: Set(None),
                    fail_reason: Set(None),
                    version: Set(0),
                    created_at: Set(now),
                    updated_at: Set(now),
                });
                targets.push(post_target::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    post_id: Set(id),
                    workspace_id: Set(self.access.workspace_id()),
                    platform: Set(PlatformKind::Sandbox),
                    connection_id: Set(self.connections[n % self.connections.len()]),
                    content_override: Set(None),
                    state: Set(TargetState::Pending),
                    attempts: Set(0),
                    next_attempt_at: Set(Some(*at)),
                    lease_until: Set(None),
                    platform_post_id: Set(None),
                    platform_post_url: Set(None),
                    like_count: Set(0),
                    comment_count: Set(0),
                    repost_count: Set(0),
                    impression_count: Set(0),
                    last_polled_at: Set(None),
                    next_poll_at: Set(None),
                    published_at: Set(None),
                    fail_reason: Set(None),
                    version: Set(0),
                    created_at: Set(now),
                    updated_at: Set(now),
                    platform_post_cid: Set(None),
                });
                if let Some(threshold) = plug {
                    plugs.push(auto_plug::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        post_id: Set(id),
                        workspace_id: Set(self.access.workspace_id()),
                        platform: Set(PlatformKind::Sandbox),
                        content: Set(format!("Plug for {label} post {n}")),
                        trigger: Set(PlugTrigger::Likes),
                        trigger_value: Set(threshold),
                        status: Set(PlugStatus::Pending),
                        fired_at: Set(None),
                        plug_post_id: Set(None),
                        plug_post_url: Set(None),
                        fail_reason: Set(None),
                        version: Set(0),
                        created_at: Set(now),
                        updated_at: Set(now),
                        lease_until: Set(None),
                        attempts: Set(0),
                    });
                }
            }
            post::Entity::insert_many(posts)
                .exec(&self.stores.db)
                .await
                .expect("posts");
            post_target::Entity::insert_many(targets)
                .exec(&self.stores.db)
                .await
                .expect("targets");
            if !plugs.is_empty() {
                auto_plug::Entity::insert_many(plugs)
                    .exec(&self.stores.db)
                    .await
                    .expect("plugs");
            }
        }
        ids
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Schedules `times`, lets a real-time worker publish them, and reports lateness.
async fn lateness_run(bench: &Bench, name: &str, times: Vec<DateTime<Utc>>, instant: bool) {
    let ids = bench.insert(&times, name, None).await;
    let worker = Worker::start_with(bench.stores.clone(), Settings::from_env())
        .await
        .expect("worker");
    if instant {
        let networks = worker.engine().networks();
        let sandbox = networks.client(Platform::Sandbox, None).expect("client");
        networks.install(
            Platform::Sandbox,
            None,
            std::sync::Arc::new(AtOnce(sandbox, Default::default())),
        );
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn({
        let worker = worker.clone();
        async move {
            worker
                .run_until(async move {
                    stopped.await.ok();
                })
                .await;
        }
    });
    let (due_first, last) = (
        *times.iter().min().expect("times"),
        *times.iter().max().expect("times"),
    );
    let deadline = Instant::now()
        + (last - Utc::now()).to_std().unwrap_or_default()
        + Duration::from_secs(180);
    let cpu = CpuSampler::start(last);
    // Nothing is read while the posts are due: the benchmark shares the worker's cores, and a
    // count over 10,000 ids every half second would take its share of them from the calls.
    tokio::time::sleep((last - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(1))
        .await;
    loop {
        let done = post::Entity::find()
            .filter(post::Column::ScheduledAt.between(due_first, last))
            .filter(post::Column::Status.is_in([
                PostStatus::Published,
                PostStatus::Failed,
                PostStatus::Missed,
            ]))
            .count(&bench.stores.db)
            .await
            .expect("count");
        if done as usize >= ids.len() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop.send(()).ok();
    running.await.expect("worker");

    let scheduled: std::collections::HashMap<Uuid, DateTime<Utc>> = post::Entity::find()
        .filter(post::Column::Id.is_in(ids.clone()))
        .all(&bench.stores.db)
        .await
        .expect("posts")
        .into_iter()
        .filter_map(|p| Some((p.id, p.scheduled_at?)))
        .collect();
    let jobs = job::Entity::find()
        .filter(job::Column::Kind.eq(JobKind::Publish))
        .filter(job::Column::Attempt.eq(1))
        .all(&bench.stores.db)
        .await
        .expect("jobs");
    let mut late: Vec<f64> = Vec::new();
    let (mut first, mut end) = (None::<DateTime<Utc>>, None::<DateTime<Utc>>);
    let mut last_start = None::<DateTime<Utc>>;
    for j in &jobs {
        let Some(at) = j.post_id.and_then(|p| scheduled.get(&p)) else {
            continue;
        };
        late.push((j.started_at - *at).num_microseconds().unwrap_or(0) as f64 / 1000.0);
        first = Some(first.map_or(j.started_at, |f| f.min(j.started_at)));
        last_start = Some(last_start.map_or(j.started_at, |l| l.max(j.started_at)));
        let fin = j.finished_at.unwrap_or(j.started_at);
        end = Some(end.map_or(fin, |e| e.max(fin)));
    }
    late.sort_by(f64::total_cmp);
    let cpu = cpu.finish();
    let published = post::Entity::find()
        .filter(post::Column::Id.is_in(ids.clone()))
        .filter(post::Column::Status.eq(PostStatus::Published))
        .count(&bench.stores.db)
        .await
        .expect("count");
    if published as usize != ids.len() {
        // Say where the others are, so a broken run is not read as a slow one.
        let mut states: std::collections::BTreeMap<String, (usize, Option<String>)> =
            Default::default();
        for target in post_target::Entity::find()
            .filter(post_target::Column::PostId.is_in(ids.clone()))
            .all(&bench.stores.db)
            .await
            .expect("targets")
        {
            let entry = states.entry(format!("{:?}", target.state)).or_default();
            entry.0 += 1;
            entry.1 = entry.1.take().or(target.fail_reason);
        }
        println!("  not all published; targets by state (with a reason seen): {states:?}");
    }
    let span = match (first, end) {
        (Some(f), Some(e)) => (e - f).num_milliseconds() as f64 / 1000.0,
        _ => f64::NAN,
    };
    println!(
        "{name}: {published}/{} published; lateness ms p50 {:.1} p99 {:.1} max {:.1}; {:.0} publishes/s over {:.1} s",
        ids.len(),
        percentile(&late, 50.0),
        percentile(&late, 99.0),
        late.last().copied().unwrap_or(f64::NAN),
        late.len() as f64 / span,
        span
    );
    let (pause, step) = cpu.stalls();
    let suspect = pause > 250.0 || step.abs() > 50.0;
    println!(
        "  machine from the worker's start: longest stall {pause:.0} ms, wall clock step {step:+.1} ms{}",
        if suspect {
            " - every lateness above may include it: rerun"
        } else {
            ""
        }
    );
    if let Some(last_start) = last_start {
        let (user, system) = cpu.used(due_first, last_start);
        println!(
            "  CPU from the first due time to the last call's start ({:.0} ms): user {:.0} ms + system {:.0} ms = {:.0} us per call",
            (last_start - due_first).num_milliseconds(),
            user,
            system,
            (user + system) * 1000.0 / late.len().max(1) as f64
        );
    }
}

/// The process's CPU time (all threads, from `/proc/self/stat`) sampled every 10 ms on a
/// thread of its own from the worker's start until after the posts are due, so the run can say
/// how much CPU each call took (a steadier figure than lateness on a shared machine, where
/// other tenants take turns), and whether the machine itself stalled or had its wall clock
/// stepped meanwhile: either shifts every call's lateness alike, and neither is the engine's.
struct CpuSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<Sample>>,
}

/// One sample: the wall clock, the monotonic clock, user ms, system ms.
type Sample = (DateTime<Utc>, Instant, f64, f64);

struct CpuSamples(Vec<Sample>);

impl CpuSampler {
    fn start(last: DateTime<Utc>) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let mut samples = Vec::new();
                let until = last + chrono::Duration::seconds(30);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && Utc::now() < until {
                    if let Some((user, system)) = cpu_ms() {
                        samples.push((Utc::now(), Instant::now(), user, system));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                samples
            }
        });
        Self { stop, thread }
    }

    fn finish(self) -> CpuSamples {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        CpuSamples(self.thread.join().unwrap_or_default())
    }
}

impl CpuSamples {
    /// User and system ms between the samples nearest `from` and `to`.
    fn used(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> (f64, f64) {
        let at = |t: DateTime<Utc>| {
            self.0
                .iter()
                .min_by_key(|(when, ..)| (*when - t).num_microseconds().unwrap_or(i64::MAX).abs())
                .map_or((0.0, 0.0), |(_, _, u, s)| (*u, *s))
        };
        let (a, b) = (at(from), at(to));
        (b.0 - a.0, b.1 - a.1)
    }

    /// The longest the sampling thread went without running (ms, by the monotonic clock;
    /// it asks for 10), and the largest step of the wall clock against the monotonic one
    /// between two samples (ms; positive: the wall clock jumped ahead).
    fn stalls(&self) -> (f64, f64) {
        let (mut pause, mut step) = (0.0_f64, 0.0_f64);
        for pair in self.0.windows(2) {
            let ((w0, m0, ..), (w1, m1, ..)) = (pair[0], pair[1]);
            let mono = m1.duration_since(m0).as_secs_f64() * 1000.0;
            let wall = (w1 - w0).num_microseconds().unwrap_or(0) as f64 / 1000.0;
            pause = pause.max(mono);
            if (wall - mono).abs() > step.abs() {
                step = wall - mono;
            }
        }
        (pause, step)
    }
}

/// This process's user and system CPU time in ms (fields 14 and 15 of `/proc/self/stat`, in
/// clock ticks of 10 ms).
fn cpu_ms() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces; the fields after it start past its ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| fields.get(i)?.parse::<f64>().ok().map(|t| t * 10.0);
    Some((tick(11)?, tick(12)?))
}

/// Publishes 1,000 posts with likes plugs and steps the worker through six simulated hours.
async fn plug_run(bench: &Bench) {
    let settings = Settings {
        prefetch: Duration::ZERO,
        ..Settings::default()
    };
    // Only the tracked posts are watched: earlier runs' targets stop being polled.
    post_target::Entity::update_many()
        .col_expr(
            post_target::Column::NextPollAt,
            sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None),
        )
        .exec(&bench.stores.db)
        .await
        .expect("quiet");
    let redis = &bench.stores.redis;
    let _: i64 = fred::interfaces::KeysInterface::del(
        redis.client(),
        vec![
            redis.key(omniplug_core::schedule::DUE_KEY),
            redis.key(omniplug_core::schedule::ON_TIME_KEY),
        ],
    )
    .await
    .expect("clear the index");
    let start = Utc::now();
    // Audiences of 0..400 likes, half of them arriving in 10 min .. 2 h; threshold 50.
    let threshold = 50u64;
    let times = vec![start; TRACKED];
    let ids = bench
        .insert(&times, "tracked", Some(threshold as i64))
        .await;
    // Started after the insert (which bypasses the index): its rebuild finds them.
    let worker = Worker::start_with(bench.stores.clone(), settings)
        .await
        .expect("worker");
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let curves: Vec<Curve> = (0..TRACKED)
        .map(|_| Curve {
            likes: next() % 400,
            comments: 0,
            reposts: 0,
            half_life: Duration::from_secs(600 + next() % 6600),
        })
        .collect();
    // Publish them all (the default curve is none until each post gets its own).
    bench.sandbox.set_default_curve(Curve::none());
    worker.step(Utc::now()).await.expect("publish step");
    let targets = post_target::Entity::find()
        .filter(post_target::Column::PostId.is_in(ids.clone()))
        .all(&bench.stores.db)
        .await
        .expect("targets");
    let network = bench.sandbox.posts(Platform::Sandbox);
    // Crossing instants in the Sandbox's clock.
    let mut crossing: std::collections::HashMap<Uuid, DateTime<Utc>> = Default::default();
    for (target, curve) in targets.iter().zip(&curves) {
        let Some(pid) = &target.platform_post_id else {
            continue;
        };
        bench.sandbox.set_curve(pid, *curve);
        let created = network.iter().find(|p| &p.id == pid).map(|p| p.created_at);
        if curve.likes > threshold
            && let Some(created) = created
        {
            let halves = (curve.likes as f64 / (curve.likes - threshold) as f64).log2();
            let secs = curve.half_life.as_secs_f64() * halves;
            crossing.insert(
                target.post_id,
                created + chrono::Duration::milliseconds((secs * 1000.0) as i64),
            );
        }
    }
    let reads_before = bench
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("getPosts"))
        .count();
    let step = Duration::from_secs(5);
    let hours = 6;
    let mut offset = chrono::Duration::zero();
    let mut fired_at: std::collections::HashMap<Uuid, DateTime<Utc>> = Default::default();
    let wall = Instant::now();
    for _ in 0..(hours * 3600 / step.as_secs()) {
        bench.sandbox.advance(step);
        offset += chrono::Duration::from_std(step).unwrap_or_default();
        let now = Utc::now() + offset;
        let report = worker.step(now).await.expect("step");
        if report.done > 0 {
            let fired = auto_plug::Entity::find()
                .filter(auto_plug::Column::PostId.is_in(ids.clone()))
                .filter(auto_plug::Column::Status.eq(PlugStatus::Fired))
                .all(&bench.stores.db)
                .await
                .expect("plugs");
            for plug in fired {
                fired_at.entry(plug.post_id).or_insert(now);
            }
        }
    }
    let reads = bench
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("getPosts"))
        .count()
        - reads_before;
    let mut latency: Vec<f64> = crossing
        .iter()
        .filter(|(_, at)| {
            **at - start < chrono::Duration::hours(hours as i64) - chrono::Duration::minutes(1)
        })
        .filter_map(|(post, at)| {
            fired_at
                .get(post)
                .map(|f| (*f - *at).num_milliseconds() as f64 / 1000.0)
        })
        .collect();
    latency.sort_by(f64::total_cmp);
    let expected = crossing
        .values()
        .filter(|at| {
            **at - start < chrono::Duration::hours(hours as i64) - chrono::Duration::minutes(1)
        })
        .count();
    let early = latency.iter().filter(|l| **l < 0.0).count();
    println!(
        "plugs: {} of {expected} crossings fired ({early} before the computed crossing: count rounding); latency s p50 {:.1} p95 {:.1} max {:.1} (steps of {} s); {reads} reads = {:.2} per tracked post-hour; {:.0} s wall",
        latency.len(),
        percentile(&latency, 50.0),
        percentile(&latency, 95.0),
        latency.last().copied().unwrap_or(f64::NAN),
        step.as_secs(),
        reads as f64 / (TRACKED as f64 * hours as f64),
        wall.elapsed().as_secs_f64(),
    );
}

#[tokio::main]
async fn main() {
    // Quiet unless RUST_LOG asks (`scripts/bench.sh` sets `warn`): warnings say why a run broke.
    omniplug_core::telemetry::init_tracing(omniplug_core::LogFormat::Json);
    omniplug_worker::tune_process();
    let only = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    println!(
        "engine benchmark on {} ({} connections)",
        test_engine(),
        CONNECTIONS
    );
    let t = Instant::now();
    let (_db, bench) = setup().await;
    println!("set-up: {:.1} s", t.elapsed().as_secs_f64());
    let want = |name: &str| only.as_deref().is_none_or(|o| o == name);
    if want("spread") {
        let t0 = Utc::now() + chrono::Duration::seconds(20);
        let times = (0..POSTS)
            .map(|i| t0 + chrono::Duration::microseconds((i as i64) * 60_000_000 / POSTS as i64))
            .collect();
        lateness_run(&bench, "spread over a minute", times, false).await;
    }
    if want("burst") {
        let t0 = Utc::now() + chrono::Duration::seconds(20);
        lateness_run(&bench, "all at one instant", vec![t0; POSTS], false).await;
    }
    if want("engine-burst") {
        let t0 = Utc::now() + chrono::Duration::seconds(20);
        let name = "all at one instant, network answering at once";
        lateness_run(&bench, name, vec![t0; POSTS], true).await;
    }
    if want("plugs") {
        plug_run(&bench).await;
    }
}
