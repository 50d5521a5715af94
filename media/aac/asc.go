package aac

import (
	"errors"
	"fmt"
	"time"
)

// ObjectType is an MPEG-4 Audio Object Type (ISO/IEC 14496-3 Table 1.1).
type ObjectType int

// The object types this package reads or writes.
const (
	ObjectTypeMain ObjectType = 1
	ObjectTypeLC   ObjectType = 2 // AAC-LC: what the recorder and the synthetic participants carry
	ObjectTypeSSR  ObjectType = 3
	ObjectTypeLTP  ObjectType = 4
	ObjectTypeSBR  ObjectType = 5  // HE-AAC, explicit hierarchical signalling
	ObjectTypePS   ObjectType = 29 // HE-AACv2, explicit hierarchical signalling
)

// SamplesPerFrame is the length of an AAC-LC frame (one raw_data_block) in samples per channel.
const SamplesPerFrame = 1024

// sampleRates are the rates a 4-bit samplingFrequencyIndex can name (Table 1.18).
var sampleRates = [13]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// SampleRateIndex returns the samplingFrequencyIndex of rate, or false when rate has none.
func SampleRateIndex(rate int) (int, bool) {
	for i, r := range sampleRates {
		if r == rate {
			return i, true
		}
	}
	return 0, false
}

// SampleRateAt returns the rate a samplingFrequencyIndex names, or false for 13..15.
func SampleRateAt(index int) (int, bool) {
	if index < 0 || index >= len(sampleRates) {
		return 0, false
	}
	return sampleRates[index], true
}

// FrameDuration is the duration of one 1024-sample frame at sampleRate, rounded to the
// nanosecond. Timelines should use SamplesDuration on a running sample count instead of adding
// this up, which drifts (21.333… ms at 48 kHz).
func FrameDuration(sampleRate int) time.Duration {
	return SamplesDuration(SamplesPerFrame, sampleRate)
}

// SamplesDuration is the duration of n samples at sampleRate.
func SamplesDuration(n int64, sampleRate int) time.Duration {
	if sampleRate <= 0 {
		return 0
	}
	sec := n / int64(sampleRate)
	rem := n % int64(sampleRate)
	return time.Duration(sec)*time.Second + time.Duration(rem*int64(time.Second)/int64(sampleRate))
}

// AudioSpecificConfig is the decoder configuration of ISO/IEC 14496-3 1.6.2.1, as carried in an
// MP4 esds box, an FLV AAC sequence header or an SDP fmtp "config". Only the general audio
// object types (Main, LC, SSR, LTP) are supported, optionally wrapped in explicit SBR/PS
// signalling.
type AudioSpecificConfig struct {
	ObjectType     ObjectType // the core codec: ObjectTypeLC for AAC-LC
	SampleRate     int        // Hz; an index is written when the rate has one, else the explicit 24-bit form
	ChannelConfig  int        // 1 mono, 2 stereo … 7 (7.1); 0 (a program_config_element) is not supported
	FrameLength960 bool       // frameLengthFlag: 960-sample frames instead of 1024

	// Explicit hierarchical HE-AAC signalling: when SBR is set the config starts with object
	// type 5 (or 29 with PS) and ExtensionSampleRate, then names ObjectType as the core.
	SBR                 bool
	PS                  bool
	ExtensionSampleRate int
}

// Channels is the number of output channels ChannelConfig stands for.
func (c AudioSpecificConfig) Channels() int {
	if c.ChannelConfig == 7 {
		return 8
	}
	return c.ChannelConfig
}

// Validate reports whether c can be marshalled.
func (c AudioSpecificConfig) Validate() error {
	switch c.ObjectType {
	case ObjectTypeMain, ObjectTypeLC, ObjectTypeSSR, ObjectTypeLTP:
	default:
		return fmt.Errorf("aac: object type %d not supported", c.ObjectType)
	}
	if c.SampleRate <= 0 || c.SampleRate >= 1<<24 {
		return fmt.Errorf("aac: sample rate %d out of range", c.SampleRate)
	}
	if c.ChannelConfig < 1 || c.ChannelConfig > 7 {
		return fmt.Errorf("aac: channel configuration %d not supported", c.ChannelConfig)
	}
	if c.PS && !c.SBR {
		return errors.New("aac: PS signalled without SBR")
	}
	if c.SBR && (c.ExtensionSampleRate <= 0 || c.ExtensionSampleRate >= 1<<24) {
		return fmt.Errorf("aac: SBR extension sample rate %d out of range", c.ExtensionSampleRate)
	}
	return nil
}

