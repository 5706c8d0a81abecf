//! What the e2e tests and the benches both need: a database per test or
//! bench run, dropped by a guard ([`test_db`]), and the simulator and
//! gateway started on loopback ([`stack`]).
pub mod stack;
pub mod test_db;

pub use stack::{Instance, Stack, start_simulator};
pub use test_db::TestDb;

/// The admin JWT secret (HS256) of every instance started here.
pub const JWT_SECRET: &str = "test-jwt-secret-test-jwt-secret-0123456789";

/// Who is running: picks the environment variables read and the prefix of
/// the names given (databases, files, Redis keys), so a leftover shows
/// whose it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Harness {
    /// The e2e tests: `TEST_DATABASE_URL`, `TEST_REDIS_URL`.
    Tests,
    /// The benches: `BENCH_DATABASE_URL`, `BENCH_REDIS_URL`.
    Bench,
}

impl Harness {
    /// The Postgres server's admin URL (unset or empty: SQLite).
    pub fn database_var(self) -> &'static str {
        match self {
            Harness::Tests => "TEST_DATABASE_URL",
            Harness::Bench => "BENCH_DATABASE_URL",
        }
    }

    pub fn redis_var(self) -> &'static str {
        match self {
            Harness::Tests => "TEST_REDIS_URL",
            Harness::Bench => "BENCH_REDIS_URL",
        }
    }

    /// The Redis URL, when its variable is set (and not empty).
    pub fn redis_url(self) -> Option<String> {
        std::env::var(self.redis_var())
            .ok()
            .filter(|u| !u.is_empty())
    }

    fn name(self) -> &'static str {
        match self {
            Harness::Tests => "test",
            Harness::Bench => "bench",
        }
    }
}
