//! Each test's (or bench run's) database: a copy of a migrated template,
//! removed when its guard is dropped — also when the test panics and never
//! reaches `TestApp::shutdown`, or a bench returns an error.
//!
//! Postgres (`TEST_DATABASE_URL`, or `BENCH_DATABASE_URL` for the benches:
//! [`Harness::database_var`]): the schema is migrated once into
//! `tpgate_template_<hash>`, named after the migrations (their names and
//! sources), so a new or edited migration gets a new template and an
//! unchanged schema reuses the existing one across runs. Test processes
//! start concurrently (nextest runs each test in its own), so it is built
//! under an advisory lock and only marked usable (`IS_TEMPLATE`, refusing
//! connections) once migrated. Each test's database is `CREATE DATABASE …
//! TEMPLATE` of it; Postgres refuses that while anyone is connected to the
//! template, hence it refuses connections. tpgate still runs its migrations
//! at start, and finds nothing to do. Templates of older schemas stay on
//! the server (a few MB each); while no tests run, `ALTER DATABASE …
//! IS_TEMPLATE false` and `DROP DATABASE …` remove one.
//!
//! SQLite: the same with a migrated template file, copied per test.
use std::path::{Path, PathBuf};
use std::time::Duration;

use migration::MigratorTrait;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, Statement};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use tpgate::Config;
use url::Url;

use crate::Harness;

pub enum TestDb {
    // Held for its Drop, which removes the file.
    #[allow(dead_code)]
    Sqlite(TempPath),
    Postgres(PgDatabase),
}

impl TestDb {
    /// A fresh database, `migrated` or empty: Postgres when the harness's
    /// variable is set, else a temporary SQLite file. Returns its URL and
    /// its guard.
    pub async fn fresh(harness: Harness, migrated: bool) -> (String, TestDb) {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let kind = harness.name();
        match std::env::var(harness.database_var()) {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!("tpgate_{kind}_{id}");
                let db = PgDatabase::create(harness, admin_url, name, migrated).await;
                (db.url(), TestDb::Postgres(db))
            }
            _ => {
                let path = TempPath(std::env::temp_dir().join(format!("tpgate-{kind}-{id}.db")));
                if migrated {
                    let template = SQLITE_TEMPLATE
                        .get_or_try_init(sqlite_template)
                        .await
                        .expect("migrate the SQLite template");
                    std::fs::copy(template, &path.0).expect("copy the SQLite template");
                }
                (
                    format!("sqlite://{}?mode=rwc", path.0.display()),
                    TestDb::Sqlite(path),
                )
            }
        }
    }

    /// A fresh database set as `config`'s: already migrated (from the
    /// template) unless tpgate is to migrate it at start.
    pub async fn for_config(harness: Harness, config: &mut Config) -> TestDb {
        let (url, db) = Self::fresh(harness, config.migrate_on_start).await;
        config.database_url = url;
        db
    }

    /// "Postgres" or "SQLite", for reports.
    pub fn backend(&self) -> &'static str {
        match self {
            TestDb::Postgres(_) => "Postgres",
            TestDb::Sqlite(_) => "SQLite",
        }
    }

    pub fn postgres(&self) -> Option<&PgDatabase> {
        match self {
            TestDb::Postgres(db) => Some(db),
            TestDb::Sqlite(_) => None,
        }
    }

    /// Drops the database now (its guard would on drop otherwise).
    pub async fn drop_now(&mut self) {
        if let TestDb::Postgres(db) = self {
            db.drop_now().await;
        }
    }
}

