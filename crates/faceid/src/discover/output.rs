//! What `faceid discover` writes: a folder of JPEG face crops per person, `index.jsonl` (one
//! line per crop written) and `contact-sheet.jpg`. Nothing already in the output folder is
//! overwritten except those two files (each written to a temporary name and renamed): new
//! `person-NN` folders are numbered after the ones there, and a crop whose file name is taken
//! gets another.

use std::io::Write;
use std::path::{Path, PathBuf};

use faceid_core::face_result::CropLine;
use faceid_core::model::write_atomically;
use faceid_core::video::discovery::{Collector, Person};
use gst::prelude::*;
use gstfaceid::draw::DrawStyle;
use gstfaceid::draw::contact_sheet::{self, Picture, Row};

use crate::people_folders::{UNNAMED_PREFIX, is_unnamed};
use crate::pipeline::{bus_error, make};

/// Crops shown per row of the contact sheet.
const SHEET_PER_ROW: usize = 6;

/// JPEG quality of crops and the sheet.
const JPEG_QUALITY: i32 = 92;

/// The output folder.
pub struct OutputDir {
    dir: PathBuf,
    /// The highest `person-NN` number already there.
    last_number: u32,
}

/// A folder written.
pub struct Folder {
    pub name: String,
    pub crops_written: usize,
}

impl OutputDir {
    /// Creates the folder (and its parents) if needed.
    pub fn prepare(dir: &Path) -> Result<OutputDir, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the output folder {}: {e}", dir.display()))?;
        let last_number = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                is_unnamed(&name)
                    .then(|| name[UNNAMED_PREFIX.len()..].parse::<u32>().ok())
                    .flatten()
            })
            .max()
            .unwrap_or(0);
        Ok(OutputDir {
            dir: dir.to_path_buf(),
            last_number,
        })
    }

    /// Writes every person's crops, the index and the contact sheet; returns the folders in
    /// `people` order.
    pub fn write(&self, people: &[Person], fps: f64) -> Result<Vec<Folder>, String> {
        let mut next = self.last_number;
        let mut folders = Vec::new();
        let mut index = String::new();
        let mut rows = Vec::new();
        for person in people {
            let name = match &person.name {
                Some(n) => folder_name(n),
                None => {
                    next += 1;
                    format!("{UNNAMED_PREFIX}{next:02}")
                }
            };
            let folder = self.dir.join(&name);
            std::fs::create_dir_all(&folder)
                .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
            let mut written = 0;
            for crop in &person.crops {
                let jpeg = encode_jpeg(
                    &crop.rgb,
                    crop.width,
                    crop.height,
                    crop.width * 3,
                    gst_video::VideoFormat::Rgb,
                )?;
                let Some(file) = free_name(&folder, crop.frame) else {
                    continue;
                };
                write_new(&folder.join(&file), &jpeg)?;
                written += 1;
                let line = CropLine {
                    rect: crop.face,
                    file: format!("{name}/{file}"),
                    frame: crop.frame,
                    person: name.clone(),
                };
                index.push_str(&line.to_json());
                index.push('\n');
            }
            rows.push(sheet_row(person, &name, fps));
            folders.push(Folder {
                name,
                crops_written: written,
            });
        }
        let index_path = self.dir.join("index.jsonl");
        write_atomically(&index_path, index.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", index_path.display()))?;
        let sheet = contact_sheet::draw(&rows, SHEET_PER_ROW, &DrawStyle::default())
            .map_err(|e| format!("cannot draw the contact sheet: {e}"))?;
        let jpeg = encode_jpeg(
            &sheet.bgrx,
            sheet.width,
            sheet.height,
            sheet.stride,
            gst_video::VideoFormat::Bgrx,
        )?;
        let sheet_path = self.dir.join("contact-sheet.jpg");
        write_atomically(&sheet_path, &jpeg)
            .map_err(|e| format!("cannot write {}: {e}", sheet_path.display()))?;
        Ok(folders)
    }
}

/// A person's name as a folder name: path separators and a leading dot replaced.
fn folder_name(name: &str) -> String {
    let mut n: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if n.starts_with('.') || n.is_empty() {
        n.insert(0, '_');
    }
    n
}

/// A person's row of the contact sheet: the folder's name, how long they are on screen, their
/// best crops.
fn sheet_row<'a>(person: &'a Person, name: &str, fps: f64) -> Row<'a> {
    let mut best: Vec<_> = person.crops.iter().collect();
    best.sort_by(|a, b| b.quality.total_cmp(&a.quality));
    Row {
        name: name.to_string(),
        detail: format!(
            "{} {}, {:.1} s",
            person.tracks.len(),
            if person.tracks.len() == 1 {
                "track"
            } else {
                "tracks"
            },
            person.frames_shown as f64 / fps.max(1e-9)
        ),
        pictures: best
            .iter()
            .take(SHEET_PER_ROW)
            .map(|c| Picture {
                rgb: &c.rgb,
                width: c.width,
                height: c.height,
            })
            .collect(),
    }
}

