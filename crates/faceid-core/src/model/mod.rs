//! The classifier and its model file.
//!
//! A [`Model`] holds the people's names (labels), every training encoding with the photo it came
//! from, the distance beyond which a face is a stranger, and the identity of the encoder weights
//! that made the encodings.
//!
//! A face is decided twice, each time with the measure that suits the question:
//! - **Which person?** The nearest person *mean* after whitening the encodings by the model's
//!   own within-person covariance ([`crate::metric`]): among look-alikes most of dlib's distance
//!   is light, pose and make-up, which every person's photos show; whitening weighs what differs
//!   between the people instead. Per-person confidences are a softmax over those distances
//!   ([`TEMPERATURE`]). When the second-nearest person is within the model's `margin` of the
//!   nearest, the face is *ambiguous*: two people about as likely, and it stays unknown rather
//!   than take a coin-flip name.
//! - **Anyone at all?** The plain dlib distance to that person's nearest training photo (linfa-nn),
//!   against the unknown distance, calibrated on a cohort of strangers ([`crate::training::cohort`]).
//!
//! The file is JSON with a format name and version first. Loading validates everything and never
//! panics; saving writes a temporary file next to the target and renames it over.

mod classifier;
mod file;
mod training_set;

use std::fmt;
use std::path::PathBuf;

pub use classifier::{Classifier, Prediction, confidences, fit_whitening};
pub use file::{left_out_report, write_atomically};
pub use training_set::{GroupFace, TrainingSet};

use crate::encoding::{EncoderId, Encoding};
use crate::metric::shrinkage_for;
use crate::training::cleaning::{self, Photo, Policy, Reason};

/// The `format` field of every model file.
pub const FORMAT_NAME: &str = "gst-faceid-model";
/// The model file version this build writes. Version 2 added each photo's motion-blurred
/// encoding; version 3 replaced the softmax weights by the whitened-centroid classifier's
/// parameters (`shrinkage`, `margin`) and calibrates the unknown distance on strangers. Version
/// 1 and 2 files are still read: their softmax is ignored and the classifier rebuilt from their
/// encodings; their unknown distance is kept. Version 4 names the encoder (`encoder.name`,
/// `dimension`, `distance`: dlib's ResNet or SFace); files before it are dlib's.
pub const FORMAT_VERSION: u32 = 4;
/// Default of [`Model::margin`]: the second-nearest person must be at least this much farther
/// (whitened distance, dlib's scale) than the nearest for a name. Measured on the 8 BTS dev clips
/// (GT faces, see docs/design-choices.md): 0 names 93% (15 photos a member) and 81% (5 a member) of
/// faces with 6% and 18% wrong; 0.03 names 76% and 74% with 0% and 4% wrong.
pub const DEFAULT_MARGIN: f32 = 0.03;
/// Softmax temperature of the per-person confidences over squared whitened distances: a face
/// exactly [`DEFAULT_MARGIN`] nearer one of two people at the usual distance of 0.4 is about
/// twice as likely that person.
pub const TEMPERATURE: f32 = 0.018;
/// The unknown distance of a model trained on too few photos to calibrate one. dlib quotes
/// 0.6 for its LFW benchmark; strangers (the `johns` photos) come as close as 0.58 to a `bbt`
/// model while the `bbt` people in group shots stay below 0.54.
pub use crate::training::cleaning::DEFAULT_UNKNOWN_DISTANCE;
/// Model files larger than this are refused before reading (100 000 photos take ~300 MB).
pub const MAX_MODEL_FILE_BYTES: u64 = 512 * 1024 * 1024;
/// Longest label accepted.
pub const MAX_LABEL_CHARS: usize = 256;

/// One training encoding.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Index into [`Model::labels`].
    pub label: usize,
    /// The face encoding.
    pub encoding: Encoding,
    /// Where it came from (file name or frame number), for reports.
    pub source: String,
    /// The encoding of the same photo blurred sideways ([`crate::augment`]), when training made
    /// one: a second point for the nearest-neighbour search and the softmax, so faces smeared by
    /// camera pans are matched. Cleaning and calibration only look at `encoding`.
    pub motion_blurred: Option<Encoding>,
}

/// Each person's mean sharp encoding (`None` for a label without samples), indexed by label.
pub fn person_means(samples: &[Sample], labels: usize) -> Vec<Option<Encoding>> {
    (0..labels)
        .map(|label| {
            let own: Vec<&Encoding> = samples
                .iter()
                .filter(|s| s.label == label)
                .map(|s| &s.encoding)
                .collect();
            crate::training::group_photo::mean(&own)
        })
        .collect()
}

