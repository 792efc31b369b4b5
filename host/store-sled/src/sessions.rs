//! Console sessions: one record per session, and an index by user so that
//! a user's sessions are listed without reading everyone's.

use async_trait::async_trait;
use switchboard_core::{Session, Timestamp, UserId};
use switchboard_store::{Committed, SessionStore, StoreError};

use crate::SledResult;
use crate::keys;
use crate::store::SledStore;
use crate::trees::Tree;
use crate::visibility::Trees;

/// What session writes and reads touch.
const SESSIONS: Trees = Trees::of(&[Tree::Sessions, Tree::UserSessions]);

/// The index key of session `id` of `user`.
fn by_user(user: UserId, id: &str) -> Vec<u8> {
    let mut key = keys::id(user).to_vec();
    key.extend_from_slice(id.as_bytes());
    key
}

#[async_trait]
impl SessionStore for SledStore {
    async fn create_session(&self, session: Session) -> Result<Committed<()>, StoreError> {
        self.write(SESSIONS, move |tx| {
            tx.put(Tree::Sessions, session.id.as_bytes(), &session)?;
            tx.put_raw(Tree::UserSessions, &by_user(session.user, &session.id), &[][..])?;
            Ok(())
        })
        .await
    }

    async fn session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let session = self.inner.get(Tree::Sessions, id.as_bytes(), "session");
        self.read(SESSIONS, session).await
    }

    async fn sessions_of(&self, user: UserId, now: Timestamp) -> Result<Committed<Vec<Session>>, StoreError> {
        let prefix = keys::id(user);
        let found: Result<Vec<Session>, StoreError> = self
            .inner
            .tree(Tree::UserSessions)
            .scan_prefix(prefix)
            .keys()
            .filter_map(|key| match key.backend() {
                Ok(key) => {
                    let id = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
                    self.inner.get::<Session>(Tree::Sessions, id.as_bytes(), "session").transpose()
                }
                Err(e) => Some(Err(e)),
            })
            .collect();
        let (mut live, expired): (Vec<Session>, Vec<Session>) =
            self.read(SESSIONS, found).await?.into_iter().partition(|s| s.is_live(now));
        live.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        // Listing writes only when there is something to delete.
        if expired.is_empty() {
            return Ok(Committed::durable_now(live));
        }
        let pruned = self
            .write(SESSIONS, move |tx| {
                for session in &expired {
                    tx.remove(Tree::Sessions, session.id.as_bytes())?;
                    tx.remove(Tree::UserSessions, &by_user(session.user, &session.id))?;
                }
                Ok(())
            })
            .await?;
        Ok(pruned.map(|()| live))
    }

    async fn end_session(&self, user: UserId, id: &str) -> Result<Committed<bool>, StoreError> {
        let id = id.to_owned();
        self.write(SESSIONS, move |tx| match tx.get::<Session>(Tree::Sessions, id.as_bytes(), "session")? {
            Some(session) if session.user == user => {
                tx.remove(Tree::Sessions, id.as_bytes())?;
                tx.remove(Tree::UserSessions, &by_user(user, &id))?;
                Ok(true)
            }
            _ => Ok(false),
        })
        .await
    }
}
