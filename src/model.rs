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
//!   against the unknown distance, calibrated on a cohort of strangers ([`crate::cohort`]).
//!
//! The file is JSON with a format name and version first. Loading validates everything and never
//! panics; saving writes a temporary file next to the target and renames it over.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use linfa_nn::distance::L2Dist;
use linfa_nn::{LinearSearch, NearestNeighbour};
use ndarray::{Array2, ArrayView1};
use serde::{Deserialize, Serialize};

use crate::cleaning::{self, Photo, Policy, Reason};
use crate::encoding::{ENCODING_DIM, EncoderId, Encoding};
use crate::metric::{Whitening, shrinkage_for};

/// The `format` field of every model file.
pub const FORMAT_NAME: &str = "gst-faceid-model";
/// The model file version this build writes. Version 2 added each photo's motion-blurred
/// encoding; version 3 replaced the softmax weights by the whitened-centroid classifier's
/// parameters (`shrinkage`, `margin`) and calibrates the unknown distance on strangers. Version
/// 1 and 2 files are still read: their softmax is ignored and the classifier rebuilt from their
/// encodings; their unknown distance is kept.
pub const FORMAT_VERSION: u32 = 3;
/// Default of [`Model::margin`]: the second-nearest person must be at least this much farther
/// (whitened distance, dlib's scale) than the nearest for a name. Measured on the 8 BTS dev clips
/// (GT faces, see ARCHITECTURE.md): 0 names 93% (15 photos a member) and 81% (5 a member) of
/// faces with 6% and 18% wrong; 0.03 names 76% and 74% with 0% and 4% wrong.
pub const DEFAULT_MARGIN: f32 = 0.03;
/// Softmax temperature of the per-person confidences over squared whitened distances: a face
/// exactly [`DEFAULT_MARGIN`] nearer one of two people at the usual distance of 0.4 is about
/// twice as likely that person.
pub const TEMPERATURE: f32 = 0.018;
/// The unknown distance of a model trained on too few photos to calibrate one. dlib quotes
/// 0.6 for its LFW benchmark; strangers (the `johns` photos) come as close as 0.58 to a `bbt`
/// model while the `bbt` people in group shots stay below 0.54.
pub use crate::cleaning::DEFAULT_UNKNOWN_DISTANCE;
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

impl Sample {
    /// The photo's encodings: the photo itself, then its motion-blurred copy if any.
    pub fn encodings(&self) -> impl Iterator<Item = &Encoding> {
        std::iter::once(&self.encoding).chain(self.motion_blurred.as_ref())
    }
}

/// `softmax(-d² / 2T)` over per-person distances `d`: confidences summing to 1.
pub fn confidences(distances: &[f32]) -> Vec<f32> {
    let z: Vec<f32> = distances
        .iter()
        .map(|d| -(d * d) / (2.0 * TEMPERATURE))
        .collect();
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = z.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    if sum > 0.0 && sum.is_finite() {
        e.iter().map(|v| v / sum).collect()
    } else {
        vec![1.0 / distances.len().max(1) as f32; distances.len()]
    }
}

/// What the model says about one face.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// The most likely person (index into labels), even when unknown.
    pub best: usize,
    /// Whether the face is close enough to `best`'s photos to be them.
    pub known: bool,
    /// Whether another person is about as likely (within the margin): no name then.
    pub ambiguous: bool,
    /// Confidence of `best`.
    pub confidence: f32,
    /// Plain dlib distance to the nearest training photo of `best`.
    pub distance: f32,
    /// Whitened distance to the second-nearest person minus to `best` (infinite with one
    /// person).
    pub margin: f32,
    /// Whether that nearest point is a motion-blurred copy (its distance counted with the
    /// model's blur penalty) rather than a sharp photo: the face looks smeared.
    pub like_motion_blur: bool,
    /// Confidence of every label, in label order.
    pub scores: Vec<f32>,
    /// Whitened distance to every person's mean, in label order.
    pub distances: Vec<f32>,
}

impl Prediction {
    /// The label index when known and not ambiguous, `None` otherwise.
    pub fn label(&self) -> Option<usize> {
        (self.known && !self.ambiguous).then_some(self.best)
    }
}

