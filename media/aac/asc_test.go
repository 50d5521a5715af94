package aac

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"
)

func TestAudioSpecificConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
		asc  AudioSpecificConfig
	}{
		{"LC 48k stereo", "1190", AudioSpecificConfig{ObjectType: ObjectTypeLC, SampleRate: 48000, ChannelConfig: 2}},
		{"LC 48k mono", "1188", AudioSpecificConfig{ObjectType: ObjectTypeLC, SampleRate: 48000, ChannelConfig: 1}},
		{"LC 44.1k stereo", "1210", AudioSpecificConfig{ObjectType: ObjectTypeLC, SampleRate: 44100, ChannelConfig: 2}},
		{"LC 16k mono", "1408", AudioSpecificConfig{ObjectType: ObjectTypeLC, SampleRate: 16000, ChannelConfig: 1}},
		{"LC 960", "120c", AudioSpecificConfig{ObjectType: ObjectTypeLC, SampleRate: 44100, ChannelConfig: 1, FrameLength960: true}},
		// 00010 1111 <24-bit 50000> 0001 000: an explicit rate.
		{"LC explicit 50000", "178061a808", AudioSpecificConfig{ObjectType: ObjectTypeLC, SampleRate: 50000, ChannelConfig: 1}},
		// 00101 0110 0010 0011 00010 000: HE-AAC, 24k core, stereo, 48k output.
		{"HE-AAC", "2b118800", AudioSpecificConfig{ObjectType: ObjectTypeLC, SampleRate: 24000, ChannelConfig: 2, SBR: true, ExtensionSampleRate: 48000}},
		// 11101 0110 0001 0011 00010 000: HE-AACv2, 24k core, mono, 48k output.
		{"HE-AACv2", "eb098800", AudioSpecificConfig{ObjectType: ObjectTypeLC, SampleRate: 24000, ChannelConfig: 1, SBR: true, PS: true, ExtensionSampleRate: 48000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, _ := hex.DecodeString(tc.hex)
			got, err := tc.asc.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Marshal = %x, want %x", got, want)
			}
			parsed, err := ParseAudioSpecificConfig(want)
			if err != nil {
				t.Fatal(err)
			}
			if parsed != tc.asc {
				t.Errorf("Parse = %+v, want %+v", parsed, tc.asc)
			}
		})
	}
}

func TestAudioSpecificConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, hex string }{
		{"empty", ""},
		{"one byte", "12"},
		{"reserved rate index", "13c8"},          // index 15 without the 24 bits
		{"index 13", "1688"},                     // 00010 1101 0001 000
		{"channel config 0 (PCE)", "1180"},       // 00010 0011 0000 000
		{"AAC scalable", "3190"},                 // object type 6
		{"ER AAC LD", "f8e62000"},                // escaped object type 23 → not supported
		{"dependsOnCoreCoder cut", "1192"},       // flag set, no coreCoderDelay bits
		{"SBR without core type", "2b1188"[0:4]}, // cut after the extension rate
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tc.hex)
			if c, err := ParseAudioSpecificConfig(b); err == nil {
				t.Errorf("Parse(%x) = %+v, want an error", b, c)
			}
		})
	}
	for _, c := range []AudioSpecificConfig{
		{ObjectType: ObjectTypeSBR, SampleRate: 48000, ChannelConfig: 2},
		{ObjectType: ObjectTypeLC, SampleRate: 0, ChannelConfig: 2},
		{ObjectType: ObjectTypeLC, SampleRate: 48000, ChannelConfig: 0},
		{ObjectType: ObjectTypeLC, SampleRate: 48000, ChannelConfig: 8},
		{ObjectType: ObjectTypeLC, SampleRate: 48000, ChannelConfig: 2, PS: true},
		{ObjectType: ObjectTypeLC, SampleRate: 24000, ChannelConfig: 2, SBR: true},
	} {
		if b, err := c.Marshal(); err == nil {
			t.Errorf("Marshal(%+v) = %x, want an error", c, b)
		}
	}
}

func TestSamplesDuration(t *testing.T) {
	if got := FrameDuration(48000); got != 21333333*time.Nanosecond {
		t.Errorf("FrameDuration(48000) = %v", got)
	}
	if got := FrameDuration(16000); got != 64*time.Millisecond {
		t.Errorf("FrameDuration(16000) = %v", got)
	}
	// A running sample count does not drift: 3 h of 48 kHz frames.
	n := int64(3 * 3600 * 48000 / 1024 * 1024)
	if got, want := SamplesDuration(n, 48000), time.Duration(n)*time.Second/48000; got != want {
		t.Errorf("SamplesDuration(%d) = %v, want %v", n, got, want)
	}
	if SamplesDuration(1024, 0) != 0 {
		t.Error("rate 0 must give 0")
	}
}
