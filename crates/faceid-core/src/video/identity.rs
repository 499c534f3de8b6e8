//! Who the faces of a frame are, using what video gives for free:
//!
//! - **A track is one person.** Its name is decided from the mean of its recent encodings
//!   ([`Evidence`], the last [`EVIDENCE_WINDOW`]), not from the latest one alone: a blurred or
//!   turned frame moves the mean a little instead of flipping the name. Only past frames are
//!   used, so the output still needs no latency. The mean of `n` encodings is less noisy than
//!   one, so the margin its name needs over the runner-up is the model's divided by `n^(1/4)`
//!   ([`crate::model::Classifier::margin_for_mean_of`]).
//! - **Two faces of one frame are two people.** [`name_jointly`] names the frame's faces
//!   together: the face whose best match is clearest (largest margin) takes its person first,
//!   and a face whose best match is already taken is decided among the others, with the same
//!   margin rule ([`crate::model::Classifier::decide`]). A face that stays unknown takes nobody.

use std::collections::VecDeque;

use crate::encoding::Encoding;
use crate::model::{Classifier, Prediction};
use crate::training::group_photo::mean;

/// Encodings of a track that its name is decided from.
pub const EVIDENCE_WINDOW: usize = 8;

/// A track's recent encodings (at most [`EVIDENCE_WINDOW`]).
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    encodings: VecDeque<Encoding>,
}

impl Evidence {
    /// Adds an encoding, forgetting the oldest beyond the window. Non-finite encodings are
    /// ignored.
    pub fn add(&mut self, encoding: Encoding) {
        if encoding.iter().any(|v| !v.is_finite()) {
            return;
        }
        self.encodings.push_back(encoding);
        while self.encodings.len() > EVIDENCE_WINDOW {
            self.encodings.pop_front();
        }
    }

    /// The mean of the recent encodings; `None` before the first.
    pub fn mean(&self) -> Option<Encoding> {
        let refs: Vec<&Encoding> = self.encodings.iter().collect();
        mean(&refs)
    }

    /// Number of encodings held.
    pub fn len(&self) -> usize {
        self.encodings.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.encodings.is_empty()
    }
}