/// Training settings.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    /// Unknown distance written into the model; `None`: calibrated on the stranger cohort
    /// ([`crate::cohort`]), or from the training photos when the cohort was made by other
    /// encoder weights ([`cleaning::calibrate_unknown_distance`]).
    pub unknown_distance: Option<f32>,
    /// Leave out photos that disagree with the rest of their person's photos, and
    /// near-duplicates. Off: keep everything.
    pub clean: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
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
    /// Why, for people: "disagrees with ...", "duplicate of ...".
    pub reason: String,
}

/// Whether a left-out reason is a duplicate (else the photo disagreed with the person's others).
pub fn is_duplicate_reason(reason: &str) -> bool {
    reason.starts_with("duplicate")
}

/// Whether a left-out photo is a group photo none of whose faces could be told to be its
/// person ([`crate::group_photo`]): its stored encoding is only the best guess, never trained on.
pub fn is_group_photo_reason(reason: &str) -> bool {
    reason.starts_with(GROUP_PHOTO_REASON_PREFIX)
}

const GROUP_PHOTO_REASON_PREFIX: &str = "a photo of ";

/// One face of a training photo with several faces, with its motion-blurred copy.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupFace {
    /// The face's encoding.
    pub encoding: Encoding,
    /// Its motion-blurred copy's encoding, when made.
    pub motion_blurred: Option<Encoding>,
    /// Its box area in pixels.
    pub area: i64,
}

/// A training photo with several faces, decided at training time.
#[derive(Clone, Debug)]
struct GroupPhoto {
    label: usize,
    faces: Vec<GroupFace>,
    source: String,
}

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
        model: EncoderId,
        /// Loaded now.
        loaded: EncoderId,
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

fn corrupt(why: impl Into<String>) -> ModelError {
    ModelError::Corrupt(why.into())
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
            "duplicate of {} (distance {distance:.2})",
            samples
                .get(*of)
                .map(|s| format!("{} of {}", s.source, labels.get(s.label).map_or("?", |l| l)))
                .unwrap_or_default()
        ),
    }
}

/// Encodings gathered for training, on top of an existing model's (faceidtrain's `append`).
/// A label trained again replaces its earlier photos, so running the same person's training
/// twice does not count their photos twice.
#[derive(Clone, Debug, Default)]
pub struct TrainingSet {
    labels: Vec<String>,
    samples: Vec<Sample>,
    group_photos: Vec<GroupPhoto>,
    /// Group photos an earlier training could not decide: reported again, never trained on.
    undecided: Vec<LeftOut>,
    renewed: Vec<bool>,
}

impl TrainingSet {
    /// Starts from nothing, or from the photos of an existing model.
    pub fn new(existing: Option<&Model>) -> TrainingSet {
        match existing {
            Some(m) => TrainingSet {
                labels: m.labels.clone(),
                samples: m
                    .samples
                    .iter()
                    .cloned()
                    .chain(
                        m.left_out
                            .iter()
                            .filter(|l| !is_group_photo_reason(&l.reason))
                            .map(|l| l.sample.clone()),
                    )
                    .collect(),
                group_photos: Vec::new(),
                undecided: m
                    .left_out
                    .iter()
                    .filter(|l| is_group_photo_reason(&l.reason))
                    .cloned()
                    .collect(),
                renewed: vec![false; m.labels.len()],
            },
            None => TrainingSet::default(),
        }
    }

    /// Adds one photo's encoding (and that of its motion-blurred copy, when made) for `label`.
    pub fn add(
        &mut self,
        label: &str,
        encoding: Encoding,
        motion_blurred: Option<Encoding>,
        source: String,
    ) {
        let index = self.renew(label);
        self.samples.push(Sample {
            label: index,
            encoding,
            source,
            motion_blurred,
        });
    }

    /// Adds a photo with several faces for `label`; which face is the person is decided when
    /// training, against the person's photos with one face ([`crate::group_photo`]).
    pub fn add_group_photo(&mut self, label: &str, faces: Vec<GroupFace>, source: String) {
        if faces.is_empty() {
            return;
        }
        let index = self.renew(label);
        self.group_photos.push(GroupPhoto {
            label: index,
            faces,
            source,
        });
    }

    /// The index of `label`, whose earlier photos (from an appended model) make way for this
    /// session's.
    fn renew(&mut self, label: &str) -> usize {
        let index = match self.labels.iter().position(|l| l == label) {
            Some(i) => i,
            None => {
                self.labels.push(label.to_string());
                self.renewed.push(true);
                self.labels.len() - 1
            }
        };
        if !self.renewed[index] {
            self.samples.retain(|s| s.label != index);
            self.undecided.retain(|l| l.sample.label != index);
            self.renewed[index] = true;
        }
        index
    }

