//! File uploads the current way: `files.getUploadURLExternal` hands out an
//! upload URL on the emulator and a file id, the client POSTs the bytes
//! there (raw, as the host and Python's SDK do, or as multipart form data,
//! as the JavaScript SDK does), and `files.completeUploadExternal` shares
//! the file into a channel or thread as a message carrying a `files` array.
//! The content is served back at the file's `url_private` (with the bot
//! token, as Slack wants) and to tests through [`Emulator::file_content`].

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::state::{Message, UploadedFile};
use super::web_api::{Api, ApiError, ApiResult, Args, Content};
use super::{Emulator, Shared};
use crate::contract::time::{now_micros, now_secs};

/// Largest upload the emulator keeps in memory (Slack's is 1 GB).
pub const MAX_UPLOAD_BYTES: usize = 64 << 20;
/// Most files one `files.completeUploadExternal` shares (Slack's limit).
const MAX_FILES_PER_SHARE: usize = 10;

pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/upload/v1/{key}",
            post(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/files-pri/{file}/{*name}", get(download))
}

impl Api<'_> {
    pub(super) fn get_upload_url(&mut self, args: &Args) -> ApiResult {
        let filename = args.required("filename")?;
        let length = args
            .required("length")?
            .trim()
            .parse::<u64>()
            .map_err(|_| ApiError::with("invalid_arguments", "length must be a whole number"))?;
        if length as usize > MAX_UPLOAD_BYTES {
            return Err(ApiError::new("file_upload_size_restricted"));
        }
        let id = self.state.next_id('F');
        let key = hex::encode(Sha256::digest(format!("{id}:{}", now_micros())))[..40].to_string();
        self.state.files.insert(
            id.clone(),
            UploadedFile {
                id: id.clone(),
                name: filename.clone(),
                title: filename,
                length,
                content: None,
                user: self.shared.config.bot_user_id.clone(),
                created: now_secs(),
                completed: false,
                channels: Vec::new(),
                alt_txt: args.str("alt_txt"),
            },
        );
        self.state.uploads.insert(key.clone(), id.clone());
        Ok(json!({
            "ok": true,
            "upload_url": format!("{}/upload/v1/{key}", self.shared.origin()),
            "file_id": id,
        }))
    }

    pub(super) fn complete_upload(&mut self, args: &Args) -> ApiResult {
        let raw = args
            .json_text("files")
            .ok_or_else(|| ApiError::with("invalid_arguments", "missing required field: files"))?;
        let listed: Vec<Value> = match serde_json::from_str(&raw) {
            Ok(Value::Array(items)) if !items.is_empty() => items,
            _ => {
                return Err(ApiError::with(
                    "invalid_arguments",
                    "files must be a JSON array of {\"id\", \"title\"}",
                ));
            }
        };
        if listed.len() > MAX_FILES_PER_SHARE {
            return Err(ApiError::new("too_many_files"));
        }
        let mut ids = Vec::new();
        for item in &listed {
            let id = item["id"].as_str().unwrap_or_default();
            let file = self
                .state
                .files
                .get(id)
                .ok_or(ApiError::new("file_not_found"))?;
            if file.content.is_none() {
                return Err(ApiError::with(
                    "file_not_found",
                    format!("nothing was uploaded to {id}'s upload URL"),
                ));
            }
            ids.push((id.to_string(), item["title"].as_str().map(str::to_string)));
        }
        // Where to share: `channel_id`, or `channels` (comma-separated);
        // neither keeps the files private to the uploader.
        // Channel ids only (not names, not user ids), and the bot must be in them.
        let mut targets = Vec::new();
        let listed_channels = args.str("channels").unwrap_or_default();
        let wanted = args
            .str("channel_id")
            .into_iter()
            .chain(listed_channels.split(',').map(|c| c.trim().to_string()))
            .filter(|c| !c.is_empty());
        for raw in wanted {
            let one = Args(std::iter::once(("channel".to_string(), json!(raw))).collect());
            let channel = self.visible_channel(&one, "channel")?;
            self.require_member(&channel)?;
            if !targets.contains(&channel) {
                targets.push(channel);
            }
        }
        if args.str("thread_ts").is_some() && targets.len() != 1 {
            return Err(ApiError::with(
                "invalid_arguments",
                "thread_ts needs exactly one channel_id",
            ));
        }
        let comment = args.str("initial_comment").unwrap_or_default();
        let blocks = args.json_text("blocks");
        let content =
            Content::check(Some(comment), blocks, false).map_err(
                |(code, detail)| match detail {
                    Some(detail) => ApiError::with(code, detail),
                    None => ApiError::new(code),
                },
            )?;
        let mut threads = Vec::new();
        for channel in &targets {
            threads.push(self.thread_parent(channel, args)?);
        }
        for (id, title) in &ids {
            let file = self.state.files.get_mut(id).expect("checked above");
            if let Some(title) = title.clone().filter(|t| !t.is_empty()) {
                file.title = title;
            }
            file.completed = true;
            for channel in &targets {
                if !file.channels.contains(channel) {
                    file.channels.push(channel.clone());
                }
            }
        }
        for (channel, thread_ts) in targets.iter().zip(threads) {
            let ts = self.state.next_ts();
            let mut message = self.bot_message(
                channel,
                ts,
                Content {
                    text: content.text.clone(),
                    blocks: content.blocks.clone(),
                },
            );
            message.thread_ts = thread_ts;
            message.files = ids.iter().map(|(id, _)| id.clone()).collect();
            tracing::debug!(%channel, files = ?message.files, "emulator: files shared");
            self.state.push_message(message);
        }
        let files: Vec<Value> = ids
            .iter()
            .map(|(id, _)| self.file_json(&self.state.files[id]))
            .collect();
        Ok(json!({"ok": true, "files": files}))
    }

    pub(super) fn files_info(&mut self, args: &Args) -> ApiResult {
        let id = args.str("file").ok_or(ApiError::new("file_not_found"))?;
        let file = self
            .state
            .files
            .get(&id)
            .filter(|f| f.completed)
            .ok_or(ApiError::new("file_not_found"))?;
        Ok(json!({
            "ok": true,
            "file": self.file_json(file),
            "comments": [],
            "response_metadata": {"next_cursor": ""},
        }))
    }

    /// A file object as Slack returns it from `files.*` and in messages.
    pub(super) fn file_json(&self, f: &UploadedFile) -> Value {
        let c = &self.shared.config;
        let origin = self.shared.origin();
        let path = format!("{}-{}", c.team_id, f.id);
        let mut channels = Vec::new();
        let mut groups = Vec::new();
        let mut ims = Vec::new();
        for id in &f.channels {
            match self.state.channels.get(id) {
                Some(ch) if ch.is_dm() => ims.push(id.clone()),
                Some(ch) if ch.is_private => groups.push(id.clone()),
                _ => channels.push(id.clone()),
            }
        }
        let filetype = f.filetype();
        json!({
            "id": f.id,
            "created": f.created,
            "timestamp": f.created,
            "name": f.name,
            "title": f.title,
            "mimetype": f.mimetype(),
            "filetype": filetype,
            "pretty_type": filetype.to_uppercase(),
            "user": f.user,
            "user_team": c.team_id,
            "editable": false,
            "size": f.content.as_ref().map_or(f.length as usize, Vec::len),
            "mode": "hosted",
            "is_external": false,
            "external_type": "",
            "is_public": !channels.is_empty(),
            "public_url_shared": false,
            "display_as_bot": false,
            "username": "",
            "url_private": format!("{origin}/files-pri/{path}/{}", f.name),
            "url_private_download": format!("{origin}/files-pri/{path}/download/{}", f.name),
            "permalink": format!("https://{}.slack.com/files/{}/{}/{}", c.team_domain, f.user, f.id, f.name),
            "permalink_public": format!("https://slack-files.com/{path}-emulator"),
            "comments_count": 0,
            "is_starred": false,
            "channels": channels,
            "groups": groups,
            "ims": ims,
            "has_rich_preview": false,
            "file_access": "visible",
            "alt_txt": f.alt_txt,
        })
    }
}