/// Names the schema: the migrations' names, and their sources (an
/// unreleased migration may be edited in place).
fn schema_hash() -> String {
    let mut hash = Sha256::new();
    for m in migration::Migrator::migrations() {
        hash.update(m.name().as_bytes());
        hash.update([0]);
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    for file in files {
        if let Ok(source) = std::fs::read(&file) {
            hash.update(file.file_name().unwrap_or_default().as_encoded_bytes());
            hash.update([0]);
            hash.update(source);
        }
    }
    hex::encode(hash.finalize())[..16].to_owned()
}

/// Replaces the database name in a Postgres URL.
fn with_database(url: &str, name: &str) -> String {
    let mut u = Url::parse(url).expect("the database URL is a URL");
    u.set_path(&format!("/{name}"));
    u.to_string()
}

/// One connection (a session-level advisory lock needs the same one).
async fn connect_one(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    Database::connect(options).await
}

// === Postgres ===

/// The template's name, once per test binary run (per process).
static PG_TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// `pg_advisory_lock` key serialising template builds: "tpgateTm".
const TEMPLATE_LOCK_KEY: i64 = 0x7470_6761_7465_546d;

/// Whether the template exists, and if so whether it is complete.
async fn pg_template_state(admin: &DatabaseConnection, name: &str) -> Result<Option<bool>, DbErr> {
    let row = admin
        .query_one_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT datistemplate AND NOT datallowconn FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await?;
    row.map(|r| r.try_get_by_index::<bool>(0)).transpose()
}

/// Finds or builds the migrated template; returns its name.
async fn pg_template(admin_url: &str) -> Result<String, DbErr> {
    let name = format!("tpgate_template_{}", schema_hash());
    let admin = connect_one(admin_url).await?;
    let built = async {
        if pg_template_state(&admin, &name).await? == Some(true) {
            return Ok(());
        }
        admin
            .execute_raw(Statement::from_sql_and_values(
                admin.get_database_backend(),
                "SELECT pg_advisory_lock($1)",
                [TEMPLATE_LOCK_KEY.into()],
            ))
            .await?;
        let built = async {
            match pg_template_state(&admin, &name).await? {
                // Another process built it while we waited.
                Some(true) => return Ok(()),
                // Left half-built by a process that died.
                Some(false) => {
                    admin
                        .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
                        .await?;
                }
                None => {}
            }
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await?;
            let db = connect_one(&with_database(admin_url, &name)).await?;
            let migrated = migration::run(&db).await;
            db.close().await?;
            migrated?;
            // Complete: copies may be made from now on, and nobody may
            // connect (which would make them fail).
            admin
                .execute_unprepared(&format!(
                    "ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS false IS_TEMPLATE true"
                ))
                .await?;
            Ok(())
        }
        .await;
        let _ = admin
            .execute_raw(Statement::from_sql_and_values(
                admin.get_database_backend(),
                "SELECT pg_advisory_unlock($1)",
                [TEMPLATE_LOCK_KEY.into()],
            ))
            .await;
        built
    }
    .await;
    let _ = admin.close().await;
    built.map(|()| name)
}

/// A test's Postgres database, dropped (`WITH (FORCE)`, so tpgate's own
/// connections do not keep it) with this guard.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    dropped: bool,
}

impl PgDatabase {
    async fn create(harness: Harness, admin_url: String, name: String, migrated: bool) -> Self {
        let var = harness.database_var();
        let create = if migrated {
            let template = PG_TEMPLATE
                .get_or_try_init(|| pg_template(&admin_url))
                .await
                .unwrap_or_else(|e| {
                    panic!("{var} must be reachable, and the template migrate: {e}")
                });
            format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"")
        } else {
            format!("CREATE DATABASE \"{name}\"")
        };
        let admin = connect_one(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("{var} must be reachable: {e}"));
        admin
            .execute_unprepared(&create)
            .await
            .expect("create test database");
        let _ = admin.close().await;
        Self {
            admin_url,
            name,
            dropped: false,
        }
    }

    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn url(&self) -> String {
        with_database(&self.admin_url, &self.name)
    }

    async fn drop_now(&mut self) {
        match drop_pg_database(&self.admin_url, &self.name).await {
            Ok(()) => self.dropped = true,
            Err(e) => eprintln!("warning: test database {} not dropped: {e}", self.name),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // Drop cannot await, and runs inside the test's runtime (also while
        // a panic unwinds it), where another runtime cannot block: a thread
        // with a runtime of its own, waited for so that the process does
        // not exit first.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime
                .block_on(drop_pg_database(&admin_url, &name))
                .map_err(|e| e.to_string())
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: test database {} not dropped: {e}", self.name),
            Err(_) => eprintln!("warning: test database {} not dropped", self.name),
        }
    }
}

async fn drop_pg_database(admin_url: &str, name: &str) -> Result<(), DbErr> {
    let drop = async {
        let admin = connect_one(admin_url).await?;
        let dropped = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await;
        let _ = admin.close().await;
        dropped.map(|_| ())
    };
    tokio::time::timeout(Duration::from_secs(30), drop)
        .await
        .map_err(|_| DbErr::Custom("timed out".into()))?
}

// === SQLite ===

/// The template file, once per test binary run (per process).
static SQLITE_TEMPLATE: OnceCell<PathBuf> = OnceCell::const_new();

/// Finds or builds the migrated template file. Built under a name of its
/// own and renamed into place (atomic), so a concurrent process never
/// copies a half-built one (and two builders' identical files just replace
/// each other).
async fn sqlite_template() -> Result<PathBuf, DbErr> {
    let hash = schema_hash();
    let path = std::env::temp_dir().join(format!("tpgate-template-{hash}.db"));
    if path.exists() {
        return Ok(path);
    }
    let building = TempPath(std::env::temp_dir().join(format!(
        "tpgate-template-{hash}-{}.building",
        uuid::Uuid::new_v4().simple()
    )));
    let db = connect_one(&format!("sqlite://{}?mode=rwc", building.0.display())).await?;
    let migrated = migration::run(&db).await;
    // One self-contained file (no -wal beside it) to copy.
    let single_file = db.execute_unprepared("PRAGMA journal_mode=DELETE").await;
    db.close().await?;
    migrated?;
    single_file?;
    std::fs::rename(&building.0, &path).map_err(|e| DbErr::Custom(e.to_string()))?;
    Ok(path)
}

/// A SQLite file (and its -wal and -shm) removed on drop.
pub struct TempPath(PathBuf);

impl Drop for TempPath {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}