    /// Decides each group photo: the chosen face joins the samples; the others come back as
    /// left-out photos with the reason.
    fn resolve_group_photos(&mut self) -> Vec<LeftOut> {
        let photos = std::mem::take(&mut self.group_photos);
        let means: Vec<Option<Encoding>> = (0..self.labels.len())
            .map(|label| {
                let own: Vec<&Encoding> = self
                    .samples
                    .iter()
                    .filter(|s| s.label == label)
                    .map(|s| &s.encoding)
                    .collect();
                crate::group_photo::mean(&own)
            })
            .collect();
        let mut unresolved = Vec::new();
        for photo in photos {
            let own: Vec<&Encoding> = self
                .samples
                .iter()
                .filter(|s| s.label == photo.label)
                .map(|s| &s.encoding)
                .collect();
            let others: Vec<Encoding> = means
                .iter()
                .enumerate()
                .filter(|(l, _)| *l != photo.label)
                .filter_map(|(_, m)| *m)
                .collect();
            let candidates: Vec<crate::group_photo::Candidate> = photo
                .faces
                .iter()
                .map(|f| crate::group_photo::Candidate {
                    encoding: f.encoding,
                    area: f.area,
                })
                .collect();
            match crate::group_photo::choose_face(&candidates, &own, &others) {
                Ok(i) => {
                    let face = &photo.faces[i];
                    self.samples.push(Sample {
                        label: photo.label,
                        encoding: face.encoding,
                        source: photo.source,
                        motion_blurred: face.motion_blurred,
                    });
                }
                Err(why) => {
                    let face = photo
                        .faces
                        .iter()
                        .max_by_key(|f| f.area)
                        .unwrap_or(&photo.faces[0]);
                    let label = self.labels.get(photo.label).map_or("", String::as_str);
                    unresolved.push(LeftOut {
                        reason: why.describe(photo.faces.len(), label),
                        sample: Sample {
                            label: photo.label,
                            encoding: face.encoding,
                            source: photo.source,
                            motion_blurred: face.motion_blurred,
                        },
                    });
                }
            }
        }
        unresolved
    }

    /// Encodings added in this session, per label (labels in model order, zero when none).
    pub fn added_counts(&self) -> Vec<(String, usize)> {
        self.labels
            .iter()
            .enumerate()
            .filter(|(i, _)| self.renewed[*i])
            .map(|(i, l)| {
                (
                    l.clone(),
                    self.samples.iter().filter(|s| s.label == i).count(),
                )
            })
            .collect()
    }

    /// Whether this session added anything.
    pub fn has_new_samples(&self) -> bool {
        self.renewed.iter().any(|r| *r)
    }

    /// Trains a model over every photo. A label whose photos were all group photos none of
    /// which could be decided is left out of the model.
    pub fn train(
        mut self,
        encoder: EncoderId,
        options: &TrainOptions,
    ) -> Result<Model, ModelError> {
        let mut unresolved = self.resolve_group_photos();
        unresolved.append(&mut self.undecided);
        let mut model = Model::train(self.labels.clone(), self.samples, encoder, options)?;
        // Model::train drops labels without a sample: keep the reasons of those that remain.
        for mut left in unresolved {
            let name = &self.labels[left.sample.label];
            if let Some(index) = model.label_index(name) {
                left.sample.label = index;
                model.left_out.push(left);
            }
        }
        Ok(model)
    }
}

/// A model ready to classify: the whitening and each person's whitened mean (which person), and
/// each person's photos as one matrix for the nearest-photo search (anyone at all). Build once
/// per model, use per face.
#[derive(Clone, Debug)]
pub struct Classifier {
    labels: Vec<String>,
    whitening: Whitening,
    /// Per label: the mean of the whitened sharp photos.
    centroids: Vec<Encoding>,
    /// Per label: the sharp photos' encodings, one row each.
    per_label: Vec<Array2<f32>>,
    /// Per label: the motion-blurred copies' encodings.
    per_label_blurred: Vec<Array2<f32>>,
    unknown_distance: f32,
    blur_penalty: f32,
    margin: f32,
}

/// Whether the motion-blurred copies join the within-person covariance (each copy's deviation
/// from its person's mean of sharp photos): blur then counts as a way one person's faces vary.
const WHITEN_WITH_MOTION_BLUR_COPIES: bool = true;

