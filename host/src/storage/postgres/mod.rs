//! The PostgreSQL backend: one database shared by any number of botyard
//! replicas, none of them in charge. It is the floor a cluster stands on, so
//! everything here coordinates through rows: row locks, `FOR UPDATE SKIP
//! LOCKED`, leases and heartbeats — never a session advisory lock, which
//! would tie correctness to one connection staying up.
//!
//! **Units are transactions.** Each [`Unit`] is its own transaction on a
//! pooled connection, begun lazily: [`Units::begin`] is synchronous and
//! takes nothing; the unit's first operation takes a connection and sends
//! `BEGIN`; [`Unit::commit`] sends `COMMIT` (with the `NOTIFY`s it owes in
//! the same round trip). A unit that did nothing commits for free. A unit
//! dropped without committing is rolled back before its connection goes back
//! to the pool. A statement that fails aborts the whole transaction (that is
//! PostgreSQL's rule), so every later operation of the unit, and its commit,
//! fail with [`StorageError::Lost`]: nothing of it is acknowledged.
//! Everything outside units (claims, settlements, reads) is one autocommit
//! statement, or a short transaction of its own.
//!
//! **Quotas** are kept exactly, as in SQLite, without serializing an app's
//! writers: a store write locks only its own key's row, and growth is
//! reserved before it is written in a short transaction of its own that
//! counts the committed use plus every reservation still in progress
//! ([`usage`] says how; [`kv`] what each write does). Units of one app run
//! side by side on every replica; the app's `store_usage` row is locked only
//! from the fold of a unit's writes to the end of its commit, one message.
//! Webhook deliveries keep a `webhook_usage` row per app, locked by the
//! recorder for its unit (deliveries are far rarer than store writes).
//!
//! **Replicas.** Every [`connect`] is a replica *incarnation*: a row in
//! `replicas` (the replica's name from [`Options::replica`], a fresh
//! incarnation id, when it started, its heartbeat), refreshed by a
//! background task every [`Options::heartbeat`] on the database's clock.
//! Claims (outbox entries, webhook deliveries) record their holder. See
//! [`replicas`] for what `release_orphaned` frees and why.
//!
//! **Clocks.** Leases (`claimed_until`), retry times and every timestamp
//! stored for callers are on the host's clock ([`crate::contract::time`]):
//! the traits hand `claim_due` the caller's `now_ms`, retry times come from
//! the host, and [`WebhookStore::next_due`](super::WebhookStore::next_due)
//! compares lease ends with retry times, so they must share one clock. Keep
//! the replicas' clocks synchronized (NTP): skew between two replicas
//! lengthens or shortens a lease by that much. Liveness alone — heartbeats
//! and how old one may get — is on the database's clock
//! (`clock_timestamp()`), so telling a stopped replica from a live one does
//! not depend on the replicas' clocks agreeing.
//!
//! **Wake-ups.** A commit that queued work wakes this process at once and
//! sends `NOTIFY` (delivered to listeners only once the transaction
//! commits); a dedicated connection `LISTEN`s and wakes this process when
//! another replica queued work, reconnecting if it drops. A hint only:
//! whoever waits also polls.
//!
//! One concern per file: `kv`, `outbox`, `schedules`, `audit`, `inbox`,
//! `webhooks`, `usage`, `published` (apps published for every replica),
//! `migrations`, `replicas` (incarnations, heartbeats,
//! orphaned claims), `listen` (LISTEN/NOTIFY), `slots` (Slack's Socket Mode
//! connections, leased by the replicas).

/// Runs `$body` with `$c` bound to a pooled connection (autocommit), again
/// (up to three tries) if the database broke a conflict (serialization
/// failure, deadlock) by aborting it: what runs this way is whole on its
/// own, so trying again is safe.
macro_rules! autocommit {
    ($db:expr, |$c:ident| $body:expr) => {{
        let client = $db.client().await?;
        let $c = &client;
        let mut tries = 0;
        loop {
            tries += 1;
            let result: Result<_, StorageError> = async { $body }.await;
            match result {
                Err(StorageError::Backend(why))
                    if tries < 3 && why.starts_with($crate::storage::postgres::CONFLICT) =>
                {
                    continue;
                }
                other => break other,
            }
        }
    }};
}

