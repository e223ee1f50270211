//! A minimal connection pool: idle connections in a mutex-guarded stack,
//! created on demand, returned on drop.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

pub(crate) struct Pool<C> {
    state: Mutex<PoolState<C>>,
    returned: Condvar,
    max_idle: usize,
    /// At most this many connections open at once, if set; a caller beyond it
    /// waits for one to come back (up to the timeout, after which it opens
    /// one anyway, so that a caller holding a connection while asking for
    /// another can never deadlock).
    max_open: Option<(usize, Duration)>,
}

struct PoolState<C> {
    idle: Vec<C>,
    open: usize,
}

impl<C> Pool<C> {
    /// A pool that opens connections whenever none is idle and keeps up to
    /// `max_idle` of them.
    pub(crate) fn new(max_idle: usize) -> Self {
        Self {
            state: Mutex::new(PoolState { idle: Vec::new(), open: 0 }),
            returned: Condvar::new(),
            max_idle,
            max_open: None,
        }
    }

    /// A pool of at most `max_open` connections (a database server's
    /// connections are few and costly to open: waiting for one beats opening
    /// and closing one per request under load).
    pub(crate) fn bounded(max_open: usize, wait: Duration) -> Self {
        Self { max_open: Some((max_open, wait)), ..Self::new(max_open) }
    }

    /// Takes an idle connection or makes a new one with `connect`.
    pub(crate) fn get<E>(&self, connect: impl FnOnce() -> Result<C, E>) -> Result<Pooled<'_, C>, E> {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((max_open, wait)) = self.max_open {
            let deadline = std::time::Instant::now() + wait;
            while state.idle.is_empty() && state.open >= max_open {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                state = self.returned.wait_timeout(state, left).unwrap_or_else(|poisoned| poisoned.into_inner()).0;
            }
        }
        if let Some(connection) = state.idle.pop() {
            return Ok(Pooled { pool: self, connection: Some(connection) });
        }
        state.open += 1;
        drop(state);
        match connect() {
            Ok(connection) => Ok(Pooled { pool: self, connection: Some(connection) }),
            Err(error) => {
                self.closed();
                Err(error)
            }
        }
    }

    /// Adds a connection opened outside [`Pool::get`].
    pub(crate) fn put(&self, connection: C) {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).open += 1;
        self.give_back(connection);
    }

    fn give_back(&self, connection: C) {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.idle.len() < self.max_idle {
            state.idle.push(connection);
        } else {
            state.open = state.open.saturating_sub(1);
        }
        drop(state);
        self.returned.notify_one();
    }

    fn closed(&self) {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.open = state.open.saturating_sub(1);
        drop(state);
        self.returned.notify_one();
    }
}

/// A connection borrowed from a [`Pool`]; it goes back when dropped.
pub(crate) struct Pooled<'pool, C> {
    pool: &'pool Pool<C>,
    connection: Option<C>,
}

impl<C> Pooled<'_, C> {
    /// Drops the connection instead of returning it (after an error that may
    /// have left it in a bad state).
    pub(crate) fn discard(mut self) {
        self.connection = None;
        self.pool.closed();
    }
}

impl<C> Deref for Pooled<'_, C> {
    type Target = C;
    fn deref(&self) -> &C {
        self.connection.as_ref().unwrap_or_else(|| unreachable_taken())
    }
}

impl<C> DerefMut for Pooled<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.connection.as_mut().unwrap_or_else(|| unreachable_taken())
    }
}

impl<C> Drop for Pooled<'_, C> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            self.pool.give_back(connection);
        }
    }
}

#[cold]
fn unreachable_taken() -> ! {
    panic!("a pooled connection is only taken when the guard is consumed")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn a_bounded_pool_makes_callers_wait_instead_of_opening_more() {
        let opened = Arc::new(AtomicUsize::new(0));
        let pool = Arc::new(Pool::<usize>::bounded(2, Duration::from_secs(10)));
        let connect = |opened: &AtomicUsize| Ok::<_, ()>(opened.fetch_add(1, Ordering::SeqCst));
        let first = pool.get(|| connect(&opened)).unwrap();
        let second = pool.get(|| connect(&opened)).unwrap();
        let waiter = {
            let (pool, opened) = (pool.clone(), opened.clone());
            std::thread::spawn(move || *pool.get(|| connect(&opened)).unwrap())
        };
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(opened.load(Ordering::SeqCst), 2, "the third caller waits");
        drop(first);
        assert_eq!(waiter.join().unwrap(), 0, "it gets the connection given back");
        // A discarded connection frees its place for a new one.
        second.discard();
        let third = pool.get(|| connect(&opened)).unwrap();
        let fourth = pool.get(|| connect(&opened)).unwrap();
        assert_eq!((*third, *fourth), (0, 2));
    }

    #[test]
    fn a_caller_that_waited_too_long_opens_a_connection_anyway() {
        let pool = Pool::<u8>::bounded(1, Duration::from_millis(20));
        let held = pool.get(|| Ok::<_, ()>(1)).unwrap();
        let extra = pool.get(|| Ok::<_, ()>(2)).unwrap();
        assert_eq!((*held, *extra), (1, 2));
    }
}
