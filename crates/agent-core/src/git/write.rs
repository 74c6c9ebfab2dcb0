//! Atomic file writes: a temporary file in the same directory, flushed, then renamed over the
//! target, so a reader (or an interrupted run) sees either the old or the new content.

use std::io::Write;
use std::path::Path;

use super::error::GitError;

/// Writes `content` to `path` atomically, creating parent directories. `executable` sets the
/// owner/group/other execute bits on Unix.
pub(crate) fn write_atomic(path: &Path, content: &[u8], executable: bool) -> Result<(), GitError> {
    let dir = path.parent().ok_or_else(|| {
        GitError::io(
            format!("writing {}", path.display()),
            std::io::Error::other("path has no parent directory"),
        )
    })?;
    std::fs::create_dir_all(dir)
        .map_err(|e| GitError::io(format!("creating {}", dir.display()), e))?;
    let context = || format!("writing {}", path.display());
    let mut temp = tempfile::Builder::new()
        .prefix(".aidx-tmp-")
        .tempfile_in(dir)
        .map_err(|e| GitError::io(context(), e))?;
    temp.write_all(content)
        .map_err(|e| GitError::io(context(), e))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| GitError::io(context(), e))?;
    set_mode(temp.path(), path, executable).map_err(|e| GitError::io(context(), e))?;
    temp.persist(path)
        .map_err(|e| GitError::io(context(), e.error))?;
    Ok(())
}

#[cfg(unix)]
fn set_mode(temp: &Path, target: &Path, executable: bool) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // Keep the target's permissions when it exists; a new file gets the usual 0644/0755.
    let base = match std::fs::metadata(target) {
        Ok(meta) => meta.permissions().mode() & 0o777,
        Err(_) => 0o644,
    };
    let mode = if executable {
        base | 0o111
    } else {
        base & !0o111
    };
    std::fs::set_permissions(temp, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_temp: &Path, _target: &Path, _executable: bool) -> std::io::Result<()> {
    Ok(())
}

/// Removes a file; a file that is already gone is fine.
pub(crate) fn remove_file(path: &Path) -> Result<(), GitError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(GitError::io(format!("removing {}", path.display()), e)),
    }
}
