package synth

import "math"

// Limits and constants of the rate control.
const (
	rcMinQP = 18
	// rcMaxQP is the coarsest QP; 45 would not do: busy 640x360@15 pictures, all intra
	// coded, take 240 kbit/s at QP 45 and still 200 at 51.
	rcMaxQP = 51
	// rcQPHalving is the QP steps that halve a macroblock's residual bits: about 4 on
	// camera-like content (6 would halve the quantiser step).
	rcQPHalving = 4.0
	// rcMBOverhead is what a coded macroblock takes whatever the QP: its type, prediction
	// modes, QP delta and DC coefficient token.
	rcMBOverhead = 8.0
	rcIDRBoost   = 3   // QP steps an IDR picture may be finer than the pictures before it
	rcStepDown   = 2   // QP steps a P picture may be finer than the picture before it
	rcStepUp     = 4   // and coarser
	rcRepay      = 3.0 // seconds over which P pictures bring the bucket back to a quarter full
	// rcPriorComplexity is assumed until a picture has been coded: camera-like content, so
	// that the first IDR picture does not flood the bucket.
	rcPriorComplexity = 200.0
)

// rateControl picks each picture's QP for PictureEncoder.SetBitrate. A leaky bucket holding
// about a second of the target's bits fills with every picture's bits and drains at the
// target rate. It never goes below empty, so content cheaper than the target banks no credit
// and nothing is padded. A picture's QP comes from a model of its size: n coded macroblocks
// of
//
//	rcMBOverhead + complexity·2^(-(QP-26)/rcQPHalving)
//
// bits, the complexity (a macroblock's residual bits at QP 26) learned from the last picture
// of the same type. A P picture aims at the target's share per picture, corrected towards a
// quarter-full bucket over rcRepay; its QP moves by bounded steps. An IDR picture may take
// half the bucket's room and be up to rcIDRBoost finer than the pictures before it: its
// quality stays with whatever does not move until the next one. A picture that overflows the
// bucket all the same (a cut from flat to busy content) is coded once more, at the QP its
// measured complexity asks for.
type rateControl struct {
	fps      float64
	perFrame float64 // the target's bits per picture
	size     float64 // the bucket
	fullness float64 // bits in the bucket, 0 to size
	qp       int     // the last coded picture's QP

	complexity [2]float64 // per picture type (rcP, rcIDR); 0 until one is coded
	known      [2]bool
	recoded    int // pictures coded twice
}

const (
	rcP = iota
	rcIDR
)

func newRateControl(bps, fps int) *rateControl {
	perFrame := float64(bps) / float64(fps)
	return &rateControl{
		fps:      float64(fps),
		perFrame: perFrame,
		size:     max(float64(bps), 3*perFrame),
		qp:       videoQP,
	}
}

func pictureType(idr bool) int {
	if idr {
		return rcIDR
	}
	return rcP
}

// model returns the complexity to predict a picture of type typ with.
func (rc *rateControl) model(typ int) float64 {
	switch {
	case rc.known[typ]:
		return rc.complexity[typ]
	case rc.known[1-typ]:
		return rc.complexity[1-typ]
	}
	return rcPriorComplexity
}

// qpFor is the QP at which n macroblocks of complexity c are predicted to take bits.
func qpFor(c, bits float64, n int) int {
	residual := bits/float64(n) - rcMBOverhead
	switch {
	case residual <= 0:
		return rcMaxQP
	case c <= 0:
		return rcMinQP
	}
	qp := 26 + rcQPHalving*math.Log2(c/residual)
	return int(min(max(math.Round(qp), rcMinQP), rcMaxQP))
}

// pick returns the QP of the next picture, with n coded macroblocks.
func (rc *rateControl) pick(idr bool, n int) int {
	if n == 0 {
		return rc.qp // all P_Skip: the QP is never used
	}
	typ := pictureType(idr)
	room := rc.size - rc.fullness
	if idr {
		qp := qpFor(rc.model(typ), max(rc.perFrame, room/2), n)
		return min(max(qp, rc.qp-rcIDRBoost, rcMinQP), rcMaxQP)
	}
	target := max(rc.perFrame/4, rc.perFrame+(rc.size/4-rc.fullness)/(rcRepay*rc.fps))
	qp := qpFor(rc.model(typ), target, n)
	return min(max(qp, rc.qp-rcStepDown, rcMinQP), rc.qp+rcStepUp, rcMaxQP)
}

// learn takes the complexity of a picture coded at qp in bits.
func (rc *rateControl) learn(idr bool, n, qp, bits int) {
	if n == 0 {
		return
	}
	typ := pictureType(idr)
	residual := max(0, float64(bits)/float64(n)-rcMBOverhead)
	rc.complexity[typ] = residual * math.Exp2(float64(qp-26)/rcQPHalving)
	rc.known[typ] = true
}

// retry is called with a coded picture's size, after learn: it returns the QP to code the
// picture again at when it overflows the bucket and a coarser QP could help.
func (rc *rateControl) retry(idr bool, n, qp, bits int) (int, bool) {
	if n == 0 || qp >= rcMaxQP || rc.fullness+float64(bits)-rc.perFrame <= rc.size {
		return 0, false
	}
	again := qpFor(rc.complexity[pictureType(idr)], max(rc.perFrame, (rc.size-rc.fullness)/2), n)
	return again, again > qp
}

// done records the size of a picture coded at qp.
func (rc *rateControl) done(n, qp, bits int) {
	rc.fullness = min(max(rc.fullness+float64(bits)-rc.perFrame, 0), rc.size)
	if n > 0 {
		rc.qp = qp
	}
}
