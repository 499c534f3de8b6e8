//! Where "unknown" begins, from the training photos alone (models made by encoder weights the
//! shipped stranger cohort was not made with), and the penalty of a match against a
//! motion-blurred copy.

use super::cleaning::{
    DEFAULT_DUPLICATE_DISTANCE, DEFAULT_UNKNOWN_DISTANCE, Encoding, INTER_PERCENTILE,
    INTRA_PERCENTILE, MAX_UNKNOWN_DISTANCE, MIN_UNKNOWN_DISTANCE, Photo, SAME_PERSON_DISTANCE,
    by_label, distance, is_valid, percentile,
};

/// Distance beyond which a face should be called unknown, calibrated from the
/// kept training photos (pass only the photos [`clean`] keeps).
///
/// Formula, over photos with valid encodings:
/// * `intra` = 90th percentile, over every photo of a person with ≥ 2
///   photos, of the distance to its nearest *other* photo of the same person
///   (leave-one-out; pairs closer than [`DEFAULT_DUPLICATE_DISTANCE`] are the
///   same picture and skipped). A new photo of a known person is matched by
///   its nearest training photo, so this is the distance needed to still
///   recognise ~90 % of genuine faces.
/// * `inter` = 10th percentile, over every photo, of the distance to the
///   nearest photo of a *different* person. A face of someone else lands
///   about this close to the training set, so ~90 % of them stay beyond it.
///   With a single person it is [`SAME_PERSON_DISTANCE`] (dlib's usual
///   tolerance).
/// * result = `clamp((intra + inter) / 2, 0.4, 0.6)`: the midpoint leaves
///   equal margin to both error kinds; look-alike people (small `inter`)
///   pull it down so they aren't confused, and the clamp keeps it within the
///   range where dlib encodings are meaningful.
///
/// Returns [`DEFAULT_UNKNOWN_DISTANCE`] (0.55) when no person has at least 2
/// (valid) photos, i.e. there is no measure of a person's own spread.
pub fn calibrate_unknown_distance(photos: &[Photo]) -> f32 {
    let groups = by_label(
        photos,
        (0..photos.len()).filter(|&i| is_valid(&photos[i].encoding)),
    );
    let nearest = |i: usize, others: &mut dyn Iterator<Item = usize>| -> Option<f32> {
        others
            .map(|j| distance(&photos[i].encoding, &photos[j].encoding))
            .filter(|d| !d.is_nan())
            .min_by(f32::total_cmp)
    };

    let mut intra: Vec<f32> = Vec::new();
    for members in groups.values().filter(|m| m.len() >= 2) {
        for &i in members {
            let mut others = members.iter().copied().filter(|&j| {
                j != i
                    && distance(&photos[i].encoding, &photos[j].encoding)
                        >= DEFAULT_DUPLICATE_DISTANCE
            });
            intra.extend(nearest(i, &mut others));
        }
    }
    if intra.is_empty() {
        return DEFAULT_UNKNOWN_DISTANCE;
    }

    let mut inter: Vec<f32> = Vec::new();
    if groups.len() >= 2 {
        for (&label, members) in &groups {
            for &i in members {
                let mut others = groups
                    .iter()
                    .filter(|&(&l, _)| l != label)
                    .flat_map(|(_, m)| m.iter().copied());
                inter.extend(nearest(i, &mut others));
            }
        }
    }

    let intra_p = percentile(&mut intra, INTRA_PERCENTILE);
    let inter_p = if inter.is_empty() {
        SAME_PERSON_DISTANCE
    } else {
        percentile(&mut inter, INTER_PERCENTILE)
    };
    let t = 0.5 * (intra_p + inter_p);
    if t.is_nan() {
        DEFAULT_UNKNOWN_DISTANCE
    } else {
        t.clamp(MIN_UNKNOWN_DISTANCE, MAX_UNKNOWN_DISTANCE)
    }
}

/// How much farther a match against a motion-blurred copy counts than a match against a sharp
/// photo ([`crate::augment`]). Blurring erases detail, so blurred faces of *different* people lie
/// closer together than sharp ones: a blurred penny came 0.57 from a blurred bernadette, inside
/// the 0.58 unknown distance of sharp photos. The penalty is the difference between the unknown
/// distance calibrated on the sharp photos and the same calibration run on the blurred copies
/// (each copy against the other photos and copies of its person, and against everyone else's);
/// a blurred match must be that much closer. 0 when there are no copies or too few photos.
///
/// `photos[i]` and `blurred[i]` are one photo and its copy (`None`: no copy); `sharp` is
/// [`calibrate_unknown_distance`] of `photos`.
pub fn calibrate_blur_penalty(photos: &[Photo], blurred: &[Option<Encoding>], sharp: f32) -> f32 {
    if blurred.len() != photos.len() {
        return 0.0;
    }
    let valid: Vec<usize> = (0..photos.len())
        .filter(|&i| is_valid(&photos[i].encoding))
        .collect();
    let groups = by_label(photos, valid.iter().copied());
    // Every encoding of the photos in `others`: the photos and their copies.
    let nearest = |query: &Encoding, others: &mut dyn Iterator<Item = usize>| -> Option<f32> {
        others
            .flat_map(|j| std::iter::once(&photos[j].encoding).chain(blurred[j].as_ref()))
            .map(|e| distance(query, e))
            .filter(|d| !d.is_nan())
            .min_by(f32::total_cmp)
    };
    let mut intra = Vec::new();
    let mut inter = Vec::new();
    for (&label, members) in &groups {
        for &i in members {
            let Some(copy) = blurred[i].as_ref().filter(|c| is_valid(c)) else {
                continue;
            };
            let mut same = members.iter().copied().filter(|&j| {
                j != i
                    && distance(&photos[i].encoding, &photos[j].encoding)
                        >= DEFAULT_DUPLICATE_DISTANCE
            });
            intra.extend(nearest(copy, &mut same));
            let mut other = groups
                .iter()
                .filter(|&(&l, _)| l != label)
                .flat_map(|(_, m)| m.iter().copied());
            inter.extend(nearest(copy, &mut other));
        }
    }
    if intra.is_empty() || inter.is_empty() {
        return 0.0;
    }
    let blurred_threshold =
        0.5 * (percentile(&mut intra, INTRA_PERCENTILE) + percentile(&mut inter, INTER_PERCENTILE));
    let penalty = sharp - blurred_threshold;
    if penalty.is_finite() {
        penalty.clamp(0.0, MAX_BLUR_PENALTY)
    } else {
        0.0
    }
}

/// Upper clamp of [`calibrate_blur_penalty`].
pub const MAX_BLUR_PENALTY: f32 = 0.2;
