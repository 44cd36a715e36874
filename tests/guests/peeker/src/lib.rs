//! Test guest: `/peek <key>` shows what its own store holds under `<key>`
//! ("absent" if nothing) and `/put <key> <value>` sets it — used to prove an
//! app never sees another app's keys.

use botyard_sdk::prelude::*;

fn app() -> App {
    App::new("peeker", "Reads and writes its own store")
        .command("/peek", spec("Show a key's value").usage("<key>"), peek)
        .command("/put", spec("Set a key").usage("<key> <value>"), put)
}

fn peek(request: CommandRequest) -> Result<Reply, String> {
    let key = request.text.trim();
    if key.is_empty() {
        return Err("usage: /peek <key>".into());
    }
    let answer = match store::get(key)? {
        Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        None => "absent".into(),
    };
    Ok(Reply::in_channel(answer))
}

fn put(request: CommandRequest) -> Result<Reply, String> {
    let Some((key, value)) = request.text.trim().split_once(' ') else {
        return Err("usage: /put <key> <value>".into());
    };
    let value = value.trim();
    store::set(key, value.as_bytes())?;
    Ok(Reply::in_channel(format!("{key} = {value}")))
}

export_app!(app);
