//! The one seam every change to a key goes through.
//!
//! Create, rotate, narrow, retire (by hand or when quiet), revoke, suspend,
//! reinstate, approve, reject, edit and owner change all open a
//! [`KeyChange`], write through it, record their audit events and
//! notifications in it, and [`commit`](KeyChange::commit) it. After the
//! commit, in this order, the seam wakes the email sender for the stored
//! notifications and forgets this instance's cached copies of the keys it
//! touched. Other instances (and, on SQLite, the running server after a CLI
//! change) learn from the database itself, whose triggers announce every
//! change to what verification reads (see [`crate::server::verify::invalidation`]).
//! Forgetting a step is therefore not possible: a command that does not
//! commit through the seam changes nothing, and one that does cannot skip
//! the epilogue.

use crate::{
    error::AppError,
    server::{
        db::{
            audit::{self, NewEvent},
            Tx,
        },
        notify::{self, Notice},
        state::AppState,
        verify::invalidation,
    },
};

/// A transaction changing one or more keys. Dropped without
/// [`commit`](KeyChange::commit), it rolls back and announces nothing.
pub struct KeyChange<'s> {
    state: &'s AppState,
    tx: Tx,
    /// Public ids of the keys whose verification may change.
    keys: Vec<String>,
    notified: bool,
}

impl<'s> KeyChange<'s> {
    /// Starts a change to the keys with these public ids (more can be added
    /// with [`KeyChange::touch`]).
    pub async fn begin<I, K>(state: &'s AppState, keys: I) -> Result<Self, AppError>
    where
        I: IntoIterator<Item = K>,
        K: Into<String>,
    {
        Ok(Self {
            state,
            tx: state.db.begin().await?,
            keys: keys.into_iter().map(Into::into).collect(),
            notified: false,
        })
    }

    /// Adds a key whose cached state must be forgotten after the commit
    /// (e.g. a key created inside the change).
    pub fn touch(&mut self, key_id: impl Into<String>) {
        self.keys.push(key_id.into());
    }

    /// Appends an event to the audit trail, in the change's transaction.
    pub async fn audit(&mut self, event: NewEvent<'_>) -> Result<(), AppError> {
        audit::insert(self.tx.conn(), &event).await?;
        Ok(())
    }

    /// Stores a notification for `recipients`, in the change's transaction;
    /// its email goes out after the commit.
    pub async fn notify(&mut self, recipients: &[i64], notice: &Notice) -> Result<(), AppError> {
        notify::send(self.state, &mut self.tx, recipients, notice).await?;
        self.notified = true;
        Ok(())
    }

    /// The key's owner and its organisation's admins, but `except`.
    pub async fn key_audience(
        &mut self,
        org_id: i64,
        owner_id: i64,
        except: Option<i64>,
    ) -> Result<Vec<i64>, AppError> {
        notify::key_audience(&mut self.tx, org_id, owner_id, except).await
    }

    /// Commits, then wakes the email sender and forgets the cached copies
    /// of every touched key on this instance.
    pub async fn commit(self) -> Result<(), AppError> {
        self.tx.commit().await?;
        if self.notified {
            self.state.mailer.wake();
        }
        for key_id in &self.keys {
            invalidation::forget_key(self.state, key_id);
        }
        Ok(())
    }
}

impl std::ops::Deref for KeyChange<'_> {
    type Target = Tx;

    fn deref(&self) -> &Tx {
        &self.tx
    }
}

impl std::ops::DerefMut for KeyChange<'_> {
    fn deref_mut(&mut self) -> &mut Tx {
        &mut self.tx
    }
}
