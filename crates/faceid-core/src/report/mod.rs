//! What the names are worth and where they go: scores against ground truth, subtitles.

pub mod evaluation;
pub mod subtitles;