impl Sample {
    /// The photo's encodings: the photo itself, then its motion-blurred copy if any.
    pub fn encodings(&self) -> impl Iterator<Item = &Encoding> {
        std::iter::once(&self.encoding).chain(self.motion_blurred.as_ref())
    }
}
/// Training settings.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    /// Faces of the user's own strangers (see [`Model::strangers`]).
    pub strangers: Vec<Encoding>,
    /// Unknown distance written into the model; `None`: calibrated on the stranger cohort
    /// ([`crate::training::cohort`]), or from the training photos when the cohort was made by other
    /// encoder weights ([`cleaning::calibrate_unknown_distance`]).
    pub unknown_distance: Option<f32>,
    /// Leave out photos that disagree with the rest of their person's photos, and
    /// near-duplicates. Off: keep everything.
    pub clean: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            strangers: Vec::new(),
            unknown_distance: None,
            clean: true,
        }
    }
}

/// A training photo left out of the classifier, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct LeftOut {
    /// The photo.
    pub sample: Sample,
    /// Which kind of reason.
    pub kind: LeftOutKind,
    /// Why, for people: "disagrees with ...", "duplicate of ...", "a photo of 3 faces ...".
    pub reason: String,
}

/// Why the cleaning left a photo out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeftOutKind {
    /// It disagrees with the person's other photos (someone else, a bad crop).
    Disagrees,
    /// It is a near copy of another photo.
    Duplicate,
    /// A group photo none of whose faces could be told to be its person
    /// ([`crate::training::group_photo`]): its stored encoding is only the best guess, never
    /// trained on, and a later training decides again.
    GroupPhoto,
}

impl LeftOutKind {
    /// The kind of a reason read from a model file, which stores only the words: those
    /// [`describe`] and [`crate::training::group_photo::Unresolved::describe`] write.
    pub(crate) fn of_words(reason: &str) -> LeftOutKind {
        if reason.starts_with(DUPLICATE_WORDS) {
            LeftOutKind::Duplicate
        } else if reason.starts_with(GROUP_PHOTO_WORDS) {
            LeftOutKind::GroupPhoto
        } else {
            LeftOutKind::Disagrees
        }
    }
}

/// How a duplicate's reason begins.
const DUPLICATE_WORDS: &str = "duplicate of ";
/// How a group photo's reason begins.
pub(crate) const GROUP_PHOTO_WORDS: &str = "a photo of ";

/// A trained face model.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// People's names, in classifier order.
    pub labels: Vec<String>,
    /// Training encodings the classifier uses.
    pub samples: Vec<Sample>,
    /// Training photos left out by the cleaning, kept so that a later training (append) can
    /// decide again with everyone's photos, and so that reports can say why.
    pub left_out: Vec<LeftOut>,
    /// The encoder weights that made the encodings.
    pub encoder: EncoderId,
    /// Shrinkage of the whitening towards plain distances ([`crate::metric`]).
    pub shrinkage: f32,
    /// A name needs the second-nearest person this much farther than the nearest.
    pub margin: f32,
    /// Beyond this distance from a person's nearest photo, a face is unknown.
    pub unknown_distance: f32,
    /// Added to the distance of a match against a motion-blurred copy
    /// ([`cleaning::calibrate_blur_penalty`]); 0 for models without copies.
    pub blur_penalty: f32,
    /// Faces of people around the group who must stay unknown, given at training (`faceid
    /// train --strangers`, faceidtrain `strangers=true`): encodings only, no photo, no name.
    /// They calibrate the unknown distance with the shipped cohort, and stay for later
    /// trainings (append).
    pub strangers: Vec<Encoding>,
}

/// Why a model could not be loaded, trained or saved. Messages say what to do.
#[derive(Debug)]
pub enum ModelError {
    /// Reading or writing the file failed.
    Io(PathBuf, std::io::Error),
    /// Not a model file, or damaged.
    Corrupt(String),
    /// Written by a newer gst-faceid.
    NewerVersion(u32),
    /// Made with other encoder weights than the ones loaded.
    EncoderMismatch {
        /// In the model file.
        model: Box<EncoderId>,
        /// Loaded now.
        loaded: Box<EncoderId>,
    },
    /// Nothing to train on.
    NoSamples,
    /// The optimiser failed.
    Training(String),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Io(path, e) => write!(f, "{}: {e}", path.display()),
            ModelError::Corrupt(why) => write!(
                f,
                "not a valid gst-faceid model file ({why}); train it again with faceidtrain or `faceid train`"
            ),
            ModelError::NewerVersion(v) => write!(
                f,
                "the model file has format version {v}, made by a newer gst-faceid; this one reads \
                 versions up to {FORMAT_VERSION}: upgrade gst-faceid or train the model again"
            ),
            ModelError::EncoderMismatch { model, loaded } => write!(
                f,
                "the model was built with encoder weights {} (sha256 {}), but {} (sha256 {}) is \
                 loaded; encodings from different weights do not compare: use the same encoder \
                 weights or train the model again",
                model.file_name, model.sha256, loaded.file_name, loaded.sha256
            ),
            ModelError::NoSamples => write!(
                f,
                "no usable face to train on: every photo had no face, or several faces none of \
                 which is clearly the person"
            ),
            ModelError::Training(why) => write!(f, "training failed: {why}"),
        }
    }
}

