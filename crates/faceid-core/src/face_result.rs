//! What the analyzer says about one face of a frame.

use crate::geometry::FaceBox;

/// One face found in a frame and what the model says about it.
#[derive(Clone, Debug, PartialEq)]
pub struct FaceResult {
    /// Where, in frame pixels.
    pub rect: FaceBox,
    /// The person's name when known, `None` for a stranger.
    pub label: Option<String>,
    /// The closest person, even for a stranger.
    pub best_match: String,
    /// Softmax confidence of `best_match`.
    pub confidence: f32,
    /// Distance to the nearest training photo of `best_match`.
    pub distance: f32,
    /// Every person's confidence, best first.
    pub scores: Vec<(String, f32)>,
    /// Track id, when the face is followed over frames.
    pub track: Option<u64>,
}

impl FaceResult {
    /// Green or red: known and at least `threshold` confident.
    pub fn is_confident(&self, threshold: f32) -> bool {
        self.label.is_some() && self.confidence >= threshold
    }

    /// The text above the box: "name 0.93", or "unknown".
    pub fn title(&self) -> String {
        match &self.label {
            Some(name) => format!("{name} {:.2}", self.confidence),
            None => "unknown".to_string(),
        }
    }
}
