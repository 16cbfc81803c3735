//! The embedded database holds TikTok tokens and buyers' orders: `DATA_DIR` is made
//! readable by this user only (0700) and the database files too (0600). SQLite creates its
//! `-wal` and `-shm` files with the mode of the database file, so creating that file 0600
//! before SQLite opens it covers them.

use std::path::Path;

#[cfg(unix)]
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Options for a file under `DATA_DIR`: created 0600.
pub fn file_options() -> std::fs::OpenOptions {
    #[allow(unused_mut)]
    let mut o = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// Tightens an existing `DATA_DIR` and the database files in it (made by an older version,
/// or by a tool with a looser umask). A directory someone else owns, or a shared sticky one
/// like `/tmp`, is left as it is with a warning: changing it is not ours to do.
/// `owned` is a file this process just created there, whose owner is us.
#[cfg(unix)]
pub fn tighten(dir: &Path, owned: &std::fs::File, files: &[&Path]) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (Ok(meta), Ok(ours)) = (std::fs::metadata(dir), owned.metadata()) else {
        return;
    };
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        if meta.uid() == ours.uid() && mode & 0o1000 == 0 {
            match std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)) {
                Ok(()) => tracing::info!(
                    data_dir = %dir.display(),
                    was = format!("{mode:o}"),
                    "DATA_DIR made private to this user (0700)"
                ),
                Err(e) => tracing::warn!(
                    data_dir = %dir.display(),
                    error = %e,
                    "cannot make DATA_DIR private (0700); it holds TikTok tokens"
                ),
            }
        } else {
            tracing::warn!(
                data_dir = %dir.display(),
                mode = format!("{mode:o}"),
                "DATA_DIR is readable by others and not ours to change; it holds TikTok tokens: use a private directory"
            );
        }
    }
    for f in files {
        if let Ok(m) = std::fs::metadata(f) {
            if m.mode() & 0o077 != 0 && m.uid() == ours.uid() {
                let _ = std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o600));
            }
        }
    }
}

#[cfg(not(unix))]
pub fn tighten(_dir: &Path, _owned: &std::fs::File, _files: &[&Path]) {}