impl std::error::Error for ModelError {}

pub(crate) fn corrupt(why: impl Into<String>) -> ModelError {
    ModelError::Corrupt(why.into())
}

/// The labels that have samples, in their order, and the samples relabelled to them.
fn without_unused_labels(labels: Vec<String>, samples: Vec<Sample>) -> (Vec<String>, Vec<Sample>) {
    let mut used = vec![false; labels.len()];
    for s in &samples {
        used[s.label] = true;
    }
    let mut remap = vec![usize::MAX; labels.len()];
    let mut kept_labels = Vec::new();
    for (i, l) in labels.into_iter().enumerate() {
        if used[i] {
            remap[i] = kept_labels.len();
            kept_labels.push(l);
        }
    }
    let samples = samples
        .into_iter()
        .map(|s| Sample {
            label: remap[s.label],
            ..s
        })
        .collect();
    (kept_labels, samples)
}

/// The cleaning's verdict on each photo: strangers and duplicates by plain distances, then
/// members told apart like faces are.
fn clean(photos: &[Photo]) -> Vec<Option<Reason>> {
    let policy = Policy {
        leave_out_closer_to_others: false,
        ..Policy::default()
    };
    let verdicts = cleaning::clean(photos, &policy);
    // The cleaning's own margin stays dlib's 0.03 for both encoders: SFace's smaller
    // naming margin left out a genuine rm photo of bts15 as "looks like jungkook"
    // (named_ok 0.978 -> 0.865); the messy set is cleaned the same either way.
    crate::training::likeness::leave_out_lookalikes(photos, &verdicts, DEFAULT_MARGIN)
}

/// "Unknown" beyond this distance: calibrated on the shipped stranger cohort (else the
/// `midpoint` rule of the model's own photos), and nearer still where the user's own strangers
/// lie.
fn calibrated_unknown_distance(
    samples: &[Sample],
    people: usize,
    encoder: &EncoderId,
    options: &TrainOptions,
    midpoint: f32,
    blur_penalty: f32,
) -> f32 {
    let people = person_photos(samples, people);
    let calibrated = crate::training::cohort::builtin(encoder)
        .and_then(|cohort| {
            crate::training::cohort::unknown_distance(cohort, encoder, &people, blur_penalty)
        })
        .map_or(midpoint, |c| c.distance);
    // The user's own strangers (people around the group) stay out too.
    crate::training::cohort::keep_out(&options.strangers, &people, blur_penalty)
        .map_or(calibrated, |d| d.min(calibrated))
}

/// The samples the cleaning kept, and those it left out with why.
fn split_by_verdict(
    samples: &[Sample],
    verdicts: &[Option<Reason>],
    labels: &[String],
) -> (Vec<Sample>, Vec<LeftOut>) {
    let mut kept = Vec::new();
    let mut left_out = Vec::new();
    for (sample, verdict) in samples.iter().zip(verdicts) {
        match verdict {
            None => kept.push(sample.clone()),
            Some(reason) => left_out.push(LeftOut {
                sample: sample.clone(),
                kind: match reason {
                    Reason::Duplicate { .. } => LeftOutKind::Duplicate,
                    Reason::Outlier { .. } => LeftOutKind::Disagrees,
                },
                reason: describe(reason, samples, labels),
            }),
        }
    }
    (kept, left_out)
}

/// A cleaning verdict in words.
fn describe(reason: &Reason, samples: &[Sample], labels: &[String]) -> String {
    match reason {
        Reason::Outlier {
            distance,
            closer_to,
        } => match closer_to.and_then(|l| labels.get(l)) {
            Some(other) => format!(
                "disagrees with the person's other photos (distance {distance:.2}) and looks like {other}"
            ),
            None => format!(
                "disagrees with the person's other photos (distance {distance:.2}): another person?"
            ),
        },
        Reason::Duplicate { of, distance } => format!(
            "{DUPLICATE_WORDS}{} (distance {distance:.2})",
            samples
                .get(*of)
                .map(|s| format!("{} of {}", s.source, labels.get(s.label).map_or("?", |l| l)))
                .unwrap_or_default()
        ),
    }
}
fn validate_label(label: &str) -> Result<(), ModelError> {
    if label.trim().is_empty() {
        return Err(corrupt("empty label"));
    }
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(corrupt(format!(
            "label longer than {MAX_LABEL_CHARS} characters"
        )));
    }
    if label.chars().any(char::is_control) {
        return Err(corrupt("label with control characters"));
    }
    Ok(())
}

/// Each label's photos as [`crate::training::cohort::unknown_distance`] compares strangers with them.
fn person_photos(
    samples: &[Sample],
    labels: usize,
) -> Vec<crate::training::cohort::PersonPhotos<'_>> {
    (0..labels)
        .map(|label| {
            let own = samples.iter().filter(move |s| s.label == label);
            crate::training::cohort::PersonPhotos {
                sharp: own.clone().map(|s| &s.encoding).collect(),
                blurred: own.filter_map(|s| s.motion_blurred.as_ref()).collect(),
            }
        })
        .collect()
}

