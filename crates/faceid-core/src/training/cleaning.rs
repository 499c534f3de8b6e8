//! Cleaning of face-recognition training photos and calibration of the
//! "unknown face" distance.
//!
//! Faces are dlib ResNet encodings (128-d, compared with the Euclidean
//! distance): two photos of one person are usually < 0.6 apart (typically
//! 0.3–0.5), different people usually > 0.6 (look-alikes 0.45–0.6). The
//! same picture stored twice (resized) is ~0.0–0.08 apart, a mirrored copy
//! ~0.05–0.15, two different photos of one person typically > 0.2.
//!
//! Mass-downloaded training sets contain photos of the wrong person and
//! near-duplicates. [`clean`] decides which photos to leave out, in this
//! order:
//!
//! 1. **Invalid encodings** (any component NaN or infinite) are left out as
//!    [`Reason::Outlier`] with `distance: f32::INFINITY, closer_to: None`
//!    (when [`Policy::remove_outliers`] is set; otherwise they are kept and
//!    merely ignored by the statistics). They never take part in duplicate
//!    detection or in any statistic.
//! 2. **Duplicates** (when [`Policy::remove_duplicates`]): photos are visited
//!    in input order; a photo closer than [`Policy::duplicate_distance`] to an
//!    earlier photo that is still kept becomes [`Reason::Duplicate`] of the
//!    nearest such photo (ties → lower index). Photos of *all* labels are
//!    compared: the same picture filed under two people is reported as a
//!    duplicate across labels so the caller can tell the user. Only kept
//!    photos are duplicate targets, so there are no chains.
//! 3. **Outliers** (when [`Policy::remove_outliers`]), computed on the photos
//!    that survived step 2, per person `P` with at least
//!    `max(min_photos_for_outliers, 3)` such photos:
//!    * `d_own(p)` = distance from `p` to the medoid of `P`'s *other* photos
//!      (leave-one-out medoid: the photo minimising the sum of distances to
//!      the others), so an intruder cannot pull the centre towards itself;
//!    * `median` and `MAD` (median absolute deviation) of `d_own` over `P`;
//!    * `threshold = max(median + outlier_factor · 1.4826 · MAD,`
//!      [`OUTLIER_DISTANCE_FLOOR`]`)` — 1.4826·MAD estimates a standard
//!      deviation robustly, the floor keeps a very tight set of photos from
//!      rejecting ordinary same-person variation;
//!    * the nearest other person `Q` is the one whose medoid is closest to
//!      `p` (`d_other`); `p` is *closer to* `Q` when
//!      `d_other <` [`SAME_PERSON_DISTANCE`] and
//!      `d_other +` [`CLOSER_MARGIN`] `< d_own`. Centres (medoids) are used
//!      instead of nearest neighbours because two photos of `Q` in `P`'s
//!      folder would be each other's nearest neighbour;
//!    * `p` is an outlier when `d_own > threshold`, or when it is closer to
//!      another person and `d_own > median`. The verdict carries
//!      `distance = d_own` and `closer_to = Some(Q)` if it is closer to `Q`.
//! 4. **Duplicates of removed photos**: a duplicate whose original was left
//!    out as an outlier is re-judged so that [`Reason::Duplicate::of`] always
//!    names a kept photo: within one label it inherits the original's outlier
//!    verdict (same picture, same folder); across labels it is judged by its
//!    own person's statistics (distance to that person's medoid) and kept if
//!    it passes — the picture was filed under the wrong person first.
//! 5. **Never empty**: a person left with no photo gets back its most central
//!    one (medoid of its valid encodings, ties → lower index; the first photo
//!    if none is valid). Removed duplicates of a restored photo are reported
//!    as duplicates of it.
//!
//! Everything is deterministic (index order, ordered maps, ties by index) and
//! no input panics: NaN distances compare as +∞.

use std::collections::BTreeMap;

pub use crate::encoding::{ENCODING_DIM as DIM, Encoding, distance};

/// Absolute lower bound of the outlier threshold on `d_own` (distance to the
/// person's leave-one-out medoid). Ordinary photos of one person sit
/// 0.3–0.5 from each other, and held-out photos of the `bbt` people up to 0.55
/// from their medoid (measured), so nothing below 0.6 is rejected by spread alone.
pub const OUTLIER_DISTANCE_FLOOR: f32 = 0.6;

/// Absolute upper bound of the outlier threshold: a face this far from its
/// person's medoid is not that person, whatever the spread (several wrong
/// photos in one folder inflate the median and MAD until the spread rule alone
/// accepts them; measured: two `johns` photos in a folder of three).
pub const OUTLIER_DISTANCE_CEILING: f32 = 0.7;

/// How much nearer another person's medoid must be than the own medoid for a
/// photo to count as "closer to" that person.
pub const CLOSER_MARGIN: f32 = 0.05;

/// The usual dlib same-person tolerance; another person's medoid farther than
/// this never makes a photo "closer to" that person (it only looks like a
/// stranger), and it stands in for the between-people distance in
/// [`calibrate_unknown_distance`] when there is only one person.
pub const SAME_PERSON_DISTANCE: f32 = 0.6;

/// Lower clamp of [`calibrate_unknown_distance`].
pub const MIN_UNKNOWN_DISTANCE: f32 = 0.4;

/// Upper clamp of [`calibrate_unknown_distance`].
pub const MAX_UNKNOWN_DISTANCE: f32 = 0.6;