/// `POST /upload/v1/{key}`: the bytes of a file, once.
async fn upload(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let content = if content_type.starts_with("multipart/form-data") {
        match multipart_file(content_type, &body) {
            Some(content) => content,
            None => return (StatusCode::BAD_REQUEST, "malformed multipart body").into_response(),
        }
    } else {
        body.to_vec()
    };
    let mut state = shared.state();
    let Some(id) = state.uploads.remove(&key) else {
        return (StatusCode::NOT_FOUND, "no such upload URL, or it was used").into_response();
    };
    let length = content.len();
    if let Some(file) = state.files.get_mut(&id) {
        file.content = Some(content);
    }
    tracing::debug!(%id, length, "emulator: file uploaded");
    (StatusCode::OK, format!("OK - {length}")).into_response()
}

/// `GET /files-pri/{team}-{id}/{name}` (or `…/download/{name}`): a file's
/// content, for the bot token only.
async fn download(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path((file, _name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| token == shared.config.bot_token);
    if !authorized {
        return (StatusCode::FORBIDDEN, "files need the bot token").into_response();
    }
    let id = file.rsplit('-').next().unwrap_or_default();
    let state = shared.state();
    match state.files.get(id).filter(|f| f.completed) {
        Some(f) => (
            [(header::CONTENT_TYPE, f.mimetype())],
            f.content.clone().unwrap_or_default(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

/// The first file part of a multipart body (else its first part).
fn multipart_file(content_type: &str, body: &[u8]) -> Option<Vec<u8>> {
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(at) = find(rest, delimiter.as_bytes()) {
        let after = &rest[at + delimiter.len()..];
        if after.starts_with(b"--") {
            break;
        }
        let next = find(after, delimiter.as_bytes()).unwrap_or(after.len());
        parts.push(&after[..next]);
        rest = &after[next..];
    }
    let parsed: Vec<(String, &[u8])> = parts
        .into_iter()
        .filter_map(|part| {
            let part = part.strip_prefix(b"\r\n").unwrap_or(part);
            let split = find(part, b"\r\n\r\n")?;
            let head = String::from_utf8_lossy(&part[..split]).to_string();
            let content = &part[split + 4..];
            let content = content.strip_suffix(b"\r\n").unwrap_or(content);
            Some((head, content))
        })
        .collect();
    parsed
        .iter()
        .find(|(head, _)| head.contains("filename="))
        .or_else(|| parsed.first())
        .map(|(_, content)| content.to_vec())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl Emulator {
    /// Every file uploaded (completed or not), by id.
    pub fn files(&self) -> Vec<UploadedFile> {
        self.shared.state().files.values().cloned().collect()
    }

    /// A file's uploaded bytes, once they arrived at its upload URL.
    pub fn file_content(&self, id: &str) -> Option<Vec<u8>> {
        self.shared
            .state()
            .files
            .get(id)
            .and_then(|f| f.content.clone())
    }

    /// The files a message carries (`files.completeUploadExternal`).
    pub fn files_of(&self, message: &Message) -> Vec<UploadedFile> {
        let state = self.shared.state();
        message
            .files
            .iter()
            .filter_map(|id| state.files.get(id).cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_body_gives_its_file_part() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\nxoxb\r\n--XyZ\r\nContent-Disposition: form-data; name=\"body\"; filename=\"a.csv\"\r\nContent-Type: application/octet-stream\r\n\r\nname,count\r\nalice,3\r\n--XyZ--\r\n";
        assert_eq!(
            multipart_file("multipart/form-data; boundary=XyZ", body).as_deref(),
            Some(&b"name,count\r\nalice,3"[..])
        );
        assert_eq!(multipart_file("multipart/form-data", body), None);
    }
}
