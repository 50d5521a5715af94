// Package hls owns the HLS recorder output: it cuts a stream of H.264 access units and AAC
// frames into MPEG-TS segments (at the first keyframe after the target duration; audio-only by
// duration) through media/mpegts, and writes the media playlist with Tencent's recording tags
// (#EXT-X-TRTC-START-REC-TIME, #EXT-X-TRTC-VIDEO-METADATA) after every segment, ending it with
// #EXT-X-ENDLIST when closed. A stream recorded in several runs (the user left and came back,
// the subscription changed, the emulator restarted) keeps one playlist: Suspend leaves it open,
// and the next run, given the earlier segments as Config.Resume, appends to it after
// #EXT-X-DISCONTINUITY.
//
// Files go through a Sink the caller owns (a directory, an upload spool): this package knows
// no storage, no database and no HTTP, and never waits: media time comes from the timestamps.
package hls
