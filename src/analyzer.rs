//! Per-frame analysis: detect, encode and classify every face of a frame, and turn the result
//! into what the overlay draws. Plain Rust over [`crate::face`] and [`crate::model`]; the
//! GStreamer element only maps buffers and calls [`Analyzer::analyze`].

use crate::face::{DetectionConfig, FaceBox, FacePipeline, FrameRef};
use crate::model::Classifier;

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

/// Analysis settings.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalyzerConfig {
    /// Detection.
    pub detection: DetectionConfig,
}

/// Runs the face pipeline and the classifier on frames.
pub struct Analyzer {
    pipeline: FacePipeline,
    classifier: Classifier,
    config: AnalyzerConfig,
}

impl Analyzer {
    /// An analyzer over a face pipeline and a classifier.
    pub fn new(pipeline: FacePipeline, classifier: Classifier, config: AnalyzerConfig) -> Self {
        Analyzer {
            pipeline,
            classifier,
            config,
        }
    }

    /// Replaces the settings (takes effect on the next frame).
    pub fn set_config(&mut self, config: AnalyzerConfig) {
        self.config = config;
    }

    /// Replaces the classifier (a new model loaded while playing).
    pub fn set_classifier(&mut self, classifier: Classifier) {
        self.classifier = classifier;
    }

    /// The classifier in use.
    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// Every face of the frame, left to right.
    pub fn analyze(&mut self, frame: &FrameRef<'_>) -> Vec<FaceResult> {
        let boxes = self.pipeline.detect(frame, &self.config.detection);
        let encodings = self.pipeline.encode(frame, &boxes, 1);
        boxes
            .iter()
            .zip(&encodings)
            .map(|(rect, encoding)| {
                let p = self.classifier.classify(encoding);
                let labels = self.classifier.labels();
                let mut scores: Vec<(String, f32)> = labels
                    .iter()
                    .cloned()
                    .zip(p.scores.iter().copied())
                    .collect();
                scores.sort_by(|a, b| b.1.total_cmp(&a.1));
                let best_match = labels.get(p.best).cloned().unwrap_or_default();
                FaceResult {
                    rect: *rect,
                    label: p.known.then(|| best_match.clone()),
                    best_match,
                    confidence: p.confidence,
                    distance: p.distance,
                    scores,
                    track: None,
                }
            })
            .collect()
    }
}
