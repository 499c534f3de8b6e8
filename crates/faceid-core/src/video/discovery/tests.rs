use super::grouping::{
    GroupingConfig, LINK_SHARE, TrackSummary, average_linkage, group, link_distance,
};
use crate::encoding::Encoding;
use crate::encoding::distance;
use crate::test_support::person_photo;

fn track(encodings: &[Encoding], first: u64, last: u64) -> TrackSummary<'_> {
    TrackSummary {
        encodings,
        first_frame: first,
        last_frame: last,
        frames_shown: last - first + 1,
        name: None,
    }
}

#[test]
fn tracks_of_one_person_in_different_shots_are_one_group() {
    let a: Vec<Encoding> = (0..4).map(|s| person_photo(s as f32, 1)).collect();
    let b: Vec<Encoding> = (4..8).map(|s| person_photo(s as f32, 1)).collect();
    let c: Vec<Encoding> = (0..4).map(|s| person_photo(s as f32, 2)).collect();
    let tracks = [track(&a, 0, 50), track(&c, 60, 100), track(&b, 120, 200)];
    let g = group(&tracks, &GroupingConfig::default());
    assert_eq!(g.people, vec![vec![0, 2], vec![1]]);
}

#[test]
fn two_tracks_on_screen_together_are_never_one_person() {
    let a: Vec<Encoding> = (0..4).map(|s| person_photo(s as f32, 1)).collect();
    let b: Vec<Encoding> = (4..8).map(|s| person_photo(s as f32, 1)).collect();
    // Same look, same time: two people (twins, or the detector split one face).
    let tracks = [track(&a, 0, 50), track(&b, 30, 80)];
    let g = group(&tracks, &GroupingConfig::default());
    assert_eq!(g.people.len(), 2);
}

#[test]
fn a_cannot_link_holds_for_the_merged_group_too() {
    // 0 and 2 look alike, 1 is between them; 0 and 1 co-occur: 2 may join 0 or 1, never both.
    let points = [
        person_photo(0.0, 1),
        person_photo(1.0, 1),
        person_photo(2.0, 1),
    ];
    let cannot = |a: usize, b: usize| (a.min(b), a.max(b)) == (0, 1);
    let clusters = average_linkage(&points, &cannot, 10.0);
    assert_eq!(clusters.len(), 2);
    assert!(!clusters.iter().any(|c| c.contains(&0) && c.contains(&1)));
}

#[test]
fn short_and_unencoded_tracks_are_left_out() {
    let a: Vec<Encoding> = (0..4).map(|s| person_photo(s as f32, 1)).collect();
    let tracks = [track(&a, 0, 3), track(&[], 10, 90), track(&a, 100, 200)];
    let g = group(&tracks, &GroupingConfig::default());
    assert_eq!(g.people, vec![vec![2]]);
    assert_eq!(g.left_out, vec![0, 1]);
}

#[test]
fn named_tracks_go_to_their_person_and_the_rest_are_clustered() {
    let a: Vec<Encoding> = (0..4).map(|s| person_photo(s as f32, 1)).collect();
    let c: Vec<Encoding> = (0..4).map(|s| person_photo(s as f32, 2)).collect();
    let mut tracks = [track(&c, 0, 50), track(&a, 60, 100), track(&a, 120, 200)];
    tracks[1].name = Some("jin");
    tracks[2].name = Some("jin");
    let g = group(&tracks, &GroupingConfig::default());
    assert_eq!(g.people, vec![vec![1, 2], vec![0]]);
}

#[test]
fn no_tracks_no_people() {
    let g = group(&[], &GroupingConfig::default());
    assert!(g.people.is_empty() && g.left_out.is_empty());
}

#[test]
fn the_link_distance_follows_how_close_faces_on_screen_together_come() {
    // Four people, all on screen together: everyone different, then two of them alike.
    let varied = [1, 2, 3, 4].map(|axis| person_photo(0.0, axis));
    let mut alike = varied;
    alike[1] = person_photo(0.0, 1);
    alike[1][2] += 0.2;
    let (link_varied, pairs) = link_distance(&varied, &|_, _| true, 0.5);
    assert_eq!((link_varied, pairs), (0.5, 6));
    let (link_alike, _) = link_distance(&alike, &|_, _| true, 0.5);
    assert!(link_alike < 0.5, "{link_alike}");
    assert!(link_alike > LINK_SHARE * distance(&alike[0], &alike[1]) - 1e-6);
    // Too few pairs on screen together to tell: the maximum.
    let (link, pairs) = link_distance(&alike, &|a, b| (a, b) == (1, 0), 0.5);
    assert_eq!((link, pairs), (0.5, 1));
}

