//! Operators' presence: one record per team, chat channel and user.

use async_trait::async_trait;
use switchboard_core::{Presence, Timestamp, UserId};
use switchboard_store::{Committed, PresenceStore, StoreError};

use crate::SledResult;
use crate::codec::decode;
use crate::keys;
use crate::store::SledStore;
use crate::trees::Tree;
use crate::tx::OrAbort;
use crate::visibility::Trees;

/// What presence writes and reads touch.
const PRESENCE: Trees = Trees::of(&[Tree::Presence]);

#[async_trait]
impl PresenceStore for SledStore {
    async fn heartbeat(
        &self,
        team: &str,
        channel: &str,
        user: UserId,
        chat_name: &str,
        now: Timestamp,
    ) -> Result<Committed<Presence>, StoreError> {
        let (team, channel, chat_name) = (team.to_owned(), channel.trim().to_owned(), chat_name.to_owned());
        self.write(PRESENCE, move |tx| {
            tx.team(&team)?;
            let key = keys::presence(&team, &channel, user);
            let earlier = tx.get(Tree::Presence, &key, "presence")?;
            let presence = Presence::beat(earlier, &team, &channel, user, &chat_name, now).or_abort()?;
            tx.put(Tree::Presence, &key, &presence)?;
            Ok(presence)
        })
        .await
    }

    async fn leave_channel(&self, team: &str, channel: &str, user: UserId) -> Result<Committed<bool>, StoreError> {
        let key = keys::presence(team, channel.trim(), user);
        self.write(PRESENCE, move |tx| tx.remove(Tree::Presence, &key)).await
    }

    async fn online_operators(&self, team: &str, channel: &str, now: Timestamp) -> Result<Vec<Presence>, StoreError> {
        let prefix = keys::presence_prefix(team, channel.trim());
        let all: Result<Vec<Presence>, StoreError> = self
            .inner
            .tree(Tree::Presence)
            .scan_prefix(prefix)
            .values()
            .map(|v| decode("presence", &v.backend()?))
            .collect();
        let mut online: Vec<Presence> =
            self.read(PRESENCE, all).await?.into_iter().filter(|p| p.is_online(now)).collect();
        online.sort_by_key(|p| (p.since, p.user));
        Ok(online)
    }
}
