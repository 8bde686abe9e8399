//! The admin socket: how an admin command reaches a running gateway. A Unix domain socket
//! `DATA_DIR/admin.sock` (mode 0600, and the peer must be the gateway's own OS user; never
//! TCP). The client sends one JSON line (the parsed command, its working directory, the
//! operator's user name, standard input when the command reads it); the gateway runs the
//! command with [`super::run`] and sends back frames: standard output, standard error,
//! progress, and last the exit status with the error message, if any.
//!
//! A socket file nobody answers (a gateway that died) is stale: the client then opens the
//! database itself, and the next gateway removes the file before binding its own. The gateway
//! holds the database's lock before it looks, so a file it finds is never a live gateway's.

use super::{AdminCommand, Ctx};
use crate::log::log;
use crate::router::Gateway;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const OUT: u8 = b'o';
const ERR: u8 = b'e';
const PROGRESS: u8 = b'p';
const EXIT: u8 = b'x';

/// Largest request line accepted (a command and its paths; standard input rides in it).
const MAX_REQUEST: u64 = 1024 * 1024;

/// The socket of a gateway serving `data_dir`.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.sock")
}

#[derive(Serialize, Deserialize)]
struct Request {
    command: AdminCommand,
    cwd: PathBuf,
    operator: String,
    /// Hex, when the command reads standard input.
    stdin: Option<String>,
}

/// The operator's OS user name, for audit records (the client's, sent along).
pub fn operator() -> String {
    crate::operate::Operator::from_os().0
}

/// The running gateway's socket; removed when dropped (the gateway stops).
pub struct AdminSocket {
    path: PathBuf,
}

impl Drop for AdminSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds the admin socket in `data_dir` and serves admin commands on `gateway`'s store, one
/// at a time, each on a thread of its own (commands are blocking work; the request threads
/// never wait for them). Call with the database open, so a socket file found is stale.
pub fn listen(data_dir: &Path, gateway: Arc<Gateway>) -> Result<AdminSocket, String> {
    let path = path(data_dir);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_socket() => {
            // Stale: its gateway died without removing it (we hold the database).
            std::fs::remove_file(&path)
                .map_err(|e| format!("cannot remove the stale {}: {e}", path.display()))?;
        }
        Ok(_) => {
            return Err(format!(
                "{} exists and is not a socket; move it away",
                path.display()
            ))
        }
        Err(_) => {}
    }
    // Created owner-only (no window in which others could connect), then made sure of.
    // SAFETY: umask only swaps the process's file-creation mask; restored right after.
    let old = unsafe { libc::umask(0o177) };
    let bound = UnixListener::bind(&path);
    unsafe { libc::umask(old) };
    let listener = bound.map_err(|e| format!("cannot bind {}: {e}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot restrict {}: {e}", path.display()))?;
    let one_at_a_time = Arc::new(Mutex::new(()));
    std::thread::Builder::new()
        .name("admin".into())
        .spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let gateway = gateway.clone();
                let lock = one_at_a_time.clone();
                let _ = std::thread::Builder::new()
                    .name("admin-command".into())
                    .spawn(move || {
                        if let Err(e) = serve_one(conn, &gateway, &lock) {
                            log(format_args!("admin socket: {e}"));
                        }
                    });
            }
        })
        .map_err(|e| format!("cannot start the admin thread: {e}"))?;
    Ok(AdminSocket { path })
}

/// The uid of the process at the other end.
fn peer_uid(conn: &UnixStream) -> Option<u32> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes of the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(cred.uid)
}

/// Frames written to the client; shared by the command's output, errors and progress.
#[derive(Clone)]
struct Frames(Arc<Mutex<UnixStream>>, u8);

impl Frames {
    fn send(&self, tag: u8, payload: &[u8]) -> std::io::Result<()> {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        s.write_all(&[tag])?;
        s.write_all(&len.to_be_bytes())?;
        s.write_all(payload)
    }
}

