//! Which face of a training photo with several faces is the person it is filed under.
//!
//! Fans download photos in bulk: group shots, and crops of group shots with part of a
//! neighbour's face at the edge. Skipping every photo with more than one face threw away a
//! fifth of a realistic K-pop training folder (13 of 105 photos of `bts15_mv_720p-train`, and 3
//! of suga's 5 in `bts_mv_720p-train`). A face of such a photo is kept when it is clearly the
//! one most like its person:
//!
//! - With at least [`MIN_REFERENCE_PHOTOS`] single-face photos of the person (the reference),
//!   each face gets a *margin*: its distance to the nearest other person's mean minus its
//!   distance to its own person's mean (positive: more like the own person). The face with the
//!   largest margin is kept when that margin beats every other face's by [`MIN_MARGIN_GAP`] and
//!   the face is within dlib's same-person distance ([`SAME_PERSON_DISTANCE`]) of the person's
//!   mean: a crowd of strangers has a most-like face too. The kept faces of the BTS group
//!   photos lie 0.29-0.48 from their person's mean. Relative, not absolute: among look-alikes a neighbour's face
//!   can be nearer the person's mean than the person's own face in another light, but it is
//!   nearer still to the neighbour's own photos. Measured on the 13 group photos of the BTS
//!   training folders: 12 kept, each the labelled face; one left out (two faces whose margins
//!   differ by 0.03).
//! - Without a reference, the photo is of someone only when one face dominates it: at least
//!   [`DOMINANT_AREA_RATIO`] times the area of the next.

use crate::encoding::{ENCODING_DIM, Encoding};
use crate::model::GROUP_PHOTO_WORDS;
use crate::training::cleaning::{SAME_PERSON_DISTANCE, distance};

/// Single-face photos of the person needed to judge a group photo by likeness.
pub const MIN_REFERENCE_PHOTOS: usize = 2;

/// How much more own-like (in margin) the kept face must be than any other face of the photo.
pub const MIN_MARGIN_GAP: f32 = 0.05;

/// Without a reference: how much larger the kept face must be than the next one.
pub const DOMINANT_AREA_RATIO: f64 = 2.0;

/// One face of a group photo.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Its encoding.
    pub encoding: Encoding,
    /// Its box area in pixels.
    pub area: i64,
}

/// Why no face of a group photo was kept.
#[derive(Clone, Debug, PartialEq)]
pub enum Unresolved {
    /// Two or more faces are about as like the person (margins within [`MIN_MARGIN_GAP`]).
    Ambiguous,
    /// The most own-like face is still too far from the person's photos.
    NotThePerson {
        /// Its distance to the mean of the person's photos.
        distance: f32,
    },
    /// No reference photos and no dominant face.
    NoReference,
}

impl Unresolved {
    /// The reason in words, for the training report.
    pub fn describe(&self, faces: usize, label: &str) -> String {
        match self {
            Unresolved::Ambiguous => {
                format!("{GROUP_PHOTO_WORDS}{faces} faces, none clearly {label}'s")
            }
            Unresolved::NotThePerson { distance } => format!(
                "{GROUP_PHOTO_WORDS}{faces} faces, none like {label}'s other photos (nearest {distance:.2})"
            ),
            Unresolved::NoReference => format!(
                "{GROUP_PHOTO_WORDS}{faces} faces and too few photos of {label} alone to tell which is them"
            ),
        }
    }
}

/// Mean of `encodings`; `None` when empty.
pub fn mean(encodings: &[&Encoding]) -> Option<Encoding> {
    if encodings.is_empty() {
        return None;
    }
    let mut m = [0.0f64; ENCODING_DIM];
    for e in encodings {
        for (a, v) in m.iter_mut().zip(e.iter()) {
            *a += f64::from(*v);
        }
    }
    let n = encodings.len() as f64;
    let mut out = [0.0f32; ENCODING_DIM];
    for (o, a) in out.iter_mut().zip(m) {
        *o = (a / n) as f32;
    }
    Some(out)
}