/// Result of [`calibrate_unknown_distance`] when there is too little data.
pub const DEFAULT_UNKNOWN_DISTANCE: f32 = 0.55;

/// Default of [`Policy::duplicate_distance`]; also the distance under which
/// [`calibrate_unknown_distance`] treats two photos as the same picture.
pub const DEFAULT_DUPLICATE_DISTANCE: f32 = 0.12;

/// Scale turning a MAD into a standard-deviation estimate (normal data).
const MAD_TO_SIGMA: f32 = 1.4826;

/// Percentile of leave-one-out nearest same-person distances used by
/// [`calibrate_unknown_distance`].
pub(super) const INTRA_PERCENTILE: f32 = 0.9;

/// Percentile of nearest other-person distances used by
/// [`calibrate_unknown_distance`].
pub(super) const INTER_PERCENTILE: f32 = 0.1;

/// One training photo.
#[derive(Clone, Debug, PartialEq)]
pub struct Photo {
    /// The person the photo was filed under.
    pub label: usize,
    /// The face encoding of the photo.
    pub encoding: Encoding,
    /// Where the photo came from (path or URL), for reporting only.
    pub source: String,
}

/// Why a photo is left out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reason {
    /// Its face disagrees with the rest of the person's photos: distance to
    /// the person's robust centre (medoid of the other photos) is an outlier,
    /// or it is closer to another person's photos than to its own.
    /// `distance` = distance to own medoid (`f32::INFINITY` for an invalid
    /// encoding); `closer_to` = `Some(other label)` when nearer another
    /// person.
    Outlier {
        /// Distance to the person's own (leave-one-out) medoid.
        distance: f32,
        /// The other person this face resembles more, if any.
        closer_to: Option<usize>,
    },
    /// Nearly the same picture as `of` (index into the input), which is kept.
    /// `of` may be filed under another label: the same picture under two
    /// people is a filing mistake the caller should report.
    Duplicate {
        /// Index of the kept photo this one duplicates.
        of: usize,
        /// Distance between the two encodings.
        distance: f32,
    },
}

/// What [`clean`] removes and how eagerly.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Photos closer than this are the same picture (default 0.12: resized
    /// copies are ~0.0–0.08 apart, mirrored ~0.05–0.15, different photos of
    /// one person > 0.2).
    pub duplicate_distance: f32,
    /// Multiplier of the robust standard deviation (1.4826 · MAD) of the
    /// distances to the own medoid above their median beyond which a photo
    /// is an outlier (default 3.0, the classic "3 sigma" rule; the threshold
    /// is never below [`OUTLIER_DISTANCE_FLOOR`]).
    pub outlier_factor: f32,
    /// With fewer (non-duplicate, valid) photos of a person than this,
    /// outliers can't be told and none are reported (default 3; values
    /// below 3 act as 3).
    pub min_photos_for_outliers: usize,
    /// Leave out outliers (default true).
    pub remove_outliers: bool,
    /// Leave out duplicates (default true).
    pub remove_duplicates: bool,
    /// Also leave out photos nearer another person's medoid than their own (step 3's "closer
    /// to" rule; default true). Off when the caller tells members apart itself
    /// ([`crate::training::likeness`]): among look-alikes the rule leaves out genuine photos.
    pub leave_out_closer_to_others: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            duplicate_distance: DEFAULT_DUPLICATE_DISTANCE,
            outlier_factor: 3.0,
            min_photos_for_outliers: 3,
            remove_outliers: true,
            remove_duplicates: true,
            leave_out_closer_to_others: true,
        }
    }
}

/// True when every component is finite.
pub(super) fn is_valid(e: &Encoding) -> bool {
    e.iter().all(|x| x.is_finite())
}

/// Ordering key treating NaN as +∞.
fn key(x: f64) -> f64 {
    if x.is_nan() { f64::INFINITY } else { x }
}

