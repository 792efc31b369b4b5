//! Users, found by id and by the hash of their token.

use async_trait::async_trait;
use switchboard_core::{Role, Timestamp, User, UserId};
use switchboard_store::{Committed, StoreError, UserEdit, UserStore};

use crate::SledResult;
use crate::codec::decode;
use crate::keys;
use crate::store::SledStore;
use crate::trees::{Sequence, Tree};
use crate::tx::{OrAbort, abort};
use crate::visibility::Trees;

/// What user writes touch.
const WRITE: Trees = Trees::of(&[Tree::Meta, Tree::Users, Tree::Tokens]);
/// What user reads look at.
const READ: Trees = Trees::of(&[Tree::Users, Tree::Tokens]);

#[async_trait]
impl UserStore for SledStore {
    async fn create_user(
        &self,
        name: &str,
        role: Role,
        teams: Vec<String>,
        token_hash: String,
        now: Timestamp,
    ) -> Result<Committed<User>, StoreError> {
        let name = name.to_owned();
        self.write(WRITE, move |tx| {
            let id = tx.next_id(Sequence::User)?;
            let user = User::new(id, &name, role, teams.clone(), token_hash.clone(), now).or_abort()?;
            tx.put(Tree::Users, &keys::id(id), &user)?;
            tx.put_raw(Tree::Tokens, user.token_hash.as_bytes(), keys::id(id).as_slice())?;
            Ok(user)
        })
        .await
    }

    async fn user_by_token(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        match self.inner.tree(Tree::Tokens).get(token_hash.as_bytes()).backend()?.and_then(|v| keys::read_id(&v)) {
            Some(id) => self.user(id).await,
            None => Ok(None),
        }
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let user = self.inner.get(Tree::Users, &keys::id(id), "user");
        self.read(READ, user).await
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        let users = self.inner.tree(Tree::Users).iter().values().map(|v| decode("user", &v.backend()?)).collect();
        self.read(READ, users).await
    }

    async fn update_user(&self, id: UserId, edit: UserEdit) -> Result<Committed<User>, StoreError> {
        self.write(WRITE, move |tx| {
            let Some(mut user) = tx.get::<User>(Tree::Users, &keys::id(id), "user")? else {
                return abort(StoreError::UnknownUser(id));
            };
            if let Some(teams) = &edit.teams {
                user.set_teams(teams.clone()).or_abort()?;
            }
            if let Some(hash) = &edit.token_hash {
                tx.remove(Tree::Tokens, user.token_hash.as_bytes())?;
                tx.put_raw(Tree::Tokens, hash.as_bytes(), keys::id(id).as_slice())?;
                user.token_hash = hash.clone();
            }
            tx.put(Tree::Users, &keys::id(id), &user)?;
            Ok(user)
        })
        .await
    }
}
