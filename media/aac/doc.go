// Package aac owns the AAC bitstream pieces the recorder and the synthetic participants need:
// AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1), ADTS framing (ISO/IEC 13818-7 6.2 / 14496-3
// 1.A.2), and a small AAC-LC raw_data_block writer for one long window per channel, enough to
// carry a pure tone.
//
// It decodes no audio and imports nothing of ours: no database, no HTTP, no other media package.
package aac
