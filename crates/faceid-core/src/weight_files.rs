//! Where a backend's weight files are and which files they are, the same way for every backend:
//! a folder is the explicit setting, else an environment variable, else the folder chosen at
//! build time (meson's install location) or the source tree's `models/<backend>`; a file is
//! known by its SHA-256.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The folder to load a backend's files from: `explicit` (a property), then the environment
/// variable `env`, then `builtin`.
pub fn resolve_dir(
    explicit: Option<&Path>,
    env: &str,
    builtin: impl FnOnce() -> PathBuf,
) -> PathBuf {
    if let Some(dir) = explicit.filter(|d| !d.as_os_str().is_empty()) {
        return dir.to_path_buf();
    }
    if let Some(dir) = std::env::var_os(env).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    builtin()
}

/// The folder chosen at build time (`install_dir`, from `option_env!`), else `models/<name>` in
/// the checkout that holds the crate at `manifest_dir` (`crates/<crate>`).
pub fn builtin_dir(install_dir: Option<&str>, manifest_dir: &str, name: &str) -> PathBuf {
    match install_dir {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(manifest_dir)
            .ancestors()
            .nth(2)
            .unwrap_or(Path::new("."))
            .join("models")
            .join(name),
    }
}

/// SHA-256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// SHA-256 of bytes (weights compiled into a library), lower-case hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_explicit_folder_wins_then_the_built_in_one() {
        let builtin = || PathBuf::from("/built-in");
        let unset = "FACEID_TEST_UNSET_WEIGHTS_DIR";
        assert_eq!(
            resolve_dir(Some(Path::new("/x")), unset, builtin),
            PathBuf::from("/x")
        );
        assert_eq!(
            resolve_dir(Some(Path::new("")), unset, builtin),
            PathBuf::from("/built-in")
        );
        assert_eq!(
            builtin_dir(None, "/src/gst-faceid/crates/faceid-onnx", "onnx"),
            PathBuf::from("/src/gst-faceid/models/onnx")
        );
        assert_eq!(
            builtin_dir(Some("/usr/share/m"), "/x/crates/y", "onnx"),
            PathBuf::from("/usr/share/m")
        );
    }

    #[test]
    fn a_files_hash_is_its_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(sha256_file(&dir.path().join("missing")).is_err());
    }
}