mod audit;
mod inbox;
mod kv;
mod listen;
mod migrations;
mod outbox;
mod published;
mod replicas;
mod schedules;
mod slots;
mod usage;
mod webhooks;

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::future::BoxFuture;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::{
    Claim, DeliveryOutcome, InvocationRecord, KvStore, NewCall, NewDelivery, NewInbound,
    NotifyWakeup, OutboxStatus, Received, Storage, StorageError, Unit, Units, Usage, Wakeup,
};
use crate::contract::limits::Quotas;

/// How often a replica refreshes its heartbeat, unless told otherwise.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(2);
/// Connections a replica keeps at most, unless told otherwise: a unit holds
/// one from its first operation to its commit.
pub const DEFAULT_POOL_SIZE: usize = 16;
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an operation waits for a free pooled connection before failing
/// (every connection held by a unit that does not commit).
const POOL_WAIT: Duration = Duration::from_secs(30);

/// Connections kept for store reservations: each is one round trip, so a
/// few serve many units.
const RESERVERS: usize = 4;

/// The `NOTIFY` channels: new pending Slack calls, new webhook deliveries.
const OUTBOX_CHANNEL: &str = "botyard_outbox";
const WEBHOOKS_CHANNEL: &str = "botyard_webhooks";

/// How to reach the database, and who this replica is.
#[derive(Clone)]
pub struct Options {
    /// A libpq-style URL (`postgres://user:pw@a:5432,b:5432/db?target_session_attrs=read-write`)
    /// or key-value string (`host=a,b dbname=botyard user=botyard`). Several
    /// hosts are tried in order; with `target_session_attrs=read-write` only
    /// a primary is taken. May hold a password: never printed.
    pub url: String,
    /// This replica's name, stable across its restarts (a host name, a pod
    /// name): a new process under the same name takes over the claims the
    /// previous one left. Two live processes must not share one.
    pub replica: String,
    /// Most connections kept open (at least 2: units, and everything else).
    pub pool_size: usize,
    /// How often the heartbeat is refreshed; other replicas take this one
    /// for stopped after three of these (and a second) without one.
    pub heartbeat: Duration,
    /// A tool reading beside the replicas (`botyard cluster status`,
    /// `botyard audit`): registers no incarnation and sends no heartbeat,
    /// so it is never taken for a replica — nor a restart of one — and it
    /// must claim nothing.
    pub observer: bool,
}

