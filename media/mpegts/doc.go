// Package mpegts owns the MPEG-2 transport stream writer (ISO/IEC 13818-1) the HLS recorder
// uses: one program with an H.264 video track (stream_type 0x1B), an AAC ADTS audio track
// (0x0F), or both; PAT and PMT, PES packets with PTS/DTS, PCR, continuity counters and
// adaptation-field stuffing, written as whole 188-byte packets to an io.Writer.
//
// It reads no transport streams and imports nothing of ours but media/aac: no database, no
// HTTP, no storage. Segmenting into files is media/hls's job.
package mpegts