/// The whitening of `samples` (see [`crate::metric`]): deviations of every photo (and, with
/// [`WHITEN_WITH_MOTION_BLUR_COPIES`], of its motion-blurred copy) from its person's mean.
pub fn fit_whitening(samples: &[Sample], labels: usize, shrinkage: f32) -> Whitening {
    let means: Vec<Option<Encoding>> = (0..labels)
        .map(|label| {
            let own: Vec<&Encoding> = samples
                .iter()
                .filter(|s| s.label == label)
                .map(|s| &s.encoding)
                .collect();
            crate::group_photo::mean(&own)
        })
        .collect();
    let mut deviations = Vec::new();
    for s in samples {
        let Some(Some(m)) = means.get(s.label) else {
            continue;
        };
        let copies = s
            .motion_blurred
            .iter()
            .filter(|_| WHITEN_WITH_MOTION_BLUR_COPIES);
        for e in std::iter::once(&s.encoding).chain(copies) {
            let mut d = [0.0f32; ENCODING_DIM];
            for ((o, a), b) in d.iter_mut().zip(e).zip(m) {
                *o = a - b;
            }
            deviations.push(d);
        }
    }
    let people = means.iter().flatten().count();
    Whitening::fit(&deviations, samples.len().saturating_sub(people), shrinkage)
}

impl Classifier {
    /// Prepares `model` for classification.
    pub fn new(model: &Model) -> Classifier {
        let matrices = |pick: &dyn Fn(&Sample) -> Option<&Encoding>| -> Vec<Array2<f32>> {
            (0..model.labels.len())
                .map(|label| {
                    let rows: Vec<&Encoding> = model
                        .samples
                        .iter()
                        .filter(|s| s.label == label)
                        .filter_map(pick)
                        .collect();
                    Array2::from_shape_fn((rows.len(), ENCODING_DIM), |(i, j)| rows[i][j])
                })
                .collect()
        };
        let whitening = fit_whitening(&model.samples, model.labels.len(), model.shrinkage);
        let centroids = (0..model.labels.len())
            .map(|label| {
                let white: Vec<Encoding> = model
                    .samples
                    .iter()
                    .filter(|s| s.label == label)
                    .map(|s| whitening.apply(&s.encoding))
                    .collect();
                let refs: Vec<&Encoding> = white.iter().collect();
                crate::group_photo::mean(&refs).unwrap_or([f32::INFINITY; ENCODING_DIM])
            })
            .collect();
        Classifier {
            labels: model.labels.clone(),
            whitening,
            centroids,
            per_label: matrices(&|s| Some(&s.encoding)),
            per_label_blurred: matrices(&|s| s.motion_blurred.as_ref()),
            unknown_distance: model.unknown_distance,
            blur_penalty: model.blur_penalty,
            margin: model.margin,
        }
    }

    /// People's names, in score order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The distance beyond which a face is unknown.
    pub fn unknown_distance(&self) -> f32 {
        self.unknown_distance
    }

    /// Overrides the unknown distance stored in the model.
    pub fn set_unknown_distance(&mut self, distance: f32) {
        self.unknown_distance = distance;
    }

    /// The margin a name needs over the second-nearest person.
    pub fn margin(&self) -> f32 {
        self.margin
    }

    /// Overrides the margin stored in the model.
    pub fn set_margin(&mut self, margin: f32) {
        self.margin = margin;
    }

    /// Whitened distance from `encoding` to every person's mean, in label order.
    pub fn distances(&self, encoding: &Encoding) -> Vec<f32> {
        let w = self.whitening.apply(encoding);
        self.centroids
            .iter()
            .map(|c| {
                let d = crate::encoding::distance(&w, c);
                if d.is_nan() { f32::INFINITY } else { d }
            })
            .collect()
    }

    /// Classifies one encoding.
    pub fn classify(&self, encoding: &Encoding) -> Prediction {
        self.decide(encoding, self.distances(encoding), None)
    }

