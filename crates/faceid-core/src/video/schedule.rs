//! Which kind of detection round each frame gets: plain counting, no faces or pixels, so it is
//! tested on its own. The analyzer asks once per frame and does what the answer says.
//!
//! - **Full**: the full-frame detector, which finds new faces: on the first frame, at every
//!   hard cut, and every `full_interval` frames. Periodic full rounds between cuts skip the
//!   upsampled search for small faces except every [`SMALL_FACE_SEARCH_EVERY`]th time (and the
//!   first one after a cut, since a shot often opens on a blurred pan or a face fading in).
//! - **Local**: look for the followed faces again near where they are expected, every
//!   `local_interval` frames, when there is something to follow.
//! - **Predict**: move the tracks by their motion only.
//!
//! In the live mode the full detector runs on a worker thread, one job at a time: a full
//! round that falls due while the worker is busy is *owed* and given on the first frame the
//! worker is free again (thorough if a cut was among the frames it waited for); the frames in
//! between get local rounds as usual.

/// Periodic full-frame detections (between cuts) look for new faces at the frame's own size
/// (faces from 80 px, a quarter of the work), and only every this many times also upsampled
/// for small faces.
pub const SMALL_FACE_SEARCH_EVERY: u32 = 3;

/// What a frame gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// Move the tracks by prediction only.
    Predict,
    /// Detect near the followed faces.
    Local,
    /// Detect in the whole frame; `small_faces`: with the upsampled search for small faces.
    Full { small_faces: bool },
}

/// What the schedule is told about a frame.
#[derive(Clone, Copy, Debug, Default)]
pub struct Frame {
    /// The frame starts a new shot.
    pub cut: bool,
    /// There are faces to look for locally.
    pub following: bool,
    /// A full detection can start now.
    pub full_possible: bool,
    /// A full search of an earlier frame has come back from the worker.
    pub search_arrived: bool,
}

/// The round counter.
#[derive(Clone, Debug)]
pub struct Schedule {
    local_interval: u32,
    full_interval: u32,
    frames: u64,
    since_detection: u32,
    since_full: u32,
    periodic_full: u32,
    /// A full round fell due while the worker was busy.
    full_owed: bool,
    /// ... and one of the frames it waited for was a cut (or the first frame).
    owed_thorough: bool,
}

impl Schedule {
    /// Local rounds every `local_interval` frames, full ones every `full_interval` (both at
    /// least 1).
    pub fn new(local_interval: u32, full_interval: u32) -> Schedule {
        Schedule {
            local_interval: local_interval.max(1),
            full_interval: full_interval.max(1),
            frames: 0,
            since_detection: 0,
            since_full: 0,
            periodic_full: 0,
            full_owed: false,
            owed_thorough: false,
        }
    }

    /// New intervals, keeping the count.
    pub fn set_intervals(&mut self, local_interval: u32, full_interval: u32) {
        self.local_interval = local_interval.max(1);
        self.full_interval = full_interval.max(1);
    }

    /// Starts over: the next frame is a first frame.
    pub fn reset(&mut self) {
        *self = Schedule::new(self.local_interval, self.full_interval);
    }

    /// Frames counted since the start (or the last reset).
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The round of the next frame. `cut`: the frame starts a new shot; `following`: there are
    /// faces to look for locally; `full_possible`: a full detection can start now (always in
    /// the synchronous mode; in the live mode when the worker is free).
    pub fn next(&mut self, cut: bool, following: bool, full_possible: bool) -> Round {
        self.next_with(Frame {
            cut,
            following,
            full_possible,
            search_arrived: false,
        })
    }

