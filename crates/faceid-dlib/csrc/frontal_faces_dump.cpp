// Build-time tool (build.rs runs it; it is not part of the library): writes dlib's frontal face
// detector in dlib's binary serialization to the file named by its argument.
//
// dlib compiles the detector into itself as base64 text of a compressed stream, and decoding
// that (get_serialized_frontal_faces) takes about 250 ms; deserializing the decoded bytes takes
// 2-4 ms. Decoding once here, at build time, spares every process the 250 ms: the first
// detector a live pipeline makes comes that much sooner.

#include <cstdio>
#include <string>

#include <dlib/image_processing/frontal_face_detector.h>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: frontal_faces_dump OUT\n");
        return 2;
    }
    try {
        const std::string serialized = dlib::get_serialized_frontal_faces();
        std::FILE* out = std::fopen(argv[1], "wb");
        if (out == nullptr) {
            return 1;
        }
        const bool written =
            std::fwrite(serialized.data(), 1, serialized.size(), out) == serialized.size();
        return (std::fclose(out) == 0 && written) ? 0 : 1;
    } catch (...) {
        return 1;
    }
}
