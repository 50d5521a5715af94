package aac

import "errors"

var errShort = errors.New("aac: not enough bits")

// bitReader reads MSB-first bits from a byte slice.
type bitReader struct {
	b   []byte
	pos int // in bits
}

func (r *bitReader) left() int { return len(r.b)*8 - r.pos }

func (r *bitReader) read(n int) (uint32, error) {
	if n > 32 || r.left() < n {
		return 0, errShort
	}
	var v uint32
	for i := 0; i < n; i++ {
		bit := r.b[r.pos>>3] >> (7 - uint(r.pos&7)) & 1
		v = v<<1 | uint32(bit)
		r.pos++
	}
	return v, nil
}

// bitWriter appends MSB-first bits to a byte slice.
type bitWriter struct {
	b     []byte
	acc   uint64 // pending bits, right-aligned
	nbits uint   // number of pending bits (< 8 after flush)
}

// write appends the n low bits of v (n <= 32).
func (w *bitWriter) write(v uint32, n uint) {
	w.acc = w.acc<<n | uint64(v)&(1<<n-1)
	w.nbits += n
	for w.nbits >= 8 {
		w.nbits -= 8
		w.b = append(w.b, byte(w.acc>>w.nbits))
	}
}

func (w *bitWriter) bitLen() int { return len(w.b)*8 + int(w.nbits) }

// align pads with zero bits to the next byte boundary and returns the bytes.
func (w *bitWriter) bytes() []byte {
	if w.nbits > 0 {
		w.write(0, 8-w.nbits)
	}
	return w.b
}