#[test]
fn look_alikes_on_screen_together_keep_apart_from_each_others_other_tracks() {
    // a1 and b1 are on screen together at 0.2 apart (< 0.5): the video says different people
    // come that close, so a2 (0.15 from a1, but also 0.2 from b1) must not be merged on a
    // fixed 0.5 alone.
    let a: Vec<Encoding> = vec![person_photo(0.0, 1)];
    let mut bv = person_photo(0.0, 1);
    bv[5] += 0.2;
    let b: Vec<Encoding> = vec![bv];
    let mut a2v = person_photo(0.0, 1);
    a2v[5] -= 0.1;
    a2v[6] += 0.1;
    let a2: Vec<Encoding> = vec![a2v];
    let tracks = [
        track(&a, 0, 50),
        track(&b, 0, 50),
        track(&a2, 100, 150),
        track(&b, 100, 150),
        track(&a, 200, 250),
        track(&b, 200, 250),
    ];
    let g = group(&tracks, &GroupingConfig::default());
    assert!(g.link_distance < 0.2, "{}", g.link_distance);
}

mod crops {
    use crate::frame::{FrameRef, PixelLayout};
    use crate::geometry::FaceBox;
    use crate::video::discovery::crops::{CANDIDATES_PER_TRACK, Candidates, Crop, sharpness};

    /// A 200x100 RGB frame: a checkerboard of 2-pixel squares (sharp) on the left half, flat
    /// grey on the right.
    fn frame_pixels() -> Vec<u8> {
        let mut data = Vec::new();
        for y in 0..100 {
            for x in 0..200 {
                let v = if x < 100 {
                    if (x / 2 + y / 2) % 2 == 0 { 30 } else { 220 }
                } else {
                    128
                };
                data.extend_from_slice(&[v, v, v]);
            }
        }
        data
    }

    fn crop_at(frame: u64, quality: f32) -> Crop {
        Crop {
            frame,
            face: FaceBox::new(0, 0, 10, 10),
            width: 1,
            height: 1,
            rgb: vec![0; 3],
            quality,
            encoding: [0.0; 128],
        }
    }

    #[test]
    fn a_crop_has_margin_around_the_face_and_stops_at_the_frame_edge() {
        let data = frame_pixels();
        let frame = FrameRef::new(&data, 200, 100, 600, PixelLayout::Rgb).unwrap();
        let inside = Crop::cut(&frame, 7, FaceBox::new(40, 30, 20, 20), [0.0; 128]).unwrap();
        assert_eq!((inside.width, inside.height), (40, 40));
        assert_eq!(inside.rgb.len(), 40 * 40 * 3);
        assert_eq!(inside.frame, 7);
        let edge = Crop::cut(&frame, 7, FaceBox::new(-10, 80, 30, 30), [0.0; 128]).unwrap();
        assert_eq!((edge.width, edge.height), (35, 35));
        assert!(
            edge.quality < inside.quality,
            "a face cut by the edge is a worse crop"
        );
        assert!(Crop::cut(&frame, 7, FaceBox::new(300, 10, 20, 20), [0.0; 128]).is_none());
    }

    #[test]
    fn a_detailed_face_is_sharper_than_a_flat_one() {
        let data = frame_pixels();
        let frame = FrameRef::new(&data, 200, 100, 600, PixelLayout::Rgb).unwrap();
        let sharp = sharpness(&frame, &FaceBox::new(10, 10, 60, 60));
        let flat = sharpness(&frame, &FaceBox::new(120, 10, 60, 60));
        assert!(sharp > 1.0 && flat == 0.0, "{sharp} {flat}");
    }

    #[test]
    fn the_best_crops_are_kept_and_chosen_apart_in_time() {
        let mut c = Candidates::default();
        for i in 0..30u64 {
            c.offer(crop_at(i * 3, i as f32));
        }
        c.offer(crop_at(500, f32::NAN));
        assert_eq!(c.len(), CANDIDATES_PER_TRACK);
        let chosen = c.choose(4);
        let frames: Vec<u64> = chosen.iter().map(|c| c.frame).collect();
        // The 12 best are frames 54-87, 3 apart: best first, then the best at least 10 frames
        // from those chosen; 54 is 9 from 63.
        assert_eq!(frames, vec![87, 75, 63]);
    }
}
