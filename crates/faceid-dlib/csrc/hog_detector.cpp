// dlib's frontal HOG face detector with its detection scores and an adjustable threshold.
//
// dlib-face-recognition only exposes `detector(img)`: threshold 0, rectangles without scores.
// This shim calls `detector(img, dets, adjust_threshold)` and hands back each detection's
// `detection_confidence` (the SVM margin: > 0 is an ordinary dlib detection). Plain C API;
// every entry point catches all C++ exceptions, so none ever unwinds into Rust.

#include <cstddef>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/matrix.h>
#include <dlib/pixel.h>

extern "C" {

// Keep in sync with `HogDetection` in src/hog.rs.
struct faceid_hog_detection {
    long left;
    long top;
    long right;
    long bottom;
    double score;
};

// get_frontal_face_detector() decodes the detector from text compiled into dlib, about 250 ms
// on the 2-core test machine; deserializing the decoded bytes takes 2-4 ms, and a copy of a
// detector well under a millisecond. So the build decodes it once (csrc/frontal_faces_dump.cpp)
// and hands the bytes in as `serialized`; the process deserializes them once (C++ initialises a
// function's static once, thread-safely) and every detector after the first is a copy. Empty
// or unreadable bytes fall back to dlib's own decoding.
static dlib::frontal_face_detector make_prototype(const unsigned char* serialized, size_t len) {
    if (serialized != nullptr && len > 0) {
        try {
            std::istringstream in(std::string(reinterpret_cast<const char*>(serialized), len));
            dlib::frontal_face_detector detector;
            dlib::deserialize(detector, in);
            return detector;
        } catch (...) {
        }
    }
    return dlib::get_frontal_face_detector();
}

void* faceid_hog_new(const unsigned char* serialized, size_t len) {
    try {
        static const dlib::frontal_face_detector prototype = make_prototype(serialized, len);
        return new dlib::frontal_face_detector(prototype);
    } catch (...) {
        return nullptr;
    }
}

void faceid_hog_free(void* detector) {
    try {
        delete static_cast<dlib::frontal_face_detector*>(detector);
    } catch (...) {
    }
}

// `image` points at a `dlib::matrix<dlib::rgb_pixel>` (dlib-face-recognition's ImageMatrix).
// Writes at most `max_out` detections, best score first (dlib's order), and returns how many;
// -1 on error.
long faceid_hog_detect(void* detector, const void* image, double adjust_threshold,
                       faceid_hog_detection* out, size_t max_out) {
    try {
        if (detector == nullptr || image == nullptr || (out == nullptr && max_out > 0)) {
            return -1;
        }
        auto& det = *static_cast<dlib::frontal_face_detector*>(detector);
        const auto& img = *static_cast<const dlib::matrix<dlib::rgb_pixel>*>(image);
        std::vector<dlib::rect_detection> dets;
        det(img, dets, adjust_threshold);
        size_t n = dets.size() < max_out ? dets.size() : max_out;
        for (size_t i = 0; i < n; ++i) {
            const dlib::rectangle& r = dets[i].rect;
            out[i].left = r.left();
            out[i].top = r.top();
            out[i].right = r.right();
            out[i].bottom = r.bottom();
            out[i].score = dets[i].detection_confidence;
        }
        return static_cast<long>(n);
    } catch (...) {
        return -1;
    }
}

}  // extern "C"
