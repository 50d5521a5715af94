package h264

import (
	"errors"
	"math/bits"
)

// ErrShortData is returned when a bit reader runs past the end of its data.
var ErrShortData = errors.New("h264: data ends early")

// errExpGolomb is returned for an exp-Golomb code longer than 32 bits.
var errExpGolomb = errors.New("h264: exp-Golomb code too long")

// BitReader reads an RBSP (emulation prevention already removed) MSB first. The first error
// sticks: later reads return zero and Err reports it, so a parser can read a whole structure
// and check once.
type BitReader struct {
	b   []byte
	pos int // bit position
	err error
}

// NewBitReader reads b from its first bit.
func NewBitReader(b []byte) *BitReader { return &BitReader{b: b} }

// Err is the first error met, or nil.
func (r *BitReader) Err() error { return r.err }

// BitsLeft is the number of unread bits.
func (r *BitReader) BitsLeft() int { return len(r.b)*8 - r.pos }

func (r *BitReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// U reads an n-bit unsigned integer, 0 <= n <= 32 (u(n) in the standard).
func (r *BitReader) U(n int) uint32 {
	if r.err != nil {
		return 0
	}
	if n < 0 || n > 32 {
		r.fail(errors.New("h264: bad bit count"))
		return 0
	}
	if r.BitsLeft() < n {
		r.fail(ErrShortData)
		r.pos = len(r.b) * 8
		return 0
	}
	var v uint64
	for n > 0 {
		byteIdx, bitIdx := r.pos>>3, r.pos&7
		avail := 8 - bitIdx
		take := min(avail, n)
		chunk := uint64(r.b[byteIdx]>>(avail-take)) & (1<<take - 1)
		v = v<<take | chunk
		n -= take
		r.pos += take
	}
	return uint32(v)
}

// Flag reads one bit as a boolean.
func (r *BitReader) Flag() bool { return r.U(1) == 1 }

// Skip skips n bits.
func (r *BitReader) Skip(n int) {
	if r.err != nil {
		return
	}
	if n < 0 || r.BitsLeft() < n {
		r.fail(ErrShortData)
		r.pos = len(r.b) * 8
		return
	}
	r.pos += n
}

// UE reads an unsigned exp-Golomb code (ue(v)); codes beyond 32 bits are an error.
func (r *BitReader) UE() uint32 {
	zeros := 0
	for r.err == nil && r.U(1) == 0 {
		zeros++
		if zeros > 31 {
			r.fail(errExpGolomb)
		}
	}
	if r.err != nil {
		return 0
	}
	return uint32((uint64(1)<<zeros - 1) + uint64(r.U(zeros)))
}

// SE reads a signed exp-Golomb code (se(v)).
func (r *BitReader) SE() int32 {
	k := r.UE()
	if k&1 == 1 {
		return int32((k + 1) / 2)
	}
	return -int32(k / 2)
}

// MoreRBSPData reports whether data other than rbsp_trailing_bits remains (more_rbsp_data()).
func (r *BitReader) MoreRBSPData() bool {
	if r.err != nil {
		return false
	}
	last := len(r.b) - 1
	for last >= 0 && r.b[last] == 0 {
		last--
	}
	if last < 0 {
		return false
	}
	stop := last*8 + 7 - bits.TrailingZeros8(r.b[last]) // position of the stop bit
	return r.pos < stop
}

// BitWriter writes an RBSP MSB first. Its zero value is ready to use.
type BitWriter struct {
	buf  []byte
	acc  uint64 // pending bits, right-aligned
	nacc int    // number of pending bits (< 8 after each write)
}

// U writes the low n bits of v, 0 <= n <= 32.
func (w *BitWriter) U(n int, v uint32) {
	if n == 0 {
		return
	}
	w.acc = w.acc<<n | uint64(v)&(1<<n-1)
	w.nacc += n
	for w.nacc >= 8 {
		w.nacc -= 8
		w.buf = append(w.buf, byte(w.acc>>w.nacc))
	}
	w.acc &= 1<<w.nacc - 1
}

// Flag writes one bit.
func (w *BitWriter) Flag(b bool) {
	if b {
		w.U(1, 1)
	} else {
		w.U(1, 0)
	}
}

// UE writes an unsigned exp-Golomb code (ue(v)); v must be at most 2^32-2, as the standard
// (and BitReader.UE) allows.
func (w *BitWriter) UE(v uint32) {
	x := uint64(v) + 1
	n := bits.Len64(x) // code is n-1 zeros then the n bits of x
	if n <= 32 {
		w.U(n-1, 0)
		w.U(n, uint32(x))
		return
	}
	w.U(32, 0)
	w.U(n-32, uint32(x>>32))
	w.U(32, uint32(x))
}

// SE writes a signed exp-Golomb code (se(v)).
func (w *BitWriter) SE(v int32) {
	if v > 0 {
		w.UE(uint32(2*int64(v) - 1))
	} else {
		w.UE(uint32(-2 * int64(v)))
	}
}

// ByteAligned reports whether the next bit starts a byte.
func (w *BitWriter) ByteAligned() bool { return w.nacc == 0 }

// AlignZero writes zero bits up to the next byte boundary (e.g. pcm_alignment_zero_bit).
func (w *BitWriter) AlignZero() {
	if w.nacc > 0 {
		w.U(8-w.nacc, 0)
	}
}

// Bytes appends whole bytes directly; the writer must be byte aligned.
func (w *BitWriter) Bytes(b []byte) {
	if w.nacc != 0 {
		panic("h264: BitWriter.Bytes while not byte aligned")
	}
	w.buf = append(w.buf, b...)
}

// TrailingBits writes rbsp_trailing_bits: a one bit, then zeros to the byte boundary.
func (w *BitWriter) TrailingBits() {
	w.U(1, 1)
	w.AlignZero()
}

// Len is the number of bits written.
func (w *BitWriter) Len() int { return len(w.buf)*8 + w.nacc }

// Data returns the written bytes; the writer must be byte aligned (after TrailingBits).
func (w *BitWriter) Data() []byte {
	if w.nacc != 0 {
		panic("h264: BitWriter.Data while not byte aligned")
	}
	return w.buf
}

// Reset empties the writer, keeping its buffer.
func (w *BitWriter) Reset() { w.buf, w.acc, w.nacc = w.buf[:0], 0, 0 }