/// `000123.jpg` for frame 123, or `000123-2.jpg`, ... when taken; `None` after 99 tries.
fn free_name(folder: &Path, frame: u64) -> Option<String> {
    (1..100).find_map(|k| {
        let name = if k == 1 {
            format!("{frame:06}.jpg")
        } else {
            format!("{frame:06}-{k}.jpg")
        };
        (!folder.join(&name).exists()).then_some(name)
    })
}

/// Writes a new file (temporary name, then renamed): a crop of a run cut short is never half a
/// JPEG.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_atomically(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `pixels` (rows of `stride` bytes in `format`) as a JPEG file's bytes, through GStreamer's
/// `jpegenc`.
pub fn encode_jpeg(
    pixels: &[u8],
    width: usize,
    height: usize,
    stride: usize,
    format: gst_video::VideoFormat,
) -> Result<Vec<u8>, String> {
    let info = gst_video::VideoInfo::builder(format, width as u32, height as u32)
        .fps(gst::Fraction::new(0, 1))
        .build()
        .map_err(|e| format!("a {width}x{height} picture: {e}"))?;
    let row = width * info.format_info().pixel_stride()[0] as usize;
    if stride < row || pixels.len() < stride * height.saturating_sub(1) + row {
        return Err(format!("a {width}x{height} picture with too few pixels"));
    }
    let gst_stride = info.stride()[0] as usize;
    let mut data = vec![0u8; info.size()];
    for y in 0..height {
        data[y * gst_stride..y * gst_stride + row]
            .copy_from_slice(&pixels[y * stride..y * stride + row]);
    }
    let caps = info.to_caps().map_err(|e| e.to_string())?;
    let pipeline = gst::Pipeline::new();
    let src = gst_app::AppSrc::builder()
        .caps(&caps)
        .format(gst::Format::Time)
        .build();
    let convert = make("videoconvert")?;
    let encode = gst::ElementFactory::make("jpegenc")
        .property("quality", JPEG_QUALITY)
        .build()
        .map_err(|_| "GStreamer element jpegenc is missing: install gstreamer1.0-plugins-good")?;
    let sink = gst_app::AppSink::builder().sync(false).build();
    pipeline
        .add_many([src.upcast_ref(), &convert, &encode, sink.upcast_ref()])
        .map_err(|e| e.to_string())?;
    gst::Element::link_many([src.upcast_ref(), &convert, &encode, sink.upcast_ref()])
        .map_err(|e| e.to_string())?;
    let result = (|| {
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|_| "cannot start the JPEG encoder".to_string())?;
        let mut buffer = gst::Buffer::from_mut_slice(data);
        buffer
            .get_mut()
            .ok_or("buffer")?
            .set_pts(gst::ClockTime::ZERO);
        src.push_buffer(buffer)
            .map_err(|e| format!("JPEG encoder: {e}"))?;
        let _ = src.end_of_stream();
        let sample = sink
            .try_pull_sample(gst::ClockTime::from_seconds(10))
            .ok_or_else(|| {
                let bus = pipeline.bus();
                bus.and_then(|b| bus_error(&b, gst::ClockTime::ZERO))
                    .map_or_else(
                        || "the JPEG encoder gave nothing".to_string(),
                        |e| format!("JPEG encoder: {e}"),
                    )
            })?;
        let buffer = sample.buffer().ok_or("JPEG encoder: an empty sample")?;
        let map = buffer.map_readable().map_err(|e| e.to_string())?;
        Ok(map.as_slice().to_vec())
    })();
    let _ = pipeline.set_state(gst::State::Null);
    result
}

/// The tracks as JSON lines (`id`, `first`, `last`, `frames`, `names`, `encodings`), for
/// analysis of the grouping.
pub fn dump_tracks(path: &Path, collector: &Collector) -> Result<(), String> {
    let mut out = Vec::new();
    for t in collector.tracks() {
        let line = serde_json::json!({
            "id": t.id,
            "first": t.first_frame,
            "last": t.last_frame,
            "frames": t.frames_shown,
            "names": t.names,
            "encodings": t.encodings.iter().map(|e| e.to_vec()).collect::<Vec<_>>(),
            "encoded_at": t.encoded_at.iter().map(|(f, b)| serde_json::json!([f, b.x, b.y, b.width, b.height])).collect::<Vec<_>>(),
        });
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    write_atomically(path, &out).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