impl Write for Frames {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.len().min(u32::MAX as usize);
        self.send(self.1, &buf[..n])?;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn serve_one(conn: UnixStream, gateway: &Gateway, lock: &Mutex<()>) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if peer_uid(&conn) != Some(me) {
        let mut message = vec![1];
        message.extend_from_slice(
            format!("the gateway runs as uid {me}: run admin commands as that user").as_bytes(),
        );
        let _ = Frames(Arc::new(Mutex::new(conn)), EXIT).send(EXIT, &message);
        return Err("refused a client of another user".into());
    }
    // A client that never sends its request does not keep a thread for ever.
    let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let mut line = String::new();
    BufReader::new((&conn).take(MAX_REQUEST))
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let req: Request = serde_json::from_str(&line).map_err(|e| format!("bad request: {e}"))?;
    let stream = Arc::new(Mutex::new(conn));
    // Buffered: a listing's lines go in a few large frames, not one per write.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, Frames(stream.clone(), OUT));
    let mut err = std::io::BufWriter::new(Frames(stream.clone(), ERR));
    let progress_frames = Frames(stream, PROGRESS);
    // The bank the command names (the first for `--all-banks`, which writes to every bank).
    let app = if req.command.all_banks() {
        Ok(gateway.app())
    } else {
        gateway.app_for(req.command.target().bank.as_ref())
    };
    let app = match app {
        Ok(app) => app,
        Err(message) => {
            let mut exit = vec![1];
            exit.extend_from_slice(message.as_bytes());
            return progress_frames
                .send(EXIT, &exit)
                .map_err(|e| format!("client gone: {e}"));
        }
    };
    let every_bank: Vec<&crate::store::Store> = if gateway.apps().count() > 1 {
        gateway.apps().map(|a| &a.store).collect()
    } else {
        Vec::new()
    };
    let metrics = &app.metrics;
    let mut progress = |n: u64| {
        metrics.import_progress(n);
        let _ = progress_frames.send(PROGRESS, &n.to_be_bytes());
    };
    let _one = lock.lock().unwrap_or_else(|p| p.into_inner());
    let mut ctx = Ctx {
        store: &app.store,
        every_bank,
        target: req.command.target().clone(),
        // The gateway's own profile, whatever bank directory the client would have read.
        bank: Some(app.config.bank.clone()),
        bank_dir: (PathBuf::new(), false),
        out: &mut out,
        err: &mut err,
        cwd: req.cwd,
        stdin: req.stdin.and_then(|h| hex::decode(h).ok()),
        operator: req.operator,
        progress: &mut progress,
    };
    let result = super::run(&req.command, &mut ctx);
    drop(ctx);
    metrics.import_done();
    let _ = err.flush();
    let _ = out.flush();
    let exit = match result {
        Ok(()) => vec![0],
        Err(message) => {
            let mut v = vec![1];
            v.extend_from_slice(message.as_bytes());
            v
        }
    };
    progress_frames
        .send(EXIT, &exit)
        .map_err(|e| format!("client gone: {e}"))
}

/// Runs `cmd` in the gateway serving `data_dir`, if one answers: its output is copied to `out`
/// and `err`, its progress to `progress`. `None` when no gateway answers (no socket, or a
/// stale one): the caller then opens the database itself.
pub fn call(
    data_dir: &Path,
    cmd: &AdminCommand,
    stdin: Option<&[u8]>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Option<Result<(), String>> {
    let path = path(data_dir);
    let mut conn = match UnixStream::connect(&path) {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Some(Err(format!(
                "{} belongs to another user: run admin commands as the gateway's user",
                path.display()
            )))
        }
        // No socket, or a stale one (connection refused): no gateway serves this directory.
        Err(_) => return None,
    };
    Some(talk(&mut conn, cmd, stdin, out, err, progress))
}

fn talk(
    conn: &mut UnixStream,
    cmd: &AdminCommand,
    stdin: Option<&[u8]>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<(), String> {
    let req = Request {
        command: cmd.clone(),
        cwd: std::env::current_dir().map_err(|e| format!("no working directory: {e}"))?,
        operator: operator(),
        stdin: stdin.map(hex::encode),
    };
    let mut line = serde_json::to_vec(&req).map_err(|e| e.to_string())?;
    line.push(b'\n');
    let lost = |e: std::io::Error| format!("the gateway's admin socket: {e}");
    conn.write_all(&line).map_err(lost)?;
    let mut reader = BufReader::new(conn);
    loop {
        let mut head = [0u8; 5];
        reader.read_exact(&mut head).map_err(|e| {
            format!("the gateway closed the admin socket before the command finished ({e})")
        })?;
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut payload = vec![0u8; len];
        reader.read_exact(&mut payload).map_err(lost)?;
        match head[0] {
            OUT => {
                let _ = out.write_all(&payload);
            }
            ERR => {
                let _ = err.write_all(&payload);
            }
            PROGRESS => {
                if let Ok(b) = <[u8; 8]>::try_from(payload.as_slice()) {
                    progress(u64::from_be_bytes(b));
                }
            }
            EXIT => {
                let _ = out.flush();
                return match payload.split_first() {
                    Some((0, _)) => Ok(()),
                    Some((_, message)) => Err(String::from_utf8_lossy(message).into_owned()),
                    None => Err("the gateway sent an empty exit frame".into()),
                };
            }
            _ => return Err("the gateway sent a frame this version does not know".into()),
        }
    }
}