/// The predictions for the faces of one frame (their encodings, or tracks' mean encodings),
/// in input order, no person given to two faces. `averaged[i]`: how many encodings `faces[i]`
/// is the mean of (1 for a single face, the default when missing); the margin it needs is
/// [`Classifier::margin_for_mean_of`] that many.
pub fn name_jointly(
    classifier: &Classifier,
    faces: &[Encoding],
    averaged: &[usize],
) -> Vec<Prediction> {
    let margin = |i: usize| classifier.margin_for_mean_of(averaged.get(i).copied().unwrap_or(1));
    let alone: Vec<Prediction> = faces
        .iter()
        .enumerate()
        .map(|(i, e)| classifier.decide(e, classifier.distances(e), None, margin(i)))
        .collect();
    if faces.len() < 2 {
        return alone;
    }
    let mut order: Vec<usize> = (0..faces.len()).collect();
    // Clearest first; a face that is not named at all cannot take anyone, so it goes last.
    order.sort_by(|&a, &b| {
        let key = |p: &Prediction| (p.label().is_some(), p.margin);
        let (ka, kb) = (key(&alone[a]), key(&alone[b]));
        kb.0.cmp(&ka.0).then(kb.1.total_cmp(&ka.1)).then(a.cmp(&b))
    });
    let mut taken = vec![false; classifier.labels().len()];
    let mut out: Vec<Option<Prediction>> = vec![None; faces.len()];
    for i in order {
        let distances = alone[i].distances.clone();
        let p = classifier.decide(&faces[i], distances, Some(&taken), margin(i));
        if let Some(label) = p.label()
            && let Some(t) = taken.get_mut(label)
        {
            *t = true;
        }
        out[i] = Some(p);
    }
    out.into_iter()
        .zip(alone)
        .map(|(joint, alone)| joint.unwrap_or(alone))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{ENCODING_DIM, EncoderId};
    use crate::model::{Model, Sample, TrainOptions};

    fn at(axis: usize, v: f32) -> Encoding {
        let mut e = [0.0f32; ENCODING_DIM];
        e[axis] = v;
        e
    }

    /// Two look-alikes, 0.3 apart along axis 0, three photos each.
    fn look_alikes() -> Classifier {
        let mut samples = Vec::new();
        for (label, centre) in [(0usize, 0.0f32), (1, 0.3)] {
            for k in 0..3 {
                let mut e = at(0, centre);
                e[10 + k] = 0.05;
                samples.push(Sample {
                    label,
                    encoding: e,
                    source: format!("{label}-{k}"),
                    motion_blurred: None,
                });
            }
        }
        let options = TrainOptions {
            unknown_distance: Some(0.6),
            ..TrainOptions::default()
        };
        let encoder = EncoderId {
            file_name: "e".into(),
            ..crate::encoding::EncoderKind::DlibResnet.id("ab".repeat(32))
        };
        let model = Model::train(
            vec!["jin".into(), "jungkook".into()],
            samples,
            encoder,
            &options,
        )
        .unwrap();
        Classifier::new(&model)
    }

    #[test]
    fn the_mean_of_a_tracks_encodings_outvotes_one_odd_frame() {
        let c = look_alikes();
        let mut evidence = Evidence::default();
        for _ in 0..3 {
            evidence.add(at(0, 0.02));
        }
        evidence.add(at(0, 0.28)); // one frame that looks like jungkook
        evidence.add([f32::NAN; ENCODING_DIM]);
        assert_eq!(evidence.len(), 4);
        let p = c.classify(&evidence.mean().unwrap());
        assert_eq!(p.label(), Some(0));
        for _ in 0..20 {
            evidence.add(at(0, 0.3));
        }
        assert_eq!(evidence.len(), EVIDENCE_WINDOW);
        assert_eq!(c.classify(&evidence.mean().unwrap()).label(), Some(1));
    }

    #[test]
    fn two_faces_of_a_frame_never_get_one_name() {
        let c = look_alikes();
        // Both faces lean to jin; the clearer one keeps him, the other is told apart among
        // the rest (jungkook alone: no competitor left, so no margin to fail).
        let clear = at(0, 0.0);
        let leaning = at(0, 0.12);
        assert_eq!(c.classify(&leaning).label(), Some(0));
        let both = name_jointly(&c, &[leaning, clear], &[]);
        assert_eq!(both[1].label(), Some(0));
        assert_eq!(both[0].label(), Some(1));
        // A face about halfway is ambiguous alone; beside a clear jungkook it can only be jin.
        let halfway = at(0, 0.15);
        assert_eq!(c.classify(&halfway).label(), None);
        let mixed = name_jointly(&c, &[halfway, at(0, 0.3)], &[]);
        assert_eq!(mixed[1].label(), Some(1));
        assert_eq!(mixed[0].label(), Some(0));
        // Two ambiguous faces: neither is named, neither blocks the other.
        let unsure = name_jointly(&c, &[halfway, at(0, 0.151)], &[]);
        assert!(unsure.iter().all(|p| p.label().is_none()));
    }

    #[test]
    fn a_stranger_takes_no_name_from_a_member() {
        let c = look_alikes();
        let stranger = at(50, 0.9);
        let faces = name_jointly(&c, &[stranger, at(0, 0.01)], &[]);
        assert_eq!(faces[0].label(), None);
        assert_eq!(faces[1].label(), Some(0));
        assert!(name_jointly(&c, &[], &[]).is_empty());
    }

    #[test]
    fn a_track_mean_needs_less_margin_than_one_face() {
        let c = look_alikes();
        // Along the axis between the two means the margin falls to 0 halfway (0.15); find
        // the face where it is 0.6 of the model's: too little for one face, enough for the
        // mean of 8 (which needs the model's / 8^(1/4) = 0.59 of it).
        let want = 0.6 * c.margin();
        assert!(c.margin_for_mean_of(8) < want && c.margin_for_mean_of(4) > want);
        let (mut near, mut far) = (0.0f32, 0.15f32);
        for _ in 0..40 {
            let x = (near + far) / 2.0;
            if c.classify(&at(0, x)).margin > want {
                near = x;
            } else {
                far = x;
            }
        }
        let face = at(0, near);
        assert!((c.classify(&face).margin - want).abs() < 1e-3);
        assert_eq!(c.classify(&face).label(), None);
        assert_eq!(c.classify_mean_of(&face, 1).label(), None);
        assert_eq!(c.classify_mean_of(&face, 4).label(), None);
        assert_eq!(c.classify_mean_of(&face, 8).label(), Some(0));
        assert_eq!(name_jointly(&c, &[face], &[1])[0].label(), None);
        assert_eq!(name_jointly(&c, &[face], &[8])[0].label(), Some(0));
        // Past halfway no number of encodings makes it jin.
        assert_ne!(c.classify_mean_of(&at(0, 0.16), 1000).label(), Some(0));
    }
}