impl Options {
    /// Options with the default pool size and heartbeat.
    pub fn new(url: impl Into<String>, replica: impl Into<String>) -> Options {
        Options {
            url: url.into(),
            replica: replica.into(),
            pool_size: DEFAULT_POOL_SIZE,
            heartbeat: DEFAULT_HEARTBEAT,
            observer: false,
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field(
                "url",
                &location(&self.url).unwrap_or_else(|_| "<invalid>".into()),
            )
            .field("replica", &self.replica)
            .field("pool_size", &self.pool_size)
            .field("heartbeat", &self.heartbeat)
            .finish()
    }
}

/// Connects to the database in `options`, migrates it (several replicas
/// connecting at once migrate once), registers this replica incarnation and
/// starts its heartbeat and listener. They stop when the last clone of the
/// returned [`Storage`] is dropped.
pub async fn connect(options: Options) -> Result<Storage, StorageError> {
    let db = Arc::new(Db::connect(options).await?);
    let storage = Storage {
        units: Arc::new(PgUnits(db.clone())),
        outbox: db.clone(),
        schedules: db.clone(),
        audit: db.clone(),
        inbox: db.clone(),
        webhooks: db.clone(),
        cluster: db.clone(),
        slots: db.clone(),
        published: db.clone(),
        published_wakeup: db.published_wakeup.clone(),
        outbox_wakeup: db.outbox_wakeup.clone(),
        webhook_wakeup: db.webhook_wakeup.clone(),
        location: db.location.clone(),
    };
    Ok(storage)
}

/// Where `url` points, for messages: `postgres://user@host:port,…/dbname`,
/// never the password (nor any other option).
pub fn location(url: &str) -> Result<String, StorageError> {
    let config = parse(url)?;
    Ok(describe_config(&config))
}

/// Whether `url` carries a password (`botyard.toml` refuses one written out).
pub fn url_has_password(url: &str) -> Result<bool, StorageError> {
    Ok(parse(url)?.get_password().is_some())
}

fn parse(url: &str) -> Result<tokio_postgres::Config, StorageError> {
    tokio_postgres::Config::from_str(url).map_err(|e| {
        StorageError::Backend(format!(
            "the PostgreSQL URL is not valid: {}; write postgres://user@host:5432/dbname \
             (hosts may be listed: host1,host2) or host=… dbname=… user=…",
            chain(&e)
        ))
    })
}

fn describe_config(config: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports
                .get(i)
                .or_else(|| (ports.len() == 1).then(|| &ports[0]))
                .copied()
                .unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    let hosts = if hosts.is_empty() {
        "localhost:5432".to_string()
    } else {
        hosts.join(",")
    };
    let user = config
        .get_user()
        .map(|user| format!("{user}@"))
        .unwrap_or_default();
    let dbname = config.get_dbname().or(config.get_user()).unwrap_or("");
    format!("postgres://{user}{hosts}/{dbname}")
}

/// The database, as one replica incarnation sees it.
pub(crate) struct Db {
    pool: Pool,
    /// A few connections for store reservations alone ([`usage::reserve`]):
    /// a unit asks for one while it holds its own, so taking it from the
    /// units' pool could leave every unit waiting for another.
    reservers: Pool,
    /// This replica's name and incarnation (see [`replicas`]).
    replica: String,
    incarnation: i64,
    outbox_wakeup: Arc<NotifyWakeup>,
    webhook_wakeup: Arc<NotifyWakeup>,
    /// Raised when an app is published or unpublished, here or elsewhere.
    published_wakeup: Arc<NotifyWakeup>,
    location: String,
    /// Dropped with the database: the heartbeat and the listener stop.
    _stop: tokio::sync::watch::Sender<()>,
}

/// A pool of up to `size` connections to `config`.
fn new_pool(config: &tokio_postgres::Config, size: usize) -> Result<Pool, StorageError> {
    let manager = Manager::from_config(
        config.clone(),
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(POOL_WAIT))
        .create_timeout(Some(CONNECT_TIMEOUT + Duration::from_secs(1)))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| StorageError::Backend(format!("cannot set up the connection pool: {e}")))
}

impl Db {
    async fn connect(options: Options) -> Result<Db, StorageError> {
        let mut config = parse(&options.url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name(format!("botyard {}", options.replica));
        }
        let location = describe_config(&config);
        if options.replica.trim().is_empty() {
            return Err(StorageError::Backend(
                "a PostgreSQL replica needs a name (Options::replica); give each process its own"
                    .into(),
            ));
        }
        let pool = new_pool(&config, options.pool_size.max(2))?;
        let reservers = new_pool(&config, RESERVERS)?;
        let mut client = pool.get().await.map_err(|e| unreachable(&location, &e))?;
        migrations::migrate(&mut client).await?;
        let heartbeat = options.heartbeat.max(Duration::from_millis(10));
        let (stop, stopped) = tokio::sync::watch::channel(());
        let outbox_wakeup = Arc::new(NotifyWakeup::default());
        let webhook_wakeup = Arc::new(NotifyWakeup::default());
        let published_wakeup = Arc::new(NotifyWakeup::default());
        let incarnation = if options.observer {
            0
        } else {
            let incarnation = replicas::register(&client, &options.replica, heartbeat).await?;
            replicas::spawn_heartbeat(
                pool.clone(),
                options.replica.clone(),
                incarnation,
                heartbeat,
                stopped.clone(),
            );
            listen::start(
                config,
                outbox_wakeup.clone(),
                webhook_wakeup.clone(),
                published_wakeup.clone(),
                stopped,
            )
            .await;
            incarnation
        };
        drop(client);
        tracing::info!(
            %location,
            replica = %options.replica,
            incarnation,
            "connected to PostgreSQL"
        );
        Ok(Db {
            pool,
            reservers,
            replica: options.replica,
            incarnation,
            outbox_wakeup,
            webhook_wakeup,
            published_wakeup,
            location,
            _stop: stop,
        })
    }

    /// A connection for one store reservation (see [`Db::reservers`]).
    async fn reserver(&self) -> Result<deadpool_postgres::Client, StorageError> {
        self.reservers
            .get()
            .await
            .map_err(|e| unreachable(&self.location, &e))
    }