// Marshal encodes c (2 bytes for plain AAC-LC at a standard rate).
func (c AudioSpecificConfig) Marshal() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var w bitWriter
	writeRate := func(rate int) {
		if i, ok := SampleRateIndex(rate); ok {
			w.write(uint32(i), 4)
		} else {
			w.write(0xF, 4)
			w.write(uint32(rate), 24)
		}
	}
	if c.SBR {
		if c.PS {
			w.write(uint32(ObjectTypePS), 5)
		} else {
			w.write(uint32(ObjectTypeSBR), 5)
		}
		writeRate(c.SampleRate)
		w.write(uint32(c.ChannelConfig), 4)
		writeRate(c.ExtensionSampleRate)
		w.write(uint32(c.ObjectType), 5)
	} else {
		w.write(uint32(c.ObjectType), 5)
		writeRate(c.SampleRate)
		w.write(uint32(c.ChannelConfig), 4)
	}
	// GASpecificConfig: frameLengthFlag, dependsOnCoreCoder 0, extensionFlag 0.
	if c.FrameLength960 {
		w.write(1, 1)
	} else {
		w.write(0, 1)
	}
	w.write(0, 2)
	return w.bytes(), nil
}

// ParseAudioSpecificConfig decodes an AudioSpecificConfig. Bits after the GASpecificConfig
// (a backward-compatible SBR sync extension, padding) are ignored.
func ParseAudioSpecificConfig(b []byte) (AudioSpecificConfig, error) {
	r := bitReader{b: b}
	var c AudioSpecificConfig
	readType := func() (ObjectType, error) {
		t, err := r.read(5)
		if err != nil {
			return 0, err
		}
		if t == 31 {
			ext, err := r.read(6)
			if err != nil {
				return 0, err
			}
			t = 32 + ext
		}
		return ObjectType(t), nil
	}
	readRate := func() (int, error) {
		i, err := r.read(4)
		if err != nil {
			return 0, err
		}
		if i == 0xF {
			v, err := r.read(24)
			if err != nil {
				return 0, err
			}
			if v == 0 {
				return 0, errors.New("aac: explicit sample rate 0")
			}
			return int(v), nil
		}
		rate, ok := SampleRateAt(int(i))
		if !ok {
			return 0, fmt.Errorf("aac: reserved sampling frequency index %d", i)
		}
		return rate, nil
	}
	t, err := readType()
	if err != nil {
		return c, err
	}
	if c.SampleRate, err = readRate(); err != nil {
		return c, err
	}
	cc, err := r.read(4)
	if err != nil {
		return c, err
	}
	c.ChannelConfig = int(cc)
	if t == ObjectTypeSBR || t == ObjectTypePS {
		c.SBR, c.PS = true, t == ObjectTypePS
		if c.ExtensionSampleRate, err = readRate(); err != nil {
			return c, err
		}
		if t, err = readType(); err != nil {
			return c, err
		}
	}
	c.ObjectType = t
	switch t {
	case ObjectTypeMain, ObjectTypeLC, ObjectTypeSSR, ObjectTypeLTP:
	default:
		return c, fmt.Errorf("aac: object type %d not supported", t)
	}
	if c.ChannelConfig == 0 {
		return c, errors.New("aac: channel configuration 0 (program_config_element) not supported")
	}
	if c.ChannelConfig > 7 {
		return c, fmt.Errorf("aac: reserved channel configuration %d", c.ChannelConfig)
	}
	// GASpecificConfig (1.6.2.1 / 4.4.1).
	flags, err := r.read(3)
	if err != nil {
		return c, err
	}
	c.FrameLength960 = flags&4 != 0
	if flags&2 != 0 { // dependsOnCoreCoder: coreCoderDelay
		if _, err := r.read(14); err != nil {
			return c, err
		}
	}
	return c, nil
}
