//! Strangers to calibrate "unknown" against: face encodings of people who are in no model,
//! shipped with the plugin (`cohort/strangers.json`, made by `examples/make_cohort.rs` from the
//! public photos listed in `cohort/README.md`; encodings only, no photos, no file names).
//!
//! The unknown distance keeps strangers out, so it is measured on strangers: how close do
//! faces of people the model does not know come to its photos? Calibrating it from the model's
//! own people instead (the midpoint between a person's spread and the nearest other person,
//! [`crate::training::cleaning::calibrate_unknown_distance`]) fails for look-alike groups: the other
//! members are close, the midpoint falls to 0.43 for BTS, and members' own faces land beyond
//! it as unknown.
//!
//! [`unknown_distance`]: every cohort face's distance to its nearest model photo (sharp, or
//! motion-blurred plus the model's blur penalty, as the overlay measures a face), and the
//! [`STRANGER_QUANTILE`] of those, clamped to [`MIN_UNKNOWN_DISTANCE`]..=[`MAX_UNKNOWN_DISTANCE`].
//! A cohort person who is one of the model's people (their mean within
//! [`SAME_PERSON_MEAN_DISTANCE`] of that person's) is not a stranger to it and is skipped: the
//! demo model is trained on photos the cohort also holds.
//!
//! The cohort is Western and African-American faces (no East Asian stranger was available
//! with a licence to ship), so for an East Asian group it mostly says "0.6": look-alike
//! strangers of the group's own kind are kept out by the other decision, the margin between
//! members ([`crate::model::Classifier`]), not by this distance.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::encoding::{EncoderId, Encoding, distance};
use crate::training::group_photo::mean;

/// The share of cohort faces allowed within the unknown distance.
pub const STRANGER_QUANTILE: f32 = 0.02;
/// Lower clamp of the calibrated distance.
pub const MIN_UNKNOWN_DISTANCE: f32 = 0.45;
/// Upper clamp: dlib's own same-person tolerance.
pub const MAX_UNKNOWN_DISTANCE: f32 = 0.6;
/// A cohort person whose mean encoding is this close to a model person's is that person.
pub const SAME_PERSON_MEAN_DISTANCE: f32 = 0.45;

/// The `format` of a cohort file.
pub const FORMAT_NAME: &str = "gst-faceid-cohort";

/// One stranger: every encoding of their photos.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stranger {
    /// An anonymous id (`s017`), nothing more.
    pub id: String,
    /// Their face encodings.
    pub encodings: Vec<Vec<f32>>,
}

/// People in no model, as encodings from one encoder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cohort {
    /// [`FORMAT_NAME`].
    pub format: String,
    /// 1.
    pub version: u32,
    /// The encoder weights that made the encodings.
    pub encoder: EncoderId,
    /// Everyone.
    pub strangers: Vec<Stranger>,
}

impl Cohort {
    /// Parses a cohort file; `None` when it is not one (then nothing is calibrated from it).
    pub fn from_json(text: &str) -> Option<Cohort> {
        let cohort: Cohort = serde_json::from_str(text).ok()?;
        let valid = cohort.format == FORMAT_NAME
            && cohort.version == 1
            && cohort.strangers.iter().all(|s| {
                s.encodings.iter().all(|e| {
                    e.len() == crate::encoding::ENCODING_DIM && e.iter().all(|v| v.is_finite())
                })
            });
        valid.then_some(cohort)
    }

    /// The strangers' encodings, per stranger.
    fn people(&self) -> Vec<Vec<Encoding>> {
        self.strangers
            .iter()
            .map(|s| {
                s.encodings
                    .iter()
                    .filter_map(|e| Encoding::try_from(e.as_slice()).ok())
                    .collect()
            })
            .filter(|v: &Vec<Encoding>| !v.is_empty())
            .collect()
    }

    /// Number of encodings.
    pub fn len(&self) -> usize {
        self.strangers.iter().map(|s| s.encodings.len()).sum()
    }

    /// Whether it holds no encoding.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The cohorts shipped with the plugin (one per encoder: the same strangers encoded by each),
/// parsed once.
pub fn builtin_cohorts() -> &'static [Cohort] {
    static COHORTS: LazyLock<Vec<Cohort>> = LazyLock::new(|| {
        [
            include_str!("../../cohort/strangers.json"),
            include_str!("../../cohort/strangers-sface.json"),
        ]
        .into_iter()
        .filter_map(Cohort::from_json)
        .collect()
    });
    &COHORTS
}