/// The index of the face in `candidates` that is the person, given the person's single-face
/// photos (`own`) and the means of every other person's single-face photos (`others`).
pub fn choose_face(
    candidates: &[Candidate],
    own: &[&Encoding],
    others: &[Encoding],
) -> Result<usize, Unresolved> {
    match candidates.len() {
        0 => return Err(Unresolved::NoReference),
        1 => return Ok(0),
        _ => {}
    }
    let Some(own_mean) = mean(own).filter(|_| own.len() >= MIN_REFERENCE_PHOTOS) else {
        return dominant_face(candidates).ok_or(Unresolved::NoReference);
    };
    let scored: Vec<(usize, f32, f32)> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let d_own = distance(&c.encoding, &own_mean);
            let d_other = others
                .iter()
                .map(|m| distance(&c.encoding, m))
                .filter(|d| !d.is_nan())
                .fold(f32::INFINITY, f32::min);
            // Without other people, the nearest own face is the most own-like.
            let margin = if d_other.is_finite() {
                d_other - d_own
            } else {
                -d_own
            };
            (
                i,
                if margin.is_nan() {
                    f32::NEG_INFINITY
                } else {
                    margin
                },
                d_own,
            )
        })
        .collect();
    let best = scored
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .copied()
        .ok_or(Unresolved::NoReference)?;
    let runner_up = scored
        .iter()
        .filter(|s| s.0 != best.0)
        .map(|s| s.1)
        .fold(f32::NEG_INFINITY, f32::max);
    if best.2.is_nan() || best.2 > SAME_PERSON_DISTANCE {
        return Err(Unresolved::NotThePerson { distance: best.2 });
    }
    if best.1 - runner_up < MIN_MARGIN_GAP {
        return Err(Unresolved::Ambiguous);
    }
    Ok(best.0)
}

/// The face that dominates the photo by size, if one does.
fn dominant_face(candidates: &[Candidate]) -> Option<usize> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(candidates[i].area));
    let (first, second) = (candidates[order[0]].area, candidates[order[1]].area);
    (first as f64 >= DOMINANT_AREA_RATIO * second.max(1) as f64).then_some(order[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An encoding `offset` along `axis` from a common base.
    fn at(axis: usize, offset: f32) -> Encoding {
        let mut e = [0.01f32; ENCODING_DIM];
        e[axis] += offset;
        e
    }

    fn candidate(encoding: Encoding, area: i64) -> Candidate {
        Candidate { encoding, area }
    }

    #[test]
    fn the_face_like_the_person_is_kept_even_when_smaller() {
        let own = [at(0, 0.30), at(0, 0.34), at(1, 0.02)];
        let own: Vec<&Encoding> = own.iter().collect();
        let others = [at(5, 0.4), at(9, 0.4)];
        let faces = [candidate(at(5, 0.38), 9000), candidate(at(0, 0.31), 4000)];
        assert_eq!(choose_face(&faces, &own, &others), Ok(1));
    }

    #[test]
    fn a_look_alike_neighbour_nearer_the_mean_is_still_not_chosen() {
        // The person's own face here is 0.45 from their mean; the neighbour's 0.36, but 0.2
        // from the neighbour's own mean: relative likeness decides.
        let own_mean = at(0, 0.0);
        let neighbour_mean = at(1, 0.3);
        let own = [own_mean, own_mean];
        let own: Vec<&Encoding> = own.iter().collect();
        let mut theirs = at(1, 0.3);
        theirs[2] += 0.2;
        let mut mine = at(0, 0.0);
        mine[3] += 0.45;
        let d = |a: &Encoding, b: &Encoding| distance(a, b);
        assert!(d(&theirs, &own_mean) < d(&mine, &own_mean));
        let faces = [candidate(theirs, 5000), candidate(mine, 5000)];
        assert_eq!(choose_face(&faces, &own, &[neighbour_mean]), Ok(1));
    }

    #[test]
    fn two_faces_about_as_like_the_person_are_left_out() {
        let own = [at(0, 0.3), at(0, 0.3)];
        let own: Vec<&Encoding> = own.iter().collect();
        let faces = [candidate(at(0, 0.31), 100), candidate(at(0, 0.32), 100)];
        assert_eq!(
            choose_face(&faces, &own, &[at(4, 0.5)]),
            Err(Unresolved::Ambiguous)
        );
    }

    #[test]
    fn a_photo_of_strangers_only_is_left_out() {
        let own = [at(0, 0.0), at(0, 0.01)];
        let own: Vec<&Encoding> = own.iter().collect();
        let faces = [candidate(at(7, 0.9), 100), candidate(at(8, 1.5), 100)];
        assert!(matches!(
            choose_face(&faces, &own, &[]),
            Err(Unresolved::NotThePerson { .. })
        ));
    }

    #[test]
    fn without_reference_photos_only_a_dominant_face_is_kept() {
        let faces = [candidate(at(0, 0.0), 1000), candidate(at(1, 0.0), 5000)];
        assert_eq!(choose_face(&faces, &[], &[]), Ok(1));
        let even = [candidate(at(0, 0.0), 4000), candidate(at(1, 0.0), 5000)];
        assert_eq!(choose_face(&even, &[], &[]), Err(Unresolved::NoReference));
        let text = Unresolved::NoReference.describe(2, "suga");
        assert!(text.contains("suga"), "{text}");
    }
}
