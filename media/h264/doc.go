// Package h264 owns the bit-level facts of H.264 (ITU-T H.264 / ISO 14496-10) that the media
// pipeline needs without decoding pictures: NAL units and their types, Annex B byte streams and
// AVCC (length-prefixed) framing, emulation prevention, an exp-Golomb bit reader and writer,
// sequence parameter sets (profile, level, size, VUI reorder depth), the first fields of slice
// headers (keyframe and B-frame detection) and the AVCDecoderConfigurationRecord of MP4/FLV.
//
// Every parser takes outside bytes: it returns an error on bad input and never panics; each has
// a fuzz target. The package imports nothing of this module.
package h264
