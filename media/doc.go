// Package media is the root of the ffmpeg-free media pipeline: sources (synthetic, RTMP,
// pulled URLs) to access units (H.264 NALUs, AAC frames) to sinks (MPEG-TS/HLS, MP4,
// RTMP out). Its subpackages import no database and no HTTP.
//
// Empty so far: it arrives with cloud recording.
package media
