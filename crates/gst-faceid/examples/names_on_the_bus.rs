//! Builds a pipeline with `faceidoverlay` and reads its `faceid` messages: who is on screen,
//! frame by frame. An application can do anything with them (a chat overlay, a log, stats).
//!
//!     cargo run --example names_on_the_bus -- VIDEO MODEL
//!
//! (VIDEO: any file GStreamer plays; MODEL: from `faceid train` or faceidtrain.)

use gst::prelude::*;
use gstfaceid::meta::FrameFaces;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(video), Some(model)) = (args.next(), args.next()) else {
        eprintln!("usage: names_on_the_bus VIDEO MODEL");
        std::process::exit(2);
    };
    gst::init()?;
    // The plugin is linked in: no GST_PLUGIN_PATH needed.
    gstfaceid::plugin_register_static()?;

    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("filesrc")
        .property("location", &video)
        .build()?;
    let decode = gst::ElementFactory::make("decodebin").build()?;
    let convert = gst::ElementFactory::make("videoconvert").build()?;
    let overlay = gst::ElementFactory::make("faceidoverlay")
        .property("model", &model)
        .property("draw-labels", false)
        .build()?;
    let sink = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .build()?;
    pipeline.add_many([&src, &decode, &convert, &overlay, &sink])?;
    src.link(&decode)?;
    gst::Element::link_many([&convert, &overlay, &sink])?;
    let convert_weak = convert.downgrade();
    decode.connect_pad_added(move |_, pad| {
        if let Some(convert) = convert_weak.upgrade()
            && let Some(sink_pad) = convert.static_pad("sink")
            && !sink_pad.is_linked()
            && pad.current_caps().is_some_and(|c| {
                c.structure(0)
                    .is_some_and(|s| s.name().starts_with("video/"))
            })
        {
            let _ = pad.link(&sink_pad);
        }
    });

    pipeline.set_state(gst::State::Playing)?;
    let bus = pipeline.bus().ok_or("no bus")?;
    for msg in bus.iter_timed(gst::ClockTime::NONE) {
        match msg.view() {
            gst::MessageView::Element(_) => {
                // The typed face result: no field names to spell (gstfaceid::meta).
                let Some(frame) = FrameFaces::from_message(&msg) else {
                    continue;
                };
                let names: Vec<String> = frame
                    .faces
                    .iter()
                    .map(|f| {
                        let track = f.track.map_or("-".to_string(), |t| t.to_string());
                        format!(
                            "{} ({:.2}, track {track})",
                            f.name().unwrap_or("unknown"),
                            f.confidence
                        )
                    })
                    .collect();
                if !names.is_empty() {
                    println!("frame {}: {}", frame.frame, names.join(", "));
                }
            }
            gst::MessageView::Error(e) => {
                pipeline.set_state(gst::State::Null)?;
                return Err(format!("{}", e.error()).into());
            }
            gst::MessageView::Eos(_) => break,
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null)?;
    Ok(())
}