impl Model {
    /// Trains the classifier over `samples` (labels indexed into `labels`).
    pub fn train(
        labels: Vec<String>,
        samples: Vec<Sample>,
        encoder: EncoderId,
        options: &TrainOptions,
    ) -> Result<Model, ModelError> {
        if samples.is_empty() || labels.is_empty() {
            return Err(ModelError::NoSamples);
        }
        for l in &labels {
            validate_label(l)?;
        }
        if let Some(s) = samples.iter().find(|s| s.label >= labels.len()) {
            return Err(corrupt(format!("sample label {} out of range", s.label)));
        }
        let (kept_labels, samples) = without_unused_labels(labels, samples);
        let margin = encoder
            .kind()
            .map_or(DEFAULT_MARGIN, crate::encoding::EncoderKind::default_margin);
        // Leave out photos that do not belong, then calibrate "unknown" on what is left.
        let photos: Vec<Photo> = samples
            .iter()
            .map(|s| Photo {
                label: s.label,
                encoding: s.encoding,
                source: s.source.clone(),
            })
            .collect();
        let verdicts = if options.clean {
            clean(&photos)
        } else {
            vec![None; photos.len()]
        };
        let (kept, left_out) = split_by_verdict(&samples, &verdicts, &kept_labels);
        let kept_photos: Vec<Photo> = photos
            .into_iter()
            .zip(&verdicts)
            .filter(|(_, v)| v.is_none())
            .map(|(p, _)| p)
            .collect();
        // The blur penalty is the difference of two calibrations by the same rule (sharp photos
        // and their copies), so it stays the midpoint rule's even where the unknown distance
        // itself is calibrated on strangers.
        let midpoint = cleaning::calibrate_unknown_distance(&kept_photos);
        let samples = kept;
        let blurred: Vec<Option<Encoding>> = samples.iter().map(|s| s.motion_blurred).collect();
        let blur_penalty = cleaning::calibrate_blur_penalty(&kept_photos, &blurred, midpoint);
        let unknown_distance = options.unknown_distance.unwrap_or_else(|| {
            calibrated_unknown_distance(
                &samples,
                kept_labels.len(),
                &encoder,
                options,
                midpoint,
                blur_penalty,
            )
        });
        let model = Model {
            shrinkage: shrinkage_for(samples.len(), kept_labels.len()),
            margin,
            labels: kept_labels,
            samples,
            left_out,
            encoder,
            unknown_distance,
            blur_penalty,
            strangers: options.strangers.clone(),
        };
        model.validate()?;
        Ok(model)
    }

