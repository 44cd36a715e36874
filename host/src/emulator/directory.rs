//! The workspace's people and user groups: `users.info`, `users.list`,
//! `usergroups.list`, `usergroups.users.list`, and what tests use to set up
//! channels, memberships and groups (permission rules resolve a group's
//! members through `usergroups.users.list`).

use serde_json::{Value, json};

use super::changes::Change;
use super::pagination::{self, Paging};
use super::state::{User, UserGroup};
use super::web_api::{Api, ApiError, ApiResult, Args};
use super::{Emulator, EmulatorConfig, EmulatorError};

const USERS: Paging = Paging {
    kind: "user",
    default_limit: None,
    max_limit: 1000,
};

/// A user object as `users.info` and `users.list` return it.
pub fn user_json(config: &EmulatorConfig, user: &User) -> Value {
    let mut profile = json!({
        "real_name": user.real_name,
        "real_name_normalized": user.real_name,
        "display_name": if user.is_bot { "" } else { user.name.as_str() },
        "display_name_normalized": if user.is_bot { "" } else { user.name.as_str() },
        "first_name": user.real_name,
        "last_name": "",
        "title": "",
        "phone": "",
        "skype": "",
        "status_text": "",
        "status_emoji": "",
        "status_expiration": 0,
        "avatar_hash": "emulator",
        "team": config.team_id,
    });
    if user.is_bot {
        profile["bot_id"] = json!(config.bot_id);
        profile["api_app_id"] = json!(config.api_app_id);
        profile["always_active"] = json!(true);
    } else {
        profile["email"] = json!(format!("{}@example.com", user.name));
    }
    // The offset in force now on the workspace's clock (summer time too).
    let tz: chrono_tz::Tz = user
        .tz
        .as_deref()
        .and_then(|tz| tz.parse().ok())
        .unwrap_or(chrono_tz::Europe::Berlin);
    let now = chrono::DateTime::from_timestamp(config.clock.now_secs(), 0)
        .unwrap_or_default()
        .with_timezone(&tz);
    let offset = {
        use chrono::Offset;
        now.offset().fix().local_minus_utc()
    };
    let label = now.format("%Z").to_string();
    json!({
        "id": user.id,
        "team_id": config.team_id,
        "name": user.name,
        "deleted": false,
        "color": "9f69e7",
        "real_name": user.real_name,
        "tz": tz.name(),
        "tz_label": label,
        "tz_offset": offset,
        "profile": profile,
        "is_admin": false,
        "is_owner": false,
        "is_primary_owner": false,
        "is_restricted": false,
        "is_ultra_restricted": false,
        "is_bot": user.is_bot,
        "is_app_user": false,
        "updated": 1_700_000_000,
        "is_email_confirmed": !user.is_bot,
        "who_can_share_contact_card": "EVERYONE",
    })
}

/// A user group object as `usergroups.list` returns it.
fn usergroup_json(config: &EmulatorConfig, group: &UserGroup, include_users: bool) -> Value {
    let mut value = json!({
        "id": group.id,
        "team_id": config.team_id,
        "is_usergroup": true,
        "is_subteam": true,
        "name": group.name,
        "description": group.description,
        "handle": group.handle,
        "is_external": false,
        "date_create": group.date_create,
        "date_update": group.date_update,
        "date_delete": 0,
        "auto_type": null,
        "auto_provision": false,
        "enterprise_subteam_id": "",
        "created_by": config.bot_user_id,
        "updated_by": config.bot_user_id,
        "deleted_by": null,
        "prefs": {"channels": [], "groups": []},
        "user_count": group.users.len(),
    });
    if include_users {
        value["users"] = json!(group.users);
    }
    value
}

impl Api<'_> {
    pub(super) fn users_info(&mut self, args: &Args) -> ApiResult {
        let id = args.str("user").ok_or(ApiError::new("user_not_found"))?;
        let user = self
            .state
            .users
            .get(&id)
            .ok_or(ApiError::new("user_not_found"))?;
        Ok(json!({"ok": true, "user": user_json(&self.shared.config, user)}))
    }

    pub(super) fn users_list(&mut self, args: &Args) -> ApiResult {
        let request = USERS.request(args)?;
        let users: Vec<&User> = self.state.users.values().collect();
        let (page, next) = USERS.page(
            users,
            &request,
            |u| u.id.clone(),
            |u, from| u.id.as_str() >= from,
        );
        let members: Vec<Value> = page
            .into_iter()
            .map(|u| user_json(&self.shared.config, u))
            .collect();
        Ok(json!({
            "ok": true,
            "members": members,
            "cache_ts": crate::contract::time::now_secs(),
            "response_metadata": pagination::metadata(&next),
        }))
    }

    /// Slack's `usergroups.list` has no pagination: every group at once.
    pub(super) fn usergroups_list(&mut self, args: &Args) -> ApiResult {
        let include_users = args.bool("include_users");
        let groups: Vec<Value> = self
            .state
            .usergroups
            .values()
            .map(|g| usergroup_json(&self.shared.config, g, include_users))
            .collect();
        Ok(json!({"ok": true, "usergroups": groups}))
    }

    /// Slack's `usergroups.users.list` has no pagination either.
    pub(super) fn usergroups_users_list(&mut self, args: &Args) -> ApiResult {
        let id = args.required("usergroup")?;
        // Slack takes the id only (`S…`), not the handle.
        let group = self
            .state
            .usergroups
            .get(&id)
            .ok_or(ApiError::new("no_such_subteam"))?;
        Ok(json!({"ok": true, "users": group.users}))
    }
}