/// Position of the smallest value (NaN = +∞, ties → first).
fn argmin(values: impl Iterator<Item = (usize, f64)>) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, v) in values {
        let v = key(v);
        if best.is_none_or(|(_, b)| v < b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

/// Median (NaN for an empty slice); sorts `values`.
pub(super) fn median(values: &mut [f32]) -> f32 {
    values.sort_by(f32::total_cmp);
    let n = values.len();
    match n {
        0 => f32::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => 0.5 * (values[n / 2 - 1] + values[n / 2]),
    }
}

/// Nearest-rank percentile (`q` in [0, 1]); sorts `values`, which must not
/// be empty.
pub(super) fn percentile(values: &mut [f32], q: f32) -> f32 {
    values.sort_by(f32::total_cmp);
    let last = values.len().saturating_sub(1);
    let pos = ((last as f32) * q).round() as usize;
    values.get(pos.min(last)).copied().unwrap_or(f32::NAN)
}

/// Photos of one person with their pairwise distances.
struct Group {
    /// Input indices, ascending.
    members: Vec<usize>,
    /// Row-major `members.len()²` distance matrix.
    dist: Vec<f32>,
    /// Row sums of `dist`.
    sums: Vec<f64>,
}

impl Group {
    fn new(photos: &[Photo], members: Vec<usize>) -> Self {
        let n = members.len();
        let mut dist = vec![0.0f32; n * n];
        for (a, &ia) in members.iter().enumerate() {
            for (b, &ib) in members.iter().enumerate().skip(a + 1) {
                let d = distance(&photos[ia].encoding, &photos[ib].encoding);
                dist[a * n + b] = d;
                dist[b * n + a] = d;
            }
        }
        let sums = if n == 0 {
            Vec::new()
        } else {
            dist.chunks(n)
                .map(|row| row.iter().map(|&d| f64::from(d)).sum())
                .collect()
        };
        Self {
            members,
            dist,
            sums,
        }
    }

    fn len(&self) -> usize {
        self.members.len()
    }

    /// Distance between positions `a` and `b`.
    fn d(&self, a: usize, b: usize) -> f32 {
        self.dist[a * self.len() + b]
    }

    /// Position of the medoid of all members.
    fn medoid(&self) -> Option<usize> {
        argmin(self.sums.iter().copied().enumerate())
    }

    /// Position of the medoid of all members except position `p`.
    fn medoid_without(&self, p: usize) -> Option<usize> {
        argmin(
            self.sums
                .iter()
                .enumerate()
                .filter(|&(m, _)| m != p)
                .map(|(m, &s)| (m, s - f64::from(self.d(m, p)))),
        )
    }
}

/// Outlier statistics of one person.
#[derive(Clone, Copy)]
struct Stats {
    median: f32,
    threshold: f32,
}

/// Applies the outlier rule to one encoding of person `label` whose distance
/// to its own centre is `d_own`. `centres` = (label, medoid index) per person.
fn judge(
    photos: &[Photo],
    encoding: &Encoding,
    label: usize,
    d_own: f32,
    stats: Stats,
    centres: &[(usize, usize)],
    closer_rule: bool,
) -> Option<Reason> {
    let mut nearest: Option<(usize, f32)> = None;
    for &(other, m) in centres {
        if other == label {
            continue;
        }
        let d = distance(encoding, &photos[m].encoding);
        if !d.is_nan() && nearest.is_none_or(|(_, best)| d < best) {
            nearest = Some((other, d));
        }
    }
    let closer_to = nearest
        .filter(|&(_, d)| d < SAME_PERSON_DISTANCE && d + CLOSER_MARGIN < d_own)
        .map(|(other, _)| other);
    let outlier =
        d_own > stats.threshold || (closer_rule && closer_to.is_some() && d_own > stats.median);
    outlier.then_some(Reason::Outlier {
        distance: d_own,
        closer_to,
    })
}

/// Groups `indices` by label (ordered by label, indices ascending).
pub(super) fn by_label(
    photos: &[Photo],
    indices: impl Iterator<Item = usize>,
) -> BTreeMap<usize, Vec<usize>> {
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in indices {
        groups.entry(photos[i].label).or_default().push(i);
    }
    groups
}

/// Decides which photos to leave out: returns for each input photo None
/// (keep) or Some(reason). Never leaves a person with zero photos (keep at
/// least the most central one). Deterministic (ties by index).
///
/// The rules (duplicates first, then outliers among the remaining photos,
/// invalid encodings, guarantees) are described in the
/// [module documentation](self). Every [`Reason::Duplicate::of`] names a
/// photo that is kept. A person with fewer than
/// `max(policy.min_photos_for_outliers, 3)` valid non-duplicate photos gets
/// no statistical outlier verdicts (an invalid encoding is still left out,
/// unless it is the person's only photo).
///
/// Cost: O(n²) distance computations for `n` photos.
pub fn clean(photos: &[Photo], policy: &Policy) -> Vec<Option<Reason>> {
    let n = photos.len();
    let valid: Vec<bool> = photos.iter().map(|p| is_valid(&p.encoding)).collect();

    // 1. Duplicates: nearest earlier kept photo within the threshold.
    let dup_of = duplicates(photos, &valid, policy);
    let mut verdict: Vec<Option<Reason>> = dup_of
        .iter()
        .map(|d| d.map(|(of, distance)| Reason::Duplicate { of, distance }))
        .collect();

    // 2. Outliers among the valid, non-duplicate photos.
    let survivors = (0..n).filter(|&i| valid[i] && dup_of[i].is_none());
    let groups: BTreeMap<usize, Group> = by_label(photos, survivors)
        .into_iter()
        .map(|(label, members)| (label, Group::new(photos, members)))
        .collect();
    let centres: Vec<(usize, usize)> = groups
        .iter()
        .filter_map(|(&label, g)| g.medoid().map(|m| (label, g.members[m])))
        .collect();
    let mut stats: BTreeMap<usize, Stats> = BTreeMap::new();
    // Leave-one-out medoid each judged photo was compared with.
    let mut reference: Vec<Option<usize>> = vec![None; n];
    if policy.remove_outliers {
        for (v, ok) in verdict.iter_mut().zip(&valid) {
            if !ok {
                *v = Some(Reason::Outlier {
                    distance: f32::INFINITY,
                    closer_to: None,
                });
            }
        }
        let min_photos = policy.min_photos_for_outliers.max(3);
        for (&label, g) in &groups {
            if g.len() < min_photos {
                continue;
            }
            let (own, st) = own_distances(g, policy);
            for &(i, d_own, r) in &own {
                reference[i] = Some(r);
                verdict[i] = judge(
                    photos,
                    &photos[i].encoding,
                    label,
                    d_own,
                    st,
                    &centres,
                    policy.leave_out_closer_to_others,
                );
            }
            stats.insert(label, st);
        }
    }

    // 3. Duplicates whose original was left out.
    let judged = Judged {
        reference: &reference,
        centres: &centres,
        stats: &stats,
    };
    judge_duplicates_of_left_out(photos, policy, &dup_of, &judged, &mut verdict);

    // 4. Never leave a person without photos.
    keep_one_photo_each(photos, &valid, &dup_of, &mut verdict);
    verdict
}

/// What step 2 of [`clean`] measured, for judging the duplicates of left-out photos.
struct Judged<'a> {
    /// The leave-one-out medoid each judged photo was compared with.
    reference: &'a [Option<usize>],
    /// Each person's medoid photo.
    centres: &'a [(usize, usize)],
    /// Each judged person's distances.
    stats: &'a BTreeMap<usize, Stats>,
}

/// A duplicate of a left-out photo is left out too when it is filed under the same person
/// (with its own distance); under another person it is judged as that person's photo.
fn judge_duplicates_of_left_out(
    photos: &[Photo],
    policy: &Policy,
    dup_of: &[Option<(usize, f32)>],
    judged: &Judged<'_>,
    verdict: &mut [Option<Reason>],
) {
    for i in 0..photos.len() {
        let Some((j, _)) = dup_of[i] else { continue };
        let Some(Reason::Outlier {
            distance: d_j,
            closer_to,
        }) = verdict[j]
        else {
            continue;
        };
        let label = photos[i].label;
        verdict[i] = if label == photos[j].label {
            let distance = judged.reference[j]
                .map_or(d_j, |r| distance(&photos[i].encoding, &photos[r].encoding));
            Some(Reason::Outlier {
                distance,
                closer_to,
            })
        } else {
            let centre = judged.centres.iter().find(|c| c.0 == label).map(|c| c.1);
            match (judged.stats.get(&label), centre) {
                (Some(&st), Some(m)) => {
                    let d_own = distance(&photos[i].encoding, &photos[m].encoding);
                    judge(
                        photos,
                        &photos[i].encoding,
                        label,
                        d_own,
                        st,
                        judged.centres,
                        policy.leave_out_closer_to_others,
                    )
                }
                _ => None,
            }
        };
    }
}

/// Each photo's nearest earlier kept photo within the duplicate distance, and that distance.
fn duplicates(photos: &[Photo], valid: &[bool], policy: &Policy) -> Vec<Option<(usize, f32)>> {
    let n = photos.len();
    let mut dup_of: Vec<Option<(usize, f32)>> = vec![None; n];
    if policy.remove_duplicates {
        let mut kept: Vec<usize> = Vec::new();
        for i in (0..n).filter(|&i| valid[i]) {
            let mut best: Option<(usize, f32)> = None;
            for &j in &kept {
                let d = distance(&photos[i].encoding, &photos[j].encoding);
                if d < policy.duplicate_distance && best.is_none_or(|(_, b)| d < b) {
                    best = Some((j, d));
                }
            }
            match best {
                Some(found) => dup_of[i] = Some(found),
                None => kept.push(i),
            }
        }
    }
    dup_of
}

/// Each member's distance to the medoid of the group's other members (with that medoid), and
/// the group's median and outlier threshold over those distances.
fn own_distances(g: &Group, policy: &Policy) -> (Vec<(usize, f32, usize)>, Stats) {
    let mut own: Vec<(usize, f32, usize)> = Vec::with_capacity(g.len());
    for p in 0..g.len() {
        if let Some(r) = g.medoid_without(p) {
            own.push((g.members[p], g.d(p, r), g.members[r]));
        }
    }
    let mut values: Vec<f32> = own.iter().map(|o| o.1).collect();
    let med = median(&mut values);
    let mut deviations: Vec<f32> = own.iter().map(|o| (o.1 - med).abs()).collect();
    let mad = median(&mut deviations);
    // f32::max ignores NaN, so a NaN spread falls back to the floor.
    #[allow(clippy::manual_clamp)] // clamp would keep a NaN; max/min fall back to a bound
    let threshold = (med + policy.outlier_factor * MAD_TO_SIGMA * mad)
        .max(OUTLIER_DISTANCE_FLOOR)
        .min(OUTLIER_DISTANCE_CEILING);
    let st = Stats {
        median: med,
        threshold,
    };
    (own, st)
}

/// Gives back to each person left with no photo their most typical valid one (and marks its
/// duplicates as such again).
fn keep_one_photo_each(
    photos: &[Photo],
    valid: &[bool],
    dup_of: &[Option<(usize, f32)>],
    verdict: &mut [Option<Reason>],
) {
    for members in by_label(photos, 0..photos.len()).into_values() {
        if members.iter().any(|&i| verdict[i].is_none()) {
            continue;
        }
        let candidates: Vec<usize> = members.iter().copied().filter(|&i| valid[i]).collect();
        let restored = if candidates.is_empty() {
            members[0]
        } else {
            let g = Group::new(photos, candidates);
            g.medoid().map_or(members[0], |m| g.members[m])
        };
        verdict[restored] = None;
        for (v, d) in verdict.iter_mut().zip(dup_of) {
            if let (Some(_), Some((of, distance))) = (*v, *d)
                && of == restored
            {
                *v = Some(Reason::Duplicate { of, distance });
            }
        }
    }
}

pub use super::calibration::{
    MAX_BLUR_PENALTY, calibrate_blur_penalty, calibrate_unknown_distance,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64* PRNG, deterministic.
    struct Rng(u64);

    impl Rng {
        fn new(seed: u64) -> Self {
            Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }
        fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        /// Uniform in (0, 1).
        fn uniform(&mut self) -> f64 {
            ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }
        fn gauss(&mut self) -> f64 {
            let (u1, u2) = (self.uniform(), self.uniform());
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        }
        fn direction(&mut self) -> [f64; DIM] {
            let mut v = [0.0; DIM];
            v.iter_mut().for_each(|x| *x = self.gauss());
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            v
        }
    }

    /// Per-component noise: photo-to-photo distance ≈ 0.025·√256 = 0.4.
    const SIGMA: f64 = 0.025;
    /// Centre radius giving inter-person distances ≈ √(2r² + 0.16) ≈ 0.8.
    const SEPARATED: f64 = 0.49;
    /// Centre radius giving inter-person distances ≈ 0.5 (look-alikes).
    const LOOKALIKE: f64 = 0.21;
    /// Centre radius giving inter-person distances ≈ 0.6.
    const CLOSE: f64 = 0.3;

    /// A common offset so encodings are not centred on the origin.
    fn base() -> [f64; DIM] {
        let mut v = Rng::new(7).direction();
        v.iter_mut().for_each(|x| *x *= 0.8);
        v
    }

    fn centre(rng: &mut Rng, radius: f64) -> [f64; DIM] {
        let b = base();
        let mut c = rng.direction();
        c.iter_mut().zip(b).for_each(|(x, o)| *x = *x * radius + o);
        c
    }

    fn sample(rng: &mut Rng, c: &[f64; DIM]) -> Encoding {
        let mut e = [0.0f32; DIM];
        e.iter_mut()
            .zip(c)
            .for_each(|(x, m)| *x = (m + SIGMA * rng.gauss()) as f32);
        e
    }

    /// `e` moved by a random vector of norm `norm`.
    fn perturb(rng: &mut Rng, e: &Encoding, norm: f64) -> Encoding {
        let dir = rng.direction();
        let mut out = *e;
        out.iter_mut()
            .zip(dir)
            .for_each(|(x, d)| *x = (f64::from(*x) + d * norm) as f32);
        out
    }

    fn photo(label: usize, encoding: Encoding) -> Photo {
        Photo {
            label,
            encoding,
            source: format!("person{label}"),
        }
    }

    /// `persons` people with `per` photos each, grouped by label in order.
    fn dataset(
        seed: u64,
        persons: usize,
        per: usize,
        radius: f64,
    ) -> (Vec<Photo>, Vec<[f64; DIM]>) {
        let mut rng = Rng::new(seed);
        let centres: Vec<[f64; DIM]> = (0..persons).map(|_| centre(&mut rng, radius)).collect();
        let mut photos = Vec::new();
        for (label, c) in centres.iter().enumerate() {
            for _ in 0..per {
                photos.push(photo(label, sample(&mut rng, c)));
            }
        }
        (photos, centres)
    }

    fn removed(verdicts: &[Option<Reason>]) -> Vec<usize> {
        (0..verdicts.len())
            .filter(|&i| verdicts[i].is_some())
            .collect()
    }

    fn assert_not_emptied(photos: &[Photo], verdicts: &[Option<Reason>]) {
        let labels = by_label(photos, 0..photos.len());
        for (label, members) in labels {
            assert!(
                members.iter().any(|&i| verdicts[i].is_none()),
                "person {label} emptied"
            );
        }
    }

    /// Every Duplicate points to a kept photo.
    fn assert_duplicates_of_kept(verdicts: &[Option<Reason>]) {
        for v in verdicts {
            if let Some(Reason::Duplicate { of, .. }) = v {
                assert!(verdicts[*of].is_none(), "duplicate of removed photo {of}");
            }
        }
    }

    fn nearest_stats(photos: &[Photo]) -> (Vec<f32>, Vec<f32>) {
        let mut intra = Vec::new();
        let mut inter = Vec::new();
        for (i, p) in photos.iter().enumerate() {
            let mut same = f32::INFINITY;
            let mut other = f32::INFINITY;
            for (j, q) in photos.iter().enumerate() {
                if i == j {
                    continue;
                }
                let d = distance(&p.encoding, &q.encoding);
                if p.label == q.label {
                    same = same.min(d);
                } else {
                    other = other.min(d);
                }
            }
            intra.push(same);
            inter.push(other);
        }
        (intra, inter)
    }

    #[test]
    fn distance_basics() {
        let a = [0.0f32; DIM];
        let mut b = [0.0f32; DIM];
        b[0] = 3.0;
        b[1] = 4.0;
        assert_eq!(distance(&a, &b), 5.0);
        assert_eq!(distance(&b, &b), 0.0);
        b[2] = f32::NAN;
        assert!(distance(&a, &b).is_nan());
    }

    #[test]
    fn generator_has_realistic_spreads() {
        let (photos, _) = dataset(1, 4, 10, SEPARATED);
        let (mut intra_all, mut inter_all) = (Vec::new(), Vec::new());
        for (i, p) in photos.iter().enumerate() {
            for q in &photos[i + 1..] {
                let d = distance(&p.encoding, &q.encoding);
                if p.label == q.label {
                    intra_all.push(d);
                } else {
                    inter_all.push(d);
                }
            }
        }
        let intra = median(&mut intra_all);
        let inter = median(&mut inter_all);
        assert!((0.35..0.45).contains(&intra), "intra {intra}");
        assert!((0.7..0.9).contains(&inter), "inter {inter}");
        let (look, _) = dataset(2, 4, 10, LOOKALIKE);
        let mut d: Vec<f32> = (0..10)
            .flat_map(|i| (10..20).map(move |j| (i, j)))
            .map(|(i, j)| distance(&look[i].encoding, &look[j].encoding))
            .collect();
        let m = median(&mut d);
        assert!((0.45..0.55).contains(&m), "look-alike inter {m}");
    }

    #[test]
    fn clean_dataset_keeps_everything() {
        for seed in 1..4 {
            let (photos, _) = dataset(seed, 4, 12, SEPARATED);
            let v = clean(&photos, &Policy::default());
            assert!(removed(&v).is_empty(), "seed {seed}: {v:?}");
            let (photos, _) = dataset(seed, 4, 12, LOOKALIKE);
            let v = clean(&photos, &Policy::default());
            assert!(removed(&v).is_empty(), "look-alike seed {seed}: {v:?}");
        }
        assert!(clean(&[], &Policy::default()).is_empty());
    }

    #[test]
    fn other_members_in_folder_are_outliers_closer_to_them() {
        for (seed, radius) in [(10, SEPARATED), (11, SEPARATED), (12, CLOSE)] {
            let (mut photos, centres) = dataset(seed, 3, 12, radius);
            let mut rng = Rng::new(seed + 100);
            // Two photos of person 1 filed under person 0, among 0's photos.
            photos.insert(3, photo(0, sample(&mut rng, &centres[1])));
            photos.insert(8, photo(0, sample(&mut rng, &centres[1])));
            let v = clean(&photos, &Policy::default());
            assert_eq!(removed(&v), vec![3, 8], "seed {seed}: {v:?}");
            for i in [3, 8] {
                match v[i] {
                    Some(Reason::Outlier {
                        distance,
                        closer_to: Some(1),
                    }) => assert!(distance > 0.5, "{distance}"),
                    other => panic!("seed {seed}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn stranger_is_outlier_closer_to_nobody() {
        for seed in [20, 21, 22] {
            let (mut photos, _) = dataset(seed, 4, 10, SEPARATED);
            let mut rng = Rng::new(seed + 100);
            let stranger = centre(&mut rng, SEPARATED);
            photos.insert(5, photo(0, sample(&mut rng, &stranger)));
            let v = clean(&photos, &Policy::default());
            assert_eq!(removed(&v), vec![5], "seed {seed}: {v:?}");
            assert!(matches!(
                v[5],
                Some(Reason::Outlier {
                    closer_to: None,
                    distance
                }) if distance > 0.6
            ));
        }
    }

    #[test]
    fn near_copies_are_duplicates_of_the_original() {
        let (mut photos, _) = dataset(30, 3, 8, SEPARATED);
        let mut rng = Rng::new(130);
        let resized = perturb(&mut rng, &photos[2].encoding, 0.03);
        let mirrored = perturb(&mut rng, &photos[12].encoding, 0.1);
        photos.push(photo(0, resized));
        photos.push(photo(1, mirrored));
        photos.push(photo(1, photos[9].encoding)); // exact copy
        let v = clean(&photos, &Policy::default());
        assert_eq!(removed(&v), vec![24, 25, 26], "{v:?}");
        assert!(
            matches!(v[24], Some(Reason::Duplicate { of: 2, distance }) if (distance - 0.03).abs() < 1e-3)
        );
        assert!(
            matches!(v[25], Some(Reason::Duplicate { of: 12, distance }) if (distance - 0.1).abs() < 1e-3)
        );
        assert_eq!(
            v[26],
            Some(Reason::Duplicate {
                of: 9,
                distance: 0.0
            })
        );
        let off = Policy {
            remove_duplicates: false,
            ..Policy::default()
        };
        assert!(removed(&clean(&photos, &off)).is_empty());
    }

    #[test]
    fn identical_photos_keep_the_first() {
        let (mut photos, _) = dataset(31, 2, 5, SEPARATED);
        let e = photos[6].encoding;
        photos[7].encoding = e;
        photos[8].encoding = e;
        let v = clean(&photos, &Policy::default());
        assert_eq!(
            v[7],
            Some(Reason::Duplicate {
                of: 6,
                distance: 0.0
            })
        );
        assert_eq!(
            v[8],
            Some(Reason::Duplicate {
                of: 6,
                distance: 0.0
            })
        );
        assert_eq!(removed(&v), vec![7, 8]);
    }

    #[test]
    fn same_picture_under_two_people_is_a_cross_label_duplicate() {
        let (mut photos, _) = dataset(32, 3, 8, SEPARATED);
        let mut rng = Rng::new(132);
        // Person 0's photo 4 also filed under person 2.
        let copy = perturb(&mut rng, &photos[4].encoding, 0.02);
        photos.push(photo(2, copy));
        let v = clean(&photos, &Policy::default());
        assert_eq!(removed(&v), vec![24]);
        assert!(matches!(v[24], Some(Reason::Duplicate { of: 4, .. })));
    }

    #[test]
    fn duplicate_of_an_outlier_is_rejudged() {
        let (mut photos, centres) = dataset(33, 3, 10, SEPARATED);
        let mut rng = Rng::new(133);
        // A photo of person 1 wrongly filed under 0 first, then under 1.
        let x = sample(&mut rng, &centres[1]);
        photos.insert(4, photo(0, x));
        photos.push(photo(1, perturb(&mut rng, &x, 0.02)));
        // A stranger filed under person 2 twice (original + resized copy).
        let c = centre(&mut rng, SEPARATED);
        let s = sample(&mut rng, &c);
        photos.push(photo(2, s));
        photos.push(photo(2, perturb(&mut rng, &s, 0.02)));
        let v = clean(&photos, &Policy::default());
        assert!(
            matches!(
                v[4],
                Some(Reason::Outlier {
                    closer_to: Some(1),
                    ..
                })
            ),
            "{v:?}"
        );
        assert_eq!(v[31], None, "belongs to person 1: {v:?}");
        assert!(matches!(
            v[32],
            Some(Reason::Outlier {
                closer_to: None,
                ..
            })
        ));
        assert!(matches!(
            v[33],
            Some(Reason::Outlier {
                closer_to: None,
                ..
            })
        ));
        assert_eq!(removed(&v), vec![4, 32, 33]);
        assert_duplicates_of_kept(&v);
    }

    #[test]
    fn person_with_two_photos_gets_no_outlier_verdicts() {
        let (mut photos, _) = dataset(40, 3, 8, SEPARATED);
        let mut rng = Rng::new(140);
        let stranger = centre(&mut rng, SEPARATED);
        photos.push(photo(7, sample(&mut rng, &photos_centre(&photos, 0))));
        photos.push(photo(7, sample(&mut rng, &stranger)));
        let v = clean(&photos, &Policy::default());
        assert_eq!(v[24], None);
        assert_eq!(v[25], None);
        // A higher minimum disables outliers for person 0 too.
        let (mut photos, centres) = dataset(41, 2, 4, SEPARATED);
        photos.insert(1, photo(0, sample(&mut rng, &centres[1])));
        assert_eq!(removed(&clean(&photos, &Policy::default())), vec![1]);
        let strict = Policy {
            min_photos_for_outliers: 6,
            ..Policy::default()
        };
        assert!(removed(&clean(&photos, &strict)).is_empty());
        let off = Policy {
            remove_outliers: false,
            ..Policy::default()
        };
        assert!(removed(&clean(&photos, &off)).is_empty());
    }

    /// The centre of person `label`'s photos.
    fn photos_centre(photos: &[Photo], label: usize) -> [f64; DIM] {
        let members: Vec<&Photo> = photos.iter().filter(|p| p.label == label).collect();
        let mut c = [0.0; DIM];
        for p in &members {
            c.iter_mut()
                .zip(p.encoding)
                .for_each(|(x, e)| *x += f64::from(e) / members.len() as f64);
        }
        c
    }

    #[test]
    fn never_empties_a_person() {
        let (mut photos, _) = dataset(50, 2, 6, SEPARATED);
        let mut rng = Rng::new(150);
        // Person 5: only a copy of person 0's photo.
        photos.push(photo(5, perturb(&mut rng, &photos[1].encoding, 0.01)));
        // Person 6: three copies of one picture.
        let c = centre(&mut rng, SEPARATED);
        let e = sample(&mut rng, &c);
        for _ in 0..3 {
            photos.push(photo(6, perturb(&mut rng, &e, 0.01)));
        }
        // Person 8: only invalid encodings.
        photos.push(photo(8, [f32::NAN; DIM]));
        photos.push(photo(8, [f32::INFINITY; DIM]));
        let v = clean(&photos, &Policy::default());
        assert_not_emptied(&photos, &v);
        assert_duplicates_of_kept(&v);
        assert_eq!(v[12], None, "sole photo of person 5 restored");
        assert_eq!(v[13], None);
        assert!(matches!(v[14], Some(Reason::Duplicate { of: 13, .. })));
        assert!(matches!(v[15], Some(Reason::Duplicate { of: 13, .. })));
        assert_eq!(v[16], None, "first invalid photo kept");
        assert!(v[17].is_some());

        // A person consisting mostly of strangers: at least half survive.
        let mut rng = Rng::new(151);
        let mut photos = Vec::new();
        for _ in 0..6 {
            let c = centre(&mut rng, SEPARATED);
            photos.push(photo(0, sample(&mut rng, &c)));
        }
        let v = clean(&photos, &Policy::default());
        assert_not_emptied(&photos, &v);
    }

    #[test]
    fn nan_and_extreme_inputs_do_not_panic() {
        let (mut photos, _) = dataset(60, 2, 6, SEPARATED);
        photos[2].encoding[5] = f32::NAN;
        photos[8].encoding[0] = f32::NEG_INFINITY;
        let v = clean(&photos, &Policy::default());
        let invalid = Some(Reason::Outlier {
            distance: f32::INFINITY,
            closer_to: None,
        });
        assert_eq!(v[2], invalid);
        assert_eq!(v[8], invalid);
        assert_eq!(removed(&v), vec![2, 8]);
        // Huge finite values overflow f32 distances to infinity.
        photos[3].encoding = [f32::MAX; DIM];
        photos[4].encoding = [f32::MIN; DIM];
        let v = clean(&photos, &Policy::default());
        assert_not_emptied(&photos, &v);
        let _ = calibrate_unknown_distance(&photos);
        // Everything invalid.
        let all_nan: Vec<Photo> = (0..5).map(|i| photo(i % 2, [f32::NAN; DIM])).collect();
        let v = clean(&all_nan, &Policy::default());
        assert_not_emptied(&all_nan, &v);
        assert_eq!(
            calibrate_unknown_distance(&all_nan),
            DEFAULT_UNKNOWN_DISTANCE
        );
        // Nonsense policies.
        for policy in [
            Policy {
                duplicate_distance: f32::NAN,
                outlier_factor: f32::NAN,
                min_photos_for_outliers: 0,
                ..Policy::default()
            },
            Policy {
                duplicate_distance: f32::INFINITY,
                outlier_factor: f32::INFINITY,
                min_photos_for_outliers: usize::MAX,
                ..Policy::default()
            },
            Policy {
                duplicate_distance: -1.0,
                outlier_factor: -5.0,
                ..Policy::default()
            },
        ] {
            let v = clean(&photos, &policy);
            assert_eq!(v.len(), photos.len());
            assert_not_emptied(&photos, &v);
            assert_duplicates_of_kept(&v);
        }
    }

    #[test]
    fn deterministic() {
        let (mut photos, centres) = dataset(70, 4, 9, SEPARATED);
        let mut rng = Rng::new(170);
        photos.insert(2, photo(0, sample(&mut rng, &centres[3])));
        photos.push(photo(1, perturb(&mut rng, &photos[11].encoding, 0.05)));
        let a = clean(&photos, &Policy::default());
        let b = clean(&photos, &Policy::default());
        assert_eq!(a, b);
        assert_eq!(
            calibrate_unknown_distance(&photos),
            calibrate_unknown_distance(&photos)
        );
    }

    #[test]
    fn calibration_lies_between_spreads() {
        for seed in [80, 81] {
            let (photos, _) = dataset(seed, 5, 10, SEPARATED);
            let t = calibrate_unknown_distance(&photos);
            let (mut intra, mut inter) = nearest_stats(&photos);
            let intra_m = median(&mut intra);
            let inter_m = median(&mut inter);
            assert!(
                (MIN_UNKNOWN_DISTANCE..=MAX_UNKNOWN_DISTANCE).contains(&t),
                "{t}"
            );
            assert!(intra_m < t && t < inter_m, "{intra_m} < {t} < {inter_m}");
            assert!(t > 0.5, "well separated: {t}");

            let (look, _) = dataset(seed, 5, 10, LOOKALIKE);
            let tl = calibrate_unknown_distance(&look);
            let (mut intra, mut inter) = nearest_stats(&look);
            let (intra_m, inter_m) = (median(&mut intra), median(&mut inter));
            assert!(
                (MIN_UNKNOWN_DISTANCE..=MAX_UNKNOWN_DISTANCE).contains(&tl),
                "{tl}"
            );
            assert!(
                intra_m <= tl && tl <= inter_m,
                "{intra_m} <= {tl} <= {inter_m}"
            );
            assert!(tl < t - 0.05, "look-alike {tl} vs separated {t}");
        }
    }

    #[test]
    fn blurred_copies_that_look_alike_cost_a_penalty() {
        let (photos, _) = dataset(95, 5, 8, SEPARATED);
        // Blur erases what tells people apart: model it as every copy pulled halfway toward
        // the average face.
        let mut mean = [0.0f32; crate::encoding::ENCODING_DIM];
        for p in &photos {
            for (m, v) in mean.iter_mut().zip(&p.encoding) {
                *m += v / photos.len() as f32;
            }
        }
        let pulled: Vec<Option<Encoding>> = photos
            .iter()
            .map(|p| {
                let mut e = p.encoding;
                for (v, m) in e.iter_mut().zip(&mean) {
                    *v = 0.5 * (*v + m);
                }
                Some(e)
            })
            .collect();
        let sharp = calibrate_unknown_distance(&photos);
        let penalty = calibrate_blur_penalty(&photos, &pulled, sharp);
        assert!(penalty > 0.05 && penalty <= MAX_BLUR_PENALTY, "{penalty}");
        // Copies as distinct as the photos cost (almost) nothing.
        let same: Vec<Option<Encoding>> = photos.iter().map(|p| Some(p.encoding)).collect();
        assert!(calibrate_blur_penalty(&photos, &same, sharp) < 0.02);
        // No copies, or a mismatched list: no penalty.
        assert_eq!(
            calibrate_blur_penalty(&photos, &vec![None; photos.len()], sharp),
            0.0
        );
        assert_eq!(calibrate_blur_penalty(&photos, &pulled[1..], sharp), 0.0);
        assert_eq!(
            calibrate_blur_penalty(&[], &[], DEFAULT_UNKNOWN_DISTANCE),
            0.0
        );
    }

    #[test]
    fn calibration_defaults_and_edge_cases() {
        assert_eq!(calibrate_unknown_distance(&[]), DEFAULT_UNKNOWN_DISTANCE);
        // One photo per person: no own spread.
        let (photos, _) = dataset(90, 4, 1, SEPARATED);
        assert_eq!(
            calibrate_unknown_distance(&photos),
            DEFAULT_UNKNOWN_DISTANCE
        );
        // One person only: between its spread and 0.6.
        let (photos, _) = dataset(91, 1, 10, SEPARATED);
        let t = calibrate_unknown_distance(&photos);
        assert!((0.45..=0.5).contains(&t), "{t}");
        // Duplicates don't shrink the own spread.
        let mut rng = Rng::new(92);
        let (mut photos, _) = dataset(92, 3, 6, SEPARATED);
        let before = calibrate_unknown_distance(&photos);
        for i in 0..18 {
            let copy = perturb(&mut rng, &photos[i].encoding, 0.02);
            photos.push(photo(photos[i].label, copy));
        }
        assert!((calibrate_unknown_distance(&photos) - before).abs() < 0.03);
    }
}
