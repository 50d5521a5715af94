// Package media is the root of the ffmpeg-free media pipeline: sources (synthetic, RTMP,
// pulled URLs) to access units (H.264 NALUs, AAC frames) to sinks (MPEG-TS/HLS, MP4,
// RTMP out). Its subpackages import no database and no HTTP, and run no external binary.
//
//   - aac: AudioSpecificConfig, ADTS framing, and an AAC-LC long-window encoder for tones.
//   - h264: NAL units, Annex B and AVCC framing, SPS parsing.
//   - mpegts: the MPEG-2 transport stream muxer (PAT/PMT, PES, PCR).
//   - hls: keyframe-aligned TS segments and the media playlist with the TRTC tags.
//   - synth: the virtual participants' video and audio (a tone per user).
//   - hub: the members' live streams, published once and read by any number of sinks.
//   - virtual: the virtual participants' streams in the hub, one encoder per published
//     track, produced up to the time asked.
package media
