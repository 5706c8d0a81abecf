//! A wall clock that tests can move forward.
use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use chrono::{DateTime, Duration, Utc};

/// `Utc::now()` plus an offset. Production never moves it; tests advance it to
/// drive token expiry without sleeping (the simulator has the same knob, so
/// both sides of an expiry can be exercised).
#[derive(Clone, Default, Debug)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    /// A WeChat `CreateTime` (unix seconds) as a time; now if out of range.
    pub fn at_unix(&self, secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap_or_else(|| self.now())
    }

    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }
}
