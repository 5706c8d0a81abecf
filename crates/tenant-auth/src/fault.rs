//! Fault injection for tests that prove nothing is lost when a replica dies
//! at the worst moment. Production never arms it; an unarmed point costs one
//! atomic load.
use std::sync::{
    Arc,
    atomic::{AtomicU32, Ordering},
};

#[derive(Debug, Clone, Default)]
pub struct Faults {
    crash_before_commit: Arc<AtomicU32>,
}

impl Faults {
    /// The next `times` authorizer refreshes "die" after WeChat answered and
    /// before the new tokens are committed, leaving their lease held.
    pub fn crash_before_commit(&self, times: u32) {
        self.crash_before_commit.store(times, Ordering::SeqCst);
    }

    pub(crate) fn take_crash_before_commit(&self) -> bool {
        self.crash_before_commit
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}
