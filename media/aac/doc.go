// Package aac owns the AAC bitstream pieces the emulator writes: AudioSpecificConfig
// (ISO/IEC 14496-3 1.6.2.1), ADTS framing (ISO/IEC 13818-7 6.2 / 14496-3 1.A.2), an AAC-LC
// raw_data_block writer for one long window per channel (LongBlockEncoder, enough to carry
// the synthetic participants' tones), and PCMEncoder, which encodes any 16-bit PCM (MP3
// and Opus sources re-encoded for recordings) through an FFT-based MDCT, every frame within
// the 6144-bit channel limit.
//
// It decodes no audio and imports nothing of ours: no database, no HTTP, no other media package.
package aac