    /// A pooled connection, outside any unit.
    async fn client(&self) -> Result<deadpool_postgres::Client, StorageError> {
        self.pool
            .get()
            .await
            .map_err(|e| unreachable(&self.location, &e))
    }

    /// A trivial read, and this replica still registered.
    async fn check(&self) -> Result<(), StorageError> {
        let row = autocommit!(self, |c| query_opt(
            c,
            "SELECT 1 FROM replicas WHERE incarnation = $1",
            &[&self.incarnation],
        )
        .await)?;
        match row {
            Some(_) => Ok(()),
            None => Err(StorageError::Backend(format!(
                "this replica ({}, incarnation {}) is no longer registered in the database; \
                 restart it",
                self.replica, self.incarnation
            ))),
        }
    }
}

/// A pool error as an operator reads it: where, and what to check.
fn unreachable(location: &str, e: &deadpool_postgres::PoolError) -> StorageError {
    use deadpool_postgres::PoolError;
    let why = match e {
        PoolError::Backend(e) => chain(e),
        PoolError::Timeout(_) => "timed out".to_string(),
        other => other.to_string(),
    };
    StorageError::Backend(format!(
        "cannot connect to PostgreSQL at {location} (each host listed is tried in turn): {why}; \
         check that the server is running and reachable from here, that the user, password \
         and database name in the URL are right, and, with several hosts, that one of them \
         is a primary accepting writes"
    ))
}

/// The prefix of the message for a transaction the database aborted to
/// break a conflict: [`Db::with`] tries those again.
pub(crate) const CONFLICT: &str = "the database aborted the transaction";

impl From<tokio_postgres::Error> for StorageError {
    /// The driver's error as text with what to check, never the driver's
    /// type, and never a password (the driver's messages hold none).
    fn from(e: tokio_postgres::Error) -> Self {
        let code = e.code();
        let why = chain(&e);
        let message = match code {
            Some(c)
                if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED =>
            {
                format!(
                    "{CONFLICT} to break a conflict with a concurrent one (serialization failure or deadlock): {why}; nothing of it was kept, try again"
                )
            }
            Some(c) if *c == SqlState::READ_ONLY_SQL_TRANSACTION => format!(
                "{why}; the server is read-only (a standby?): list every host and add \
                 target_session_attrs=read-write to the URL so only the primary is used"
            ),
            Some(c)
                if *c == SqlState::DISK_FULL
                    || *c == SqlState::INSUFFICIENT_RESOURCES
                    || *c == SqlState::OUT_OF_MEMORY =>
            {
                format!("{why}; check the database server's disk space and memory")
            }
            Some(c)
                if *c == SqlState::CHARACTER_NOT_IN_REPERTOIRE
                    || *c == SqlState::UNTRANSLATABLE_CHARACTER =>
            {
                format!(
                    "{why}; PostgreSQL text cannot hold a NUL character (or this one, in the database's encoding)"
                )
            }
            Some(c) if c.code().starts_with("08") || c.code().starts_with("57") => format!(
                "lost the connection to PostgreSQL: {why}; check that the server is up and reachable"
            ),
            Some(_) => format!("PostgreSQL: {why}"),
            None if e.is_closed() => format!(
                "lost the connection to PostgreSQL: {why}; check that the server is up and reachable"
            ),
            None => format!("PostgreSQL: {why}"),
        };
        StorageError::Backend(message)
    }
}

/// An error and its causes, `: `-joined (the driver's own text is only its
/// kind, such as "db error"; the server's message is its source).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    if let Some(db) = e
        .source()
        .and_then(|s| s.downcast_ref::<tokio_postgres::error::DbError>())
    {
        return match db.hint() {
            Some(hint) => format!("{} (hint: {hint})", db.message()),
            None => db.message().to_string(),
        };
    }
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// One cached statement's rows.
async fn query(
    c: &deadpool_postgres::Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StorageError> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query(&statement, params).await?)
}

/// One cached statement's row, if any (more than one is an error).
async fn query_opt(
    c: &deadpool_postgres::Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, StorageError> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query_opt(&statement, params).await?)
}

/// One cached statement's row (exactly one).
async fn query_one(
    c: &deadpool_postgres::Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Row, StorageError> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query_one(&statement, params).await?)
}

