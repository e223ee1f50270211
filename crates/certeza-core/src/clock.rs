//! An injectable wall clock, so that time-dependent logic can be tested.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync {
    /// The current time in milliseconds since 1970-01-01T00:00:00Z.
    fn now_unix_millis(&self) -> u64;
}

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_millis(&self) -> u64 {
        // A clock set before 1970 reads as the epoch itself.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that only moves when told to, for tests.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicU64);

impl FixedClock {
    /// A clock that reads `unix_millis` until changed.
    #[must_use]
    pub fn new(unix_millis: u64) -> FixedClock {
        FixedClock(AtomicU64::new(unix_millis))
    }

    /// Sets the time the clock reads.
    pub fn set(&self, unix_millis: u64) {
        self.0.store(unix_millis, Ordering::SeqCst);
    }

    /// Moves the clock forward by `delta_millis`, saturating at `u64::MAX`.
    pub fn advance(&self, delta_millis: u64) {
        let mut current = self.0.load(Ordering::SeqCst);
        loop {
            let next = current.saturating_add(delta_millis);
            match self.0.compare_exchange_weak(current, next, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }
}

impl Clock for FixedClock {
    fn now_unix_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now_unix_millis(&self) -> u64 {
        (**self).now_unix_millis()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_unix_millis(&self) -> u64 {
        (**self).now_unix_millis()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now_unix_millis(&self) -> u64 {
        (**self).now_unix_millis()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = FixedClock::new(1_000);
        assert_eq!(clock.now_unix_millis(), 1_000);
        clock.advance(500);
        assert_eq!(clock.now_unix_millis(), 1_500);
        clock.set(42);
        assert_eq!(clock.now_unix_millis(), 42);
        clock.advance(u64::MAX);
        assert_eq!(clock.now_unix_millis(), u64::MAX);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_unix_millis() > 1_577_836_800_000);
    }

    #[test]
    fn clocks_work_behind_shared_pointers() {
        let shared: Arc<dyn Clock> = Arc::new(FixedClock::new(7));
        assert_eq!(shared.now_unix_millis(), 7);
        let boxed: Box<dyn Clock> = Box::new(SystemClock);
        assert!(boxed.now_unix_millis() > 0);
    }
}