    /// The prediction for `encoding` given its whitened `distances` ([`Classifier::distances`]),
    /// with the people in `taken` (already given to other faces of the same frame: two faces
    /// of one frame are two people) out of the running: the nearest of the others is chosen,
    /// and must be `margin` nearer than the next of the others.
    pub fn decide(
        &self,
        encoding: &Encoding,
        distances: Vec<f32>,
        taken: Option<&[bool]>,
    ) -> Prediction {
        let is_taken = |i: usize| taken.is_some_and(|t| t.get(i).copied().unwrap_or(false));
        let mut order: Vec<usize> = (0..distances.len()).collect();
        order.sort_by(|&a, &b| distances[a].total_cmp(&distances[b]).then(a.cmp(&b)));
        let best = order.iter().copied().find(|&i| !is_taken(i)).unwrap_or(0);
        let runner_up = order
            .iter()
            .copied()
            .filter(|&i| i != best && !is_taken(i))
            .map(|i| distances[i])
            .next()
            .unwrap_or(f32::INFINITY);
        let margin = runner_up - distances.get(best).copied().unwrap_or(f32::INFINITY);
        let scores = confidences(&distances);
        let (sharp, blurred) = self.nearest_distances(encoding, best);
        let distance = sharp.min(blurred);
        Prediction {
            best,
            known: distance <= self.unknown_distance,
            ambiguous: margin.is_nan() || margin < self.margin,
            like_motion_blur: blurred < sharp,
            confidence: scores.get(best).copied().unwrap_or(0.0),
            distance,
            margin,
            scores,
            distances,
        }
    }

    /// Distance from `encoding` to the nearest training photo of `label`, or to the nearest
    /// motion-blurred copy plus the model's blur penalty when that is smaller.
    pub fn nearest_distance(&self, encoding: &Encoding, label: usize) -> f32 {
        let (sharp, blurred) = self.nearest_distances(encoding, label);
        sharp.min(blurred)
    }

    /// Distances to `label`'s nearest sharp photo and to its nearest motion-blurred copy (with
    /// the penalty); infinite when there is none.
    fn nearest_distances(&self, encoding: &Encoding, label: usize) -> (f32, f32) {
        let sharp = nearest_in(self.per_label.get(label), encoding);
        let blurred = nearest_in(self.per_label_blurred.get(label), encoding) + self.blur_penalty;
        (sharp, blurred)
    }
}

/// Distance from `encoding` to the nearest row of `points` (linfa-nn linear search; models hold
/// tens to thousands of photos, where a linear scan beats building a tree). Infinite when empty.
fn nearest_in(points: Option<&Array2<f32>>, encoding: &Encoding) -> f32 {
    let Some(points) = points.filter(|p| p.nrows() > 0) else {
        return f32::INFINITY;
    };
    let query = ArrayView1::from(&encoding[..]);
    let Ok(index) = LinearSearch::new().from_batch(points, L2Dist) else {
        return f32::INFINITY;
    };
    match index.k_nearest(query, 1) {
        Ok(found) => found
            .first()
            .map(|(p, _)| crate::encoding::distance_view(p, &query))
            .unwrap_or(f32::INFINITY),
        Err(_) => f32::INFINITY,
    }
}

// ---- file format -------------------------------------------------------------------------------

#[derive(Deserialize)]
struct FileHeader {
    format: String,
    version: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSample {
    label: usize,
    source: String,
    encoding: Vec<f32>,
    /// Set for photos the cleaning left out: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    left_out: Option<String>,
    /// Version 2: the encoding of the photo blurred sideways, when training made one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    motion_blurred: Option<Vec<f32>>,
}

/// The classifier: version 3 `{"kind": "whitened-centroids", "shrinkage", "margin"}`;
/// versions 1 and 2 `{"kind": "softmax", "weights", "bias"}` (read, checked, not used).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileClassifier {
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shrinkage: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    margin: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    weights: Option<Vec<Vec<f32>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bias: Option<Vec<f32>>,
}

const CLASSIFIER_KIND: &str = "whitened-centroids";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    format: String,
    version: u32,
    encoder: EncoderId,
    labels: Vec<String>,
    counts: Vec<usize>,
    unknown_distance: f32,
    /// Version 2 (0 when absent: version 1 files have no blurred copies).
    #[serde(default)]
    blur_penalty: f32,
    classifier: FileClassifier,
    samples: Vec<FileSample>,
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