impl Emulator {
    /// Sets the timezone `users.info` reports for a user (id or name): an
    /// IANA name such as `Europe/Paris`.
    pub fn set_timezone(&self, user: &str, tz: &str) -> Result<(), EmulatorError> {
        let id = self.resolve_user(user)?;
        let mut state = self.shared.state();
        if let Some(user) = state.users.get_mut(&id) {
            user.tz = Some(tz.to_string());
        }
        state.changed(Change::Directory);
        Ok(())
    }

    /// A user group's id (`S…`) by handle (`sre-oncall` or `@sre-oncall`).
    pub fn usergroup_id(&self, handle: &str) -> Option<String> {
        self.shared.state().usergroup(handle).map(|g| g.id.clone())
    }

    pub fn usergroups(&self) -> Vec<UserGroup> {
        self.shared.state().usergroups.values().cloned().collect()
    }

    /// Adds a user group with these members (names or ids); returns its id.
    /// A handle that exists keeps its group.
    pub fn add_usergroup(
        &self,
        handle: &str,
        name: &str,
        members: &[&str],
    ) -> Result<String, EmulatorError> {
        let members = members
            .iter()
            .map(|m| self.resolve_user(m))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.shared.state().add_usergroup(handle, name, &members))
    }

    /// Puts `user` in a group (by id or handle); false when already in it.
    pub fn add_to_usergroup(&self, group: &str, user: &str) -> Result<bool, EmulatorError> {
        self.set_usergroup_member(group, user, true)
    }

    /// Takes `user` out of a group; false when they were not in it.
    pub fn remove_from_usergroup(&self, group: &str, user: &str) -> Result<bool, EmulatorError> {
        self.set_usergroup_member(group, user, false)
    }

    fn set_usergroup_member(
        &self,
        group: &str,
        user: &str,
        add: bool,
    ) -> Result<bool, EmulatorError> {
        let user = self.resolve_user(user)?;
        let mut state = self.shared.state();
        if state.usergroup(group).is_none() {
            return Err(EmulatorError::UnknownUserGroup(group.to_string()));
        }
        Ok(state.set_usergroup_member(group, &user, add))
    }

    /// A person creates a channel: only they are in it (the bot is not, so
    /// the app meets `not_in_channel` until someone invites it).
    pub fn create_channel_as(
        &self,
        user: &str,
        name: &str,
        is_private: bool,
    ) -> Result<String, EmulatorError> {
        let user = self.resolve_user(user)?;
        let name = name.trim_start_matches('#');
        let mut state = self.shared.state();
        if let Some(existing) = state.channels.values().find(|c| c.name == name) {
            return Ok(existing.id.clone());
        }
        Ok(state.create_channel(name, is_private, &user))
    }

    /// Adds a person (or, by its id, the bot) to a channel; false when they
    /// were already in it.
    pub fn join_channel(&self, user: &str, channel: &str) -> Result<bool, EmulatorError> {
        let user = self.resolve_user(user)?;
        let channel = self.resolve_channel(channel)?;
        Ok(self.shared.state().join(&user, &channel))
    }

    /// Takes someone out of a channel; false when they were not in it.
    pub fn leave_channel(&self, user: &str, channel: &str) -> Result<bool, EmulatorError> {
        let user = self.resolve_user(user)?;
        let channel = self.resolve_channel(channel)?;
        Ok(self.shared.state().leave(&user, &channel))
    }

    /// Who is in a channel (id or name), in the order they joined.
    pub fn members(&self, channel: &str) -> Vec<String> {
        let channel = self.channel_or_raw(channel);
        self.shared
            .state()
            .channels
            .get(&channel)
            .map(|c| c.members.clone())
            .unwrap_or_default()
    }
}
