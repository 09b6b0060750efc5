//! The admin socket: how `yubin admin` reaches a running server.
//!
//! DATA/admin.sock, mode 0600 (filesystem permissions are the authentication). The client sends
//! one command as a JSON line; the server answers with one status byte (`0` ok, `1` error) and
//! then the output (or error message) until it closes the connection.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use yubin_server::net::Shutdown;
use yubin_store::MailStore;

use super::{AdminCommand, Defaults, execute};

/// Longest accepted request line.
const MAX_REQUEST: u64 = 1 << 20;

/// The socket's path in a data directory.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.sock")
}

/// Listens on DATA/admin.sock until shutdown.
pub fn listen(
    data_dir: &Path,
    store: MailStore,
    defaults: Defaults,
    mut shutdown: Shutdown,
) -> Result<(), String> {
    let defaults = std::sync::Arc::new(defaults);
    let path = path(data_dir);
    let data_dir = data_dir.to_path_buf();
    // A socket file left by a killed server: nobody listens on it.
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)
        .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot restrict {}: {e}", path.display()))?;
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                () = shutdown.wait() => break,
            };
            let Ok((stream, _)) = accepted else { continue };
            let store = store.clone();
            let data_dir = data_dir.clone();
            let defaults = defaults.clone();
            tokio::spawn(async move { serve_one(stream, store, &data_dir, &defaults).await });
        }
        let _ = std::fs::remove_file(&path);
    });
    Ok(())
}

async fn serve_one(stream: UnixStream, store: MailStore, data_dir: &Path, defaults: &Defaults) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read).take(MAX_REQUEST);
    if reader.read_line(&mut line).await.is_err() {
        return;
    }
    let result = match serde_json::from_str::<AdminCommand>(&line) {
        Ok(command) => execute(&store, data_dir, defaults, &command).await,
        Err(e) => Err(format!("malformed admin request: {e}")),
    };
    let (status, body) = match result {
        Ok(out) => (b'0', out),
        Err(e) => (b'1', e.into_bytes()),
    };
    let _ = write.write_all(&[status]).await;
    let _ = write.write_all(&body).await;
    let _ = write.shutdown().await;
}

/// Sends `command` to the server listening in `data_dir`. `None` when no server answers there.
pub async fn send(data_dir: &Path, command: &AdminCommand) -> Option<Result<Vec<u8>, String>> {
    let mut stream = UnixStream::connect(path(data_dir)).await.ok()?;
    // Once connected, never fall back to opening the store: the server may have run the command.
    Some(exchange(&mut stream, command).await)
}

async fn exchange(stream: &mut UnixStream, command: &AdminCommand) -> Result<Vec<u8>, String> {
    let lost = |e: std::io::Error| format!("lost the connection to the running server: {e}");
    let mut request = serde_json::to_vec(command).map_err(|e| e.to_string())?;
    request.push(b'\n');
    stream.write_all(&request).await.map_err(lost)?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await.map_err(lost)?;
    match reply.split_first() {
        Some((b'0', body)) => Ok(body.to_vec()),
        Some((_, body)) => Err(String::from_utf8_lossy(body).into_owned()),
        None => Err("the running server closed the admin connection without an answer".into()),
    }
}