/// Each label's photos as [`crate::cohort::unknown_distance`] compares strangers with them.
fn person_photos(samples: &[Sample], labels: usize) -> Vec<crate::cohort::PersonPhotos<'_>> {
    (0..labels)
        .map(|label| {
            let own = samples.iter().filter(move |s| s.label == label);
            crate::cohort::PersonPhotos {
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
        // Drop labels that have no sample left, keeping order.
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
        let samples: Vec<Sample> = samples
            .into_iter()
            .map(|s| Sample {
                label: remap[s.label],
                ..s
            })
            .collect();

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
            // Strangers and duplicates by plain distances; members told apart like faces are.
            let policy = Policy {
                leave_out_closer_to_others: false,
                ..Policy::default()
            };
            let verdicts = cleaning::clean(&photos, &policy);
            crate::likeness::leave_out_lookalikes(&photos, &verdicts, DEFAULT_MARGIN)
        } else {
            vec![None; photos.len()]
        };
        let mut kept = Vec::new();
        let mut left_out = Vec::new();
        for (sample, verdict) in samples.iter().zip(&verdicts) {
            match verdict {
                None => kept.push(sample.clone()),
                Some(reason) => left_out.push(LeftOut {
                    sample: sample.clone(),
                    reason: describe(reason, &samples, &kept_labels),
                }),
            }
        }
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
            crate::cohort::builtin()
                .and_then(|cohort| {
                    let people = person_photos(&samples, kept_labels.len());
                    crate::cohort::unknown_distance(cohort, &encoder, &people, blur_penalty)
                })
                .map_or(midpoint, |c| c.distance)
        });
        let model = Model {
            shrinkage: shrinkage_for(samples.len(), kept_labels.len()),
            margin: DEFAULT_MARGIN,
            labels: kept_labels,
            samples,
            left_out,
            encoder,
            unknown_distance,
            blur_penalty,
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
                model: self.encoder.clone(),
                loaded: loaded.clone(),
            })
        }
    }

    /// Parses and validates a model file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        if bytes.is_empty() {
            return Err(corrupt("the file is empty"));
        }
        let header: FileHeader =
            serde_json::from_slice(bytes).map_err(|e| corrupt(format!("{e}")))?;
        if header.format != FORMAT_NAME {
            return Err(corrupt(format!(
                "format is {:?}, not {FORMAT_NAME:?}",
                header.format
            )));
        }
        if header.version > FORMAT_VERSION {
            return Err(ModelError::NewerVersion(header.version));
        }
        if header.version == 0 {
            return Err(corrupt(format!(
                "unknown format version {}",
                header.version
            )));
        }
        let file: ModelFile = serde_json::from_slice(bytes).map_err(|e| corrupt(format!("{e}")))?;
        let n = file.labels.len();
        if file.counts.len() != n {
            return Err(corrupt("counts do not match labels"));
        }
        let mut samples = Vec::with_capacity(file.samples.len());
        let mut left_out = Vec::new();
        for s in file.samples {
            let encoding: Encoding = s.encoding.as_slice().try_into().map_err(|_| {
                corrupt(format!(
                    "an encoding has {} numbers, not {ENCODING_DIM}",
                    s.encoding.len()
                ))
            })?;
            let motion_blurred = match s.motion_blurred {
                None => None,
                Some(_) if file.version < 2 => {
                    return Err(corrupt("a version 1 file with motion-blurred encodings"));
                }
                Some(e) => Some(e.as_slice().try_into().map_err(|_| {
                    corrupt(format!(
                        "a motion-blurred encoding has {} numbers, not {ENCODING_DIM}",
                        e.len()
                    ))
                })?),
            };
            let sample = Sample {
                label: s.label,
                encoding,
                source: s.source,
                motion_blurred,
            };
            match s.left_out {
                Some(reason) => left_out.push(LeftOut { sample, reason }),
                None => samples.push(sample),
            }
        }
        let photos = samples.len();
        let (shrinkage, margin) = match (file.version, file.classifier.kind.as_str()) {
            (3.., CLASSIFIER_KIND) => (
                file.classifier
                    .shrinkage
                    .ok_or_else(|| corrupt("the classifier has no shrinkage"))?,
                file.classifier
                    .margin
                    .ok_or_else(|| corrupt("the classifier has no margin"))?,
            ),
            (1 | 2, "softmax") => {
                // The softmax of older files is checked but not used: the classifier is rebuilt
                // from their encodings.
                let (Some(weights), Some(bias)) = (&file.classifier.weights, &file.classifier.bias)
                else {
                    return Err(corrupt("the softmax has no weights"));
                };
                if weights.len() != ENCODING_DIM
                    || weights.iter().any(|row| row.len() != n)
                    || bias.len() != n
                {
                    return Err(corrupt("classifier dimensions do not match the labels"));
                }
                (shrinkage_for(photos, n), DEFAULT_MARGIN)
            }
            (_, kind) => {
                return Err(corrupt(format!(
                    "unknown classifier {kind:?} in a version {} file",
                    file.version
                )));
            }
        };
        let model = Model {
            labels: file.labels,
            samples,
            left_out,
            encoder: file.encoder,
            shrinkage,
            margin,
            unknown_distance: file.unknown_distance,
            blur_penalty: file.blur_penalty,
        };
        model.validate()?;
        if model.counts() != file.counts {
            return Err(corrupt("counts do not match the samples"));
        }
        Ok(model)
    }

    /// Serialises the model.
    pub fn to_bytes(&self) -> Vec<u8> {
        let file = ModelFile {
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION,
            encoder: self.encoder.clone(),
            labels: self.labels.clone(),
            counts: self.counts(),
            unknown_distance: self.unknown_distance,
            blur_penalty: self.blur_penalty,
            classifier: FileClassifier {
                kind: CLASSIFIER_KIND.into(),
                shrinkage: Some(self.shrinkage),
                margin: Some(self.margin),
                weights: None,
                bias: None,
            },
            samples: self
                .samples
                .iter()
                .map(|s| (s, None))
                .chain(
                    self.left_out
                        .iter()
                        .map(|l| (&l.sample, Some(l.reason.clone()))),
                )
                .map(|(s, left_out)| FileSample {
                    label: s.label,
                    source: s.source.clone(),
                    encoding: s.encoding.to_vec(),
                    left_out,
                    motion_blurred: s.motion_blurred.map(|e| e.to_vec()),
                })
                .collect(),
        };
        // Serialising plain structs of strings and numbers cannot fail.
        serde_json::to_vec(&file).unwrap_or_default()
    }

    /// Loads and validates a model file.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let meta = std::fs::metadata(path).map_err(|e| ModelError::Io(path.to_path_buf(), e))?;
        if meta.len() > MAX_MODEL_FILE_BYTES {
            return Err(corrupt(format!(
                "{} is {} bytes, more than the {MAX_MODEL_FILE_BYTES} a model file may have",
                path.display(),
                meta.len()
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| ModelError::Io(path.to_path_buf(), e))?;
        Model::from_bytes(&bytes)
    }

    /// Writes the model to `path` atomically: a temporary file in the same folder, flushed to
    /// disk, then renamed over `path`. On failure `path` is untouched.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        write_atomically(path, &self.to_bytes())
    }
}