/// The shipped cohort encoded by `encoder`, if there is one.
pub fn builtin(encoder: &EncoderId) -> Option<&'static Cohort> {
    builtin_cohorts()
        .iter()
        .find(|c| c.encoder.sha256 == encoder.sha256)
}

/// A model person's photos as the overlay matches them: sharp encodings, and motion-blurred
/// copies whose matches count `blur_penalty` farther.
pub struct PersonPhotos<'a> {
    /// Sharp photos.
    pub sharp: Vec<&'a Encoding>,
    /// Motion-blurred copies.
    pub blurred: Vec<&'a Encoding>,
}

/// The outcome of [`unknown_distance`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Calibration {
    /// The unknown distance.
    pub distance: f32,
    /// Cohort faces it was measured on (after skipping the model's own people).
    pub strangers: usize,
}

/// The distance that keeps all but [`STRANGER_QUANTILE`] of `cohort`'s faces out of `people`
/// (see the module documentation). `None` when the cohort was made by other encoder weights
/// or no stranger is left.
pub fn unknown_distance(
    cohort: &Cohort,
    encoder: &EncoderId,
    people: &[PersonPhotos<'_>],
    blur_penalty: f32,
) -> Option<Calibration> {
    if cohort.encoder.sha256 != encoder.sha256 {
        return None;
    }
    let means: Vec<Encoding> = people.iter().filter_map(|p| mean(&p.sharp)).collect();
    let mut nearest: Vec<f32> = Vec::new();
    for stranger in cohort.people() {
        let refs: Vec<&Encoding> = stranger.iter().collect();
        let is_model_person = mean(&refs).is_some_and(|m| {
            means
                .iter()
                .any(|p| distance(&m, p) < SAME_PERSON_MEAN_DISTANCE)
        });
        if is_model_person {
            continue;
        }
        for face in &stranger {
            let d = nearest_photo(face, people, blur_penalty);
            if d.is_finite() {
                nearest.push(d);
            }
        }
    }
    if nearest.is_empty() {
        return None;
    }
    nearest.sort_by(f32::total_cmp);
    let index = ((nearest.len() - 1) as f32 * STRANGER_QUANTILE).round() as usize;
    Some(Calibration {
        distance: nearest[index].clamp(MIN_UNKNOWN_DISTANCE, MAX_UNKNOWN_DISTANCE),
        strangers: nearest.len(),
    })
}

/// The distance that keeps all of `strangers` (the user's own: a few dozen faces of people
/// around the group) out of `people`: a little nearer than the nearest of them comes, never
/// below [`MIN_UNKNOWN_DISTANCE`]. A face within [`SAME_PERSON_MEAN_DISTANCE`] of a person's
/// mean is taken for that person (a member's photo among the strangers) and skipped. `None`
/// when there is no stranger.
pub fn keep_out(
    strangers: &[Encoding],
    people: &[PersonPhotos<'_>],
    blur_penalty: f32,
) -> Option<f32> {
    let means: Vec<Encoding> = people.iter().filter_map(|p| mean(&p.sharp)).collect();
    strangers
        .iter()
        .filter(|s| {
            means
                .iter()
                .all(|m| distance(s, m) >= SAME_PERSON_MEAN_DISTANCE)
        })
        .map(|face| nearest_photo(face, people, blur_penalty))
        .filter(|d| d.is_finite())
        .fold(None, |m: Option<f32>, d| Some(m.map_or(d, |m| m.min(d))))
        .map(|nearest| (nearest - STRANGER_GAP).max(MIN_UNKNOWN_DISTANCE))
}

/// How near `face` comes to the model's photos as the overlay measures a face: its distance to
/// the nearest sharp photo, or to a motion-blurred copy plus `blur_penalty` (infinite when
/// there is none).
fn nearest_photo(face: &Encoding, people: &[PersonPhotos<'_>], blur_penalty: f32) -> f32 {
    people
        .iter()
        .flat_map(|p| {
            let sharp = p.sharp.iter().map(|e| distance(face, e));
            let blurred = p.blurred.iter().map(|e| distance(face, e) + blur_penalty);
            sharp.chain(blurred)
        })
        .filter(|d| !d.is_nan())
        .fold(f32::INFINITY, f32::min)
}

/// How much nearer than the nearest of the user's strangers the unknown distance is put.
pub const STRANGER_GAP: f32 = 0.005;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::ENCODING_DIM;

    fn encoder() -> EncoderId {
        crate::test_support::encoder("e.dat")
    }

    fn at(axis: usize, v: f32) -> Encoding {
        let mut e = [0.0; ENCODING_DIM];
        e[axis] = v;
        e
    }

    fn cohort(faces: &[Vec<Encoding>]) -> Cohort {
        Cohort {
            format: FORMAT_NAME.into(),
            version: 1,
            encoder: encoder(),
            strangers: faces
                .iter()
                .enumerate()
                .map(|(i, f)| Stranger {
                    id: format!("s{i:03}"),
                    encodings: f.iter().map(|e| e.to_vec()).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_distance_keeps_the_nearest_strangers_out_and_skips_the_models_own_people() {
        let member = [at(0, 0.0), at(1, 0.1)];
        let people = [PersonPhotos {
            sharp: member.iter().collect(),
            blurred: Vec::new(),
        }];
        // 60 strangers from 0.55 to 1.14 away, and the member's own photo twice.
        let mut faces: Vec<Vec<Encoding>> = (0..60)
            .map(|i| vec![at(5, 0.55 + 0.01 * i as f32)])
            .collect();
        faces.push(vec![at(0, 0.02), at(1, 0.08)]);
        let c = unknown_distance(&cohort(&faces), &encoder(), &people, 0.0).unwrap();
        assert_eq!(c.strangers, 60);
        // The 2% quantile of 60 sorted distances is the second nearest.
        assert!((c.distance - 0.5601).abs() < 0.002, "{c:?}");
    }

    #[test]
    fn clamped_and_refused_for_other_encoders_or_files() {
        // Two photos of the member 1.0 apart: a stranger 0.3 from one of them is 0.8 from
        // the member's mean, so not the member.
        let member = [at(0, 0.5), at(0, -0.5)];
        let people = [PersonPhotos {
            sharp: member.iter().collect(),
            blurred: Vec::new(),
        }];
        let near = cohort(&[vec![at(0, 0.8)], vec![at(0, 0.85)]]);
        assert_eq!(
            unknown_distance(&near, &encoder(), &people, 0.0)
                .unwrap()
                .distance,
            MIN_UNKNOWN_DISTANCE
        );
        let other = EncoderId {
            file_name: "x".into(),
            ..crate::encoding::EncoderKind::DlibResnet.id("cd".repeat(32))
        };
        assert!(unknown_distance(&near, &other, &people, 0.0).is_none());
        assert!(Cohort::from_json("{}").is_none());
        let mut bad = near.clone();
        bad.strangers[0].encodings[0].pop();
        assert!(Cohort::from_json(&serde_json::to_string(&bad).unwrap()).is_none());
    }

    #[test]
    fn the_shipped_cohort_loads() {
        let cohorts = builtin_cohorts();
        assert_eq!(
            cohorts.len(),
            2,
            "strangers.json and strangers-sface.json parse"
        );
        for c in cohorts {
            assert!(c.strangers.len() >= 30, "{}", c.strangers.len());
            assert!(c.len() >= 60);
            assert!(builtin(&c.encoder).is_some());
        }
        let names: Vec<_> = cohorts.iter().map(|c| c.encoder.name.as_str()).collect();
        assert_eq!(names, ["dlib", "sface"]);
    }

    #[test]
    fn the_users_strangers_keep_the_distance_short_of_the_nearest_of_them() {
        let photos = [at(0, 1.0), at(0, 0.9)];
        let people = vec![PersonPhotos {
            sharp: photos.iter().collect(),
            blurred: Vec::new(),
        }];
        // A stranger 0.52 from the nearer photo, one far away, and one who is the person
        // (within SAME_PERSON_MEAN_DISTANCE of the mean): only the first counts.
        let mut near = at(0, 1.0);
        near[1] = 0.52;
        let mut far = at(0, 1.0);
        far[2] = 2.0;
        let same = at(0, 0.96);
        let d = keep_out(&[far, near, same], &people, 0.0).unwrap();
        assert!((d - (0.52 - STRANGER_GAP)).abs() < 1e-5, "{d}");
        assert_eq!(keep_out(&[], &people, 0.0), None);
        // Never below the floor.
        let mut closer = at(0, 1.0);
        closer[3] = 0.452;
        assert_eq!(
            keep_out(&[closer], &people, 0.0),
            Some(MIN_UNKNOWN_DISTANCE)
        );
    }
}
