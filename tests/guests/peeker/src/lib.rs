//! Test guest: `/peek <key>` shows what its own store holds under `<key>`
//! ("absent" if nothing) and `/put <key> <value>` sets it — used to prove an
//! app never sees another app's keys.

use botyard_sdk::prelude::*;

struct Peeker;

impl App for Peeker {
    fn describe() -> AppInfo {
        AppInfo::new("peeker", "Reads and writes its own store")
            .command("/peek", "Show a key's value", "<key>")
            .command("/put", "Set a key", "<key> <value>")
    }

    fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
        let text = request.text.trim();
        let answer = match request.command.as_str() {
            "/peek" => {
                if text.is_empty() {
                    return Err("usage: /peek <key>".into());
                }
                match store::get(text)? {
                    Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    None => "absent".into(),
                }
            }
            "/put" => {
                let Some((key, value)) = text.split_once(' ') else {
                    return Err("usage: /put <key> <value>".into());
                };
                let value = value.trim();
                store::set(key, value.as_bytes())?;
                format!("{key} = {value}")
            }
            other => return Err(format!("unknown command {other}")),
        };
        Ok(Some(Reply::in_channel(answer)))
    }
}

export_app!(Peeker);
