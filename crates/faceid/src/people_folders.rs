//! Folders of photos, one per person (`faceid train`, `faceid eval`), and the folder names
//! `faceid discover` gives to people nobody has named yet.

use std::path::{Path, PathBuf};

/// The prefix of folders of people nobody has named yet (`faceid train` skips them).
pub const UNNAMED_PREFIX: &str = "person-";

/// Whether `name` is a folder name `faceid discover` gives to someone not named yet.
pub fn is_unnamed(name: &str) -> bool {
    name.strip_prefix(UNNAMED_PREFIX)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The people folders of DIR and their photo files, sorted. Folders `faceid discover` made
/// and nobody has named yet (`person-01`, ...) are skipped with a message, so a half-named
/// folder still trains.
pub fn list_people(dir: &Path) -> Result<Vec<(String, Vec<PathBuf>)>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut people = Vec::new();
    let mut unnamed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('_') || name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        if is_unnamed(&name) {
            unnamed.push(name);
            continue;
        }
        let mut photos: Vec<PathBuf> = std::fs::read_dir(entry.path())
            .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        photos.sort();
        people.push((name, photos));
    }
    people.sort();
    unnamed.sort();
    if !unnamed.is_empty() {
        eprintln!(
            "skipping {}: folders of `faceid discover` nobody has named yet (rename a folder \
             to the person's name to train on it, delete strangers' folders)",
            unnamed.join(", ")
        );
    }
    if people.is_empty() && !unnamed.is_empty() {
        return Err(format!(
            "{} has only folders nobody has named yet ({}): rename each to the person's name",
            dir.display(),
            unnamed.join(", ")
        ));
    }
    if people.is_empty() {
        return Err(format!(
            "{} has no person folders: put each person's photos in a folder named after them",
            dir.display()
        ));
    }
    Ok(people)
}