/// One cached statement, and how many rows it changed.
async fn execute(
    c: &deadpool_postgres::Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StorageError> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.execute(&statement, params).await?)
}

/// Text for a column that is read, not matched on (an error, an audit
/// detail): PostgreSQL text cannot hold NUL, and an audit row or an error
/// message must not fail a whole unit because a user typed one, so it
/// becomes U+FFFD. Names matched on (keys are bytes; apps, schedule names,
/// event ids) are stored as they are, and a NUL in one fails clearly.
fn shown(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// JSON text in column `index`, decoded.
fn json_column<T: serde::de::DeserializeOwned>(row: &Row, index: usize) -> Result<T, StorageError> {
    let text: &str = row.try_get(index)?;
    serde_json::from_str(text)
        .map_err(|e| StorageError::Backend(format!("a stored JSON column is unreadable: {e}")))
}

fn now_ms() -> i64 {
    crate::contract::time::now_ms() as i64
}

/// A lease's end, on the host's clock (see the module's "Clocks").
fn lease_end(now_ms: i64, lease: Duration) -> i64 {
    now_ms.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
}

/// Starts units on one database.
struct PgUnits(Arc<Db>);

impl Units for PgUnits {
    fn begin(&self) -> Box<dyn Unit> {
        Box::new(PgUnit {
            db: self.0.clone(),
            conn: None,
            state: State::Idle,
            wake: false,
            wake_webhooks: false,
            quotas: Quotas::UNLIMITED,
            webhooks_locked: Vec::new(),
            wrote_store: false,
            txid: None,
            audit: Vec::new(),
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<(), StorageError>> {
        Box::pin(self.0.check())
    }
}

/// Where a unit's transaction is.
enum State {
    /// Nothing sent yet: no transaction, perhaps no connection.
    Idle,
    /// `BEGIN` sent; statements go into the transaction.
    Open,
    /// A statement failed, so PostgreSQL aborted the transaction: nothing of
    /// it can be kept. Why, for the unit's later operations and its commit.
    Failed(String),
}

/// A unit of work: one transaction on one pooled connection.
struct PgUnit {
    db: Arc<Db>,
    conn: Option<deadpool_postgres::Client>,
    state: State,
    /// Whether it queued a pending Slack call (delivery is woken on commit).
    wake: bool,
    /// Whether it recorded a new webhook delivery (its runner is woken).
    wake_webhooks: bool,
    /// What its writes are held to (see [`Unit::set_quotas`]).
    quotas: Quotas,
    /// Apps whose `webhook_usage` row this transaction has locked: taken
    /// before the first delivery of each is recorded, held to the commit.
    webhooks_locked: Vec<String>,
    /// Whether one of its store writes may have changed a size: its commit
    /// folds what it wrote into `store_usage` ([`usage::FOLD`]). A write
    /// known to replace a value by one of the same length does not set it.
    wrote_store: bool,
    /// Its transaction's id, once a write needed a reservation under it.
    txid: Option<i64>,
    /// Audit rows recorded, inserted at commit in the same round trip as
    /// `COMMIT` (see [`Unit::commit`]): the last thing a unit writes, so it
    /// costs no round trip of its own.
    audit: Vec<InvocationRecord>,
}

impl State {
    fn is_idle(&self) -> bool {
        matches!(self, State::Idle)
    }
}

impl PgUnit {
    /// The unit's connection, inside its transaction (begun now if need be).
    async fn tx(&mut self) -> Result<&deadpool_postgres::Client, StorageError> {
        if self.begin_owed().await? {
            let conn = self.conn.as_ref().expect("taken by begin_owed");
            if let Err(e) = conn.batch_execute("BEGIN").await {
                let error = StorageError::from(e);
                self.state = State::Failed(error.to_string());
                return Err(error);
            }
        }
        Ok(self.conn.as_ref().expect("taken by begin_owed"))
    }

    /// Takes the unit's connection for a statement; `true` when the
    /// transaction has not begun, so the caller sends `BEGIN` in front of
    /// its statement, in the same round trip ([`Self::query_opt_in_tx`],
    /// [`Self::execute_in_tx`]) — a unit's first statement is usually a
    /// store read or write, and one round trip less for every invocation
    /// is worth the two helpers.
    async fn begin_owed(&mut self) -> Result<bool, StorageError> {
        if let State::Failed(why) = &self.state {
            return Err(StorageError::Lost(why.clone()));
        }
        if self.conn.is_none() {
            self.conn = Some(self.db.client().await?);
        }
        // Open before `BEGIN` is even sent: a unit dropped while waiting
        // for it must still roll back what may have begun, or the
        // connection would go back to the pool inside a transaction.
        Ok(std::mem::replace(&mut self.state, State::Open).is_idle())
    }

    /// One cached statement's row, if any, in the unit's transaction.
    async fn query_opt_in_tx(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StorageError> {
        let begin = self.begin_owed().await?;
        let conn = self.conn.as_ref().expect("taken by begin_owed");
        let result = async {
            let statement = conn.prepare_cached(sql).await?;
            if !begin {
                return Ok(conn.query_opt(&statement, params).await?);
            }
            let (begun, row) = tokio::join!(
                conn.batch_execute("BEGIN"),
                conn.query_opt(&statement, params)
            );
            begun?;
            Ok(row?)
        }
        .await;
        self.after(result)
    }

    /// One cached statement in the unit's transaction, and how many rows it
    /// changed.
    async fn execute_in_tx(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StorageError> {
        let begin = self.begin_owed().await?;
        let conn = self.conn.as_ref().expect("taken by begin_owed");
        let result = async {
            let statement = conn.prepare_cached(sql).await?;
            if !begin {
                return Ok(conn.execute(&statement, params).await?);
            }
            let (begun, changed) = tokio::join!(
                conn.batch_execute("BEGIN"),
                conn.execute(&statement, params)
            );
            begun?;
            Ok(changed?)
        }
        .await;
        self.after(result)
    }

    /// Hands back `result`, noting a database error: the transaction is
    /// aborted, so the unit is lost. The host's own refusals (too large, not
    /// a number, over quota) come before any write and leave it usable.
    fn after<T>(&mut self, result: Result<T, StorageError>) -> Result<T, StorageError> {
        if let Err(StorageError::Backend(why) | StorageError::Lost(why)) = &result
            && !matches!(self.state, State::Failed(_))
        {
            self.state = State::Failed(why.clone());
        }
        result
    }

    /// Its transaction's id (asked once), which its reservations carry.
    async fn txid(&mut self) -> Result<i64, StorageError> {
        if let Some(txid) = self.txid {
            return Ok(txid);
        }
        let c = self.tx().await?;
        let row = query_one(c, "SELECT txid_current()", &[]).await;
        let txid: i64 = self.after(row)?.try_get(0)?;
        self.txid = Some(txid);
        Ok(txid)
    }

    /// Locks `app`'s webhook usage row (once per unit) and says what it holds.
    async fn lock_webhooks(&mut self, app: &str) -> Result<u64, StorageError> {
        let first = !self.webhooks_locked.iter().any(|a| a == app);
        let c = self.tx().await?;
        let used = usage::webhooks(c, app, first).await;
        let used = self.after(used)?;
        if first {
            self.webhooks_locked.push(app.to_string());
        }
        Ok(used)
    }
}

#[async_trait]
impl KvStore for PgUnit {
    async fn get(&mut self, app: &str, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        super::checks::key(key)?;
        let c = self.tx().await?;
        let value = kv::get(c, app, key).await;
        self.after(value)
    }

    async fn set(&mut self, app: &str, key: &str, value: &[u8]) -> Result<(), StorageError> {
        super::checks::key(key)?;
        super::checks::value(value)?;
        self.kv_set(app, key, value).await
    }

    async fn delete(&mut self, app: &str, key: &str) -> Result<bool, StorageError> {
        super::checks::key(key)?;
        self.kv_delete(app, key).await
    }

    async fn list(
        &mut self,
        app: &str,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<String>, StorageError> {
        super::checks::prefix(prefix)?;
        let c = self.tx().await?;
        let keys = kv::list(c, app, prefix, limit).await;
        self.after(keys)
    }

    async fn increment(&mut self, app: &str, key: &str, delta: i64) -> Result<i64, StorageError> {
        super::checks::key(key)?;
        self.kv_increment(app, key, delta).await
    }

    async fn compare_and_swap(
        &mut self,
        app: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool, StorageError> {
        super::checks::key(key)?;
        if let Some(new) = new {
            super::checks::value(new)?;
        }
        self.kv_compare_and_swap(app, key, expected, new).await
    }
}

#[async_trait]
impl Unit for PgUnit {
    async fn enqueue(&mut self, call: NewCall<'_>) -> Result<i64, StorageError> {
        let c = self.tx().await?;
        let id = outbox::enqueue(c, &call).await;
        let id = self.after(id)?;
        self.wake |= call.status == OutboxStatus::Pending;
        Ok(id)
    }

    async fn schedule_once(
        &mut self,
        app: &str,
        name: &str,
        at_ms: i64,
    ) -> Result<(), StorageError> {
        let c = self.tx().await?;
        let done = schedules::once(c, app, name, at_ms).await;
        self.after(done)
    }

    async fn cancel_schedule(&mut self, app: &str, name: &str) -> Result<bool, StorageError> {
        let c = self.tx().await?;
        let cancelled = schedules::cancel(c, app, name).await;
        self.after(cancelled)
    }

    /// Kept for the commit, which sends it with `COMMIT` (or alone, as one
    /// autocommit statement, when the unit wrote nothing else).
    async fn record(&mut self, record: &InvocationRecord) -> Result<(), StorageError> {
        if let State::Failed(why) = &self.state {
            return Err(StorageError::Lost(why.clone()));
        }
        self.audit.push(record.clone());
        Ok(())
    }

    async fn receive(&mut self, delivery: NewDelivery<'_>) -> Result<Received, StorageError> {
        let used = self.lock_webhooks(delivery.app).await?;
        let kept = self.quotas.webhook_deliveries_kept;
        let c = self.tx().await?;
        let received = webhooks::receive(c, &delivery, used, kept).await;
        let received = self.after(received)?;
        self.wake_webhooks |= matches!(received, Received::New(_));
        Ok(received)
    }

    async fn settle_delivery(
        &mut self,
        claim: &Claim,
        outcome: DeliveryOutcome,
    ) -> Result<bool, StorageError> {
        let c = self.tx().await?;
        let settled = webhooks::settle(c, claim, &outcome).await;
        self.after(settled)
    }

    async fn settle_inbound(&mut self, claim: &Claim) -> Result<bool, StorageError> {
        let c = self.tx().await?;
        let settled = inbox::settle(c, claim).await;
        self.after(settled)
    }

    async fn record_inbound(&mut self, item: NewInbound<'_>) -> Result<bool, StorageError> {
        let c = self.tx().await?;
        let recorded = inbox::record(c, &item).await;
        self.after(recorded)
    }

    fn set_quotas(&mut self, quotas: Quotas) {
        self.quotas = quotas;
    }

    async fn usage(&mut self, app: &str) -> Result<Usage, StorageError> {
        let c = self.tx().await?;
        let usage = usage::of(c, app).await;
        self.after(usage)
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StorageError> {
        let mut audit = std::mem::take(&mut self.audit);
        if matches!(self.state, State::Idle) {
            match audit.len() {
                0 => {}
                // The unit wrote nothing else: one autocommit statement.
                1 => {
                    let c = self.db.client().await?;
                    return audit::record(&c, &audit[0])
                        .await
                        .map_err(|e| StorageError::Lost(e.to_string()));
                }
                _ => {
                    self.tx().await?;
                }
            }
        }
        // All but the last row in the transaction; the last goes with COMMIT.
        let last = audit.pop();
        for record in &audit {
            let c = self.tx().await?;
            let done = audit::record(c, record).await;
            self.after(done)?;
        }
        let state = std::mem::replace(&mut self.state, State::Idle);
        let Some(conn) = self.conn.take() else {
            return match state {
                State::Failed(why) => Err(StorageError::Lost(why)),
                _ => Ok(()),
            };
        };
        match state {
            State::Idle => Ok(()),
            State::Failed(why) => {
                rollback(conn);
                Err(StorageError::Lost(why))
            }
            State::Open => {
                // NOTIFY is transactional: listeners hear it once, at commit.
                let mut sql = String::new();
                if self.wrote_store {
                    sql.push_str(usage::FOLD);
                }
                if self.txid.is_some() {
                    sql.push_str(usage::UNRESERVE);
                }
                if self.wake {
                    sql.push_str(&format!("NOTIFY {OUTBOX_CHANNEL}; "));
                }
                if self.wake_webhooks {
                    sql.push_str(&format!("NOTIFY {WEBHOOKS_CHANNEL}; "));
                }
                sql.push_str("COMMIT");
                // The audit row and COMMIT in one round trip: prepared first
                // (cached, so this waits for nothing after the first time),
                // then both sent before either answer is awaited.
                let (inserted, committed) = match &last {
                    Some(record) => match conn.prepare_cached(audit::INSERT).await {
                        Ok(statement) => {
                            tokio::join!(
                                audit::insert(&conn, &statement, record),
                                conn.batch_execute(&sql)
                            )
                        }
                        Err(e) => {
                            rollback(conn);
                            return Err(StorageError::Lost(StorageError::from(e).to_string()));
                        }
                    },
                    None => (Ok(()), conn.batch_execute(&sql).await),
                };
                // The connection broke mid-commit: it may or may not have
                // been kept, so it is not acknowledged.
                if let Err(e) = &committed
                    && (e.is_closed() || e.code().is_none())
                {
                    let error = StorageError::from(committed.unwrap_err());
                    drop(deadpool_postgres::Object::take(conn));
                    return Err(StorageError::Lost(format!(
                        "{error} (while committing: the writes may or may not have been kept)"
                    )));
                }
                if let Err(error) = inserted {
                    // The insert aborted the transaction, so nothing behind
                    // it was kept: PostgreSQL answered the COMMIT by rolling
                    // back, or refused what came before it in its message.
                    rollback(conn);
                    return Err(StorageError::Lost(format!(
                        "{error} (recording the invocation; nothing of it was kept)"
                    )));
                }
                if let Err(e) = committed {
                    rollback(conn);
                    return Err(StorageError::Lost(StorageError::from(e).to_string()));
                }
                drop(conn);
                if self.wake {
                    self.db.outbox_wakeup.notify();
                }
                if self.wake_webhooks {
                    self.db.webhook_wakeup.notify();
                }
                Ok(())
            }
        }
    }
}

impl Drop for PgUnit {
    /// A unit dropped mid-transaction (its invocation failed, or was
    /// cancelled) is rolled back before its connection is reused.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && !matches!(self.state, State::Idle)
        {
            rollback(conn);
        }
    }
}

/// Rolls back the transaction open on `conn`, then lets the connection go
/// back to the pool; without a runtime to do it on, closes the connection
/// instead (the server rolls back what a closed connection left).
fn rollback(conn: deadpool_postgres::Client) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(async move {
                if let Err(e) = conn.batch_execute("ROLLBACK").await {
                    tracing::debug!(error = %StorageError::from(e), "rolling back a unit failed; closing its connection");
                    drop(deadpool_postgres::Object::take(conn));
                }
            });
        }
        Err(_) => drop(deadpool_postgres::Object::take(conn)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_shows_hosts_and_database_never_the_password() {
        let url =
            "postgres://botyard:s3cret-pw@db1:5433,db2/botyard?target_session_attrs=read-write";
        let shown = location(url).unwrap();
        assert_eq!(shown, "postgres://botyard@db1:5433,db2:5432/botyard");
        assert!(!shown.contains("s3cret"));
        assert!(url_has_password(url).unwrap());
        let kv = "host=a,b port=5432 user=bot password=hunter2 dbname=yard";
        let shown = location(kv).unwrap();
        assert_eq!(shown, "postgres://bot@a:5432,b:5432/yard");
        assert!(!shown.contains("hunter2"));
        assert!(!url_has_password("postgres://bot@a/yard").unwrap());
        let debug = format!("{:?}", Options::new(url, "r1"));
        assert!(!debug.contains("s3cret"), "{debug}");
    }

    #[test]
    fn an_invalid_url_says_so_without_echoing_it() {
        let err = location("postgres://u:pw@host:notaport/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not valid"), "{err}");
        assert!(!err.contains("pw@"), "{err}");
    }

    #[test]
    fn nul_is_replaced_only_in_shown_text() {
        assert_eq!(shown("a\0b"), "a\u{FFFD}b");
        assert!(matches!(shown("plain"), Cow::Borrowed("plain")));
    }
}