    /// Number of training encodings per label.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.labels.len()];
        for s in &self.samples {
            if let Some(c) = counts.get_mut(s.label) {
                *c += 1;
            }
        }
        counts
    }

    /// Index of a label.
    pub fn label_index(&self, label: &str) -> Option<usize> {
        self.labels.iter().position(|l| l == label)
    }

    /// Checks every invariant a loaded or trained model must hold.
    pub fn validate(&self) -> Result<(), ModelError> {
        let n = self.labels.len();
        if n == 0 {
            return Err(corrupt("no labels"));
        }
        for (i, l) in self.labels.iter().enumerate() {
            validate_label(l)?;
            if self.labels[..i].contains(l) {
                return Err(corrupt(format!("label {l:?} appears twice")));
            }
        }
        if self.samples.is_empty() {
            return Err(corrupt("no samples"));
        }
        for s in &self.samples {
            if s.label >= n {
                return Err(corrupt(format!("sample label {} out of range", s.label)));
            }
            if s.encodings().flatten().any(|v| !v.is_finite()) {
                return Err(corrupt("non-finite number in an encoding"));
            }
        }
        for l in &self.left_out {
            if l.sample.label >= n || l.sample.encodings().flatten().any(|v| !v.is_finite()) {
                return Err(corrupt("bad left-out sample"));
            }
        }
        if self.strangers.iter().flatten().any(|v| !v.is_finite()) {
            return Err(corrupt("non-finite number in a stranger's encoding"));
        }
        if self.counts().contains(&0) {
            return Err(corrupt("a label has no samples"));
        }
        if !(0.0..=1.0).contains(&self.shrinkage) {
            return Err(corrupt("shrinkage must be between 0 and 1"));
        }
        if !(0.0..=1.0).contains(&self.margin) {
            return Err(corrupt("margin must be between 0 and 1"));
        }
        if !(self.unknown_distance.is_finite() && self.unknown_distance > 0.0) {
            return Err(corrupt("unknown_distance must be a positive number"));
        }
        if !(0.0..=1.0).contains(&self.blur_penalty) {
            return Err(corrupt("blur_penalty must be between 0 and 1"));
        }
        if self.encoder.sha256.len() != 64
            || !self.encoder.sha256.chars().all(|c| c.is_ascii_hexdigit())
        {
            return Err(corrupt("encoder sha256 is not 64 hex digits"));
        }
        Ok(())
    }

    /// Refuses a model whose encodings came from other encoder weights.
    pub fn check_encoder(&self, loaded: &EncoderId) -> Result<(), ModelError> {
        if self.encoder.sha256 == loaded.sha256 {
            Ok(())
        } else {
            Err(ModelError::EncoderMismatch {
                model: Box::new(self.encoder.clone()),
                loaded: Box::new(loaded.clone()),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::ENCODING_DIM;

    fn encoder() -> EncoderId {
        crate::test_support::encoder("x.dat")
    }

    /// Model files store a left-out photo's reason in words; the kind read back from them is
    /// the kind that wrote them.
    #[test]
    fn every_left_out_kind_is_read_back_from_its_words() {
        use crate::training::group_photo::Unresolved;
        let labels = ["amy".to_string(), "raj".to_string()];
        let samples = [Sample {
            label: 0,
            encoding: enc(0.0, 0),
            source: "amy1.jpg".into(),
            motion_blurred: None,
        }];
        let words = [
            (
                describe(
                    &Reason::Outlier {
                        distance: 0.7,
                        closer_to: Some(1),
                    },
                    &samples,
                    &labels,
                ),
                LeftOutKind::Disagrees,
            ),
            (
                describe(
                    &Reason::Outlier {
                        distance: 0.7,
                        closer_to: None,
                    },
                    &samples,
                    &labels,
                ),
                LeftOutKind::Disagrees,
            ),
            (
                describe(
                    &Reason::Duplicate {
                        of: 0,
                        distance: 0.01,
                    },
                    &samples,
                    &labels,
                ),
                LeftOutKind::Duplicate,
            ),
            (
                Unresolved::Ambiguous.describe(3, "amy"),
                LeftOutKind::GroupPhoto,
            ),
            (
                Unresolved::NotThePerson { distance: 0.8 }.describe(3, "amy"),
                LeftOutKind::GroupPhoto,
            ),
            (
                Unresolved::NoReference.describe(2, "amy"),
                LeftOutKind::GroupPhoto,
            ),
        ];
        for (words, kind) in words {
            assert_eq!(LeftOutKind::of_words(&words), kind, "{words}");
        }
    }

    use crate::test_support::person_photo as enc;

    fn toy_model() -> Model {
        let mut samples = Vec::new();
        for (label, axis) in [(0, 3), (1, 40), (2, 90)] {
            for k in 0..3 {
                samples.push(Sample {
                    label,
                    encoding: enc(k as f32 + label as f32 * 10.0, axis),
                    source: format!("{label}-{k}"),
                    motion_blurred: None,
                });
            }
        }
        Model::train(
            vec!["amy".into(), "raj".into(), "쯔위".into()],
            samples,
            encoder(),
            &TrainOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn classifies_near_points_and_leaves_strangers_unknown() {
        let model = Classifier::new(&toy_model());
        let p = model.classify(&enc(100.0, 40));
        assert_eq!(p.label(), Some(1));
        assert!(p.confidence > 0.5, "{p:?}");
        assert!((p.scores.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        let stranger = enc(5.0, 120);
        let mut far = stranger;
        far[120] += 0.5;
        assert_eq!(model.classify(&far).label(), None);
    }

    #[test]
    fn a_person_in_the_middle_of_the_group_does_not_win_the_faces_between() {
        // Four people around a fifth, "hub" (the origin): every other person's photos are 0.3
        // from the hub's and 0.42-0.6 from each other's, as with a member who looks like the
        // average of the group. A face 0.14 along amy's way from the hub is nearer the hub
        // (0.14 against 0.16), but the hub is near everyone's faces: it is amy's.
        let centre = |axis: usize, sign: f32| {
            let mut e = [0.0f32; ENCODING_DIM];
            if axis < ENCODING_DIM {
                e[axis] = 0.3 * sign;
            }
            e
        };
        let centres = [
            centre(0, 1.0),
            centre(0, -1.0),
            centre(1, 1.0),
            centre(1, -1.0),
            centre(ENCODING_DIM, 0.0),
        ];
        let mut samples = Vec::new();
        for (label, c) in centres.iter().enumerate() {
            for k in 0..4 {
                let mut e = *c;
                e[10 + 2 * label + k % 2] += if k < 2 { 0.02 } else { -0.02 };
                samples.push(Sample {
                    label,
                    encoding: e,
                    source: format!("{label}-{k}.jpg"),
                    motion_blurred: None,
                });
            }
        }
        let model = Model {
            labels: ["amy", "bo", "cy", "di", "hub"].map(String::from).to_vec(),
            samples,
            left_out: Vec::new(),
            encoder: encoder(),
            unknown_distance: 0.6,
            blur_penalty: 0.0,
            strangers: Vec::new(),
            shrinkage: 1.0,
            margin: 0.0,
        };
        let classifier = Classifier::new(&model);
        let mut face = [0.0f32; ENCODING_DIM];
        face[0] = 0.14;
        let p = classifier.classify(&face);
        assert_eq!(p.label(), Some(0), "{p:?}");
        // The hub's own faces stay the hub's.
        let mut own = [0.0f32; ENCODING_DIM];
        own[0] = 0.05;
        assert_eq!(classifier.classify(&own).label(), Some(4));
    }

    /// Three people 0.35 apart (means 0.25 along axes 0, 1, 2), `photos` each, every photo
    /// 0.05 off its mean in a direction of its own: their own photos lie about 0.05 from the
    /// rest of theirs. Plain distances (no whitening), no hub offsets (symmetric).
    fn three_people(photos: usize) -> Model {
        let mut samples = Vec::new();
        for label in 0..3 {
            for k in 0..photos {
                let mut e = [0.0f32; ENCODING_DIM];
                e[label] = 0.25;
                e[10 + label * photos + k] = 0.05;
                samples.push(Sample {
                    label,
                    encoding: e,
                    source: format!("{label}-{k}.jpg"),
                    motion_blurred: None,
                });
            }
        }
        Model {
            labels: ["jin", "jungkook", "v"].map(String::from).to_vec(),
            samples,
            left_out: Vec::new(),
            encoder: encoder(),
            unknown_distance: 0.8,
            blur_penalty: 0.0,
            strangers: Vec::new(),
            shrinkage: 1.0,
            margin: DEFAULT_MARGIN,
        }
    }

    /// A face `lean` of the way from jin's mean towards jungkook's, and `off` away from all
    /// three in a direction of its own (a stranger of the group's kind lies off the group).
    fn leaning_face(towards_jungkook: f32, off: f32) -> Encoding {
        let mut e = [0.0f32; ENCODING_DIM];
        e[0] = 0.2;
        e[1] = towards_jungkook;
        e[100] = off;
        e
    }

    #[test]
    fn a_face_farther_than_a_persons_own_photos_needs_a_clearer_lead() {
        let classifier = Classifier::new(&three_people(6));
        // 0.39 from jin, 0.41 from jungkook: a lead of 0.025 over the runner-up, enough for
        // the mean of a track's 8 encodings (0.03 / 8^(1/4) = 0.018), but the face is eight
        // times as far from jin as his own photos are: it needs a tenth of its distance.
        let stranger = leaning_face(0.16, 0.35);
        let alone = classifier.classify(&stranger);
        assert!((alone.distances[0] - 0.39).abs() < 0.01, "{alone:?}");
        assert!((alone.margin - 0.025).abs() < 0.003, "{alone:?}");
        assert_eq!(classifier.classify_mean_of(&stranger, 8).label(), None);
        // As far, with a lead of 0.06: jin.
        let clear = leaning_face(0.1, 0.35);
        assert!(classifier.classify(&clear).margin > 0.055);
        assert_eq!(classifier.classify_mean_of(&clear, 8).label(), Some(0));
        assert_eq!(classifier.classify(&clear).label(), Some(0));
        // Beside jungkook himself, the same face is still not jin: that jungkook is elsewhere
        // on screen says nothing about whether a stranger is jin.
        let mut jungkook = [0.0f32; ENCODING_DIM];
        jungkook[1] = 0.25;
        let frame =
            crate::video::identity::name_jointly(&classifier, &[stranger, jungkook], &[8, 8]);
        assert_eq!(frame[1].label(), Some(1));
        assert_eq!(frame[0].label(), None, "{:?}", frame[0]);
        // Margin 0 is "always the nearest", far or not.
        let mut nearest = classifier.clone();
        nearest.set_margin(0.0);
        assert_eq!(nearest.classify(&stranger).label(), Some(0));
        // Two photos a person (6 leave-one-out distances) say too little about their spread:
        // the track's margin as before.
        let few = Classifier::new(&three_people(2));
        assert_eq!(few.classify_mean_of(&stranger, 8).label(), Some(0));
    }

    #[test]
    fn with_sface_a_far_face_must_lie_as_near_a_photo_as_the_persons_own_photos_do() {
        let mut model = three_people(20);
        model.encoder = crate::encoding::EncoderKind::Sface.id("ab".repeat(32));
        model.margin = crate::encoding::EncoderKind::Sface.default_margin();
        let sface = Classifier::new(&model);
        // Far from jin's mean with a clear lead, but 0.37 from his nearest photo where his 20
        // photos lie 0.07 from each other: a stranger of the group's kind.
        let far = leaning_face(0.1, 0.35);
        assert_eq!(sface.classify_mean_of(&far, 8).label(), None);
        // dlib's model names it, as before.
        let dlib = Classifier::new(&three_people(20));
        assert_eq!(dlib.classify_mean_of(&far, 8).label(), Some(0));
        // A face among jin's photos is his; with 6 photos a person (18 in all) the spread says
        // too little and the far face is named as with dlib.
        let few = three_people(6);
        let few = Classifier::new(&Model {
            encoder: model.encoder.clone(),
            margin: model.margin,
            ..few
        });
        assert_eq!(few.classify_mean_of(&far, 8).label(), Some(0));
        let mut near = [0.0f32; ENCODING_DIM];
        near[0] = 0.25;
        near[10] = 0.03;
        assert_eq!(sface.classify_mean_of(&near, 8).label(), Some(0));
    }

    #[test]
    fn round_trips_through_bytes_and_disk() {
        let model = toy_model();
        let back = Model::from_bytes(&model.to_bytes()).unwrap();
        assert_eq!(back, model);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.faceid");
        model.save(&path).unwrap();
        assert_eq!(Model::load(&path).unwrap(), model);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn motion_blurred_encodings_round_trip_and_are_searched() {
        let mut samples = toy_model().samples;
        // Each photo's blurred copy sits off to the side, along an axis no photo uses.
        for s in &mut samples {
            let mut blurred = s.encoding;
            blurred[7] += 0.3;
            s.motion_blurred = Some(blurred);
        }
        let labels = vec!["amy".into(), "raj".into(), "쯔위".into()];
        let model = Model::train(labels, samples, encoder(), &TrainOptions::default()).unwrap();
        let back = Model::from_bytes(&model.to_bytes()).unwrap();
        assert_eq!(back, model);
        assert!(back.samples.iter().all(|s| s.motion_blurred.is_some()));
        // A face like raj's blurred copy is raj, close by; without the copies it is far.
        let mut query = model
            .samples
            .iter()
            .find(|s| s.label == 1)
            .unwrap()
            .encoding;
        query[7] += 0.3;
        let p = Classifier::new(&model).classify(&query);
        assert_eq!(p.label(), Some(1));
        // A match against a copy counts the calibrated penalty farther.
        assert!((p.distance - model.blur_penalty).abs() < 1e-4, "{p:?}");
        let mut sharp_only = model.clone();
        for s in &mut sharp_only.samples {
            s.motion_blurred = None;
        }
        let far = Classifier::new(&sharp_only).classify(&query);
        assert!(far.distance > 0.29, "{far:?}");
    }

    /// `model`'s file as gst-faceid wrote it in format `version` (1 or 2): a softmax classifier.
    fn older_file(model: &Model, version: u32) -> String {
        let mut json: serde_json::Value = serde_json::from_slice(&model.to_bytes()).unwrap();
        let n = model.labels.len();
        json["version"] = version.into();
        json["classifier"] = serde_json::json!({
            "kind": "softmax",
            "weights": vec![vec![0.0f32; n]; ENCODING_DIM],
            "bias": vec![0.0f32; n],
        });
        json.to_string()
    }

    #[test]
    fn version_1_and_2_files_still_load_and_get_the_new_classifier() {
        let model = toy_model();
        for version in [1, 2] {
            let old = Model::from_bytes(older_file(&model, version).as_bytes()).unwrap();
            assert_eq!(old, model, "version {version}");
            // Their stored unknown distance is theirs; the classifier is rebuilt.
            let p = Classifier::new(&old).classify(&model.samples[4].encoding);
            assert_eq!(p.label(), Some(1));
        }
        let mut with_copy = model.clone();
        with_copy.samples[0].motion_blurred = Some(with_copy.samples[0].encoding);
        let err = Model::from_bytes(older_file(&with_copy, 1).as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("version 1"), "{err}");
        assert!(Model::from_bytes(older_file(&with_copy, 2).as_bytes()).is_ok());
        // A softmax in a version 3 file, or a version from the future, is refused.
        let wrong = older_file(&model, 2).replace("\"version\":2", "\"version\":3");
        let err = Model::from_bytes(wrong.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("unknown classifier"), "{err}");
        let text = String::from_utf8(model.to_bytes()).unwrap();
        assert!(text.contains("\"version\":4"));
        let v5 = text.replace("\"version\":4", "\"version\":5");
        assert!(matches!(
            Model::from_bytes(v5.as_bytes()),
            Err(ModelError::NewerVersion(5))
        ));
    }

    #[test]
    fn a_version_3_file_is_dlibs_and_a_version_4_file_names_its_encoder() {
        let model = toy_model();
        let text = String::from_utf8(model.to_bytes()).unwrap();
        assert!(text.contains("\"name\":\"dlib\""), "{text}");
        // Version 3 as gst-faceid wrote it: no name, dimension or distance.
        let v3 = text
            .replace("\"version\":4", "\"version\":3")
            .replace("\"name\":\"dlib\",", "")
            .replace(",\"dimension\":128", "")
            .replace(",\"distance\":\"euclidean\"", "");
        assert!(!v3.contains("dimension"), "{v3}");
        let old = Model::from_bytes(v3.as_bytes()).unwrap();
        assert_eq!(old, model);
        assert_eq!(
            old.encoder.kind(),
            Some(crate::encoding::EncoderKind::DlibResnet)
        );
        // Only dlib came before version 4; encodings of another length are refused.
        let named = text
            .replace("\"version\":4", "\"version\":3")
            .replace("\"name\":\"dlib\"", "\"name\":\"sface\"");
        let err = Model::from_bytes(named.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("version 3"), "{err}");
        let wide = text.replace("\"dimension\":128", "\"dimension\":512");
        let err = Model::from_bytes(wide.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("512"), "{err}");
        // An encoder this build does not know loads (the element refuses it by name).
        let future = text.replace("\"name\":\"dlib\"", "\"name\":\"arcface-r100\"");
        let m = Model::from_bytes(future.as_bytes()).unwrap();
        assert_eq!(m.encoder.kind(), None);
    }

    #[test]
    fn an_undecided_group_photo_is_reported_until_its_person_is_trained_again() {
        let group = |s: f32| {
            vec![
                GroupFace {
                    encoding: enc(s, 120),
                    motion_blurred: None,
                    area: 100,
                },
                GroupFace {
                    encoding: enc(s + 1.0, 121),
                    motion_blurred: None,
                    area: 100,
                },
            ]
        };
        let mut set = TrainingSet::new(None);
        for k in 0..3 {
            set.add("amy", enc(k as f32, 3), None, format!("amy{k}"));
        }
        set.add_group_photo("amy", group(50.0), "crowd".into());
        let model = set.train(encoder(), &TrainOptions::default()).unwrap();
        assert_eq!(model.counts(), [3]);
        let undecided = |m: &Model| {
            m.left_out
                .iter()
                .filter(|l| l.sample.source == "crowd")
                .count()
        };
        assert_eq!(undecided(&model), 1);
        // Another person's training (append) keeps the record; amy's again replaces it.
        let mut set = TrainingSet::new(Some(&model));
        set.add("raj", enc(9.0, 40), None, "raj0".into());
        let model = set.train(encoder(), &TrainOptions::default()).unwrap();
        assert_eq!(undecided(&model), 1);
        assert_eq!(model.left_out[0].kind, LeftOutKind::GroupPhoto);
        let mut set = TrainingSet::new(Some(&model));
        set.add("amy", enc(1.0, 3), None, "amy-new".into());
        let model = set.train(encoder(), &TrainOptions::default()).unwrap();
        assert_eq!(undecided(&model), 0);
    }

    #[test]
    fn single_person_model_works() {
        let samples = vec![Sample {
            label: 0,
            encoding: enc(1.0, 3),
            source: "a".into(),
            motion_blurred: None,
        }];
        let model = Model::train(
            vec!["solo".into()],
            samples,
            encoder(),
            &TrainOptions::default(),
        )
        .unwrap();
        let p = Classifier::new(&model).classify(&enc(1.0, 3));
        assert_eq!(p.label(), Some(0));
        assert_eq!(p.confidence, 1.0);
    }

    #[test]
    fn bad_files_are_refused_without_panic() {
        let good = toy_model().to_bytes();
        assert!(matches!(
            Model::from_bytes(b""),
            Err(ModelError::Corrupt(_))
        ));
        assert!(matches!(
            Model::from_bytes(&good[..good.len() / 2]),
            Err(ModelError::Corrupt(_))
        ));
        assert!(matches!(
            Model::from_bytes(b"\x00\x01garbage"),
            Err(ModelError::Corrupt(_))
        ));
        let newer =
            String::from_utf8(good.clone())
                .unwrap()
                .replacen("\"version\":4", "\"version\":7", 1);
        let err = Model::from_bytes(newer.as_bytes()).unwrap_err();
        assert!(matches!(err, ModelError::NewerVersion(7)));
        assert!(err.to_string().contains("newer gst-faceid"));
        let lying = String::from_utf8(good.clone()).unwrap().replacen(
            "\"counts\":[3,",
            "\"counts\":[1000000000,",
            1,
        );
        assert!(matches!(
            Model::from_bytes(lying.as_bytes()),
            Err(ModelError::Corrupt(_))
        ));
        let mut json: serde_json::Value = serde_json::from_slice(&good).unwrap();
        json["unknown_distance"] = (-1.0).into();
        let nan =
            json.to_string()
                .replacen("\"unknown_distance\":-1.0", "\"unknown_distance\":-1", 1);
        assert!(matches!(
            Model::from_bytes(nan.as_bytes()),
            Err(ModelError::Corrupt(_))
        ));
    }

    #[test]
    fn other_encoder_weights_are_refused() {
        let model = toy_model();
        let other = EncoderId {
            file_name: "other.dat".into(),
            ..crate::encoding::EncoderKind::DlibResnet.id("cd".repeat(32))
        };
        let err = model.check_encoder(&other).unwrap_err();
        assert!(err.to_string().contains("train the model again"));
        assert!(model.check_encoder(&encoder()).is_ok());
    }

    #[test]
    fn failed_save_keeps_the_old_file() {
        let model = toy_model();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("m.faceid");
        assert!(model.save(&path).is_err());
    }
}