    /// [`Self::next`] with everything the live mode knows: a worker's full search that arrived
    /// is taken in at once, by a local round (its faces are found again where they are now).
    pub fn next_with(&mut self, frame: Frame) -> Round {
        let Frame {
            cut,
            following,
            full_possible,
            search_arrived,
        } = frame;
        self.frames += 1;
        let fresh = cut || self.frames == 1;
        let due = fresh || self.full_owed || self.since_full + 1 >= self.full_interval;
        if due && full_possible {
            let thorough = fresh || self.owed_thorough;
            self.full_owed = false;
            self.owed_thorough = false;
            self.since_detection = 0;
            self.since_full = 0;
            let small_faces = if thorough {
                self.periodic_full = 0;
                true
            } else {
                self.periodic_full += 1;
                let n = self.periodic_full;
                n <= 1 || n.is_multiple_of(SMALL_FACE_SEARCH_EVERY)
            };
            return Round::Full { small_faces };
        }
        if due {
            self.full_owed = true;
            self.owed_thorough |= fresh;
        }
        self.since_full = self.since_full.saturating_add(1);
        if search_arrived || (following && self.since_detection + 1 >= self.local_interval) {
            self.since_detection = 0;
            Round::Local
        } else {
            self.since_detection = self.since_detection.saturating_add(1);
            Round::Predict
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rounds(s: &mut Schedule, n: usize, following: bool) -> Vec<Round> {
        (0..n).map(|_| s.next(false, following, true)).collect()
    }

    const FULL: Round = Round::Full { small_faces: true };
    const FULL_QUICK: Round = Round::Full { small_faces: false };
    use Round::{Local as L, Predict as P};

    #[test]
    fn the_first_frame_gets_the_thorough_full_detection() {
        let mut s = Schedule::new(3, 15);
        assert_eq!(s.next(false, false, true), FULL);
        assert_eq!(s.frames(), 1);
    }

    #[test]
    fn faces_followed_are_looked_for_locally_every_interval_and_full_rounds_every_fifteen() {
        let mut s = Schedule::new(3, 15);
        let got = rounds(&mut s, 16, true);
        assert_eq!(
            got,
            vec![FULL, P, P, L, P, P, L, P, P, L, P, P, L, P, P, FULL]
        );
    }

    #[test]
    fn with_nothing_to_follow_frames_are_only_predicted_between_full_rounds() {
        let mut s = Schedule::new(3, 5);
        assert_eq!(rounds(&mut s, 6, false), vec![FULL, P, P, P, P, FULL]);
    }

    #[test]
    fn only_every_third_periodic_full_round_searches_for_small_faces() {
        let mut s = Schedule::new(1, 2);
        let fulls: Vec<Round> = rounds(&mut s, 14, true)
            .into_iter()
            .filter(|r| matches!(r, Round::Full { .. }))
            .collect();
        // First frame, then periodic 1 (thorough), 2, 3 (small), 4, 5, 6 (small).
        assert_eq!(
            fulls,
            vec![FULL, FULL, FULL_QUICK, FULL, FULL_QUICK, FULL_QUICK, FULL]
        );
    }

    #[test]
    fn a_cut_gets_a_thorough_full_round_at_once_and_restarts_the_count() {
        let mut s = Schedule::new(3, 15);
        rounds(&mut s, 7, true);
        assert_eq!(s.next(true, true, true), FULL);
        assert_eq!(rounds(&mut s, 3, true), vec![P, P, L]);
        // The next periodic full round is 15 frames after the cut, and thorough (the first).
        assert_eq!(rounds(&mut s, 12, true).last(), Some(&FULL));
    }

    #[test]
    fn a_busy_worker_holds_up_no_local_round_and_owes_nothing_before_a_round_is_due() {
        let mut s = Schedule::new(3, 15);
        assert_eq!(s.next(false, true, true), FULL);
        let busy: Vec<Round> = (0..5).map(|_| s.next(false, true, false)).collect();
        assert_eq!(busy, vec![P, P, L, P, P]);
        assert_eq!(
            rounds(&mut s, 10, true),
            vec![L, P, P, L, P, P, L, P, P, FULL]
        );
    }

    #[test]
    fn a_cut_while_the_worker_is_busy_is_searched_thoroughly_when_it_is_free() {
        let mut s = Schedule::new(3, 15);
        s.next(false, false, true);
        assert_eq!(s.next(true, false, false), P);
        assert_eq!(s.next(false, false, false), P);
        assert_eq!(s.next(false, false, true), FULL);
        // Served: the next frame is an ordinary one.
        assert_eq!(s.next(false, false, true), P);
    }

    #[test]
    fn an_owed_full_round_is_given_on_the_first_free_frame() {
        let mut s = Schedule::new(3, 4);
        s.next(false, true, true);
        let busy: Vec<Round> = (0..5).map(|_| s.next(false, true, false)).collect();
        // Due on the 4th frame, owed from then on, and local rounds go on.
        assert_eq!(busy, vec![P, P, L, P, P]);
        assert_eq!(s.next(false, true, true), Round::Full { small_faces: true });
    }

    #[test]
    fn a_search_back_from_the_worker_is_taken_in_on_the_next_frame() {
        let mut s = Schedule::new(3, 15);
        s.next(false, false, true);
        let arrived = Frame {
            search_arrived: true,
            ..Frame::default()
        };
        assert_eq!(s.next_with(arrived), L);
        assert_eq!(rounds(&mut s, 3, true), vec![P, P, L]);
    }

    #[test]
    fn reset_starts_over_with_a_first_frame() {
        let mut s = Schedule::new(3, 15);
        rounds(&mut s, 5, true);
        s.reset();
        assert_eq!(s.frames(), 0);
        assert_eq!(s.next(false, true, true), FULL);
    }
}
