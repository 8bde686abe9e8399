//! Files at rest for the gateway's own user only: the data directory 0700 and everything the
//! gateway creates in it 0600, whatever the umask it was started with; a master key file that
//! group or others can read is refused, as ssh refuses such a private key.

use std::path::Path;

/// Makes every file and directory this process creates from now on private to its user
/// (umask 077). The embedded engine creates its files with the process umask, so this is the
/// one place that covers them all.
pub fn restrict_umask() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Creates the data directory `dir` if needed and makes it private (0700), and the database an
/// earlier run left in it under a looser umask: directories 0700, files 0600. Other files
/// (a key file kept there) are left as they are, for [`check_key_file`] to judge.
pub fn private_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let private = |e: std::io::Error| format!("cannot make {} private: {e}", dir.display());
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(private)?;
        let db = dir.join("db");
        if db.exists() {
            tighten(&db).map_err(private)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn tighten(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        // Not ours to change: a link points wherever the operator put it.
        return Ok(());
    }
    let mode = meta.permissions().mode() & 0o777;
    if meta.is_dir() {
        if mode != 0o700 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
        }
        for entry in std::fs::read_dir(path)? {
            tighten(&entry?.path())?;
        }
    } else if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
}

/// Refuses a key file that group or others may read or write, saying how to fix it.
pub fn check_key_file(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(format!(
                    "key file {p} is accessible by group or others (mode {mode:04o}); \
                     it must be readable by its owner only: chmod 600 {p}",
                    p = path.display()
                ));
            }
        }
    }
    let _ = path;
    Ok(())
}
