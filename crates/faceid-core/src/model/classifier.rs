//! The classifier: which person a face is most like (nearest whitened person mean, with a
//! margin), and whether it is anyone at all (the nearest training photo on dlib's scale).

use linfa_nn::distance::L2Dist;
use linfa_nn::{LinearSearch, NearestNeighbour};
use ndarray::{Array2, ArrayView1};

use super::{Model, Sample, TEMPERATURE};
use crate::encoding::{ENCODING_DIM, EncoderKind, Encoding};
use crate::metric::Whitening;

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
    /// Per label: how much nearer than usual the other people's photos lie to this mean, in
    /// whitened distance (see [`hub_offsets`]); added to every distance to it.
    hub_offsets: Vec<f32>,
    /// How far from their own mean the model's people's photos lie (whitened, with the hub
    /// offset; see [`own_spread`]): a face farther than this from its best match needs a lead
    /// over the runner-up in proportion to its distance ([`MARGIN_REFERENCE_DISTANCE`]).
    /// Infinite when the model has too few photos to say.
    own_spread: f32,
    /// A far face must also lie within this of one of the person's photos: the model's
    /// [`own_photo_spread`] where its encoder asks for that
    /// ([`EncoderKind::far_faces_within_own_photos`]), else infinite.
    own_photo_spread: f32,
    /// The distance at which a far face needs exactly the margin as its lead
    /// ([`EncoderKind::far_reference_distance`]).
    far_reference: f32,
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
    let means = super::person_means(samples, labels);
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
        let white: Vec<(usize, Encoding)> = model
            .samples
            .iter()
            .map(|s| (s.label, whitening.apply(&s.encoding)))
            .collect();
        let centroids: Vec<Encoding> = (0..model.labels.len())
            .map(|label| {
                let refs: Vec<&Encoding> = white
                    .iter()
                    .filter(|(l, _)| *l == label)
                    .map(|(_, e)| e)
                    .collect();
                crate::training::group_photo::mean(&refs).unwrap_or([f32::INFINITY; ENCODING_DIM])
            })
            .collect();
        let hub_offsets = hub_offsets(&white, &centroids);
        let own_spread = own_spread(&white, &centroids, &hub_offsets);
        Classifier {
            labels: model.labels.clone(),
            whitening,
            hub_offsets,
            own_spread,
            // Measured only for the encoders that use it.
            own_photo_spread: if model
                .encoder
                .kind()
                .is_some_and(EncoderKind::far_faces_within_own_photos)
            {
                own_photo_spread(&model.samples, model.labels.len())
            } else {
                f32::INFINITY
            },
            far_reference: model.encoder.kind().map_or(
                MARGIN_REFERENCE_DISTANCE,
                EncoderKind::far_reference_distance,
            ),
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

    /// The margin a name needs when the face is the mean of `count` encodings of one track
    /// ([`crate::video::identity::Evidence`]). The model's margin guards against the noise of
    /// one encoding; a mean of `count` independent ones would carry `1/sqrt(count)` of it, but
    /// a track's encodings are of neighbouring frames (same light, similar pose), so they are
    /// counted as `sqrt(count)` independent ones: the margin is divided by `count^(1/4)`
    /// (docs/design-choices.md has the measurements behind it).
    pub fn margin_for_mean_of(&self, count: usize) -> f32 {
        self.margin / (count.max(1) as f32).powf(0.25)
    }

    /// Whitened distance from `encoding` to every person's mean, in label order.
    pub fn distances(&self, encoding: &Encoding) -> Vec<f32> {
        let w = self.whitening.apply(encoding);
        self.centroids
            .iter()
            .zip(&self.hub_offsets)
            .map(|(c, offset)| {
                let d = crate::encoding::distance(&w, c) + offset;
                if d.is_nan() { f32::INFINITY } else { d }
            })
            .collect()
    }

    /// Classifies one encoding.
    pub fn classify(&self, encoding: &Encoding) -> Prediction {
        self.decide(encoding, self.distances(encoding), None, self.margin)
    }

    /// Classifies the mean of `count` encodings of one face (a track's recent ones), with
    /// the margin of [`Classifier::margin_for_mean_of`].
    pub fn classify_mean_of(&self, mean: &Encoding, count: usize) -> Prediction {
        let margin = self.margin_for_mean_of(count);
        self.decide(mean, self.distances(mean), None, margin)
    }

    /// The prediction for `encoding` given its whitened `distances` ([`Classifier::distances`]),
    /// with the people in `taken` (already given to other faces of the same frame: two faces
    /// of one frame are two people) out of the running: the nearest of the others is chosen,
    /// and must be `required_margin` nearer than the next of the others.
    pub fn decide(
        &self,
        encoding: &Encoding,
        distances: Vec<f32>,
        taken: Option<&[bool]>,
        required_margin: f32,
    ) -> Prediction {
        let is_taken = |i: usize| taken.is_some_and(|t| t.get(i).copied().unwrap_or(false));
        let mut order: Vec<usize> = (0..distances.len()).collect();
        order.sort_by(|&a, &b| distances[a].total_cmp(&distances[b]).then(a.cmp(&b)));
        let best = order.iter().copied().find(|&i| !is_taken(i)).unwrap_or(0);
        // The distance of the nearest person after `best`, skipping those `skip` says.
        let next_after_best = |skip: &dyn Fn(usize) -> bool| {
            order
                .iter()
                .copied()
                .find(|&i| i != best && !skip(i))
                .map_or(f32::INFINITY, |i| distances[i])
        };
        let runner_up = next_after_best(&is_taken);
        let nearest = distances.get(best).copied().unwrap_or(f32::INFINITY);
        let margin = runner_up - nearest;
        let (sharp, blurred) = self.nearest_distances(encoding, best);
        let like_motion_blur = blurred < sharp;
        // A face farther from the person than their own photos lie needs a clearer lead, and
        // does not get a track's smaller one: the margin in proportion to its distance, over
        // every other person, those given to other faces of the frame included (a stranger
        // as near someone elsewhere on screen is not this person for that). Not a smeared
        // face (nearer a motion-blurred copy than a sharp photo): the blur alone puts it far
        // from every sharp mean, and the model's blur penalty is its guard.
        let far = nearest > self.own_spread && !like_motion_blur;
        // With SFace, such a face must also lie as near one of the person's photos as their
        // own photos lie to each other ([`own_photo_spread`]): strangers of the group's own
        // kind come with tiny leads *and* farther from every photo (a real East Asian TV
        // family: 0.56-0.66 from the bts15 model's photos, its members' own faces 0.38-0.53).
        let beyond_own_photos = far && sharp > self.own_photo_spread;
        let lead_over_everyone = next_after_best(&|_| false) - nearest;
        let unclear_far = beyond_own_photos
            || far
                && self.margin > 0.0
                && lead_over_everyone < self.margin * nearest / self.far_reference;
        let scores = confidences(&distances);
        let distance = sharp.min(blurred);
        Prediction {
            best,
            known: distance <= self.unknown_distance,
            ambiguous: margin.is_nan() || margin < required_margin || unclear_far,
            like_motion_blur,
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

/// Per label: the average over labels of "the mean whitened distance of everyone else's sharp
/// photos to this label's mean", minus that figure for this label. A mean that lies near the
/// middle of the group (a "hub") is near every face and so wins look-alikes' faces; the offset
/// puts every person's mean at the same typical distance from the others' faces. `white`: each
/// sharp photo's label and whitened encoding. Zero with fewer than three people (two people
/// are each other's only others: the offsets cancel).
fn hub_offsets(white: &[(usize, Encoding)], centroids: &[Encoding]) -> Vec<f32> {
    let labels = centroids.len();
    let impostor_mean: Vec<Option<f32>> = centroids
        .iter()
        .enumerate()
        .map(|(label, c)| {
            let d: Vec<f32> = white
                .iter()
                .filter(|(l, _)| *l != label)
                .map(|(_, e)| crate::encoding::distance(e, c))
                .filter(|d| d.is_finite())
                .collect();
            (!d.is_empty()).then(|| d.iter().sum::<f32>() / d.len() as f32)
        })
        .collect();
    let known: Vec<f32> = impostor_mean.iter().flatten().copied().collect();
    if labels < 3 || known.len() < 3 {
        return vec![0.0; labels];
    }
    let overall = known.iter().sum::<f32>() / known.len() as f32;
    impostor_mean
        .iter()
        .map(|m| m.map_or(0.0, |m| overall - m))
        .collect()
}

/// The share of the model's photos whose leave-one-out distance [`own_spread`] stays within.
pub const OWN_SPREAD_QUANTILE: f32 = 0.95;
/// Fewest leave-one-out distances [`own_spread`] is measured from; fewer: no limit.
pub const MIN_SPREAD_SAMPLES: usize = 10;
/// The distance from a person's mean at which a face needs the model's margin as it is; beyond
/// the model's own spread, a face at distance `d` needs `margin * d / MARGIN_REFERENCE_DISTANCE`
/// (a tenth of `d` with the default margin: a ratio test).
pub const MARGIN_REFERENCE_DISTANCE: f32 = 0.3;

/// How far the model's people's own photos lie from their person's mean, as a new photo of
/// theirs would: each sharp photo's whitened distance to the mean of the person's *other*
/// photos, scaled to the distance a new photo has to the mean of all `n` (together:
/// `|photo - mean| * sqrt((n + 1) / (n - 1))`), plus the person's hub offset; the
/// [`OWN_SPREAD_QUANTILE`] of those over every person with at least two photos. Infinite with
/// fewer than [`MIN_SPREAD_SAMPLES`].
fn own_spread(white: &[(usize, Encoding)], centroids: &[Encoding], hub_offsets: &[f32]) -> f32 {
    let mut photos = vec![0usize; centroids.len()];
    for (label, _) in white {
        if let Some(n) = photos.get_mut(*label) {
            *n += 1;
        }
    }
    let mut distances: Vec<f32> = white
        .iter()
        .filter(|(label, _)| photos[*label] >= 2)
        .map(|(label, e)| {
            let n = photos[*label] as f32;
            crate::encoding::distance(e, &centroids[*label]) * ((n + 1.0) / (n - 1.0)).sqrt()
                + hub_offsets[*label]
        })
        .filter(|d| d.is_finite())
        .collect();
    if distances.len() < MIN_SPREAD_SAMPLES {
        return f32::INFINITY;
    }
    distances.sort_by(f32::total_cmp);
    let at = ((distances.len() - 1) as f32 * OWN_SPREAD_QUANTILE).round() as usize;
    distances[at.min(distances.len() - 1)]
}

/// How near the model's people's own sharp photos lie to their person's nearest other photo
/// (plain distance, as a new photo's nearest-photo distance is measured): the
/// [`OWN_SPREAD_QUANTILE`] of those over every person with at least two photos. Infinite with
/// fewer than [`MIN_PHOTO_SPREAD_SAMPLES`].
fn own_photo_spread(samples: &[Sample], labels: usize) -> f32 {
    let mut by_label: Vec<Vec<&Encoding>> = vec![Vec::new(); labels];
    for s in samples {
        if let Some(photos) = by_label.get_mut(s.label) {
            photos.push(&s.encoding);
        }
    }
    let mut distances: Vec<f32> = by_label
        .iter()
        .flat_map(|photos| {
            photos.iter().enumerate().filter_map(|(i, e)| {
                photos
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, o)| crate::encoding::distance(e, o))
                    .filter(|d| d.is_finite())
                    .reduce(f32::min)
            })
        })
        .collect();
    if distances.len() < MIN_PHOTO_SPREAD_SAMPLES {
        return f32::INFINITY;
    }
    distances.sort_by(f32::total_cmp);
    let at = ((distances.len() - 1) as f32 * OWN_SPREAD_QUANTILE).round() as usize;
    distances[at.min(distances.len() - 1)]
}

/// Fewest photos [`own_photo_spread`] is measured from; fewer: no limit. With 3 to 5 photos a
/// person each photo's nearest other photo is one of two or four, and the 95th percentile is
/// that of the few largest: the bbt clip's model (23 photos: 0.523) and the hamilton sample's
/// (18: 0.461) lost faces of their own people to it (bbt 0.834 -> 0.783); bts15's (105 photos,
/// 0.563) and the messy set's are where it keeps a TV family unnamed.
pub const MIN_PHOTO_SPREAD_SAMPLES: usize = 50;

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
