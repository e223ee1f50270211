//! A minimal connection pool: idle connections in a mutex-guarded stack,
//! created on demand, returned on drop.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

pub(crate) struct Pool<C> {
    idle: Mutex<Vec<C>>,
    max_idle: usize,
}

impl<C> Pool<C> {
    pub(crate) fn new(max_idle: usize) -> Self {
        Self { idle: Mutex::new(Vec::new()), max_idle }
    }

    /// Takes an idle connection or makes a new one with `connect`.
    pub(crate) fn get<E>(&self, connect: impl FnOnce() -> Result<C, E>) -> Result<Pooled<'_, C>, E> {
        let idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
        let connection = match idle {
            Some(connection) => connection,
            None => connect()?,
        };
        Ok(Pooled { pool: self, connection: Some(connection) })
    }

    pub(crate) fn put(&self, connection: C) {
        let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < self.max_idle {
            idle.push(connection);
        }
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
            self.pool.put(connection);
        }
    }
}

#[cold]
fn unreachable_taken() -> ! {
    panic!("a pooled connection is only taken when the guard is consumed")
}
