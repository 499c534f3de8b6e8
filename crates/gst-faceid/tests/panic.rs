//! A panic inside element code must reach the application as a GStreamer error message, not
//! take the host process down. Its own test binary: it sets an environment variable.

mod common;

use common::*;
use gst::prelude::*;

#[test]
fn a_panic_in_the_overlay_becomes_an_error_message() {
    // SAFETY: set before GStreamer starts any thread, in a test binary with this one test.
    unsafe { std::env::set_var("FACEID_TEST_PANIC", "faceidoverlay") };
    init();
    let pipeline = launch(&format!(
        "videotestsrc num-buffers=3 ! video/x-raw,format=BGRx,width=64,height=64 ! faceidoverlay model=\"{}\" ! fakesink",
        bbt_model().display()
    ));
    let result = run(&pipeline);
    let text = result.error_text();
    assert!(text.to_lowercase().contains("panic"), "{text}");
    // Still here, and GStreamer still works.
    let again = gst::parse::launch("videotestsrc num-buffers=1 ! fakesink").unwrap();
    let again = again.downcast::<gst::Pipeline>().unwrap();
    assert!(run(&again).error.is_none());
}