/// The photos the cleaning left out, as CSV (`label,source,reason`) or, when `json`, a JSON
/// array of `{"label", "source", "reason"}`.
pub fn left_out_report(model: &Model, json: bool) -> String {
    let label = |l: &LeftOut| {
        model
            .labels
            .get(l.sample.label)
            .cloned()
            .unwrap_or_default()
    };
    if json {
        let rows: Vec<serde_json::Value> = model
            .left_out
            .iter()
            .map(|l| serde_json::json!({"label": label(l), "source": l.sample.source, "reason": l.reason}))
            .collect();
        serde_json::Value::Array(rows).to_string()
    } else {
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let mut out = String::from("label,source,reason\n");
        for l in &model.left_out {
            out.push_str(&format!(
                "{},{},{}\n",
                quote(&label(l)),
                quote(&l.sample.source),
                quote(&l.reason)
            ));
        }
        out
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it to `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let io = |e| ModelError::Io(path.to_path_buf(), e);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io(std::io::Error::other("not a file name")))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoder() -> EncoderId {
        EncoderId {
            file_name: "x.dat".into(),
            sha256: "ab".repeat(32),
        }
    }

    fn enc(seed: f32, axis: usize) -> Encoding {
        let mut e = [0.0f32; ENCODING_DIM];
        for (i, v) in e.iter_mut().enumerate() {
            *v = ((i as f32 * 0.37 + seed).sin()) * 0.02;
        }
        e[axis] += 0.5;
        e
    }

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
        assert!(text.contains("\"version\":3"));
        let v4 = text.replace("\"version\":3", "\"version\":4");
        assert!(matches!(
            Model::from_bytes(v4.as_bytes()),
            Err(ModelError::NewerVersion(4))
        ));
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
        assert!(is_group_photo_reason(&model.left_out[0].reason));
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
                .replacen("\"version\":3", "\"version\":7", 1);
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
            sha256: "cd".repeat(32),
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
