// Package mp4 owns the progressive MP4 writer (ISO/IEC 14496-12 ISO BMFF, 14496-14 MP4, 14496-15
// AVC file format) the cloud recorder uses: one H.264 track (avc1 + avcC), one AAC track (mp4a +
// esds), or both, in a file whose moov comes before mdat so players can start at once.
//
// Sample data goes to a scratch file the caller owns as it arrives, in chunks of up to a second
// per track; only the sample tables stay in memory. Finish writes ftyp, moov and mdat to the final
// writer, copying the scratch data after the tables.
//
// FragmentWriter writes the same input as a fragmented MP4 (through mediacommon's fmp4 boxes),
// valid up to its last complete fragment whatever follows; Defragment reads such a file, cut
// anywhere by a crash, and writes the progressive MP4 of its complete fragments with the Muxer.
// The recorder spools fragmented files and converts them when each file ends.
//
// It imports nothing of ours but media/h264 and media/aac: no database, no HTTP, no storage.
// Splitting a recording into files by size or duration is the caller's job.
package mp4
